package sfu

import (
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"github.com/rs/zerolog"

	"github.com/lotse-io/lotse/sfu/simulcast"
)

// queued is one packet waiting in a subscriber's queue.
type queued struct {
	dt  *downTrack
	pkt *packet
}

// rtcpQueue bounds the key-frame requests waiting to go to a publisher.
const rtcpQueue = 32

// Peer is one participant's connection to the SFU: one PeerConnection
// carrying its publications and its subscriptions, and its data channel.
// Its methods are safe for concurrent use.
type Peer struct {
	id     string
	grants Grants
	sfu    *SFU
	room   *room
	log    zerolog.Logger
	out    Signaler
	pc     *webrtc.PeerConnection
	api    *webrtc.API           // the PeerConnection's own (peerConnectionAPI); nil: no transceiver reuse
	bwe    cc.BandwidthEstimator // set while the PeerConnection is built; nil without estimation
	dc     *webrtc.DataChannel   // nil without the Data grant

	audioQ chan queued
	videoQ chan queued
	rtcpQ  chan []rtcp.Packet
	done   chan struct{}
	wg     sync.WaitGroup

	closeOnce sync.Once
	isClosed  atomic.Bool

	negMu      sync.Mutex // guards signalling-state changes of pc, transceiver changes and the fields below
	needOffer  bool
	restartICE bool
	offerSeq   uint64      // counts the SFU's offers
	answerWait *time.Timer // fires when the outstanding offer goes unanswered
	early      []webrtc.ICECandidateInit
	releasing  []*webrtc.RTPTransceiver // subscriptions removed, not yet in an offer
	inOffer    []*webrtc.RTPTransceiver // removed in the outstanding offer
	free       []*webrtc.RTPTransceiver // inactive after a completed negotiation: reusable
	midSeq     int

	sigMu sync.Mutex // orders a description before the candidates gathered for it

	mu       sync.Mutex // guards the fields below
	closed   bool
	declared map[string]Source       // by mid or track id
	offered  map[string]offeredMedia // by mid, from the last applied client offer
	muted    map[Source]bool         // the client's mute states
	pubs     map[string]*publication // by mid
	subs     map[string]*downTrack   // by publication id
	wishes   map[string][2]int       // displayed sizes, by publication id

	allocMu sync.Mutex // serialises allocate

	remb      atomic.Int64 // bit/s from the client's REMB, with its SFU-clock time
	rembAt    atomic.Int64
	twccAt    atomic.Int64 // SFU clock of the last transport-wide feedback
	forwarded atomic.Uint64
	dropped   atomic.Uint64
}

func newPeer(s *SFU, r *room, part Participant, out Signaler) (*Peer, error) {
	p := &Peer{
		id:       part.ID,
		grants:   part.Grants,
		sfu:      s,
		room:     r,
		log:      r.log.With().Str("participant", part.ID).Logger(),
		out:      out,
		audioQ:   make(chan queued, s.cfg.AudioQueuePackets),
		videoQ:   make(chan queued, s.cfg.VideoQueuePackets),
		rtcpQ:    make(chan []rtcp.Packet, rtcpQueue),
		done:     make(chan struct{}),
		declared: map[string]Source{},
		offered:  map[string]offeredMedia{},
		muted:    map[Source]bool{},
		pubs:     map[string]*publication{},
		subs:     map[string]*downTrack{},
		wishes:   map[string][2]int{},
	}
	api, err := s.newAPI(p)
	if err != nil {
		return nil, fmt.Errorf("webrtc api: %w", err)
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{
		BundlePolicy:  webrtc.BundlePolicyMaxBundle,
		RTCPMuxPolicy: webrtc.RTCPMuxPolicyRequire,
		// The first offer always has an m-section (the data channel's),
		// so the SFU can always open the negotiation.
		AlwaysNegotiateDataChannels: true,
	})
	if err != nil {
		return nil, fmt.Errorf("peer connection: %w", err)
	}
	p.pc = pc
	p.api = peerConnectionAPI(pc)
	if p.api == nil {
		p.log.Warn().Msg("pion's PeerConnection API not found: released transceivers are not reused")
	}
	pc.OnICECandidate(p.onCandidate)
	pc.OnConnectionStateChange(p.onConnectionState)
	pc.OnTrack(p.onTrack)
	pc.OnDataChannel(func(d *webrtc.DataChannel) {
		// Only the SFU opens data channels.
		p.log.Debug().Str("label", d.Label()).Msg("refused client data channel")
		_ = d.Close()
	})
	if err := p.addPlaceholdersLocked(); err != nil {
		_ = pc.Close()
		return nil, err
	}
	if part.Grants.Data {
		ordered := true
		dc, err := pc.CreateDataChannel("lotse", &webrtc.DataChannelInit{Ordered: &ordered})
		if err != nil {
			_ = pc.Close()
			return nil, fmt.Errorf("data channel: %w", err)
		}
		dc.OnMessage(p.onData)
		p.dc = dc
	}
	p.wg.Add(1)
	go p.writeLoop()
	return p, nil
}

// ID returns the participant id.
func (p *Peer) ID() string { return p.id }

// PeerStats are a peer's forwarding counters.
type PeerStats struct {
	// Forwarded counts packets written to this subscriber.
	Forwarded uint64
	// Dropped counts packets dropped for it because its queue was full.
	Dropped uint64
}

// Stats returns the peer's forwarding counters.
func (p *Peer) Stats() PeerStats {
	return PeerStats{Forwarded: p.forwarded.Load(), Dropped: p.dropped.Load()}
}

// signal sends s to the client unless the peer is closed.
func (p *Peer) signal(s Signal) {
	if p.isClosed.Load() {
		return
	}
	p.sfu.metrics.signalsSent.WithLabelValues(string(s.Kind)).Inc()
	p.out.Signal(s)
}

// Close leaves the room: the peer's tracks disappear for everyone, its
// subscriptions end, the PeerConnection closes and every goroutine the
// peer started has ended when Close returns. Do not call it from inside
// Signaler.Signal.
func (p *Peer) Close() {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		subs := make([]*downTrack, 0, len(p.subs))
		for _, dt := range p.subs {
			subs = append(subs, dt)
		}
		clear(p.subs) // counted here, not again by a concurrent unsubscribe
		p.mu.Unlock()
		p.room.remove(p)
		p.isClosed.Store(true)
		for _, dt := range subs {
			dt.pub.removeDown(dt)
		}
		p.shutdown()
	})
}

// discard closes a peer that never joined its room.
func (p *Peer) discard() {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		p.isClosed.Store(true)
		p.shutdown()
	})
}

func (p *Peer) shutdown() {
	close(p.done)
	p.negMu.Lock()
	if p.answerWait != nil {
		p.answerWait.Stop()
	}
	p.negMu.Unlock()
	if err := p.pc.GracefulClose(); err != nil {
		p.log.Debug().Err(err).Msg("close peer connection")
	}
	p.wg.Wait()
}

// writeLoop writes the subscriber's queued media and the publisher-bound
// RTCP, audio first. A blocked write (a TCP subscriber that stopped
// reading) stalls only this loop; the publishers' readers keep dropping
// into its full queues.
func (p *Peer) writeLoop() {
	defer p.wg.Done()
	for {
		select {
		case q := <-p.audioQ:
			q.dt.write(q.pkt, p.sfu.now())
			continue
		default:
		}
		select {
		case q := <-p.audioQ:
			q.dt.write(q.pkt, p.sfu.now())
		case q := <-p.videoQ:
			q.dt.write(q.pkt, p.sfu.now())
		case pkts := <-p.rtcpQ:
			if err := p.pc.WriteRTCP(pkts); err != nil {
				p.log.Debug().Err(err).Msg("write rtcp")
			}
		case <-p.done:
			return
		}
	}
}

func (p *Peer) enqueueAudio(q queued) bool {
	select {
	case p.audioQ <- q:
		return true
	default:
		p.sfu.metrics.dropQueue.Inc()
		p.dropped.Add(1)
		return false
	}
}

func (p *Peer) enqueueVideo(q queued) bool {
	select {
	case p.videoQ <- q:
		return true
	default:
		p.sfu.metrics.dropQueue.Inc()
		p.dropped.Add(1)
		return false
	}
}

// sendRTCP queues RTCP for this peer (as a publisher) without blocking.
func (p *Peer) sendRTCP(pkts ...rtcp.Packet) {
	select {
	case p.rtcpQ <- pkts:
	default:
	}
}

func (p *Peer) onCandidate(c *webrtc.ICECandidate) {
	if c == nil {
		return
	}
	init := c.ToJSON()
	p.sigMu.Lock()
	defer p.sigMu.Unlock()
	p.signal(Signal{Kind: SignalCandidate, Candidate: &init})
}

func (p *Peer) onConnectionState(s webrtc.PeerConnectionState) {
	p.log.Debug().Str("state", s.String()).Msg("peer connection state")
	if s == webrtc.PeerConnectionStateFailed && !p.isClosed.Load() {
		p.sfu.metrics.peerFailures.Inc()
		p.log.Info().Msg("peer connection failed, client told to restart")
		p.signal(Signal{Kind: SignalRestart, Reason: ReasonICEFailed})
	}
}

// onTrack starts forwarding a track (or simulcast layer) the client
// publishes, after checking the grants once more against the source it
// declared.
func (p *Peer) onTrack(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
	tr := r.RTPTransceiver()
	if tr == nil {
		return
	}
	mid := tr.Mid()
	index := 0
	if rid := t.RID(); rid != "" {
		i, ok := simulcast.Index(rid)
		if !ok || t.Kind() != webrtc.RTPCodecTypeVideo {
			p.refuseTrack(mid, "unsupported rid")
			return
		}
		index = i
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	pub := p.pubs[mid]
	isNew := false
	if pub == nil {
		om := p.offered[mid]
		source := p.sourceLocked(mid, t.ID(), t.Kind())
		switch {
		case source.kind() != t.Kind() || !p.grants.allows(source):
			p.mu.Unlock()
			p.refuseTrack(mid, "not allowed")
			return
		case len(p.pubs) >= p.sfu.cfg.MaxTracksPerParticipant:
			p.mu.Unlock()
			p.refuseTrack(mid, "too many tracks")
			return
		}
		pub = newPublication(p, mid, t, r, source, len(om.rids) > 1 || t.RID() != "")
		pub.muted.Store(p.muted[source])
		p.pubs[mid] = pub
		isNew = true
	}
	l := &layer{index: index, rid: t.RID(), track: t, ssrc: uint32(t.SSRC())}
	if !pub.addLayer(l) {
		p.mu.Unlock()
		return
	}
	p.wg.Add(2)
	go pub.readLoop(l)
	go p.readReceiverRTCP(r, t.RID())
	p.mu.Unlock()
	p.log.Debug().Str("mid", mid).Str("rid", t.RID()).Str("source", string(pub.source)).Str("codec", pub.codec.MimeType).Msg("track published")
	if isNew {
		p.room.publish(pub)
	}
	pub.requestKeyFrame(index)
}

func (p *Peer) refuseTrack(mid, reason string) {
	p.log.Info().Str("mid", mid).Str("reason", reason).Msg("published track refused")
	p.signal(Signal{Kind: SignalError, Reason: "track refused: " + reason})
}

// sourceLocked is the source of a track: as the client declared it (by
// mid, then by track id), else camera for video and microphone for audio.
func (p *Peer) sourceLocked(mid, trackID string, kind webrtc.RTPCodecType) Source {
	if s, ok := p.declared[mid]; ok && mid != "" {
		return s
	}
	if s, ok := p.declared[trackID]; ok && trackID != "" {
		return s
	}
	if kind == webrtc.RTPCodecTypeAudio {
		return SourceMicrophone
	}
	return SourceCamera
}

// trackEnded ends a publication whose track stopped (the client removed
// it, or the connection closed).
func (p *Peer) trackEnded(pub *publication) {
	p.mu.Lock()
	mine := p.pubs[pub.mid] == pub
	if mine {
		delete(p.pubs, pub.mid)
	}
	closed := p.closed
	p.mu.Unlock()
	if mine && !closed {
		p.log.Debug().Str("mid", pub.mid).Msg("track ended")
		p.room.unpublish(pub)
	}
}

// readReceiverRTCP drains the RTCP that arrives for a publication (the
// publisher's sender reports), which the interceptors need to see.
func (p *Peer) readReceiverRTCP(r *webrtc.RTPReceiver, rid string) {
	defer p.wg.Done()
	for {
		var err error
		if rid != "" {
			_, _, err = r.ReadSimulcastRTCP(rid)
		} else {
			_, _, err = r.ReadRTCP()
		}
		if err != nil {
			return
		}
	}
}

// subscribe adds a sending transceiver for pub (reusing one left inactive
// by an ended subscription) and chooses its first layer. The caller
// negotiates.
func (p *Peer) subscribe(pub *publication) {
	if !p.grants.Subscribe || pub.peer == p {
		return
	}
	p.mu.Lock()
	if p.closed || p.subs[pub.id] != nil {
		p.mu.Unlock()
		return
	}
	dt := newDownTrack(pub, p)
	if w, ok := p.wishes[pub.id]; ok {
		dt.wishW.Store(int32(w[0]))
		dt.wishH.Store(int32(w[1]))
	}
	p.subs[pub.id] = dt
	p.mu.Unlock()

	p.negMu.Lock()
	err := p.addTransceiverLocked(dt)
	p.negMu.Unlock()
	if err != nil || !pub.addDown(dt) {
		if err != nil {
			p.log.Warn().Err(err).Str("track", pub.id).Msg("subscribe")
		}
		p.mu.Lock()
		delete(p.subs, pub.id)
		p.mu.Unlock()
		p.negMu.Lock()
		p.releaseLocked(dt)
		p.negMu.Unlock()
		return
	}
	p.initialTarget(dt)
	p.wg.Add(1)
	go p.readSenderRTCP(dt, dt.sender)
}

// addPlaceholdersLocked gives the first offer an audio and a video
// m-section (receive-only, never used for media), so that
// the first exchange settles the header extension ids of both kinds with
// the SFU's numbering. Otherwise a browser that publishes first numbers
// them its own way, and when its offer crosses the SFU's (which pion
// numbers afresh for a kind it has not negotiated yet) Chromium refuses
// the SFU's offer even after rolling its own back: "RTP extension ID
// reassignment not supported". They stay out of the free list: a
// subscription on a transceiver that began receive-only lost its
// retransmissions and bandwidth feedback in tests.
func (p *Peer) addPlaceholdersLocked() error {
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		tr, err := p.pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
		if err != nil {
			return fmt.Errorf("%s placeholder: %w", kind, err)
		}
		if err := p.setMidLocked(tr); err != nil {
			return err
		}
	}
	return nil
}

// setMidLocked names a transceiver of the SFU. Its m-sections get mids
// of their own ("s1", "s2", ...): clients number theirs, so an offer of
// each side crossing in flight can never claim the same mid.
func (p *Peer) setMidLocked(tr *webrtc.RTPTransceiver) error {
	p.midSeq++
	return tr.SetMid("s" + strconv.Itoa(p.midSeq))
}

// addTransceiverLocked attaches dt to a free transceiver of its kind or
// a new one, offering only the publisher's codec. A reused transceiver
// gets a sender made by the PeerConnection's own API, so that its packets
// pass the PeerConnection's interceptors like every other sender's.
func (p *Peer) addTransceiverLocked(dt *downTrack) error {
	var tr *webrtc.RTPTransceiver
	for i, t := range p.free {
		if p.api != nil && t.Kind() == dt.Kind() {
			tr = t
			p.free = append(p.free[:i], p.free[i+1:]...)
			break
		}
	}
	if tr != nil {
		s, err := p.api.NewRTPSender(dt, p.pc.SCTP().Transport())
		if err != nil {
			return err
		}
		if err := tr.SetSender(s, dt); err != nil {
			return err
		}
	} else {
		var err error
		tr, err = p.pc.AddTransceiverFromTrack(dt, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			return err
		}
		if err := p.setMidLocked(tr); err != nil {
			return err
		}
	}
	dt.transceiver, dt.sender = tr, tr.Sender()
	// Offer the publisher's codec (and its retransmission format) only,
	// so the subscriber cannot pick one the SFU could not forward.
	all := tr.Sender().GetParameters().Codecs
	if c, ok := matchCodec(dt.pub.codec.RTPCodecCapability, all); ok {
		prefs := []webrtc.RTPCodecParameters{c}
		for _, x := range all {
			if strings.EqualFold(x.MimeType, webrtc.MimeTypeRTX) && fmtpValue(x.SDPFmtpLine, "apt") == fmt.Sprint(c.PayloadType) {
				prefs = append(prefs, x)
			}
		}
		if err := tr.SetCodecPreferences(prefs); err != nil {
			return err
		}
	}
	return nil
}

// releaseLocked detaches a subscription's sender; its transceiver becomes
// reusable once an offer without it has been answered.
func (p *Peer) releaseLocked(dt *downTrack) {
	if dt.sender == nil || p.pc.ConnectionState() == webrtc.PeerConnectionStateClosed {
		return
	}
	if err := p.pc.RemoveTrack(dt.sender); err != nil {
		p.log.Debug().Err(err).Msg("remove track")
		return
	}
	p.releasing = append(p.releasing, dt.transceiver)
	p.needOffer = true
}

// unsubscribe ends one subscription (the publication ended). The caller
// negotiates.
func (p *Peer) unsubscribe(dt *downTrack) {
	p.mu.Lock()
	if p.subs[dt.pub.id] != dt {
		p.mu.Unlock()
		return
	}
	delete(p.subs, dt.pub.id)
	delete(p.wishes, dt.pub.id)
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return
	}
	p.negMu.Lock()
	p.releaseLocked(dt)
	p.negMu.Unlock()
}

// readSenderRTCP handles the subscriber's feedback for one subscription:
// key-frame requests go to the publisher, REMB and transport-wide
// feedback feed the bandwidth estimate (NACKs are answered by the
// interceptor while this loop reads).
func (p *Peer) readSenderRTCP(dt *downTrack, s *webrtc.RTPSender) {
	defer p.wg.Done()
	m := p.sfu.metrics
	for {
		pkts, _, err := s.ReadRTCP()
		if err != nil {
			return
		}
		for _, pkt := range pkts {
			switch v := pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				m.plisReceived.Inc()
				if !dt.keyFrameRequested() {
					m.plisSuppressed.Inc()
				}
			case *rtcp.TransportLayerNack:
				m.nacksReceived.Inc()
			case *rtcp.ReceiverEstimatedMaximumBitrate:
				p.remb.Store(int64(v.Bitrate))
				p.rembAt.Store(p.sfu.now())
			case *rtcp.TransportLayerCC:
				p.twccAt.Store(p.sfu.now())
			}
		}
	}
}

// randomID returns 8 random characters for track ids.
func randomID() string {
	var b [5]byte
	_, _ = rand.Read(b[:])
	return strings.ToLower(base32.StdEncoding.EncodeToString(b[:]))
}

// peerConnectionAPI returns the API pion built for pc. Pion gives each
// PeerConnection its own API holding the interceptor chain built for it
// (NACK responder, transport-wide sequence numbers, bandwidth estimator,
// sender reports), and has no accessor for it: a sender made with
// NewRTPSender of any other API — the one the PeerConnection came from
// included — has a no-op chain, so its subscriber gets no retransmissions
// and no bandwidth estimation. It returns nil if pion's layout changed
// (then the SFU does not reuse transceivers; TestPeerConnectionAPI fails).
func peerConnectionAPI(pc *webrtc.PeerConnection) *webrtc.API {
	f := reflect.ValueOf(pc).Elem().FieldByName("api")
	if !f.IsValid() || f.Kind() != reflect.Pointer || f.Type().Elem() != reflect.TypeFor[webrtc.API]() || f.IsNil() {
		return nil
	}
	return (*webrtc.API)(f.UnsafePointer())
}
