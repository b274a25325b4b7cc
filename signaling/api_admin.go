package signaling

import (
	"net/http"
	"strconv"
	"time"

	"github.com/lotse-io/lotse/auth"
	"github.com/lotse-io/lotse/internal/web"
	"github.com/lotse-io/lotse/store"
)

func (a *API) listUsers(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	users, err := a.auth.Users(r.Context(), p)
	if err != nil {
		return err
	}
	out := make([]UserView, 0, len(users))
	now := time.Now()
	for _, u := range users {
		out = append(out, userView(u, now))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"users": out})
}

func (a *API) getUser(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	u, err := a.auth.User(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, userView(u, time.Now()))
}

// NewUserRequest is the body of POST /api/v1/admin/users.
type NewUserRequest struct {
	Email       string     `json:"email"`
	DisplayName string     `json:"display_name"`
	Role        store.Role `json:"role"`
	// Password is optional; without it a one-time password is generated
	// that the user must change at first sign-in.
	Password string `json:"password,omitempty"`
}

// NewUserResponse answers user creation.
type NewUserResponse struct {
	User            UserView `json:"user"`
	OneTimePassword string   `json:"one_time_password,omitempty"`
}

func (a *API) createUser(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var req NewUserRequest
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	u, temp, err := a.auth.CreateUser(r.Context(), p, auth.NewUser{Email: req.Email, DisplayName: req.DisplayName, Role: req.Role, Password: req.Password})
	if err != nil {
		return err
	}
	rec, err := a.st.UserRecord(r.Context(), p.TenantID, u.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, NewUserResponse{User: userView(rec, time.Now()), OneTimePassword: temp})
}

// UserPatchRequest is the body of PATCH /api/v1/admin/users/{id}.
type UserPatchRequest struct {
	DisplayName *string     `json:"display_name,omitempty"`
	Role        *store.Role `json:"role,omitempty"`
	Disabled    *bool       `json:"disabled,omitempty"`
}

func (a *API) patchUser(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var req UserPatchRequest
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := a.auth.UpdateUser(r.Context(), p, id, auth.UserPatch{DisplayName: req.DisplayName, Role: req.Role, Disabled: req.Disabled}); err != nil {
		return err
	}
	return a.getUser(w, r, p)
}

func (a *API) resetPassword(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	temp, err := a.auth.ResetPassword(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]string{"one_time_password": temp})
}

func (a *API) resetMFA(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if err := a.auth.ResetMFA(r.Context(), p, r.PathValue("id")); err != nil {
		return err
	}
	return noContent(w)
}

func (a *API) unlock(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if err := a.auth.Unlock(r.Context(), p, r.PathValue("id")); err != nil {
		return err
	}
	return noContent(w)
}

// TenantView describes the caller's tenant.
type TenantView struct {
	Slug    string `json:"slug"`
	Name    string `json:"name"`
	SiteKey string `json:"site_key"`
}

func (a *API) getTenant(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	t, err := a.st.TenantByID(r.Context(), p.TenantID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, TenantView{Slug: t.Slug, Name: t.Name, SiteKey: t.SiteKey})
}

func (a *API) getSettings(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	s, err := a.auth.Settings(r.Context(), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s)
}

func (a *API) putSettings(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var s store.TenantSettings
	if err := web.DecodeJSON(r, &s); err != nil {
		return err
	}
	if err := a.auth.UpdateSettings(r.Context(), p, s); err != nil {
		return err
	}
	return a.getSettings(w, r, p)
}

// APIKeyView is an API key as listed (never its secret).
type APIKeyView struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Prefix      string     `json:"prefix"`
	Permissions []string   `json:"permissions"`
	CreatedAt   time.Time  `json:"created_at"`
	LastUsedAt  *time.Time `json:"last_used_at,omitempty"`
	RevokedAt   *time.Time `json:"revoked_at,omitempty"`
}

func apiKeyView(k store.APIKey) APIKeyView {
	return APIKeyView{ID: k.ID, Name: k.Name, Prefix: k.Prefix, Permissions: k.Permissions, CreatedAt: k.CreatedAt,
		LastUsedAt: optTime(k.LastUsedAt), RevokedAt: optTime(k.RevokedAt)}
}

func (a *API) listAPIKeys(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	keys, err := a.auth.APIKeys(r.Context(), p)
	if err != nil {
		return err
	}
	out := make([]APIKeyView, 0, len(keys))
	for _, k := range keys {
		out = append(out, apiKeyView(k))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"api_keys": out})
}

// NewAPIKeyRequest is the body of POST /api/v1/admin/api-keys.
type NewAPIKeyRequest struct {
	Name        string   `json:"name"`
	Permissions []string `json:"permissions"`
}

func (a *API) createAPIKey(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var req NewAPIKeyRequest
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	k, secret, err := a.auth.CreateAPIKey(r.Context(), p, req.Name, req.Permissions)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]any{"api_key": apiKeyView(k), "key": secret})
}

func (a *API) revokeAPIKey(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if err := a.auth.RevokeAPIKey(r.Context(), p, r.PathValue("id")); err != nil {
		return err
	}
	return noContent(w)
}

// AuditEventView is one audit row.
type AuditEventView struct {
	Seq      int64             `json:"seq"`
	At       time.Time         `json:"at"`
	Actor    string            `json:"actor"`
	Action   string            `json:"action"`
	Target   string            `json:"target,omitempty"`
	IP       string            `json:"ip,omitempty"`
	Detail   map[string]string `json:"detail,omitempty"`
	Hash     string            `json:"hash"`
	PrevHash string            `json:"prev_hash"`
}

func (a *API) auditLog(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	events, err := a.auth.AuditEvents(r.Context(), p, max(after, 0), limit)
	if err != nil {
		return err
	}
	out := make([]AuditEventView, 0, len(events))
	for _, e := range events {
		out = append(out, AuditEventView{Seq: e.Seq, At: e.At, Actor: e.Actor, Action: e.Action, Target: e.Target,
			IP: e.IP, Detail: e.Detail, Hash: e.Hash, PrevHash: e.PrevHash})
	}
	next := after
	if len(out) > 0 {
		next = out[len(out)-1].Seq
	}
	return writeJSON(w, http.StatusOK, map[string]any{"events": out, "next_after": next})
}

func (a *API) auditVerify(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if _, err := a.auth.AuditEvents(r.Context(), p, 0, 1); err != nil { // admin check (audited)
		return err
	}
	broken, n, err := auth.VerifyAudit(r.Context(), a.st, p.TenantID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"ok": broken == 0, "first_broken": broken, "checked": n})
}
