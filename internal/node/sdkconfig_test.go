package node

import (
	"testing"

	"github.com/lotse-io/lotse/store"
)

func TestSiteKeyConfigAndCodes(t *testing.T) {
	e := newEnv(t, fastHasher, nil)
	admin := e.mustLogin("demo", "admin@demo.local", adminPassword)
	demo := e.tenant("demo")
	var s store.TenantSettings
	admin.do("GET", "/api/v1/admin/settings", nil).json(t, &s)
	s.AllowedOrigins = []string{"https://www.musterbank.example"}
	s.Masking.Mask = []string{"#kundennummer"}
	if r := admin.do("PUT", "/api/v1/admin/settings", s); r.status != 200 {
		t.Fatalf("settings: %d %s", r.status, r.body)
	}
	bank := e.anon()
	bank.origin = "https://www.musterbank.example"
	r := bank.do("GET", "/api/v1/sdk/config?site_key="+demo.SiteKey, nil)
	if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "https://www.musterbank.example" || !containsStr(string(r.body), "#kundennummer") {
		t.Fatalf("config for the allowed origin: %d %s %v", r.status, r.body, r.header)
	}
	evil := e.anon()
	evil.origin = "https://evil.example"
	if r := evil.do("GET", "/api/v1/sdk/config?site_key="+demo.SiteKey, nil); r.status != 403 {
		t.Fatalf("foreign origin: %d", r.status)
	}
	if r := bank.do("GET", "/api/v1/sdk/config?site_key=pk_nonsense", nil); r.status != 404 {
		t.Fatalf("unknown key: %d", r.status)
	}
	// A code of tenant demo does not work with another bank's site key.
	e.tenant("bank-b")
	other := e.tenant("bank-b").SiteKey
	c := admin.createConversation(nil)
	r = e.anon().do("POST", "/api/v1/join", map[string]any{"code": c.Code, "site_key": other, "display_name": "K", "consent": map[string]bool{"terms": true}})
	if r.status != 404 {
		t.Fatalf("code with another bank's site key: %d %s", r.status, r.body)
	}
	r = e.anon().do("POST", "/api/v1/join", map[string]any{"code": c.Code, "site_key": demo.SiteKey, "display_name": "K", "consent": map[string]bool{"terms": true}})
	if r.status != 200 || !containsStr(string(r.body), "#kundennummer") || !containsStr(string(r.body), `"rejoin_token"`) {
		t.Fatalf("code with the right site key: %d %s", r.status, r.body)
	}
	var jr struct {
		RejoinToken string `json:"rejoin_token"`
	}
	r.json(t, &jr)
	if r := e.anon().do("POST", "/api/v1/rejoin", map[string]string{"rejoin_token": jr.RejoinToken}); r.status != 200 || containsStr(string(r.body), "rejoin_token") {
		t.Fatalf("rejoin: %d %s", r.status, r.body)
	}
	if r := e.anon().do("POST", "/api/v1/rejoin", map[string]string{"rejoin_token": "wrong"}); r.status != 404 {
		t.Fatalf("bad rejoin token: %d", r.status)
	}
	if len(demo.SiteKey) != 35 || demo.SiteKey[:3] != "pk_" {
		t.Fatalf("site key %q", demo.SiteKey)
	}
}

func containsStr(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
