package cobrowse

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/rs/zerolog"
)

// conversation is the co-browse state of one conversation.
type conversation struct {
	r   *Relay
	id  string
	log zerolog.Logger

	mu       sync.Mutex // guards every field below
	customer string
	custOut  *outbox
	reasm    reassembler // the customer's chunks

	sharing bool
	epoch   uint64     // the customer's current epoch
	lastSeq uint64     // the last sequenced frame kept in epoch
	base    [][]byte   // the held snapshot, as sent (chunked)
	logs    [][][]byte // the event frames since base, as sent
	logN    int        // frames in logs
	logSize int        // bytes in logs
	// logBroken: the log outgrew its hard bound and was dropped; late
	// viewers wait for the next snapshot.
	logBroken bool
	// needSent is when a snapshot was last asked for (zero: none pending).
	needSent  int64
	nextChunk uint32

	viewers map[string]*viewer

	control    string // StateNone, StateRequested, StateGranted
	controlWho string // the requester or holder
}

type viewer struct {
	participant string
	out         *outbox
	// waiting: the viewer has no base yet (none was held when it
	// attached or reset); it gets the next snapshot and nothing before.
	waiting bool
}

func (c *conversation) fromCustomerLocked(participant string, msg []byte, events *[]Event) error {
	m := c.r.m
	if c.customer == "" {
		c.customer = participant
	}
	if participant != c.customer {
		m.invalid.WithLabelValues("sender").Inc()
		return ErrNotCustomer
	}
	f, err := DecodeFrame(msg)
	if err != nil {
		m.invalid.WithLabelValues("frame").Inc()
		return err
	}
	if f.Kind == KindChunk {
		var ch Chunk
		if err := f.DecodeHeader(&ch); err != nil {
			m.invalid.WithLabelValues("frame").Inc()
			return err
		}
		whole, err := c.reasm.add(ch, f.Payload)
		if err != nil {
			m.invalid.WithLabelValues("chunk").Inc()
			c.needSnapshotLocked(ReasonGap)
			return err
		}
		if whole == nil {
			return nil
		}
		if f, err = DecodeFrame(whole); err != nil {
			m.invalid.WithLabelValues("frame").Inc()
			c.needSnapshotLocked(ReasonInvalid)
			return err
		}
		if f.Kind == KindChunk {
			m.invalid.WithLabelValues("chunk").Inc()
			return fmt.Errorf("%w: chunk inside a chunk", ErrBadChunk)
		}
		msg = whole
	}
	m.frames.WithLabelValues("customer", string(f.Kind)).Inc()
	switch f.Kind {
	case KindSnapshot:
		var h Snapshot
		if err := f.DecodeHeader(&h); err != nil {
			m.invalid.WithLabelValues("frame").Inc()
			return err
		}
		return c.snapshotLocked(h, f, msg, events)
	case KindEvents:
		var h Events
		if err := f.DecodeHeader(&h); err != nil {
			m.invalid.WithLabelValues("frame").Inc()
			return err
		}
		return c.eventsLocked(h, f, msg)
	case KindControl:
		var h Control
		if err := f.DecodeHeader(&h); err != nil {
			m.invalid.WithLabelValues("frame").Inc()
			return err
		}
		return c.customerControlLocked(h, events)
	case KindResult:
		var h Result
		if err := f.DecodeHeader(&h); err != nil {
			m.invalid.WithLabelValues("frame").Inc()
			return err
		}
		if len(h.Err) > 64 || len(h.Participant) > 256 {
			m.invalid.WithLabelValues("frame").Inc()
			return fmt.Errorf("%w: result fields too long", ErrBadFrame)
		}
		b := mustEncode(Result{T: KindResult, ID: h.ID, OK: h.OK, Err: h.Err, Participant: h.Participant}, nil)
		if v := c.viewers[h.Participant]; v != nil {
			c.pushViewerLocked(v, false, b)
		}
		return nil
	case KindBye:
		c.stopSharingLocked(participant, "stopped", events)
		return nil
	}
	m.invalid.WithLabelValues("kind").Inc()
	return fmt.Errorf("%w: %s from the customer", ErrNotAllowed, f.Kind)
}

func (c *conversation) snapshotLocked(h Snapshot, f Frame, msg []byte, events *[]Event) error {
	m := c.r.m
	switch {
	case c.epoch == 0 || h.Epoch > c.epoch:
		// A new page (or the first): a new epoch begins with this
		// snapshot.
	case h.Epoch == c.epoch && h.Seq <= c.lastSeq:
		c.ackLocked() // a resend after a reconnect: already kept
		return nil
	case h.Epoch < c.epoch:
		m.invalid.WithLabelValues("sequence").Inc()
		return fmt.Errorf("%w: snapshot of old epoch %d (now %d)", ErrOutOfSequence, h.Epoch, c.epoch)
	}
	if h.Seq == 0 {
		m.invalid.WithLabelValues("sequence").Inc()
		return fmt.Errorf("%w: sequence number 0", ErrOutOfSequence)
	}
	if err := c.validateLocked(f, h.Deflate, true); err != nil {
		return err
	}
	c.epoch, c.lastSeq = h.Epoch, h.Seq
	m.heldBytes.Sub(float64(c.heldSizeLocked()))
	c.base = SplitFrame(msg, c.r.cfg.ChunkBytes, c.chunkID())
	c.logs, c.logN, c.logSize, c.logBroken = nil, 0, 0, false
	m.heldBytes.Add(float64(c.heldSizeLocked()))
	c.needSent = 0
	if !c.sharing {
		c.sharing = true
		*events = append(*events, c.eventLocked(EventSharingStarted, c.customer, "", "", ""))
	}
	for _, v := range c.viewers {
		v.waiting = false
		c.pushViewerLocked(v, true, c.base...)
	}
	c.ackLocked()
	return nil
}

func (c *conversation) eventsLocked(h Events, f Frame, msg []byte) error {
	m := c.r.m
	switch {
	case h.Epoch < c.epoch:
		m.invalid.WithLabelValues("sequence").Inc()
		return fmt.Errorf("%w: events of old epoch %d", ErrOutOfSequence, h.Epoch)
	case h.Epoch > c.epoch || c.base == nil:
		m.invalid.WithLabelValues("sequence").Inc()
		c.needSnapshotLocked(ReasonEpoch)
		return fmt.Errorf("%w: events of epoch %d without its snapshot", ErrOutOfSequence, h.Epoch)
	case h.Seq <= c.lastSeq:
		c.ackLocked()
		return nil
	case h.Seq != c.lastSeq+1:
		m.invalid.WithLabelValues("sequence").Inc()
		c.needSnapshotLocked(ReasonGap)
		return fmt.Errorf("%w: sequence %d after %d", ErrOutOfSequence, h.Seq, c.lastSeq)
	}
	if err := c.validateLocked(f, h.Deflate, false); err != nil {
		return err
	}
	c.lastSeq = h.Seq
	frames := SplitFrame(msg, c.r.cfg.ChunkBytes, c.chunkID())
	if !c.logBroken {
		c.logs = append(c.logs, frames)
		c.logN++
		for _, b := range frames {
			c.logSize += len(b)
		}
		m.heldBytes.Add(float64(len(msg)))
		cfg := c.r.cfg
		switch {
		case c.logN > 2*cfg.MaxLogFrames || c.logSize > 2*cfg.MaxLogBytes:
			// The customer has not answered our request: stop holding.
			m.heldBytes.Sub(float64(c.logSize))
			c.logs, c.logN, c.logSize, c.logBroken = nil, 0, 0, true
			c.needSnapshotLocked(ReasonLog)
		case c.logN > cfg.MaxLogFrames || c.logSize > cfg.MaxLogBytes:
			c.needSnapshotLocked(ReasonLog)
		}
	}
	for _, v := range c.viewers {
		if !v.waiting {
			c.pushViewerLocked(v, true, frames...)
		}
	}
	c.ackLocked()
	return nil
}

// validateLocked inflates and checks a snap or ev payload; on failure it
// counts, asks for a fresh snapshot and returns the error.
func (c *conversation) validateLocked(f Frame, deflated, snapshot bool) error {
	cfg := c.r.cfg
	limit := cfg.MaxEventBytes
	if snapshot {
		limit = cfg.MaxSnapshotBytes
	}
	raw, err := inflate(f.Payload, deflated, limit, &c.r.inflaters)
	if err == nil {
		_, err = validatePayload(raw, snapshot, limits{maxNodes: cfg.MaxNodes, maxDepth: cfg.MaxDepth})
	}
	if err != nil {
		reason := "shape"
		var ie *InvalidError
		if errors.As(err, &ie) {
			reason = ie.Reason
		}
		c.r.m.invalid.WithLabelValues(reason).Inc()
		c.needSnapshotLocked(ReasonInvalid)
		return err
	}
	return nil
}

func (c *conversation) chunkID() uint32 {
	c.nextChunk++
	return c.nextChunk
}

func (c *conversation) heldSizeLocked() int {
	n := c.logSize
	for _, b := range c.base {
		n += len(b)
	}
	return n
}

func (c *conversation) ackLocked() {
	c.pushCustomerLocked("ack", mustEncode(Ack{T: KindAck, Epoch: c.epoch, Seq: c.lastSeq}, nil))
}

// needSnapshotLocked asks the customer for a fresh snapshot, at most once
// per SnapshotRequestInterval until one arrives.
func (c *conversation) needSnapshotLocked(reason string) {
	now := c.r.now().UnixNano()
	if c.needSent != 0 && now-c.needSent < int64(c.r.cfg.SnapshotRequestInterval) {
		return
	}
	c.needSent = now
	c.r.m.snapRequests.WithLabelValues(reason).Inc()
	c.pushCustomerLocked("", mustEncode(NeedSnapshot{T: KindNeedSnapshot, Reason: reason}, nil))
}

func (c *conversation) pushCustomerLocked(key string, b []byte) {
	if c.custOut == nil {
		c.r.m.dropped.WithLabelValues("customer").Inc()
		return
	}
	if !c.custOut.push(key, b) {
		c.r.m.dropped.WithLabelValues("customer").Inc()
	}
}

// pushViewerLocked queues frames for v; a viewer whose queue is full is
// reset to the held state when resettable, else the frames are dropped.
func (c *conversation) pushViewerLocked(v *viewer, resettable bool, frames ...[]byte) {
	if v.out.push("", frames...) {
		return
	}
	if !resettable {
		c.r.m.dropped.WithLabelValues("viewer").Inc()
		return
	}
	c.resetViewerLocked(v)
}

// resetViewerLocked replaces what waits for v with the held snapshot and
// events; with nothing held, v waits for the next snapshot.
func (c *conversation) resetViewerLocked(v *viewer, prefix ...[]byte) {
	c.r.m.viewerResets.Inc()
	if c.base == nil || c.logBroken {
		v.out.reset(prefix)
		v.waiting = true
		if c.sharing || c.custOut != nil {
			c.needSnapshotLocked(ReasonViewer)
		}
		return
	}
	held := make([][]byte, 0, len(prefix)+len(c.base)+c.logN)
	held = append(held, prefix...)
	held = append(held, c.base...)
	for _, fr := range c.logs {
		held = append(held, fr...)
	}
	if n := v.out.reset(held); n > 0 {
		c.r.m.dropped.WithLabelValues("viewer").Add(float64(n))
	}
	v.waiting = false
}

func (c *conversation) sendViewersLocked() {
	ps := make([]string, 0, len(c.viewers))
	for p := range c.viewers {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	c.pushCustomerLocked("viewers", mustEncode(Viewers{T: KindViewers, Participants: ps}, nil))
}

// stopSharingLocked drops the held state, tells viewers and ends control.
func (c *conversation) stopSharingLocked(actor, reason string, events *[]Event) {
	if c.control != StateNone {
		kind := EventControlRevoked
		if actor == "" {
			kind = EventControlReleased
		}
		c.setControlLocked(StateNone, "", kind, actor, c.controlWho, events)
	}
	c.r.m.heldBytes.Sub(float64(c.heldSizeLocked()))
	c.base, c.logs, c.logN, c.logSize, c.logBroken = nil, nil, 0, 0, false
	c.epoch, c.lastSeq = 0, 0
	bye := mustEncode(Bye{T: KindBye, Reason: reason}, nil)
	for _, v := range c.viewers {
		v.waiting = true
		v.out.reset([][]byte{bye})
	}
	if c.sharing {
		c.sharing = false
		*events = append(*events, c.eventLocked(EventSharingStopped, actor, "", "", ""))
	}
}

func (c *conversation) eventLocked(kind EventKind, actor, subject, from, to string) Event {
	return Event{Conversation: c.id, Kind: kind, Actor: actor, Subject: subject, From: from, To: to, At: c.r.now()}
}

func finite(vs ...float64) bool {
	for _, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < -1e6 || v > 1e6 {
			return false
		}
	}
	return true
}
