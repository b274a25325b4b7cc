// Package route is the one place where Lotse's HTTP routes get their
// security: every route is declared as a Route with the access it needs,
// and Mount wraps it with authentication (session cookie or API key), the
// access check, CSRF protection for cookie-authenticated writes, and the
// mapping of errors to {"error":{...}} responses. Because all routes go
// through Routes lists, tests can enumerate them (e.g. the tenant isolation
// test calls every route with another tenant's ids).
package route

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/lotse-io/lotse/auth"
	"github.com/lotse-io/lotse/internal/web"
	"github.com/lotse-io/lotse/store"
)

// Access is what a route requires of the caller.
type Access int

// Access levels.
const (
	// Public routes need no principal (login, join, the SDK).
	Public Access = iota
	// Staff routes need a fully signed-in staff session — or an API key
	// holding the route's APIPerm, when it has one.
	Staff
	// StaffAnyStage routes need a staff session in any stage (session
	// info, logout, password change, MFA enrolment).
	StaffAnyStage
	// Admin routes need a fully signed-in tenant admin. The auth service
	// checks again and audits refusals.
	Admin
)

// Handler handles a request for principal p (nil on Public routes when the
// caller is anonymous). A returned error is written by the edge function.
type Handler func(w http.ResponseWriter, r *http.Request, p *auth.Principal) error

// Route is one endpoint.
type Route struct {
	Method  string // GET, POST, ...
	Path    string // http.ServeMux pattern path, e.g. /api/v1/admin/users/{id}
	Access  Access
	APIPerm string // API keys with this permission may call a Staff route
	// IDKinds names what each path wildcard identifies ("user",
	// "api_key", "conversation", ...), for the tenant isolation test.
	IDKinds map[string]string
	// HTML routes answer an anonymous browser with a redirect to the
	// login page instead of 401.
	HTML   bool
	Handle Handler
}

// Pattern is the http.ServeMux pattern of r.
func (r Route) Pattern() string { return r.Method + " " + r.Path }

// Options configure Mount.
type Options struct {
	Auth         *auth.Service
	PublicOrigin string // scheme://host[:port] of Lotse itself
	LoginPath    string // where HTML routes send anonymous browsers
}

// Mount registers routes on mux with their security wrappers.
func Mount(mux *http.ServeMux, routes []Route, o Options) {
	for _, rt := range routes {
		mux.Handle(rt.Pattern(), wrap(rt, o))
	}
}

func wrap(rt Route, o Options) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip := web.ClientIP(r.Context()).String()
		p, err := o.Auth.FromRequest(r.Context(), r, ip)
		if err != nil && !errors.Is(err, auth.ErrUnauthenticated) {
			WriteError(w, r, err)
			return
		}
		if err == nil && p != nil {
			r = r.WithContext(auth.WithPrincipal(r.Context(), p))
		}
		if err := check(rt, p, err); err != nil {
			if errors.Is(err, auth.ErrForbidden) && p != nil && rt.Access == Admin {
				// A refused admin function leaves a trace in the tenant's audit log.
				o.Auth.Audit(r.Context(), p, "access.denied", rt.Pattern(), map[string]string{"role": string(p.Role)})
			}
			if rt.HTML && errors.Is(err, auth.ErrUnauthenticated) && r.Method == http.MethodGet {
				http.Redirect(w, r, o.LoginPath+"?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			if rt.HTML && errors.Is(err, auth.ErrStage) && r.Method == http.MethodGet {
				http.Redirect(w, r, o.LoginPath, http.StatusSeeOther)
				return
			}
			WriteError(w, r, err)
			return
		}
		if err := auth.CheckCSRF(r, p, o.PublicOrigin); err != nil {
			WriteError(w, r, err)
			return
		}
		if err := rt.Handle(w, r, p); err != nil {
			WriteError(w, r, err)
		}
	})
}

func check(rt Route, p *auth.Principal, authErr error) error {
	if rt.Access == Public {
		return nil
	}
	if p == nil {
		return auth.ErrUnauthenticated
	}
	switch rt.Access {
	case Staff:
		if p.Kind == auth.KindAPIKey {
			if rt.APIPerm != "" && p.Can(rt.APIPerm) {
				return nil
			}
			return auth.ErrForbidden
		}
		if p.Stage != auth.StageFull {
			return auth.ErrStage
		}
	case StaffAnyStage:
		if p.Kind != auth.KindStaff {
			return auth.ErrForbidden
		}
	case Admin:
		if p.Kind != auth.KindStaff {
			return auth.ErrForbidden
		}
		if p.Stage != auth.StageFull {
			return auth.ErrStage
		}
		if !p.IsAdmin() {
			return auth.ErrForbidden
		}
	}
	return nil
}

// WriteError maps err to a status and code and writes it.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	web.WriteError(w, r, HTTPError(err))
}

// HTTPError maps the errors of auth and store (and any *web.HTTPError) to
// what the client is told.
func HTTPError(err error) error {
	var he *web.HTTPError
	var pe *auth.PolicyError
	var ve *auth.ValidationError
	switch {
	case errors.As(err, &he):
		return he
	case errors.As(err, &pe):
		return &web.HTTPError{Status: http.StatusBadRequest, Code: "password_policy", Msg: pe.Msg, Err: err}
	case errors.As(err, &ve):
		return &web.HTTPError{Status: http.StatusBadRequest, Code: "invalid", Msg: ve.Error(), Err: err}
	case errors.Is(err, auth.ErrInvalidCredentials):
		return &web.HTTPError{Status: http.StatusUnauthorized, Code: "invalid_credentials",
			Msg: "tenant, e-mail, password or code is wrong", Err: err}
	case errors.Is(err, auth.ErrMFARequired):
		return &web.HTTPError{Status: http.StatusUnauthorized, Code: "mfa_required", Msg: "enter the code from your authenticator app", Err: err}
	case errors.Is(err, auth.ErrThrottled):
		return &web.HTTPError{Status: http.StatusTooManyRequests, Code: "throttled", Msg: "too many failed attempts; try again later", Err: err}
	case errors.Is(err, auth.ErrUnauthenticated):
		return &web.HTTPError{Status: http.StatusUnauthorized, Code: "unauthenticated", Msg: "sign in first", Err: err}
	case errors.Is(err, auth.ErrStage):
		return &web.HTTPError{Status: http.StatusForbidden, Code: "sign_in_incomplete", Msg: "finish signing in (password change or two-factor enrolment) first", Err: err}
	case errors.Is(err, auth.ErrCSRF):
		return &web.HTTPError{Status: http.StatusForbidden, Code: "csrf", Msg: "cross-site request refused", Err: err}
	case errors.Is(err, auth.ErrForbidden):
		return &web.HTTPError{Status: http.StatusForbidden, Code: "forbidden", Msg: "you may not do this", Err: err}
	case errors.Is(err, auth.ErrBadCode):
		return &web.HTTPError{Status: http.StatusBadRequest, Code: "bad_code", Msg: "the code is wrong or was already used", Err: err}
	case errors.Is(err, auth.ErrWrongPassword):
		return &web.HTTPError{Status: http.StatusBadRequest, Code: "wrong_password", Msg: "the current password is wrong", Err: err}
	case errors.Is(err, store.ErrNotFound):
		return &web.HTTPError{Status: http.StatusNotFound, Code: "not_found", Msg: "not found", Err: err}
	case errors.Is(err, store.ErrConflict):
		return &web.HTTPError{Status: http.StatusConflict, Code: "conflict", Msg: "already exists", Err: err}
	}
	return err
}

// Origin returns scheme://host[:port] of a public URL.
func Origin(publicURL string) string {
	u, err := url.Parse(publicURL)
	if err != nil {
		return publicURL
	}
	return strings.ToLower(u.Scheme + "://" + u.Host)
}
