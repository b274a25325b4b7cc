package signaling

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lotse-io/lotse/auth"
	"github.com/lotse-io/lotse/internal/web"
	"github.com/lotse-io/lotse/signaling/wire"
	"github.com/lotse-io/lotse/store"
)

// CreateInput asks for a new conversation.
type CreateInput struct {
	Subject      string `json:"subject,omitempty"`
	CustomerName string `json:"customer_name,omitempty"`
	// ShareMaxUses and ShareTTLSeconds override the defaults (optional).
	ShareMaxUses    int `json:"share_max_uses,omitempty"`
	ShareTTLSeconds int `json:"share_ttl_seconds,omitempty"`
}

// ShareInfo is what an advisor hands the customer.
type ShareInfo struct {
	URL           string    `json:"share_url"`
	Code          string    `json:"code"`
	ExpiresAt     time.Time `json:"expires_at"`
	CodeExpiresAt time.Time `json:"code_expires_at"`
	MaxUses       int       `json:"max_uses"`
}

// ConversationView is a conversation as the API shows it.
type ConversationView struct {
	ID           string     `json:"id"`
	State        string     `json:"state"`
	Subject      string     `json:"subject,omitempty"`
	CustomerName string     `json:"customer_name,omitempty"`
	CreatedBy    string     `json:"created_by"`
	OwnerID      string     `json:"owner_id,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	StartedAt    *time.Time `json:"started_at,omitempty"`
	EndedAt      *time.Time `json:"ended_at,omitempty"`
	EndReason    string     `json:"end_reason,omitempty"`
	// Waiting counts customers waiting for admission right now (live).
	Waiting int `json:"waiting"`
	// Duration is from the first admission to the end (or now).
	DurationSeconds int64 `json:"duration_seconds"`
	Share           *struct {
		ExpiresAt time.Time `json:"expires_at"`
		MaxUses   int       `json:"max_uses"`
		Uses      int       `json:"uses"`
		Revoked   bool      `json:"revoked"`
	} `json:"share,omitempty"`
}

// Created answers conversation creation: the conversation and, once, its
// link and code.
type Created struct {
	ConversationView
	ShareInfo
}

// ParticipantView is a participant in a record.
type ParticipantView struct {
	ID               string          `json:"id"`
	Role             string          `json:"role"`
	Name             string          `json:"name"`
	UserID           string          `json:"user_id,omitempty"`
	State            string          `json:"state"`
	JoinedAt         time.Time       `json:"joined_at"`
	AdmittedAt       *time.Time      `json:"admitted_at,omitempty"`
	LeftAt           *time.Time      `json:"left_at,omitempty"`
	ConnectedSeconds int64           `json:"connected_seconds"`
	Consent          json.RawMessage `json:"consent,omitempty"`
}

// EventView is one event of a record.
type EventView struct {
	Seq   int64           `json:"seq"`
	At    time.Time       `json:"at"`
	Actor string          `json:"actor"`
	Type  string          `json:"type"`
	Data  json.RawMessage `json:"data"`
}

// Record is a conversation with its participants and events.
type Record struct {
	ConversationView
	Participants []ParticipantView `json:"participants"`
	Events       []EventView       `json:"events"`
}

func optT(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (s *Service) view(c store.Conversation) ConversationView {
	v := ConversationView{ID: c.ID, State: c.State, Subject: c.Subject, CustomerName: c.CustomerName, CreatedBy: c.CreatedBy,
		OwnerID: c.OwnerID, CreatedAt: c.CreatedAt, StartedAt: optT(c.StartedAt), EndedAt: optT(c.EndedAt), EndReason: c.EndReason}
	if !c.StartedAt.IsZero() {
		end := c.EndedAt
		if end.IsZero() {
			end = s.now()
		}
		v.DurationSeconds = int64(end.Sub(c.StartedAt) / time.Second)
	}
	if c.Share.TokenHash != "" {
		v.Share = &struct {
			ExpiresAt time.Time `json:"expires_at"`
			MaxUses   int       `json:"max_uses"`
			Uses      int       `json:"uses"`
			Revoked   bool      `json:"revoked"`
		}{c.Share.ExpiresAt, c.Share.MaxUses, c.Share.Uses, c.Share.Revoked}
	}
	if r := s.hub.liveRoom(c.TenantID, c.ID); r != nil {
		r.mu.Lock()
		for _, m := range r.members {
			if m.rec.State == wire.StateWaiting && m.sess != nil {
				v.Waiting++
			}
		}
		r.mu.Unlock()
	}
	return v
}

var (
	errConvEnded = web.Errorf(http.StatusConflict, "conversation_ended", "the conversation has ended")
)

func cleanText(s string, max int) (string, bool) {
	s = strings.TrimSpace(s)
	return s, utf8.RuneCountInString(s) <= max && !strings.ContainsAny(s, "\x00")
}

// Create starts a conversation for p (an advisor or an API key).
func (s *Service) Create(ctx context.Context, p *auth.Principal, in CreateInput) (*Created, error) {
	subject, ok1 := cleanText(in.Subject, 200)
	name, ok2 := cleanText(in.CustomerName, wire.MaxNameRunes)
	if !ok1 || !ok2 {
		return nil, web.Errorf(http.StatusBadRequest, "invalid", "subject (≤ 200) or customer_name (≤ 80 characters) too long")
	}
	if in.ShareMaxUses < 0 || in.ShareMaxUses > 1000 || in.ShareTTLSeconds < 0 || in.ShareTTLSeconds > 30*24*3600 {
		return nil, web.Errorf(http.StatusBadRequest, "invalid", "share_max_uses 1–1000, share_ttl_seconds up to 30 days")
	}
	c := store.Conversation{ID: newID(), TenantID: p.TenantID, Subject: subject, CustomerName: name, State: wire.ConvCreated,
		CreatedBy: p.Actor(), CreatedAt: s.now()}
	if p.Kind == auth.KindStaff {
		c.OwnerID = p.UserID
	}
	share, link, codeHash, err := s.newShare(ctx, p, in.ShareMaxUses, time.Duration(in.ShareTTLSeconds)*time.Second)
	if err != nil {
		return nil, err
	}
	c.Share, c.CodeHash, c.CodeExpires = link, codeHash, share.CodeExpiresAt
	if err := s.st.CreateConversation(ctx, c); err != nil {
		return nil, err
	}
	if err := s.record(ctx, c.TenantID, c.ID, p.Actor(), "conversation.created", map[string]any{"subject": subject, "customer_name": name}); err != nil {
		return nil, err
	}
	s.webhook(ctx, c.TenantID, "conversation.created", map[string]any{"conversation_id": c.ID, "subject": subject, "created_by": c.CreatedBy})
	return &Created{ConversationView: s.view(c), ShareInfo: share}, nil
}

// newShare makes a link token (128 bits) and a 6-digit code.
func (s *Service) newShare(ctx context.Context, p *auth.Principal, maxUses int, ttl time.Duration) (ShareInfo, store.ShareLink, string, error) {
	if maxUses == 0 {
		maxUses = s.cfg.ShareMaxUses
	}
	if ttl == 0 {
		ttl = s.cfg.ShareTTL
	}
	now := s.now()
	token := auth.NewToken(16)
	link := store.ShareLink{TokenHash: auth.HashToken(token), ExpiresAt: now.Add(ttl), MaxUses: maxUses}
	var code, codeHash string
	for i := 0; ; i++ {
		var b [4]byte
		_, _ = rand.Read(b[:])
		code = fmt.Sprintf("%06d", binary.BigEndian.Uint32(b[:])%1_000_000)
		codeHash = s.codeHash(code)
		if _, err := s.st.ConversationByCodeHash(ctx, codeHash, now); errors.Is(err, store.ErrNotFound) {
			break
		} else if err != nil {
			return ShareInfo{}, store.ShareLink{}, "", err
		}
		if i == 10 {
			return ShareInfo{}, store.ShareLink{}, "", errors.New("signaling: no free 6-digit code")
		}
	}
	return ShareInfo{URL: s.shareURL(p.Settings, token), Code: code, ExpiresAt: link.ExpiresAt, CodeExpiresAt: now.Add(s.cfg.CodeTTL), MaxUses: maxUses},
		link, codeHash, nil
}

// shareURL points at the bank's customer page with the token in the
// fragment (never sent to the bank's server), or at Lotse's landing page.
func (s *Service) shareURL(ts store.TenantSettings, token string) string {
	if ts.CustomerPageURL != "" {
		return ts.CustomerPageURL + "#lotse=" + url.QueryEscape(token)
	}
	return s.pub + "/j/" + token
}

// NewShare replaces a conversation's link and code.
func (s *Service) NewShare(ctx context.Context, p *auth.Principal, id string) (*ShareInfo, error) {
	c, err := s.st.Conversation(ctx, p.TenantID, id)
	if err != nil {
		return nil, err
	}
	if c.State == wire.ConvEnded {
		return nil, errConvEnded
	}
	share, link, codeHash, err := s.newShare(ctx, p, 0, 0)
	if err != nil {
		return nil, err
	}
	if err := s.st.SetShare(ctx, p.TenantID, id, link, codeHash, share.CodeExpiresAt); err != nil {
		return nil, err
	}
	if err := s.record(ctx, p.TenantID, id, p.Actor(), "share.created", map[string]any{"expires_at": share.ExpiresAt}); err != nil {
		return nil, err
	}
	return &share, nil
}

// RevokeShare stops a conversation's link and code from working.
func (s *Service) RevokeShare(ctx context.Context, p *auth.Principal, id string) error {
	if err := s.st.RevokeShare(ctx, p.TenantID, id); err != nil {
		return err
	}
	return s.record(ctx, p.TenantID, id, p.Actor(), "share.revoked", map[string]any{})
}

// Get returns a conversation's whole record.
func (s *Service) Get(ctx context.Context, p *auth.Principal, id string) (*Record, error) {
	c, err := s.st.Conversation(ctx, p.TenantID, id)
	if err != nil {
		return nil, err
	}
	ps, err := s.st.Participants(ctx, p.TenantID, id)
	if err != nil {
		return nil, err
	}
	evs, err := s.st.ConvEvents(ctx, p.TenantID, id, 0, 0)
	if err != nil {
		return nil, err
	}
	rec := &Record{ConversationView: s.view(c), Participants: []ParticipantView{}, Events: []EventView{}}
	live := map[string]int64{}
	if r := s.hub.liveRoom(p.TenantID, id); r != nil {
		r.mu.Lock()
		for _, m := range r.members {
			if m.sess != nil && m.sess.connected() {
				live[m.rec.ID] = time.Since(m.connectedAt).Milliseconds()
			}
		}
		r.mu.Unlock()
	}
	for _, x := range ps {
		rec.Participants = append(rec.Participants, ParticipantView{ID: x.ID, Role: x.Role, Name: x.DisplayName, UserID: x.UserID,
			State: x.State, JoinedAt: x.CreatedAt, AdmittedAt: optT(x.AdmittedAt), LeftAt: optT(x.LeftAt),
			ConnectedSeconds: (x.ConnectedMS + live[x.ID]) / 1000, Consent: x.Consent})
	}
	for _, e := range evs {
		rec.Events = append(rec.Events, EventView{Seq: e.Seq, At: e.At, Actor: e.Actor, Type: e.Type, Data: e.Data})
	}
	return rec, nil
}

// End ends a conversation on behalf of the API or an advisor's request.
func (s *Service) End(ctx context.Context, p *auth.Principal, id string) error {
	c, err := s.st.Conversation(ctx, p.TenantID, id)
	if err != nil {
		return err
	}
	if c.State == wire.ConvEnded {
		return errConvEnded
	}
	if r := s.hub.liveRoom(p.TenantID, id); r != nil {
		r.endByAPI(ctx, p.Actor())
		return nil
	}
	if err := s.st.SetConversationState(ctx, p.TenantID, id, wire.ConvEnded, "ended_by_api", s.now()); err != nil {
		return err
	}
	if err := s.record(ctx, p.TenantID, id, p.Actor(), "conversation.ended", map[string]any{"reason": "ended_by_api"}); err != nil {
		return err
	}
	s.webhook(ctx, p.TenantID, "conversation.ended", map[string]any{"conversation_id": id, "reason": "ended_by_api"})
	return nil
}

// Delete erases a conversation's record (GDPR erasure); audited.
func (s *Service) Delete(ctx context.Context, p *auth.Principal, id string) error {
	c, err := s.st.Conversation(ctx, p.TenantID, id)
	if err != nil {
		return err
	}
	if c.State != wire.ConvEnded {
		if err := s.End(ctx, p, id); err != nil && !errors.Is(err, errConvEnded) {
			return err
		}
	}
	if err := s.st.DeleteConversation(ctx, p.TenantID, id); err != nil {
		return err
	}
	s.auth.Audit(ctx, p, "record.deleted", "conversation:"+id, nil)
	return nil
}

// Export returns the whole record for a data-subject access request;
// audited.
func (s *Service) Export(ctx context.Context, p *auth.Principal, id string) (*Record, error) {
	rec, err := s.Get(ctx, p, id)
	if err != nil {
		return nil, err
	}
	s.auth.Audit(ctx, p, "record.exported", "conversation:"+id, nil)
	return rec, nil
}

// List lists a tenant's conversations, newest first.
func (s *Service) List(ctx context.Context, p *auth.Principal, f store.ConversationFilter) ([]ConversationView, string, error) {
	cs, err := s.st.ListConversations(ctx, p.TenantID, f)
	if err != nil {
		return nil, "", err
	}
	out := make([]ConversationView, 0, len(cs))
	for _, c := range cs {
		out = append(out, s.view(c))
	}
	next := ""
	if len(cs) > 0 && len(cs) == max(f.Limit, 1) {
		last := cs[len(cs)-1]
		next = fmt.Sprintf("%d_%s", last.CreatedAt.UnixMilli(), last.ID)
	}
	return out, next, nil
}
