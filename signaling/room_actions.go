package signaling

import (
	"context"
	"encoding/json"

	"github.com/lotse-io/lotse/auth"
	"strings"
	"time"

	"github.com/lotse-io/lotse/signaling/wire"
)

// actorOf names the member in the record.
func actorOf(m *member) string { return "participant:" + m.rec.ID }

// admit lets a waiting customer in.
func (r *Room) admit(ctx context.Context, s *session, target string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	by := s.member
	if !by.advisor() {
		return wire.Errorf(wire.CodeNotAllowed, "only advisors admit")
	}
	m := r.members[target]
	if m == nil || m.sess == nil {
		return wire.Errorf(wire.CodeNotFound, "no such participant waiting")
	}
	if m.rec.State != wire.StateWaiting {
		return wire.Errorf(wire.CodeInvalid, "participant is not waiting")
	}
	m.rec.State = wire.StateAdmitted
	m.rec.AdmittedAt = time.Now()
	if err := r.hub.svc.st.UpdateParticipant(ctx, m.rec); err != nil {
		return err
	}
	if err := r.recordLocked(ctx, actorOf(by), "participant.admitted", map[string]any{"participant_id": m.rec.ID}); err != nil {
		return err
	}
	if r.conv.State != wire.ConvActive {
		if err := r.setStateLocked(ctx, wire.ConvActive, ""); err != nil {
			return err
		}
	}
	view := m.view()
	// Everyone who could already see the customer learns of the change;
	// the others (admitted customers) meet them now.
	r.eachLocked(func(o *member) {
		switch {
		case o == m:
		case o.advisor():
			r.sendLocked(o, &wire.ParticipantUpdated{Header: wire.Header{Type: "participant_updated"}, Participant: view})
		default:
			r.sendLocked(o, &wire.ParticipantJoined{Header: wire.Header{Type: "participant_joined"}, Participant: view})
		}
	})
	// The customer learns they are in, who is here, and the chat so far;
	// then the SFU's first offer follows on the same, ordered channel.
	defer r.attachCobrowseLocked(m)
	defer r.startMediaLocked(m)
	r.sendLocked(m, &wire.ParticipantUpdated{Header: wire.Header{Type: "participant_updated"}, Participant: view})
	for _, p := range r.participantsForLocked(m) {
		if p.ID != m.rec.ID {
			r.sendLocked(m, &wire.ParticipantJoined{Header: wire.Header{Type: "participant_joined"}, Participant: p})
		}
	}
	chat, err := r.hub.svc.chatHistory(ctx, r.tenantID, r.convID)
	if err != nil {
		return err
	}
	for _, c := range chat {
		r.sendLocked(m, &wire.ChatDelivered{Header: wire.Header{Type: "chat_delivered"}, Message: c})
	}
	return nil
}

// remove sends a participant out.
func (r *Room) remove(ctx context.Context, s *session, target string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !s.member.advisor() {
		return wire.Errorf(wire.CodeNotAllowed, "only advisors remove participants")
	}
	m := r.members[target]
	if m == nil || m.rec.State == wire.StateLeft || m.rec.State == wire.StateRemoved {
		return wire.Errorf(wire.CodeNotFound, "no such participant")
	}
	if m == s.member {
		return wire.Errorf(wire.CodeInvalid, "leave instead of removing yourself")
	}
	r.leaveLocked(ctx, m, "removed", actorOf(s.member))
	return nil
}

// leave takes the sender out.
func (r *Room) leave(ctx context.Context, s *session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s.member.sess != s {
		return
	}
	r.leaveLocked(ctx, s.member, "left", actorOf(s.member))
}

// chat records and delivers a chat message to everyone admitted. The
// sender's copy carries its message id, as an acknowledgement.
func (r *Room) chat(ctx context.Context, s *session, ref, text string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := s.member
	if !m.admitted() {
		return wire.Errorf(wire.CodeNotAdmitted, "wait until the advisor admits you")
	}
	text = strings.TrimSpace(text)
	if text == "" {
		return wire.Errorf(wire.CodeInvalid, "empty message")
	}
	msg := wire.ChatMessage{MessageID: newID(), From: m.rec.ID, Name: m.rec.DisplayName, Text: text, At: time.Now().UTC()}
	if err := r.recordLocked(ctx, actorOf(m), "chat", msg); err != nil {
		return err
	}
	r.eachLocked(func(o *member) {
		if !o.admitted() {
			return
		}
		d := &wire.ChatDelivered{Header: wire.Header{Type: "chat_delivered"}, Message: msg}
		if o == m {
			d.ID = ref
		}
		r.sendLocked(o, d)
	})
	return nil
}

// typing tells the others that the sender types.
func (r *Room) typing(s *session, active bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := s.member
	if !m.admitted() {
		return wire.Errorf(wire.CodeNotAdmitted, "wait until the advisor admits you")
	}
	r.broadcastLocked(func(o *member) bool { return o != m && o.admitted() }, func() wire.Message {
		return &wire.TypingUpdate{Header: wire.Header{Type: "typing_update"}, ParticipantID: m.rec.ID, Active: active}
	})
	return nil
}

// updateConsent records a customer's changed consent and tells the others.
func (r *Room) updateConsent(ctx context.Context, s *session, c wire.Consent) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := s.member
	if m.rec.Role != wire.RoleCustomer {
		return wire.Errorf(wire.CodeNotAllowed, "only customers give consent")
	}
	b, _ := json.Marshal(c)
	m.rec.Consent = b
	if !c.Cobrowse && m.hasGrant(auth.GrantCobrowseShare) {
		// Withdrawing consent to co-browsing ends the sharing at once; it
		// can only be given again with a new consent (a new join).
		var kept []string
		for _, g := range m.grants {
			if g != auth.GrantCobrowseShare {
				kept = append(kept, g)
			}
		}
		m.grants = kept
		if m.sess != nil {
			m.sess.mu.Lock()
			detach := m.sess.detachCobrowse
			m.sess.detachCobrowse = nil
			m.sess.mu.Unlock()
			if detach != nil {
				detach()
			}
		}
	}
	if err := r.hub.svc.st.UpdateParticipant(ctx, m.rec); err != nil {
		return err
	}
	if err := r.recordLocked(ctx, actorOf(m), "consent.updated", map[string]any{"participant_id": m.rec.ID, "consent": c}); err != nil {
		return err
	}
	view := m.view()
	r.broadcastLocked(func(o *member) bool { return canSee(o, m) }, func() wire.Message {
		return &wire.ParticipantUpdated{Header: wire.Header{Type: "participant_updated"}, Participant: view}
	})
	return nil
}

// end ends the conversation (advisors only).
func (r *Room) end(ctx context.Context, s *session) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !s.member.advisor() {
		return wire.Errorf(wire.CodeNotAllowed, "only advisors end the conversation")
	}
	r.endLocked(ctx, "ended_by_advisor", actorOf(s.member))
	return nil
}

// endByAPI ends the conversation on behalf of the REST API.
func (r *Room) endByAPI(ctx context.Context, actor string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.endLocked(ctx, "ended_by_api", actor)
}
