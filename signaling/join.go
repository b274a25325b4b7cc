package signaling

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/lotse-io/lotse/auth"
	"github.com/lotse-io/lotse/internal/web"
	"github.com/lotse-io/lotse/signaling/wire"
	"github.com/lotse-io/lotse/store"
)

// JoinRequest is the body of POST /api/v1/join: a share-link token or a
// 6-digit code, the customer's name and what they consent to.
type JoinRequest struct {
	Token string `json:"token,omitempty"`
	Code  string `json:"code,omitempty"`
	// SiteKey is the bank's public SDK key; with it, a code only matches
	// conversations of that bank.
	SiteKey     string       `json:"site_key,omitempty"`
	DisplayName string       `json:"display_name"`
	Consent     wire.Consent `json:"consent"`
}

// JoinResponse carries the join token for the WebSocket.
type JoinResponse struct {
	JoinToken      string    `json:"join_token"`
	ExpiresAt      time.Time `json:"expires_at"`
	ConversationID string    `json:"conversation_id"`
	ParticipantID  string    `json:"participant_id"`
	SignalURL      string    `json:"signal_url"`
	// RejoinToken (customers only) continues the session on the next page
	// of the bank's site without a new consent: POST /api/v1/rejoin. The
	// SDK keeps it in sessionStorage (this tab only).
	RejoinToken string `json:"rejoin_token,omitempty"`
	// Consent is what the customer agreed to (customers only).
	Consent *wire.Consent `json:"consent,omitempty"`
	// Masking are the tenant's co-browse masking rules (customers only).
	Masking *store.MaskingRules `json:"masking,omitempty"`
}

// RejoinRequest is the body of POST /api/v1/rejoin.
type RejoinRequest struct {
	RejoinToken string `json:"rejoin_token"`
}

var (
	errLinkInvalid  = web.Errorf(http.StatusNotFound, "link_invalid", "this link is not valid")
	errLinkExpired  = web.Errorf(http.StatusGone, "link_expired", "this link has expired; ask your advisor for a new one")
	errLinkRevoked  = web.Errorf(http.StatusGone, "link_revoked", "this link was withdrawn; ask your advisor for a new one")
	errLinkUsedUp   = web.Errorf(http.StatusGone, "link_used_up", "this link was used too often; ask your advisor for a new one")
	errCodeInvalid  = web.Errorf(http.StatusNotFound, "code_invalid", "this code is not valid; check the six digits or ask for a new code")
	errCodeThrottle = web.Errorf(http.StatusTooManyRequests, "throttled", "too many wrong codes; wait a few minutes")
	errConsent      = web.Errorf(http.StatusBadRequest, "consent_required", "the session needs your consent to the terms")
	errName         = web.Errorf(http.StatusBadRequest, "invalid_name", "enter a name of 1 to 80 characters")
	errOrigin       = web.Errorf(http.StatusForbidden, "origin_not_allowed", "this site may not start Lotse sessions")
)

var codeRE = regexp.MustCompile(`^[0-9]{6}$`)

// Exchange turns a share token or code into a join token for a new
// customer participant, recording the consent. origin is the page's origin
// (empty for non-browsers); it must be Lotse's own or one the tenant allows.
func (s *Service) Exchange(ctx context.Context, in JoinRequest, ip, origin string) (*JoinResponse, error) {
	now := s.now()
	name, ok := cleanText(in.DisplayName, wire.MaxNameRunes)
	if !ok || name == "" {
		return nil, errName
	}
	var c store.Conversation
	var err error
	usedCode := false
	switch {
	case in.Token != "" && in.Code == "":
		if len(in.Token) > 64 {
			return nil, errLinkInvalid
		}
		c, err = s.st.ConversationByShareHash(ctx, auth.HashToken(in.Token))
		if errors.Is(err, store.ErrNotFound) {
			s.metrics.joins.WithLabelValues("link_invalid").Inc()
			return nil, errLinkInvalid
		}
		if err != nil {
			return nil, err
		}
		switch {
		case c.State == wire.ConvEnded:
			return nil, errConvEnded
		case c.Share.Revoked:
			return nil, errLinkRevoked
		case !now.Before(c.Share.ExpiresAt):
			return nil, errLinkExpired
		case c.Share.Uses >= c.Share.MaxUses:
			return nil, errLinkUsedUp
		}
	case in.Code != "" && in.Token == "":
		if s.codes.get("ip:"+ip, now) >= s.cfg.CodeFailuresPerIP || s.codes.get("all", now) >= s.cfg.CodeFailuresGlobal {
			s.metrics.joins.WithLabelValues("throttled").Inc()
			return nil, errCodeThrottle
		}
		code := strings.ReplaceAll(strings.TrimSpace(in.Code), " ", "")
		if codeRE.MatchString(code) {
			c, err = s.st.ConversationByCodeHash(ctx, s.codeHash(code), now)
		} else {
			err = store.ErrNotFound
		}
		if err == nil && in.SiteKey != "" {
			if t, terr := s.st.TenantBySiteKey(ctx, in.SiteKey); terr != nil || t.ID != c.TenantID {
				err = store.ErrNotFound // another bank's code is not a code here
			}
		}
		if errors.Is(err, store.ErrNotFound) {
			s.codes.add("ip:"+ip, now)
			s.codes.add("all", now)
			s.metrics.joins.WithLabelValues("code_invalid").Inc()
			return nil, errCodeInvalid
		}
		if err != nil {
			return nil, err
		}
		usedCode = true
	default:
		return nil, web.Errorf(http.StatusBadRequest, "invalid", "send either token or code")
	}
	t, err := s.st.TenantByID(ctx, c.TenantID)
	if err != nil {
		return nil, err
	}
	if !s.originAllowed(t, origin) {
		return nil, errOrigin
	}
	if !in.Consent.Terms {
		return nil, errConsent
	}
	if usedCode {
		// A code brings in one person: it stops working once exchanged.
		if err := s.st.UseCode(ctx, c.TenantID, c.ID); err != nil {
			return nil, err
		}
	} else if ok, err := s.st.UseShareToken(ctx, c.TenantID, c.ID, now); err != nil {
		return nil, err
	} else if !ok {
		return nil, errLinkUsedUp
	}
	consent, _ := json.Marshal(in.Consent)
	rejoin := auth.NewToken(24)
	p := store.Participant{ID: newID(), ConversationID: c.ID, TenantID: c.TenantID, Role: wire.RoleCustomer, DisplayName: name,
		State: "", Consent: consent, CreatedAt: now, RejoinHash: auth.HashToken(rejoin)}
	if err := s.st.AddParticipant(ctx, p); err != nil {
		return nil, err
	}
	via := "link"
	if usedCode {
		via = "code"
	}
	if err := s.record(ctx, c.TenantID, c.ID, "participant:"+p.ID, "consent.given",
		map[string]any{"participant_id": p.ID, "name": name, "consent": in.Consent, "via": via}); err != nil {
		return nil, err
	}
	res, err := s.customerToken(t, c.ID, p.ID, name, in.Consent)
	if err != nil {
		return nil, err
	}
	res.RejoinToken = rejoin
	s.metrics.joins.WithLabelValues("ok_" + via).Inc()
	return res, nil
}

// customerToken issues a customer's join token with the grants their
// consent allows.
func (s *Service) customerToken(t store.Tenant, convID, partID, name string, consent wire.Consent) (*JoinResponse, error) {
	grants := []string{auth.GrantSubscribe}
	if consent.Microphone {
		grants = append(grants, auth.GrantPublishAudio)
	}
	if consent.Camera {
		grants = append(grants, auth.GrantPublishVideo)
	}
	if consent.Cobrowse {
		grants = append(grants, auth.GrantCobrowseShare)
	}
	tok, exp, err := s.tokens.Issue(auth.JoinClaims{Tenant: t.ID, Conversation: convID, Participant: partID, Role: wire.RoleCustomer, Name: name, Grants: grants})
	if err != nil {
		return nil, err
	}
	masking := t.Settings.Masking
	return &JoinResponse{JoinToken: tok, ExpiresAt: exp, ConversationID: convID, ParticipantID: partID, SignalURL: s.signalURL(),
		Consent: &consent, Masking: &masking}, nil
}

var errRejoin = web.Errorf(http.StatusNotFound, "rejoin_invalid", "this session cannot be continued; follow your link again")

// Rejoin gives a customer who moves to another page of the bank's site a
// new join token for the same participant, with the consent given before.
func (s *Service) Rejoin(ctx context.Context, in RejoinRequest, origin string) (*JoinResponse, error) {
	if in.RejoinToken == "" || len(in.RejoinToken) > 64 {
		return nil, errRejoin
	}
	p, err := s.st.ParticipantByRejoinHash(ctx, auth.HashToken(in.RejoinToken))
	if errors.Is(err, store.ErrNotFound) {
		return nil, errRejoin
	}
	if err != nil {
		return nil, err
	}
	c, err := s.st.Conversation(ctx, p.TenantID, p.ConversationID)
	if err != nil {
		return nil, err
	}
	if c.State == wire.ConvEnded {
		return nil, errConvEnded
	}
	if p.State == wire.StateRemoved {
		return nil, errRejoin
	}
	t, err := s.st.TenantByID(ctx, c.TenantID)
	if err != nil {
		return nil, err
	}
	if !s.originAllowed(t, origin) {
		return nil, errOrigin
	}
	var consent wire.Consent
	_ = json.Unmarshal(p.Consent, &consent)
	return s.customerToken(t, c.ID, p.ID, p.DisplayName, consent)
}

func (s *Service) signalURL() string {
	u := strings.Replace(strings.Replace(s.pub, "https://", "wss://", 1), "http://", "ws://", 1)
	return u + "/api/v1/signal"
}

// originAllowed reports whether a page of origin may act for tenant t:
// Lotse's own origin, or one the tenant's admins allowed.
func (s *Service) originAllowed(t store.Tenant, origin string) bool {
	if origin == "" || strings.EqualFold(origin, s.pub) {
		return true
	}
	for _, o := range t.Settings.AllowedOrigins {
		if strings.EqualFold(o, origin) {
			return true
		}
	}
	return false
}

// StaffToken returns a join token for advisor p in conversation id,
// creating their participant on first use.
func (s *Service) StaffToken(ctx context.Context, p *auth.Principal, id string) (*JoinResponse, error) {
	if p.Kind != auth.KindStaff {
		return nil, auth.ErrForbidden
	}
	c, err := s.st.Conversation(ctx, p.TenantID, id)
	if err != nil {
		return nil, err
	}
	if c.State == wire.ConvEnded {
		return nil, errConvEnded
	}
	ps, err := s.st.Participants(ctx, p.TenantID, id)
	if err != nil {
		return nil, err
	}
	var part *store.Participant
	for i := range ps {
		if ps[i].UserID == p.UserID && ps[i].Role == wire.RoleAdvisor {
			part = &ps[i]
		}
	}
	name := p.DisplayName
	if name == "" {
		name = p.Email
	}
	if part == nil {
		np := store.Participant{ID: newID(), ConversationID: id, TenantID: p.TenantID, Role: wire.RoleAdvisor, UserID: p.UserID,
			DisplayName: name, State: "", CreatedAt: s.now()}
		if err := s.st.AddParticipant(ctx, np); err != nil {
			return nil, err
		}
		part = &np
	}
	grants := []string{auth.GrantPublishAudio, auth.GrantPublishVideo, auth.GrantPublishScreen, auth.GrantSubscribe,
		auth.GrantCobrowseView, auth.GrantControl}
	tok, exp, err := s.tokens.Issue(auth.JoinClaims{Tenant: p.TenantID, Conversation: id, Participant: part.ID, Role: wire.RoleAdvisor, Name: name, Grants: grants})
	if err != nil {
		return nil, err
	}
	return &JoinResponse{JoinToken: tok, ExpiresAt: exp, ConversationID: id, ParticipantID: part.ID, SignalURL: s.signalURL()}, nil
}

// SDKConfig is what the SDK on a bank's page learns at start
// (GET /api/v1/sdk/config?site_key=pk_...).
type SDKConfig struct {
	Tenant  string             `json:"tenant"`
	Masking store.MaskingRules `json:"masking"`
}

var errSiteKey = web.Errorf(http.StatusNotFound, "site_key_invalid", "unknown site key")

// Config checks a site key against the page's origin and returns the
// tenant's SDK settings.
func (s *Service) Config(ctx context.Context, siteKey, origin string) (*SDKConfig, error) {
	if !strings.HasPrefix(siteKey, "pk_") || len(siteKey) > 64 {
		return nil, errSiteKey
	}
	t, err := s.st.TenantBySiteKey(ctx, siteKey)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errSiteKey
	}
	if err != nil {
		return nil, err
	}
	if !s.originAllowed(t, origin) {
		return nil, errOrigin
	}
	return &SDKConfig{Tenant: t.Name, Masking: t.Settings.Masking}, nil
}
