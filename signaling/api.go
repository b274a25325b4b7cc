// Package signaling is Lotse's control plane toward clients: the REST API
// under /api/v1 (sign-in, administration, conversations, joining) and the
// WebSocket signalling protocol (admission, presence, chat, and the
// negotiation relay to the SFU). It is the only package that speaks to
// clients; the domain packages (auth, sfu, cobrowse, turn, store) know
// nothing of HTTP routing.
package signaling

import (
	"net/http"
	"time"

	"github.com/rs/zerolog"

	"github.com/lotse-io/lotse/auth"
	"github.com/lotse-io/lotse/internal/route"
	"github.com/lotse-io/lotse/internal/web"
	"github.com/lotse-io/lotse/store"
)

// APIDeps are the account API's collaborators.
type APIDeps struct {
	Log   zerolog.Logger
	Auth  *auth.Service
	Store auth.Store
}

// API holds the REST handlers.
type API struct {
	log    zerolog.Logger
	auth   *auth.Service
	st     auth.Store
	origin string
}

// NewAPI returns the REST API for a node whose public origin is origin.
func NewAPI(origin string, deps APIDeps) *API {
	return &API{log: deps.Log.With().Str("component", "api").Logger(), auth: deps.Auth, st: deps.Store, origin: origin}
}

// Routes lists every REST route with its access rule.
func (a *API) Routes() []route.Route {
	user := map[string]string{"id": "user"}
	key := map[string]string{"id": "api_key"}
	return []route.Route{
		{Method: "POST", Path: "/api/v1/auth/login", Access: route.Public, Handle: a.login},
		{Method: "POST", Path: "/api/v1/auth/logout", Access: route.StaffAnyStage, Handle: a.logout},
		{Method: "POST", Path: "/api/v1/auth/logout-all", Access: route.StaffAnyStage, Handle: a.logoutAll},
		{Method: "GET", Path: "/api/v1/auth/session", Access: route.StaffAnyStage, Handle: a.session},
		{Method: "POST", Path: "/api/v1/me/password", Access: route.StaffAnyStage, Handle: a.changePassword},
		{Method: "POST", Path: "/api/v1/me/mfa/totp", Access: route.StaffAnyStage, Handle: a.beginTOTP},
		{Method: "POST", Path: "/api/v1/me/mfa/totp/confirm", Access: route.StaffAnyStage, Handle: a.confirmTOTP},

		{Method: "GET", Path: "/api/v1/admin/users", Access: route.Admin, Handle: a.listUsers},
		{Method: "POST", Path: "/api/v1/admin/users", Access: route.Admin, Handle: a.createUser},
		{Method: "GET", Path: "/api/v1/admin/users/{id}", Access: route.Admin, IDKinds: user, Handle: a.getUser},
		{Method: "PATCH", Path: "/api/v1/admin/users/{id}", Access: route.Admin, IDKinds: user, Handle: a.patchUser},
		{Method: "POST", Path: "/api/v1/admin/users/{id}/reset-password", Access: route.Admin, IDKinds: user, Handle: a.resetPassword},
		{Method: "POST", Path: "/api/v1/admin/users/{id}/reset-mfa", Access: route.Admin, IDKinds: user, Handle: a.resetMFA},
		{Method: "POST", Path: "/api/v1/admin/users/{id}/unlock", Access: route.Admin, IDKinds: user, Handle: a.unlock},
		{Method: "GET", Path: "/api/v1/admin/tenant", Access: route.Admin, Handle: a.getTenant},
		{Method: "GET", Path: "/api/v1/admin/settings", Access: route.Admin, Handle: a.getSettings},
		{Method: "PUT", Path: "/api/v1/admin/settings", Access: route.Admin, Handle: a.putSettings},
		{Method: "GET", Path: "/api/v1/admin/api-keys", Access: route.Admin, Handle: a.listAPIKeys},
		{Method: "POST", Path: "/api/v1/admin/api-keys", Access: route.Admin, Handle: a.createAPIKey},
		{Method: "DELETE", Path: "/api/v1/admin/api-keys/{id}", Access: route.Admin, IDKinds: key, Handle: a.revokeAPIKey},
		{Method: "GET", Path: "/api/v1/admin/audit", Access: route.Admin, Handle: a.auditLog},
		{Method: "GET", Path: "/api/v1/admin/audit/verify", Access: route.Admin, Handle: a.auditVerify},
	}
}

// UserView is a staff account as the API shows it.
type UserView struct {
	ID          string     `json:"id"`
	Email       string     `json:"email"`
	DisplayName string     `json:"display_name"`
	Role        store.Role `json:"role"`
	Disabled    bool       `json:"disabled"`
	MFAEnabled  bool       `json:"mfa_enabled"`
	LockedUntil *time.Time `json:"locked_until,omitempty"`
	LastLoginAt *time.Time `json:"last_login_at,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func userView(u store.UserRecord, now time.Time) UserView {
	v := UserView{ID: u.ID, Email: u.Email, DisplayName: u.DisplayName, Role: u.Role, Disabled: u.Disabled,
		MFAEnabled: u.Security.TOTPEnabled, LastLoginAt: optTime(u.Security.LastLoginAt), CreatedAt: u.CreatedAt}
	if u.Security.LockedUntil.After(now) {
		v.LockedUntil = optTime(u.Security.LockedUntil)
	}
	return v
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	web.WriteJSON(w, status, v)
	return nil
}

func noContent(w http.ResponseWriter) error {
	w.WriteHeader(http.StatusNoContent)
	return nil
}
