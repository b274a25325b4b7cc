package signaling

import (
	"net/http"
	"time"

	"github.com/lotse-io/lotse/auth"
	"github.com/lotse-io/lotse/internal/web"
)

// LoginRequest is the body of POST /api/v1/auth/login.
type LoginRequest struct {
	Tenant   string `json:"tenant"`
	Email    string `json:"email"`
	Password string `json:"password"`
	TOTP     string `json:"totp,omitempty"` // TOTP code or recovery code
}

// SessionView describes the caller's session.
type SessionView struct {
	User       UserView `json:"user"`
	Tenant     string   `json:"tenant"`
	Stage      string   `json:"stage"` // full | mfa_enroll | password_change
	CSRFToken  string   `json:"csrf_token"`
	MFAEnabled bool     `json:"mfa_enabled"`
}

func (a *API) sessionView(r *http.Request, p *auth.Principal) (SessionView, error) {
	u, err := a.st.UserRecord(r.Context(), p.TenantID, p.UserID)
	if err != nil {
		return SessionView{}, err
	}
	return SessionView{User: userView(u, time.Now()), Tenant: p.TenantSlug, Stage: p.Stage,
		CSRFToken: p.Session.CSRFToken, MFAEnabled: u.Security.TOTPEnabled}, nil
}

func (a *API) login(w http.ResponseWriter, r *http.Request, _ *auth.Principal) error {
	// Login CSRF: only our own pages may post credentials.
	if !auth.SameOrigin(r, a.origin) {
		return auth.ErrCSRF
	}
	var req LoginRequest
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	res, err := a.auth.Login(r.Context(), auth.LoginInput{Tenant: req.Tenant, Email: req.Email, Password: req.Password,
		Code: req.TOTP, IP: web.ClientIP(r.Context()).String(), UserAgent: r.UserAgent()})
	if err != nil {
		return err
	}
	auth.SetSessionCookie(w, res.Token)
	v, err := a.sessionView(r, res.Principal)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (a *API) logout(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if err := a.auth.Logout(r.Context(), p); err != nil {
		return err
	}
	auth.ClearSessionCookie(w)
	return noContent(w)
}

func (a *API) logoutAll(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if err := a.auth.LogoutEverywhere(r.Context(), p); err != nil {
		return err
	}
	auth.ClearSessionCookie(w)
	return noContent(w)
}

func (a *API) session(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	v, err := a.sessionView(r, p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

// PasswordChange is the body of POST /api/v1/me/password.
type PasswordChange struct {
	Current string `json:"current"`
	New     string `json:"new"`
}

func (a *API) changePassword(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var req PasswordChange
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	token, err := a.auth.ChangePassword(r.Context(), p, req.Current, req.New)
	if err != nil {
		return err
	}
	auth.SetSessionCookie(w, token)
	v, err := a.sessionView(r, p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (a *API) beginTOTP(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	e, err := a.auth.BeginTOTP(r.Context(), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, e)
}

// TOTPConfirm is the body of POST /api/v1/me/mfa/totp/confirm.
type TOTPConfirm struct {
	Code string `json:"code"`
}

// TOTPConfirmed answers a successful enrolment.
type TOTPConfirmed struct {
	RecoveryCodes []string    `json:"recovery_codes"`
	Session       SessionView `json:"session"`
}

func (a *API) confirmTOTP(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var req TOTPConfirm
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	codes, token, err := a.auth.ConfirmTOTP(r.Context(), p, req.Code)
	if err != nil {
		return err
	}
	auth.SetSessionCookie(w, token)
	v, err := a.sessionView(r, p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, TOTPConfirmed{RecoveryCodes: codes, Session: v})
}
