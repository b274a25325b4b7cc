package signaling

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/lotse-io/lotse/auth"
	"github.com/lotse-io/lotse/sfu"
	"github.com/lotse-io/lotse/signaling/wire"
	"github.com/lotse-io/lotse/signaling/wire/sfuwire"
)

// MediaServer is the SFU as signalling uses it: one peer per admitted
// participant, one room per conversation.
type MediaServer interface {
	Join(roomID string, p sfu.Participant, out sfu.Signaler) (*sfu.Peer, error)
	CloseRoom(roomID string)
}

// SetMedia connects the SFU (before serving).
func (s *Service) SetMedia(m MediaServer) { s.media = m }

// mediaLink ties a member to its SFU peer. Signals from the SFU go to the
// member's current session; the link is updated when the session changes,
// without the room lock, so that Signal never blocks.
type mediaLink struct {
	ring time.Duration
	size int

	mu   sync.Mutex // guards the fields below
	sess *session
	peer *sfu.Peer
	gen  uint64 // bumped by every start and stop

	op sync.Mutex // serialises the SFU joins and closes of this member

	// rejoin gives the member a new peer (set once, when the link is
	// made); marker: tell the client first (it asked for the new peer).
	rejoin func(marker bool)
	// askedRejoin is when the client last asked for a new peer (guarded by
	// the room lock).
	askedRejoin time.Time
}

// minRejoinInterval bounds how often a client may ask for a new SFU peer.
const minRejoinInterval = 2 * time.Second

func (l *mediaLink) setSession(s *session) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sess = s
}

func (l *mediaLink) current() (*session, *sfu.Peer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sess, l.peer
}

// Signal implements sfu.Signaler: it turns the SFU's signal into a
// sequenced "media" message of the member's session.
func (l *mediaLink) Signal(sig sfu.Signal) {
	s, _ := l.current()
	if s == nil {
		return
	}
	s.send(sfuwire.ToWire(sig), l.size, l.ring)
	if sig.Kind == sfu.SignalRestart && sig.Reason == sfu.ReasonRejoin && l.rejoin != nil {
		// The peer cannot be renegotiated: the client starts a new
		// PeerConnection on this message, and gets a new peer to talk to
		// (not from this SFU callback: the room lock is taken there).
		l.rejoin(false)
	}
}

// Send implements cobrowse.Sink for a member with a peer: the data channel
// when it is open, else the WebSocket.
func (l *mediaLink) Send(b []byte) bool {
	s, p := l.current()
	if p != nil && p.SendData(b) == nil {
		return true
	}
	return s != nil && s.Send(b)
}

func grantsOf(m *member) sfu.Grants {
	return sfu.Grants{
		PublishAudio:  m.hasGrant(auth.GrantPublishAudio),
		PublishVideo:  m.hasGrant(auth.GrantPublishVideo),
		PublishScreen: m.hasGrant(auth.GrantPublishScreen),
		Subscribe:     m.hasGrant(auth.GrantSubscribe),
		Data:          m.cobrowseRole() != "",
	}
}

// startMediaLocked gives an admitted member with a session a peer in the
// conversation's SFU room (replacing an earlier one: a new page has a new
// PeerConnection). Called with the room locked; the SFU calls themselves
// (a join or close can take a while) run outside it, ordered by the
// link's generation so that a stop overtaking a join closes the new peer.
func (r *Room) startMediaLocked(m *member) { r.newPeerLocked(m, false) }

// newPeerLocked replaces the member's peer; marker first tells the client,
// in order after everything the old peer said, that the new peer follows.
func (r *Room) newPeerLocked(m *member, marker bool) {
	media := r.hub.svc.media
	if media == nil || m.sess == nil || !m.admitted() {
		return
	}
	if m.link == nil {
		l := &mediaLink{ring: r.hub.cfg.ResumeWindow, size: r.hub.cfg.ReplayBuffer}
		svc := r.hub.svc
		l.rejoin = func(marker bool) {
			svc.mediaOps.Add(1)
			go func() {
				defer svc.mediaOps.Done()
				r.mu.Lock()
				defer r.mu.Unlock()
				if m.link == l && !r.ended {
					r.newPeerLocked(m, marker)
				}
			}()
		}
		m.link = l
	}
	l := m.link
	// A new generation first: from here on the old peer's signals are
	// dropped, so nothing of it reaches the client after this point.
	old, gen := l.reset()
	l.setSession(m.sess)
	if marker {
		m.sess.send(&wire.Media{Header: wire.Header{Type: "media"}, Kind: string(sfu.SignalRestart), Reason: sfu.ReasonRejoin}, l.size, l.ring)
	}
	p := sfu.Participant{ID: m.rec.ID, Name: m.rec.DisplayName, Grants: grantsOf(m)}
	sess := m.sess
	r.hub.svc.mediaOps.Add(1)
	go func() {
		defer r.hub.svc.mediaOps.Done()
		l.op.Lock()
		defer l.op.Unlock()
		if old != nil {
			old.Close()
		}
		if !l.latest(gen) {
			return // a later start or a stop took over
		}
		peer, err := media.Join(r.convID, p, peerSignaler{l, gen})
		if err != nil {
			r.hub.log.Warn().Err(err).Str("conversation", r.convID).Msg("media join failed")
			sess.send(&wire.Error{Header: wire.Header{Type: "error"}, Code: "media_unavailable", Message: "video and audio are not available right now"}, l.size, l.ring)
			return
		}
		if !l.install(gen, peer) {
			peer.Close()
		}
	}()
}

// peerSignaler passes on the signals of one generation's peer only: a
// replaced peer may still be talking while it closes.
type peerSignaler struct {
	l   *mediaLink
	gen uint64
}

func (ps peerSignaler) Signal(sig sfu.Signal) {
	if ps.l.latest(ps.gen) {
		ps.l.Signal(sig)
	}
}

// reset drops the current peer and starts a new generation.
func (l *mediaLink) reset() (*sfu.Peer, uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	old := l.peer
	l.peer = nil
	l.gen++
	return old, l.gen
}

// latest reports whether gen is still the latest generation.
func (l *mediaLink) latest(gen uint64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.gen == gen
}

// install sets the peer a join of generation gen produced, unless a later
// start or stop superseded it.
func (l *mediaLink) install(gen uint64, p *sfu.Peer) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.gen != gen {
		return false
	}
	l.peer = p
	return true
}

// stopMediaLocked closes a member's peer (left, removed, ended).
func (r *Room) stopMediaLocked(m *member) {
	if m.link == nil {
		return
	}
	old, _ := m.link.reset()
	m.link.setSession(nil)
	if old != nil {
		r.hub.svc.mediaOps.Add(1)
		go func() {
			defer r.hub.svc.mediaOps.Done()
			m.link.op.Lock()
			defer m.link.op.Unlock()
			old.Close()
		}()
	}
}

// media hands a client's media message to its peer.
func (r *Room) media(s *session, msg *wire.Media) error {
	r.mu.Lock()
	m := s.member
	var peer *sfu.Peer
	if m.link != nil && m.sess == s {
		_, peer = m.link.current()
	}
	admitted := m.admitted()
	r.mu.Unlock()
	if !admitted {
		return wire.Errorf(wire.CodeNotAdmitted, "wait until the advisor admits you")
	}
	if msg.Kind == "restart" && msg.Reason == sfu.ReasonRejoin {
		// The client's PeerConnection cannot go on (it refused a
		// description): it has started a new one and needs a new peer.
		r.mu.Lock()
		l := m.link
		ok := l != nil && m.sess == s
		tooSoon := ok && time.Since(l.askedRejoin) < minRejoinInterval
		if ok && !tooSoon {
			l.askedRejoin = time.Now()
		}
		r.mu.Unlock()
		if !ok {
			return wire.Errorf("media_unavailable", "video and audio are not available")
		}
		if tooSoon {
			return wire.Errorf(wire.CodeRateLimited, "a new media peer at most every %v", minRejoinInterval)
		}
		r.hub.log.Info().Str("conversation", r.convID).Str("participant", m.rec.ID).Msg("client asked for a new media peer")
		l.rejoin(true)
		return nil
	}
	if peer == nil {
		return wire.Errorf("media_unavailable", "video and audio are not available")
	}
	err := sfu.Dispatch(peer, sfuwire.FromWire(msg))
	if errors.Is(err, sfu.ErrUnknownTrack) && (msg.Kind == "video" || msg.Kind == "mute") {
		// A size hint or mute for a track that just ended crossed its
		// end: nothing to do, nothing to tell the client.
		return nil
	}
	if err != nil {
		r.hub.log.Info().Err(err).Str("conversation", r.convID).Str("participant", m.rec.ID).Str("kind", msg.Kind).Msg("media message refused")
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sfu.ErrNotAllowed):
		return wire.Errorf(wire.CodeNotAllowed, "your consent or role does not allow this")
	case errors.Is(err, sfu.ErrBadSDP), errors.Is(err, sfu.ErrBadCandidate), errors.Is(err, sfu.ErrBadSignal):
		return wire.Errorf(wire.CodeInvalid, "media message refused: %s", truncateErr(err))
	case errors.Is(err, sfu.ErrTooManyTracks):
		return wire.Errorf(wire.CodeInvalid, "too many tracks")
	}
	return wire.Errorf(wire.CodeInvalid, "media message refused")
}

func truncateErr(err error) string {
	s := err.Error()
	if len(s) > 160 {
		s = s[:160]
	}
	return s
}

// HandleData implements sfu.DataHandler: co-browse frames arriving on a
// participant's data channel take the same path as WebSocket frames.
func (s *Service) HandleData(roomID, participantID string, b []byte) {
	r := s.hub.roomByConv(roomID)
	if r == nil || s.cobrowse == nil {
		return
	}
	r.mu.Lock()
	m := r.members[participantID]
	var admitted bool
	var role string
	if m != nil {
		admitted, role = m.admitted(), m.cobrowseRole()
	}
	r.mu.Unlock()
	if !admitted {
		return
	}
	ctx := context.Background()
	switch role {
	case "share":
		_ = s.cobrowse.FromCustomer(ctx, roomID, participantID, b)
	case "view":
		_ = s.cobrowse.FromViewer(ctx, roomID, participantID, b)
	}
}

// trackEvent is a publication start or end waiting to be recorded.
type trackEvent struct {
	roomID   string
	tenantID string // known when queued: the room may be gone when it is written
	typ      string
	track    sfu.TrackInfo
}

// TrackStarted implements sfu.TrackObserver: the record notes who started
// sharing camera, microphone or screen. The track's tenant is kept until
// it ends: its end may come after the conversation's room is gone.
func (s *Service) TrackStarted(roomID string, t sfu.TrackInfo) {
	r := s.hub.roomByConv(roomID)
	if r == nil {
		s.log.Debug().Str("conversation", roomID).Msg("track of an unknown room")
		return
	}
	s.liveTracks.Store(roomID+"/"+t.ID, r.tenantID)
	s.queueTrackEvent(trackEvent{roomID: roomID, tenantID: r.tenantID, typ: "media.started", track: t})
}

// TrackEnded implements sfu.TrackObserver.
func (s *Service) TrackEnded(roomID string, t sfu.TrackInfo) {
	tenantID, ok := s.liveTracks.LoadAndDelete(roomID + "/" + t.ID)
	if !ok {
		return // its start was not recorded either
	}
	s.queueTrackEvent(trackEvent{roomID: roomID, tenantID: tenantID.(string), typ: "media.stopped", track: t})
}

// queueTrackEvent hands the event to the recorder without blocking the
// SFU; a full queue loses the event (and says so in the log).
func (s *Service) queueTrackEvent(ev trackEvent) {
	select {
	case s.trackEvents <- ev:
	default:
		s.log.Warn().Str("conversation", ev.roomID).Str("event", ev.typ).Msg("media event queue full, event not recorded")
	}
}

// recordTrackEvents writes the queued media events in order until ctx ends.
func (s *Service) recordTrackEvents(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-s.trackEvents:
			data := map[string]any{"participant_id": ev.track.ParticipantID, "source": ev.track.Source, "kind": ev.track.Kind}
			if err := s.record(ctx, ev.tenantID, ev.roomID, "participant:"+ev.track.ParticipantID, ev.typ, data); err != nil && ctx.Err() == nil {
				s.log.Error().Err(err).Str("conversation", ev.roomID).Msg("record media event")
			}
		}
	}
}
