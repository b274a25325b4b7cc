package signaling

import (
	"context"

	"github.com/lotse-io/lotse/auth"
	"github.com/lotse-io/lotse/cobrowse"
	"github.com/lotse-io/lotse/signaling/wire"
)

// CobrowseRelay is what signalling needs of the co-browse plane
// (cobrowse.Relay): frames in from the customer and the viewers, sinks out,
// and the end of a conversation.
type CobrowseRelay interface {
	FromCustomer(ctx context.Context, conv, participant string, msg []byte) error
	FromViewer(ctx context.Context, conv, participant string, msg []byte) error
	AddViewer(conv, participant string, sink cobrowse.Sink) (detach func())
	SetCustomerSink(conv, participant string, sink cobrowse.Sink) (detach func())
	End(conv string)
}

// hasGrant reports whether the member's token granted g.
func (m *member) hasGrant(g string) bool {
	for _, x := range m.grants {
		if x == g {
			return true
		}
	}
	return false
}

// cobrowseRole says what a member may do in co-browsing: share (the
// customer who consented), view (advisors), or nothing.
func (m *member) cobrowseRole() string {
	switch {
	case m.rec.Role == wire.RoleCustomer && m.hasGrant(auth.GrantCobrowseShare):
		return "share"
	case m.hasGrant(auth.GrantCobrowseView):
		return "view"
	}
	return ""
}

// attachCobrowseLocked hooks an admitted member's session to the relay:
// the sharing customer as the relay's customer, viewers as viewers (they
// get the held page at once). Called with the room locked.
func (r *Room) attachCobrowseLocked(m *member) {
	relay := r.hub.svc.cobrowse
	if relay == nil || m.sess == nil || !m.admitted() {
		return
	}
	s := m.sess
	var sink cobrowse.Sink = s
	if m.link != nil {
		sink = m.link // the data channel when open, else the WebSocket
	}
	var detach func()
	switch m.cobrowseRole() {
	case "share":
		detach = relay.SetCustomerSink(r.convID, m.rec.ID, sink)
	case "view":
		detach = relay.AddViewer(r.convID, m.rec.ID, sink)
	default:
		return
	}
	s.mu.Lock()
	old := s.detachCobrowse
	s.detachCobrowse = detach
	s.mu.Unlock()
	if old != nil {
		old()
	}
}

// cobrowseFrame hands a binary frame from a session to the relay,
// according to what the sender may do.
func (s *Service) cobrowseFrame(ctx context.Context, st *connState, data []byte) *wire.ProtocolError {
	if s.cobrowse == nil {
		return wire.Errorf(wire.CodeNotAllowed, "co-browsing is not available")
	}
	r, sess := st.room, st.sess
	r.mu.Lock()
	m := sess.member
	admitted, role := m.admitted(), m.cobrowseRole()
	r.mu.Unlock()
	if !admitted {
		return wire.Errorf(wire.CodeNotAdmitted, "wait until the advisor admits you")
	}
	var err error
	switch role {
	case "share":
		err = s.cobrowse.FromCustomer(ctx, r.convID, m.rec.ID, data)
	case "view":
		err = s.cobrowse.FromViewer(ctx, r.convID, m.rec.ID, data)
	default:
		return wire.Errorf(wire.CodeNotAllowed, "you may not co-browse in this conversation")
	}
	if err != nil {
		return wire.Errorf(wire.CodeInvalid, "co-browse frame refused")
	}
	return nil
}

// recordCobrowse puts a co-browse event (sharing started, control
// requested, granted, revoked ...) into the conversation's record.
func (s *Service) recordCobrowse(ctx context.Context, ev cobrowse.Event) {
	r := s.hub.roomByConv(ev.Conversation)
	if r == nil {
		return
	}
	actor := "system"
	if ev.Actor != "" {
		actor = "participant:" + ev.Actor
	}
	data := map[string]any{"from": ev.From, "to": ev.To}
	if ev.Subject != "" {
		data["participant_id"] = ev.Subject
	}
	if err := s.record(ctx, r.tenantID, ev.Conversation, actor, string(ev.Kind), data); err != nil {
		s.log.Error().Err(err).Str("conversation", ev.Conversation).Msg("record co-browse event")
	}
}

// RecordCobrowse is the cobrowse.Deps.Record hook.
func (s *Service) RecordCobrowse(ctx context.Context, ev cobrowse.Event) { s.recordCobrowse(ctx, ev) }

// SetCobrowse connects the co-browse relay (before serving).
func (s *Service) SetCobrowse(r CobrowseRelay) { s.cobrowse = r }

// TenantOf returns the tenant of a conversation that is live on this node.
func (s *Service) TenantOf(_ context.Context, conv string) (string, bool) {
	r := s.hub.roomByConv(conv)
	if r == nil {
		return "", false
	}
	return r.tenantID, true
}
