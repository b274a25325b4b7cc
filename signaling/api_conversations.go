package signaling

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lotse-io/lotse/auth"
	"github.com/lotse-io/lotse/internal/route"
	"github.com/lotse-io/lotse/internal/web"
	"github.com/lotse-io/lotse/signaling/wire"
	"github.com/lotse-io/lotse/store"
)

// Routes lists the conversation, join and webhook routes.
func (s *Service) Routes() []route.Route {
	conv := map[string]string{"id": "conversation"}
	return []route.Route{
		{Method: "POST", Path: "/api/v1/conversations", Access: route.Staff, APIPerm: auth.PermConversationsWrite, Handle: s.apiCreate},
		{Method: "GET", Path: "/api/v1/conversations", Access: route.Staff, APIPerm: auth.PermConversationsRead, Handle: s.apiList},
		{Method: "GET", Path: "/api/v1/conversations/{id}", Access: route.Staff, APIPerm: auth.PermConversationsRead, IDKinds: conv, Handle: s.apiGet},
		{Method: "POST", Path: "/api/v1/conversations/{id}/end", Access: route.Staff, APIPerm: auth.PermConversationsWrite, IDKinds: conv, Handle: s.apiEnd},
		{Method: "POST", Path: "/api/v1/conversations/{id}/share", Access: route.Staff, APIPerm: auth.PermConversationsWrite, IDKinds: conv, Handle: s.apiNewShare},
		{Method: "DELETE", Path: "/api/v1/conversations/{id}/share", Access: route.Staff, APIPerm: auth.PermConversationsWrite, IDKinds: conv, Handle: s.apiRevokeShare},
		{Method: "POST", Path: "/api/v1/conversations/{id}/token", Access: route.Staff, IDKinds: conv, Handle: s.apiStaffToken},
		{Method: "GET", Path: "/api/v1/conversations/{id}/export", Access: route.Staff, APIPerm: auth.PermRecordsRead, IDKinds: conv, Handle: s.apiExport},
		{Method: "DELETE", Path: "/api/v1/conversations/{id}", Access: route.Staff, APIPerm: auth.PermRecordsDelete, IDKinds: conv, Handle: s.apiDelete},
		{Method: "POST", Path: "/api/v1/join", Access: route.Public, Handle: s.apiJoin},
		{Method: "OPTIONS", Path: "/api/v1/join", Access: route.Public, Handle: s.apiJoinPreflight},
		{Method: "POST", Path: "/api/v1/rejoin", Access: route.Public, Handle: s.apiRejoin},
		{Method: "GET", Path: "/api/v1/sdk/config", Access: route.Public, Handle: s.apiSDKConfig},
		{Method: "OPTIONS", Path: "/api/v1/rejoin", Access: route.Public, Handle: s.apiJoinPreflight},
		{Method: "GET", Path: "/api/v1/admin/webhook", Access: route.Admin, Handle: s.apiGetWebhook},
		{Method: "PUT", Path: "/api/v1/admin/webhook", Access: route.Admin, Handle: s.apiSetWebhook},
		{Method: "DELETE", Path: "/api/v1/admin/webhook", Access: route.Admin, Handle: s.apiDeleteWebhook},
		{Method: "GET", Path: "/api/v1/admin/webhook/deliveries", Access: route.Admin, Handle: s.apiDeliveries},
	}
}

func (s *Service) apiCreate(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var in CreateInput
	if err := web.DecodeJSON(r, &in); err != nil {
		return err
	}
	c, err := s.Create(r.Context(), p, in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, c)
}

func (s *Service) apiList(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	q := r.URL.Query()
	f := store.ConversationFilter{State: q.Get("state"), OwnerID: q.Get("owner"), Cursor: q.Get("cursor")}
	switch f.State {
	case "", wire.ConvCreated, wire.ConvWaiting, wire.ConvActive, wire.ConvEnded:
	default:
		return web.Errorf(http.StatusBadRequest, "invalid", "state must be created, waiting, active or ended")
	}
	if f.OwnerID == "me" {
		f.OwnerID = p.UserID
	}
	for _, tc := range []struct {
		name string
		dst  *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if v := q.Get(tc.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return web.Errorf(http.StatusBadRequest, "invalid", tc.name+" must be an RFC 3339 time")
			}
			*tc.dst = t
		}
	}
	f.Limit = 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return web.Errorf(http.StatusBadRequest, "invalid", "limit must be 1 to 500")
		}
		f.Limit = n
	}
	if f.Cursor != "" && (len(f.Cursor) > 80 || !strings.Contains(f.Cursor, "_")) {
		return web.Errorf(http.StatusBadRequest, "invalid", "bad cursor")
	}
	list, next, err := s.List(r.Context(), p, f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"conversations": list, "next_cursor": next})
}

func (s *Service) apiGet(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	rec, err := s.Get(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rec)
}

func (s *Service) apiEnd(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if err := s.End(r.Context(), p, r.PathValue("id")); err != nil {
		return err
	}
	return noContent(w)
}

func (s *Service) apiNewShare(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	sh, err := s.NewShare(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, sh)
}

func (s *Service) apiRevokeShare(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if err := s.RevokeShare(r.Context(), p, r.PathValue("id")); err != nil {
		return err
	}
	return noContent(w)
}

func (s *Service) apiStaffToken(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	res, err := s.StaffToken(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}

func (s *Service) apiExport(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	rec, err := s.Export(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Disposition", `attachment; filename="conversation-`+rec.ID+`.json"`)
	return writeJSON(w, http.StatusOK, rec)
}

func (s *Service) apiDelete(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if p.Kind == auth.KindStaff && !p.IsAdmin() {
		return auth.ErrForbidden
	}
	if err := s.Delete(r.Context(), p, r.PathValue("id")); err != nil {
		return err
	}
	return noContent(w)
}

// cors answers cross-origin calls from the bank's pages (the SDK on
// www.example-bank.de calling lotse.example-bank.de): the origin must be
// allowed by some tenant here, and by the token's tenant in the handler.
func (s *Service) cors(w http.ResponseWriter, r *http.Request) bool {
	origin := strings.ToLower(r.Header.Get("Origin"))
	if origin == "" || strings.EqualFold(origin, s.pub) {
		return true
	}
	if !s.origins.anyTenantAllows(r.Context(), origin) && !s.sameHostOrigin(origin) {
		return false
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Add("Vary", "Origin")
	return true
}

func (s *Service) apiJoinPreflight(w http.ResponseWriter, r *http.Request, _ *auth.Principal) error {
	if !s.cors(w, r) {
		return errOrigin
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Methods", "POST")
	h.Set("Access-Control-Allow-Headers", "Content-Type")
	h.Set("Access-Control-Max-Age", "600")
	return noContent(w)
}

func (s *Service) apiJoin(w http.ResponseWriter, r *http.Request, _ *auth.Principal) error {
	if !s.cors(w, r) {
		return errOrigin
	}
	var in JoinRequest
	if err := web.DecodeJSON(r, &in); err != nil {
		return err
	}
	res, err := s.Exchange(r.Context(), in, web.ClientIP(r.Context()).String(), strings.ToLower(r.Header.Get("Origin")))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}

func (s *Service) apiSDKConfig(w http.ResponseWriter, r *http.Request, _ *auth.Principal) error {
	if !s.cors(w, r) {
		return errOrigin
	}
	cfg, err := s.Config(r.Context(), r.URL.Query().Get("site_key"), strings.ToLower(r.Header.Get("Origin")))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, cfg)
}

func (s *Service) apiRejoin(w http.ResponseWriter, r *http.Request, _ *auth.Principal) error {
	if !s.cors(w, r) {
		return errOrigin
	}
	var in RejoinRequest
	if err := web.DecodeJSON(r, &in); err != nil {
		return err
	}
	res, err := s.Rejoin(r.Context(), in, strings.ToLower(r.Header.Get("Origin")))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}

func (s *Service) apiGetWebhook(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	v, err := s.Webhook(r.Context(), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

// WebhookRequest is the body of PUT /api/v1/admin/webhook.
type WebhookRequest struct {
	URL string `json:"url"`
}

func (s *Service) apiSetWebhook(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var in WebhookRequest
	if err := web.DecodeJSON(r, &in); err != nil {
		return err
	}
	v, err := s.SetWebhook(r.Context(), p, in.URL)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (s *Service) apiDeleteWebhook(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if err := s.DeleteWebhook(r.Context(), p); err != nil {
		return err
	}
	return noContent(w)
}

func (s *Service) apiDeliveries(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	ds, err := s.Deliveries(r.Context(), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"deliveries": ds})
}

// InvalidateOrigins makes the next origin check reload the tenants'
// allowed origins (after an admin changed them).
func (s *Service) InvalidateOrigins() { s.origins.invalidate() }
