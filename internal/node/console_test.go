package node

import (
	"net/url"
	"strings"
	"testing"

	"github.com/lotse-io/lotse/store"
)

func TestConsoleSignInAndAdminPages(t *testing.T) {
	e := newEnv(t, fastHasher, nil)
	c := e.anon()
	if r := c.do("GET", "/console", nil); r.status != 303 || !strings.HasPrefix(r.header.Get("Location"), "/console/login") {
		t.Fatalf("anonymous /console: %d %s", r.status, r.header.Get("Location"))
	}
	r := c.do("GET", "/console/login", nil)
	if r.status != 200 || !strings.Contains(string(r.body), `lang="de"`) || !strings.Contains(string(r.body), "Anmelden") {
		t.Fatalf("login page (German by default): %d", r.status)
	}
	csp := r.header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || strings.Contains(string(r.body), "<script>") {
		t.Fatalf("CSP %q or inline script", csp)
	}
	if r := c.do("GET", "/console/login", nil, "Accept-Language", "en-GB,en;q=0.9"); !strings.Contains(string(r.body), "Sign in") {
		t.Fatal("English browser did not get English")
	}
	if r := c.do("GET", "/console/login?lang=en", nil); !strings.Contains(string(r.body), `lang="en"`) {
		t.Fatal("?lang=en ignored")
	}

	form := func(v url.Values) string { return v.Encode() }
	r = c.do("POST", "/console/login", form(url.Values{"tenant": {"demo"}, "email": {"admin@demo.local"}, "password": {"wrong"}}))
	if r.status != 401 || !strings.Contains(string(r.body), "falsch") {
		t.Fatalf("wrong password form: %d", r.status)
	}
	r = c.do("POST", "/console/login", form(url.Values{"tenant": {"demo"}, "email": {"admin@demo.local"}, "password": {adminPassword}, "next": {"https://evil.example/"}}))
	if r.status != 303 || r.header.Get("Location") != "/console" || c.cookie == "" {
		t.Fatalf("form login: %d %q (open redirect?)", r.status, r.header.Get("Location"))
	}
	r = c.do("GET", "/console", nil)
	if r.status != 200 || !strings.Contains(string(r.body), `id="app"`) {
		t.Fatalf("console after sign-in: %d", r.status)
	}
	csrf := between(string(r.body), `data-csrf="`, `"`)
	if csrf == "" {
		t.Fatal("no CSRF token in the console page")
	}
	// Admin pages render and accept forms with the token.
	for _, p := range []string{"/console/admin/users", "/console/admin/settings", "/console/admin/api-keys", "/console/admin/audit", "/console/account"} {
		if r := c.do("GET", p, nil); r.status != 200 {
			t.Errorf("GET %s = %d %s", p, r.status, r.body)
		}
	}
	r = c.do("POST", "/console/admin/users", form(url.Values{"csrf_token": {csrf}, "email": {"neu@demo.local"}, "role": {"advisor"}}))
	otp := between(string(r.body), `<code class="secret">`, `</code>`)
	if r.status != 201 || len(otp) < 20 {
		t.Fatalf("create user form: %d (one-time password %q)", r.status, otp)
	}
	r = c.do("POST", "/console/admin/settings", form(url.Values{"csrf_token": {csrf}, "min_length": {"16"}, "max_length": {"128"},
		"idle_minutes": {"20"}, "absolute_hours": {"8"}, "retention_days": {"90"}, "data_region": {"de"},
		"allowed_origins": {"https://www.example-bank.de\nhttps://app.example-bank.de"}, "reject_common": {"1"}}))
	if r.status != 303 {
		t.Fatalf("settings form: %d %s", r.status, r.body)
	}
	s := e.tenant("demo").Settings
	if s.Password.MinLength != 16 || s.SessionIdleSeconds != 1200 || len(s.AllowedOrigins) != 2 || s.RetentionDays != 90 {
		t.Fatalf("settings not saved: %+v", s)
	}
	r = c.do("POST", "/console/admin/settings", form(url.Values{"csrf_token": {csrf}, "min_length": {"3"}, "max_length": {"128"},
		"idle_minutes": {"20"}, "absolute_hours": {"8"}, "retention_days": {"90"}, "data_region": {"de"}}))
	if r.status != 400 || !strings.Contains(string(r.body), "min_length") {
		t.Fatalf("bad settings form: %d", r.status)
	}
	u, _ := e.n.db.UserByEmail(t.Context(), e.tenant("demo").ID, "neu@demo.local")
	r = c.do("POST", "/console/admin/users/"+u.ID, form(url.Values{"csrf_token": {csrf}, "display_name": {"Neu"}, "role": {"admin"}}))
	if r.status != 303 {
		t.Fatalf("edit user form: %d", r.status)
	}
	if got, _ := e.n.db.UserByEmail(t.Context(), e.tenant("demo").ID, "neu@demo.local"); got.Role != store.RoleAdmin {
		t.Fatal("role not changed")
	}
	if r := c.do("POST", "/console/logout", form(url.Values{"csrf_token": {csrf}})); r.status != 303 {
		t.Fatalf("logout form: %d", r.status)
	}
	if r := c.do("GET", "/console", nil); r.status != 303 {
		t.Fatal("still signed in after logout")
	}
}

func between(s, a, b string) string {
	i := strings.Index(s, a)
	if i < 0 {
		return ""
	}
	s = s[i+len(a):]
	j := strings.Index(s, b)
	if j < 0 {
		return ""
	}
	return s[:j]
}
