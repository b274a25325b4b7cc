package signaling

import (
	"context"
	"encoding/json"
	"sort"
	"sync"
	"time"

	"github.com/lotse-io/lotse/auth"
	"github.com/lotse-io/lotse/signaling/wire"
	"github.com/lotse-io/lotse/store"
)

// member is a participant of a live room.
type member struct {
	rec    store.Participant
	grants []string
	sess   *session   // nil when not connected and not within the resume window
	link   *mediaLink // the member's SFU peer, once admitted (nil without media)
	// connectedAt is when the current connection streak began.
	connectedAt time.Time
	// iceAt is when the member last got ICE servers (TURN credentials).
	iceAt time.Time
}

func (m *member) admitted() bool { return m.rec.State == wire.StateAdmitted }
func (m *member) advisor() bool  { return m.rec.Role == wire.RoleAdvisor }

func (m *member) view() wire.Participant {
	p := wire.Participant{ID: m.rec.ID, Role: m.rec.Role, Name: m.rec.DisplayName, State: m.rec.State,
		Connected: m.sess != nil && m.sess.connected(), JoinedAt: m.rec.CreatedAt}
	if m.rec.Role == wire.RoleCustomer && len(m.rec.Consent) > 0 {
		var c wire.Consent
		if json.Unmarshal(m.rec.Consent, &c) == nil {
			p.Consent = &c
		}
	}
	return p
}

// Room is a live conversation: its members and their sessions. All changes
// go through its methods, which hold mu while they persist the event and
// send the messages, so that the record's order is the order everyone sees.
type Room struct {
	hub      *Hub
	tenantID string
	convID   string

	mu         sync.Mutex // guards the fields below
	conv       store.Conversation
	members    map[string]*member
	emptySince time.Time // when the last member's session went away
	ended      bool
}

// eachLocked calls fn for every member with a session, in joining order.
func (r *Room) eachLocked(fn func(*member)) {
	ms := make([]*member, 0, len(r.members))
	for _, m := range r.members {
		if m.sess != nil {
			ms = append(ms, m)
		}
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].rec.CreatedAt.Before(ms[j].rec.CreatedAt) })
	for _, m := range ms {
		fn(m)
	}
}

// sendLocked sends msg to one member (a fresh copy per recipient, since
// the sequence number differs).
func (r *Room) sendLocked(m *member, msg wire.Message) {
	if m.sess != nil {
		m.sess.send(msg, r.hub.cfg.ReplayBuffer, r.hub.cfg.ResumeWindow)
	}
}

// broadcastLocked sends to every member for whom include is true.
func (r *Room) broadcastLocked(include func(*member) bool, mk func() wire.Message) {
	r.eachLocked(func(m *member) {
		if include(m) {
			r.sendLocked(m, mk())
		}
	})
}

// canSee reports whether viewer may know about m: advisors see everyone,
// customers see the admitted and themselves (never other waiting customers).
func canSee(viewer, m *member) bool {
	return viewer.advisor() || m.admitted() || viewer == m
}

// recordLocked appends an event to the conversation's record.
func (r *Room) recordLocked(ctx context.Context, actor, typ string, data any) error {
	return r.hub.svc.record(ctx, r.tenantID, r.convID, actor, typ, data)
}

// participantsFor lists the members viewer may see.
func (r *Room) participantsForLocked(viewer *member) []wire.Participant {
	out := []wire.Participant{}
	ids := make([]*member, 0, len(r.members))
	for _, m := range r.members {
		ids = append(ids, m)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i].rec.CreatedAt.Before(ids[j].rec.CreatedAt) })
	for _, m := range ids {
		if m.rec.State == wire.StateLeft || m.rec.State == wire.StateRemoved {
			continue
		}
		if canSee(viewer, m) {
			v := m.view()
			if m == viewer {
				v.Connected = true // the list is on its way to it
			}
			out = append(out, v)
		}
	}
	return out
}

// join attaches a new session for the participant of claims and returns it
// with the Joined message to send first.
func (r *Room) join(ctx context.Context, claims *auth.JoinClaims, c *wsConn, ice []wire.ICEServer) (*session, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended {
		return nil, wire.Errorf(wire.CodeEnded, "the conversation has ended")
	}
	m := r.members[claims.Participant]
	if m == nil {
		rec, err := r.hub.svc.participant(ctx, r.tenantID, r.convID, claims.Participant)
		if err != nil {
			return nil, wire.Errorf(wire.CodeBadToken, "unknown participant")
		}
		m = &member{rec: rec}
		r.members[rec.ID] = m
	}
	if m.rec.State == wire.StateRemoved {
		return nil, wire.Errorf(wire.CodeNotAllowed, "you were removed from this conversation")
	}
	m.grants = claims.Grants
	now := time.Now()
	first := m.sess == nil
	if m.sess != nil {
		// A second connection of the same participant replaces the first.
		m.sess.close(closeReplaced, "replaced by a newer connection")
		r.hub.forget(m.sess)
	}
	s := newSession(r, m)
	m.sess = s
	m.connectedAt = now
	m.iceAt = now
	r.hub.remember(s)
	r.emptySince = time.Time{}

	if m.rec.State == wire.StateLeft || m.rec.State == "" {
		if m.advisor() || !m.rec.AdmittedAt.IsZero() {
			m.rec.State = wire.StateAdmitted
		} else {
			m.rec.State = wire.StateWaiting
		}
		m.rec.LeftAt = time.Time{}
	}
	if err := r.hub.svc.st.UpdateParticipant(ctx, m.rec); err != nil {
		return nil, err
	}
	if first {
		if err := r.recordLocked(ctx, "participant:"+m.rec.ID, "participant.joined",
			map[string]any{"participant_id": m.rec.ID, "role": m.rec.Role, "name": m.rec.DisplayName, "state": m.rec.State}); err != nil {
			return nil, err
		}
		r.hub.svc.webhook(ctx, r.tenantID, "participant.joined", map[string]any{"conversation_id": r.convID,
			"participant": map[string]any{"id": m.rec.ID, "role": m.rec.Role, "name": m.rec.DisplayName}})
	}
	if m.rec.State == wire.StateWaiting && r.conv.State == wire.ConvCreated {
		if err := r.setStateLocked(ctx, wire.ConvWaiting, ""); err != nil {
			return nil, err
		}
	}
	// The session attaches below: everyone sees the member connected.
	view := m.view()
	view.Connected = true
	r.broadcastLocked(func(o *member) bool { return o != m && canSee(o, m) }, func() wire.Message {
		if first {
			return &wire.ParticipantJoined{Header: wire.Header{Type: "participant_joined"}, Participant: view}
		}
		return &wire.ParticipantUpdated{Header: wire.Header{Type: "participant_updated"}, Participant: view}
	})
	joined := &wire.Joined{Header: wire.Header{Type: "joined"}, SessionID: s.id, ResumeToken: s.resumeToken, Self: view,
		Conversation: wire.ConversationInfo{ID: r.convID, State: r.conv.State, Subject: r.conv.Subject},
		Participants: r.participantsForLocked(m), Chat: []wire.ChatMessage{}, ICEServers: ice, ICETransportPolicy: r.hub.svc.icePolicy(),
		PingInterval: int(r.hub.cfg.PingInterval / time.Millisecond)}
	if m.admitted() {
		chat, err := r.hub.svc.chatHistory(ctx, r.tenantID, r.convID)
		if err != nil {
			return nil, err
		}
		joined.Chat = chat
	}
	joinedMsg, err := json.Marshal(joined)
	if err != nil {
		return nil, err
	}
	// Joined goes out before anything else the session receives.
	s.attach(c, joinedMsg, 0, false)
	r.startMediaLocked(m)
	r.attachCobrowseLocked(m)
	return s, nil
}

// resume re-attaches a connection to a session within the resume window.
func (r *Room) resume(s *session, c *wsConn, lastSeq uint64, ice []wire.ICEServer) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := s.member
	if r.ended || m.sess != s {
		return false
	}
	// The resumed client keeps its state and gets the messages it missed
	// after Joined; Joined carries no chat, since the client has it.
	view := m.view()
	view.Connected = true
	joined := &wire.Joined{Header: wire.Header{Type: "joined"}, SessionID: s.id, ResumeToken: s.resumeToken, Resumed: true, Self: view,
		Conversation: wire.ConversationInfo{ID: r.convID, State: r.conv.State, Subject: r.conv.Subject},
		Participants: r.participantsForLocked(m), Chat: []wire.ChatMessage{}, ICEServers: ice, ICETransportPolicy: r.hub.svc.icePolicy(),
		PingInterval: int(r.hub.cfg.PingInterval / time.Millisecond)}
	first, err := json.Marshal(joined)
	if err != nil || !s.attach(c, first, lastSeq, true) {
		return false
	}
	m.connectedAt = time.Now()
	r.emptySince = time.Time{}
	view = m.view()
	r.broadcastLocked(func(o *member) bool { return o != m && canSee(o, m) }, func() wire.Message {
		return &wire.ParticipantUpdated{Header: wire.Header{Type: "participant_updated"}, Participant: view}
	})
	return true
}

// dropped notes that s lost its connection; the member stays for the
// resume window and is shown as disconnected.
func (r *Room) dropped(s *session, c *wsConn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !s.detach(c, time.Now()) || s.member.sess != s {
		return
	}
	m := s.member
	m.rec.ConnectedMS += time.Since(m.connectedAt).Milliseconds()
	view := m.view()
	r.broadcastLocked(func(o *member) bool { return o != m && canSee(o, m) }, func() wire.Message {
		return &wire.ParticipantUpdated{Header: wire.Header{Type: "participant_updated"}, Participant: view}
	})
}

// sweep ends sessions whose resume window has passed, and the conversation
// when it has been empty for the empty timeout.
func (r *Room) sweep(ctx context.Context, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended {
		return
	}
	for _, m := range r.members {
		if m.sess == nil {
			continue
		}
		if m.sess.connected() {
			m.sess.prune(now, r.hub.cfg.ResumeWindow)
			if now.Sub(m.iceAt) > r.hub.cfg.ICERefresh {
				// Fresh TURN credentials before the old ones expire; the
				// client applies them with setConfiguration and an ICE restart.
				m.iceAt = now
				r.sendLocked(m, &wire.IceServers{Header: wire.Header{Type: "ice_servers"}, ICEServers: r.hub.svc.iceServers(m.rec.ID)})
			}
			continue
		}
		if d := m.sess.droppedSince(); !d.IsZero() && now.Sub(d) > r.hub.cfg.ResumeWindow {
			r.leaveLocked(ctx, m, "disconnected", "system")
		}
	}
	active := false
	for _, m := range r.members {
		if m.sess != nil {
			active = true
		}
	}
	switch {
	case active:
		r.emptySince = time.Time{}
	case r.emptySince.IsZero():
		r.emptySince = now
	case now.Sub(r.emptySince) > r.hub.cfg.EmptyTimeout && r.conv.State != wire.ConvCreated:
		r.endLocked(ctx, "empty", "system")
	}
}

// leaveLocked takes m out (left, removed or disconnected for good).
func (r *Room) leaveLocked(ctx context.Context, m *member, reason, actor string) {
	// Who saw the member until now learns that it left (an admitted
	// participant was visible to everyone, a waiting one to advisors).
	wasAdmitted := m.admitted()
	if m.sess != nil {
		if m.sess.connected() {
			m.rec.ConnectedMS += time.Since(m.connectedAt).Milliseconds()
		}
		r.hub.forget(m.sess)
		m.sess.close(closeNormal, reason)
		m.sess = nil
	}
	r.stopMediaLocked(m)
	if reason == "removed" {
		m.rec.State = wire.StateRemoved
	} else {
		m.rec.State = wire.StateLeft
	}
	m.rec.LeftAt = time.Now()
	if err := r.hub.svc.st.UpdateParticipant(ctx, m.rec); err != nil {
		r.hub.log.Error().Err(err).Str("participant", m.rec.ID).Msg("store participant")
	}
	if err := r.recordLocked(ctx, actor, "participant.left", map[string]any{"participant_id": m.rec.ID, "reason": reason}); err != nil {
		r.hub.log.Error().Err(err).Msg("record leave")
	}
	r.hub.svc.webhook(ctx, r.tenantID, "participant.left", map[string]any{"conversation_id": r.convID, "participant_id": m.rec.ID, "reason": reason})
	r.broadcastLocked(func(o *member) bool { return o != m && (o.advisor() || wasAdmitted) }, func() wire.Message {
		return &wire.ParticipantLeft{Header: wire.Header{Type: "participant_left"}, ParticipantID: m.rec.ID, Reason: reason}
	})
}

func (r *Room) setStateLocked(ctx context.Context, state, reason string) error {
	if err := r.hub.svc.st.SetConversationState(ctx, r.tenantID, r.convID, state, reason, time.Now()); err != nil {
		return err
	}
	old := r.conv.State
	r.conv.State = state
	if err := r.recordLocked(ctx, "system", "conversation."+state, map[string]any{"from": old, "reason": reason}); err != nil {
		return err
	}
	switch state {
	case wire.ConvActive:
		r.hub.svc.webhook(ctx, r.tenantID, "conversation.started", map[string]any{"conversation_id": r.convID})
	case wire.ConvEnded:
		r.hub.svc.webhook(ctx, r.tenantID, "conversation.ended", map[string]any{"conversation_id": r.convID, "reason": reason})
	}
	return nil
}

// endLocked ends the conversation for everyone.
func (r *Room) endLocked(ctx context.Context, reason, actor string) {
	if r.ended {
		return
	}
	r.ended = true
	if actor != "system" {
		_ = r.recordLocked(ctx, actor, "conversation.end_requested", map[string]any{"reason": reason})
	}
	if err := r.setStateLocked(ctx, wire.ConvEnded, reason); err != nil {
		r.hub.log.Error().Err(err).Str("conversation", r.convID).Msg("end conversation")
	}
	r.broadcastLocked(func(*member) bool { return true }, func() wire.Message {
		return &wire.ConversationEnded{Header: wire.Header{Type: "conversation_ended"}, Reason: reason}
	})
	for _, m := range r.members {
		if m.sess != nil {
			if m.sess.connected() {
				m.rec.ConnectedMS += time.Since(m.connectedAt).Milliseconds()
			}
			if m.rec.State == wire.StateAdmitted || m.rec.State == wire.StateWaiting {
				m.rec.State = wire.StateLeft
				m.rec.LeftAt = time.Now()
			}
			_ = r.hub.svc.st.UpdateParticipant(ctx, m.rec)
			r.hub.forget(m.sess)
			m.sess.close(closeNormal, "conversation ended")
			m.sess = nil
		}
	}
	svc := r.hub.svc
	convID := r.convID
	for _, m := range r.members {
		r.stopMediaLocked(m)
	}
	svc.mediaOps.Add(1)
	go func() {
		defer svc.mediaOps.Done()
		// Not under the room lock: closing waits for the peers'
		// goroutines, and a data-channel message in flight waits for this
		// lock (HandleData) — the two waited for each other.
		if media := svc.media; media != nil {
			media.CloseRoom(convID)
		}
	}()
	if relay := r.hub.svc.cobrowse; relay != nil {
		relay.End(r.convID)
	}
	r.hub.removeRoom(r)
}
