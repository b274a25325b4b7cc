package cobrowse

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/lotse-io/lotse/cobrowse/assetproxy"
)

// Deps are the relay's collaborators.
type Deps struct {
	Log        zerolog.Logger
	Registerer prometheus.Registerer // nil: metrics are kept but not exported
	// Record receives every co-browse event that belongs in the
	// conversation record (sharing started and stopped, each control
	// transition). It is called without any relay lock held; nil drops
	// them.
	Record func(ctx context.Context, ev Event)
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time

	// AssetPath is where the lead mounts AssetHandler, e.g.
	// "/api/v1/cobrowse/assets/". Empty: no asset proxy; viewers load
	// nothing the page references.
	AssetPath string
	// Assets are the asset proxy's collaborators (allowed origins per
	// conversation, the auth check, and test hooks). Its Log is set to
	// Log; its Registerer defaults to Registerer.
	Assets assetproxy.Deps
}

// EventKind names a recorded co-browse event.
type EventKind string

// Recorded events.
const (
	EventSharingStarted   EventKind = "cobrowse.started"
	EventSharingStopped   EventKind = "cobrowse.stopped"
	EventControlRequested EventKind = "cobrowse.control_requested"
	EventControlGranted   EventKind = "cobrowse.control_granted"
	EventControlDenied    EventKind = "cobrowse.control_denied"
	EventControlRevoked   EventKind = "cobrowse.control_revoked"  // the customer took control back
	EventControlReleased  EventKind = "cobrowse.control_released" // the advisor gave it back, or left
)

// Event is one entry for the conversation record.
type Event struct {
	Conversation string
	Kind         EventKind
	// Actor is the participant whose message caused the event; empty when
	// the relay itself did (a viewer detached, the conversation ended).
	Actor string
	// Subject is the viewer the event concerns (requester or holder).
	Subject string
	// From and To are the control states before and after.
	From, To string
	At       time.Time
}

// Relay is the co-browse plane of one node: per conversation it holds the
// latest snapshot and the events since, validates what the customer sends,
// fans it out to viewers and carries the viewers' pointer, highlight,
// control requests and actions back to the customer.
type Relay struct {
	cfg    Config
	log    zerolog.Logger
	record func(ctx context.Context, ev Event)
	now    func() time.Time
	m      *metrics
	assets *assetproxy.Proxy
	path   string
	// inflaters recycles flate readers across frames.
	inflaters sync.Pool

	mu     sync.Mutex // guards convs and closed
	convs  map[string]*conversation
	closed bool
}

// New returns a relay. cfg must have passed Validate.
func New(cfg Config, deps Deps) *Relay {
	r := &Relay{
		cfg:    cfg,
		log:    deps.Log.With().Str("component", "cobrowse").Logger(),
		record: deps.Record,
		now:    deps.Now,
		m:      newMetrics(deps.Registerer),
		path:   deps.AssetPath,
		convs:  map[string]*conversation{},
	}
	if r.now == nil {
		r.now = time.Now
	}
	// The proxy logs and counts with the relay's logger and registry.
	deps.Assets.Log = deps.Log
	if deps.Assets.Registerer == nil {
		deps.Assets.Registerer = deps.Registerer
	}
	r.assets = assetproxy.New(cfg.Assets, deps.Assets)
	return r
}

// AssetHandler serves the asset proxy; mount it under Deps.AssetPath
// (GET only).
func (r *Relay) AssetHandler() http.Handler { return r.assets.Handler(r.path) }

// conv returns the conversation's state, creating it when create is true.
func (r *Relay) conv(id string, create bool) (*conversation, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrClosed
	}
	c := r.convs[id]
	if c == nil && create {
		c = &conversation{r: r, id: id, viewers: map[string]*viewer{}, control: StateNone,
			log: r.log.With().Str("conversation", id).Logger()}
		c.reasm.max = r.cfg.MaxSnapshotBytes + MaxHeaderBytes + frameOverhead
		r.convs[id] = c
		r.m.conversations.Inc()
	}
	if c == nil {
		return nil, ErrNotAttached
	}
	return c, nil
}

// FromCustomer takes one message from the sharing customer's transport:
// it checks, keeps and fans out snapshots and events, and acts on the
// customer's control decisions and action results. An error means the
// message was dropped (it is counted); the conversation goes on.
func (r *Relay) FromCustomer(ctx context.Context, conv, participant string, msg []byte) error {
	r.m.bytesIn.Add(float64(len(msg)))
	if len(msg) > WebSocketMessageBytes {
		r.m.invalid.WithLabelValues("size").Inc()
		return fmt.Errorf("%w: message of %d bytes", ErrTooLarge, len(msg))
	}
	c, err := r.conv(conv, true)
	if err != nil {
		return err
	}
	var events []Event
	c.mu.Lock()
	err = c.fromCustomerLocked(participant, msg, &events)
	c.mu.Unlock()
	r.emit(ctx, events)
	return err
}

// AddViewer attaches a viewer (a participant with the view grant). It
// gets the held snapshot and events at once, then everything live. A
// second AddViewer for the same participant replaces the first. detach
// ends the viewer; it waits for the viewer's writer to stop.
func (r *Relay) AddViewer(conv, participant string, sink Sink) (detach func()) {
	c, err := r.conv(conv, true)
	if err != nil {
		return func() {}
	}
	v := &viewer{participant: participant}
	v.out = newOutbox(sink, r.cfg.ViewerQueueFrames, r.cfg.ViewerQueueBytes, r.sent)
	c.mu.Lock()
	old := c.viewers[participant]
	c.viewers[participant] = v
	hello := Hello{T: KindHello, Participant: participant, MaxMessage: r.cfg.ChunkBytes}
	if r.path != "" {
		hello.Assets = r.assets.Prefix(r.path, conv)
	}
	c.resetViewerLocked(v, mustEncode(hello, nil))
	v.out.push("", mustEncode(ControlState{T: KindControlState, State: c.control, Participant: c.controlWho}, nil))
	c.sendViewersLocked()
	c.mu.Unlock()
	if old != nil {
		old.out.close()
	} else {
		r.m.viewers.Inc()
	}
	var once sync.Once
	return func() {
		once.Do(func() { r.detachViewer(c, v) })
	}
}

func (r *Relay) detachViewer(c *conversation, v *viewer) {
	var events []Event
	c.mu.Lock()
	if c.viewers[v.participant] == v {
		delete(c.viewers, v.participant)
		r.m.viewers.Dec()
		if c.controlWho == v.participant && c.control != StateNone {
			c.setControlLocked(StateNone, "", EventControlReleased, "", v.participant, &events)
		}
		c.sendViewersLocked()
	}
	c.mu.Unlock()
	v.out.close()
	r.emit(context.Background(), events)
}

// FromViewer takes one message from a viewer: pointer, highlight, control
// request or release, actions (only while it holds control) and requests
// for the held state. Nothing else reaches the customer, and what does is
// re-encoded by the relay from checked fields.
func (r *Relay) FromViewer(ctx context.Context, conv, participant string, msg []byte) error {
	r.m.bytesIn.Add(float64(len(msg)))
	if len(msg) > DataChannelMessageBytes {
		r.m.invalid.WithLabelValues("size").Inc()
		return fmt.Errorf("%w: viewer message of %d bytes", ErrTooLarge, len(msg))
	}
	c, err := r.conv(conv, false)
	if err != nil {
		return err
	}
	var events []Event
	c.mu.Lock()
	err = c.fromViewerLocked(participant, msg, &events)
	c.mu.Unlock()
	r.emit(ctx, events)
	return err
}

// SetCustomerSink sets where messages for the customer go (acks, snapshot
// requests, pointer, highlight, control state, actions, who is watching).
// A later call replaces the sink (a reconnect); detach removes it.
func (r *Relay) SetCustomerSink(conv, participant string, sink Sink) (detach func()) {
	c, err := r.conv(conv, true)
	if err != nil {
		return func() {}
	}
	out := newOutbox(sink, r.cfg.CustomerQueueFrames, math.MaxInt, r.sent)
	c.mu.Lock()
	old := c.custOut
	c.custOut = out
	c.customer = participant
	c.reasm.reset()
	out.push("", mustEncode(ControlState{T: KindControlState, State: c.control, Participant: c.controlWho}, nil))
	c.sendViewersLocked()
	c.mu.Unlock()
	if old != nil {
		old.close()
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			if c.custOut == out {
				c.custOut = nil
			}
			c.mu.Unlock()
			out.close()
		})
	}
}

// End forgets the conversation: viewers are told sharing ended, control
// ends, every writer stops.
func (r *Relay) End(conv string) {
	r.mu.Lock()
	c := r.convs[conv]
	delete(r.convs, conv)
	if c != nil {
		r.m.conversations.Dec()
	}
	r.mu.Unlock()
	if c != nil {
		r.endConv(c)
	}
}

func (r *Relay) endConv(c *conversation) {
	var events []Event
	c.mu.Lock()
	c.stopSharingLocked("", "ended", &events)
	outs := []*outbox{}
	for _, v := range c.viewers {
		outs = append(outs, v.out)
		r.m.viewers.Dec()
	}
	c.viewers = map[string]*viewer{}
	if c.custOut != nil {
		outs = append(outs, c.custOut)
		c.custOut = nil
	}
	c.mu.Unlock()
	for _, o := range outs {
		o.drainClose(200 * time.Millisecond)
	}
	r.emit(context.Background(), events)
}

// Close ends every conversation; the relay refuses work afterwards.
func (r *Relay) Close() {
	r.mu.Lock()
	r.closed = true
	convs := r.convs
	r.convs = map[string]*conversation{}
	r.mu.Unlock()
	for _, c := range convs {
		r.m.conversations.Dec()
		r.endConv(c)
	}
}

func (r *Relay) emit(ctx context.Context, events []Event) {
	if r.record == nil {
		return
	}
	for _, ev := range events {
		r.record(ctx, ev)
	}
}

func (r *Relay) sent(n int) { r.m.bytesOut.Add(float64(n)) }

// drainClose waits up to d for the queue to empty, then closes.
func (o *outbox) drainClose(d time.Duration) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		o.mu.Lock()
		empty := len(o.q) == 0
		o.mu.Unlock()
		if empty {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	o.close()
}
