// Package console serves the advisor and admin console: server-rendered
// pages for signing in, the user's own account (password, two-factor
// enrolment) and tenant administration (users, settings, API keys, audit
// log), in German and English, plus the shell of the console app. Pages
// use no inline script, work without JavaScript, and post forms with the
// session's CSRF token; every route's security comes from internal/route.
package console

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/lotse-io/lotse/auth"
	"github.com/lotse-io/lotse/internal/route"
	"github.com/lotse-io/lotse/internal/web"
)

//go:embed templates/*.html
var templateFiles embed.FS

// Console holds the page handlers.
type Console struct {
	auth   *auth.Service
	st     auth.Store
	origin string
	log    zerolog.Logger
	pages  map[string]*template.Template
}

// New returns the console for a node whose public origin is origin.
func New(origin string, a *auth.Service, st auth.Store, log zerolog.Logger) (*Console, error) {
	funcs := template.FuncMap{
		"t":    translate,
		"join": strings.Join,
		"div":  func(a, b int) int { return a / b },
		"fmtTime": func(v any) string {
			switch t := v.(type) {
			case time.Time:
				return t.UTC().Format("2006-01-02 15:04:05 UTC")
			case *time.Time:
				if t != nil {
					return t.UTC().Format("2006-01-02 15:04:05 UTC")
				}
			}
			return ""
		},
	}
	c := &Console{auth: a, st: st, origin: origin, log: log.With().Str("component", "console").Logger(), pages: map[string]*template.Template{}}
	for _, name := range []string{"login", "account", "users", "user", "settings", "apikeys", "audit", "message", "app", "landing"} {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("console template %s: %w", name, err)
		}
		c.pages[name] = t
	}
	return c, nil
}

// LoginPath is where anonymous browsers are sent.
const LoginPath = "/console/login"

// pageCSP forbids every script except our own files, and inline styles.
const pageCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self' blob:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// appCSP is the policy of the console app page. The co-browse viewer
// rebuilds the customer's page in a same-origin, script-less iframe, which
// inherits this policy: the page's inline styles and data: images and fonts
// must render there. Scripts stay limited to our own files.
const appCSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; media-src 'self' blob:; " +
	"connect-src 'self'; font-src 'self' data:; frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Routes lists the console's pages.
func (c *Console) Routes() []route.Route {
	user := map[string]string{"id": "user"}
	key := map[string]string{"id": "api_key"}
	h := func(method, path string, access route.Access, ids map[string]string, fn route.Handler) route.Route {
		return route.Route{Method: method, Path: path, Access: access, IDKinds: ids, HTML: true, Handle: fn}
	}
	return []route.Route{
		h("GET", "/console", route.Staff, nil, c.app),
		{Method: "GET", Path: "/j/{token}", Access: route.Public, IDKinds: map[string]string{"token": "share_token"}, Handle: c.landing},
		h("GET", "/console/login", route.Public, nil, c.loginPage),
		h("POST", "/console/login", route.Public, nil, c.loginPost),
		h("POST", "/console/logout", route.StaffAnyStage, nil, c.logout),
		h("POST", "/console/logout-all", route.StaffAnyStage, nil, c.logoutAll),
		h("GET", "/console/account", route.StaffAnyStage, nil, c.account),
		h("POST", "/console/account/password", route.StaffAnyStage, nil, c.changePassword),
		h("POST", "/console/account/mfa", route.StaffAnyStage, nil, c.beginMFA),
		h("POST", "/console/account/mfa/confirm", route.StaffAnyStage, nil, c.confirmMFA),
		h("GET", "/console/admin/users", route.Admin, nil, c.users),
		h("POST", "/console/admin/users", route.Admin, nil, c.createUser),
		h("GET", "/console/admin/users/{id}", route.Admin, user, c.user),
		h("POST", "/console/admin/users/{id}", route.Admin, user, c.updateUser),
		h("POST", "/console/admin/users/{id}/reset-password", route.Admin, user, c.resetPassword),
		h("POST", "/console/admin/users/{id}/reset-mfa", route.Admin, user, c.resetMFA),
		h("POST", "/console/admin/users/{id}/unlock", route.Admin, user, c.unlock),
		h("GET", "/console/admin/settings", route.Admin, nil, c.settings),
		h("POST", "/console/admin/settings", route.Admin, nil, c.saveSettings),
		h("GET", "/console/admin/api-keys", route.Admin, nil, c.apiKeys),
		h("POST", "/console/admin/api-keys", route.Admin, nil, c.createAPIKey),
		h("POST", "/console/admin/api-keys/{id}/revoke", route.Admin, key, c.revokeAPIKey),
		h("GET", "/console/admin/audit", route.Admin, nil, c.audit),
	}
}

// page is what every template gets.
type page struct {
	Lang  string
	Title string
	Nav   string
	P     *auth.Principal
	CSRF  string
	Flash string
	Error string
	Data  any
}

func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, pg page) error {
	if pg.Lang == "" {
		pg.Lang = language(w, r)
	}
	if pg.P != nil && pg.P.Session != nil {
		pg.CSRF = pg.P.Session.CSRFToken
	}
	var buf bytes.Buffer
	if err := c.pages[name].ExecuteTemplate(&buf, "layout", pg); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	if name == "app" {
		h.Set("Content-Security-Policy", appCSP)
	} else {
		h.Set("Content-Security-Policy", pageCSP)
	}
	h.Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// fail renders an error as a page, with the status the API would use.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, p *auth.Principal, err error) error {
	var he *web.HTTPError
	if !errors.As(route.HTTPError(err), &he) {
		return err // internal: the edge logs it and answers 500
	}
	lang := language(w, r)
	key := "error"
	switch he.Status {
	case http.StatusForbidden:
		key = "forbidden"
	case http.StatusNotFound:
		key = "not_found"
	}
	return c.render(w, r, he.Status, "message", page{Lang: lang, Title: translate(lang, key), P: p})
}

// formError turns validation and policy errors into a message on the same
// page; other errors go to fail.
func formError(err error) (string, bool) {
	var pe *auth.PolicyError
	var ve *auth.ValidationError
	switch {
	case errors.As(err, &pe):
		return pe.Msg, true
	case errors.As(err, &ve):
		return ve.Error(), true
	case errors.Is(err, auth.ErrWrongPassword), errors.Is(err, auth.ErrBadCode):
		return route.HTTPError(err).(*web.HTTPError).Msg, true
	}
	return "", false
}

// redirect answers a form post with 303 See Other.
func redirect(w http.ResponseWriter, r *http.Request, to string) error {
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// parseForm reads an urlencoded form (bounded by the body limit).
func parseForm(r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return web.Errorf(http.StatusBadRequest, "bad_form", "the form could not be read")
	}
	return nil
}
