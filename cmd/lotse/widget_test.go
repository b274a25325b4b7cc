package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/lotse-io/lotse/internal/browsertest"
)

// adminAPI is a signed-in admin for REST calls in tests.
type adminAPI struct {
	t      *testing.T
	base   string
	cookie *http.Cookie
	csrf   string
}

func signInAPI(t *testing.T, base, password string) *adminAPI {
	t.Helper()
	a := &adminAPI{t: t, base: base}
	res := a.call("POST", "/api/v1/auth/login", map[string]string{"tenant": "demo", "email": "admin@demo.local", "password": password}, nil)
	var v struct {
		CSRFToken string `json:"csrf_token"`
	}
	json.Unmarshal(res, &v)
	a.csrf = v.CSRFToken
	return a
}

// apiClient bounds every API call of the tests: a server that stops
// answering fails the test (and its log, with a goroutine dump, is kept)
// instead of hanging it.
var apiClient = &http.Client{Timeout: 30 * time.Second}

func (a *adminAPI) call(method, path string, body, out any) []byte {
	a.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, a.base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", a.base)
	if a.cookie != nil {
		req.AddCookie(a.cookie)
		req.Header.Set("X-CSRF-Token", a.csrf)
	}
	res, err := apiClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		a.t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
	}
	for _, c := range res.Cookies() {
		if strings.Contains(c.Name, "lotse_session") {
			a.cookie = c
		}
	}
	if out != nil {
		json.Unmarshal(b, out)
	}
	return b
}

// allowOrigin adds origin to the demo tenant's allowed SDK origins and
// returns the tenant's site key.
func (a *adminAPI) allowOrigin(origin string) string {
	var s map[string]any
	a.call("GET", "/api/v1/admin/settings", nil, &s)
	list, _ := s["allowed_origins"].([]any)
	s["allowed_origins"] = append(list, origin)
	a.call("PUT", "/api/v1/admin/settings", s, nil)
	var ten struct {
		SiteKey string `json:"site_key"`
	}
	a.call("GET", "/api/v1/admin/tenant", nil, &ten)
	return ten.SiteKey
}

// hostPage is a bank page with hostile CSS and its own script, with or
// without the SDK.
const hostPage = `<!doctype html><html lang="de"><head><meta charset="utf-8">
<style>* { color: rgb(255, 0, 0) !important; font-size: 31px !important; } button { display: none !important; } div { border: 5px solid lime; }</style>
<script>window.bankCounter = 0; document.addEventListener("click", (e) => { if (e.target.id === "count") window.bankCounter++; });</script>
%s</head><body><h1 id="title">Musterbank</h1><p id="p">Text</p><span id="count">count</span></body></html>`

// TestWidgetDoesNotLeak: the SDK adds exactly one global (Lotse), no
// styles outside its shadow roots, does not change the host page's styles
// or scripts, and its own UI is untouched by the host's hostile CSS.
func TestWidgetDoesNotLeak(t *testing.T) {
	browsertest.Require(t)
	s := startServer(t, t.TempDir(), []string{"LOTSE_BOOTSTRAP_ADMIN_PASSWORD=" + browserAdminPassword})
	waitReady(t, s.url)
	requireSDK(t, s.url)
	var withSDK atomic.Bool
	var siteKey string
	host := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tag := ""
		if withSDK.Load() {
			tag = fmt.Sprintf(`<script src="%s/sdk/v1/lotse.js" data-site-key="%s" defer></script>`, s.url, siteKey)
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, hostPage, tag)
	}))
	defer host.Close()
	siteKey = signInAPI(t, s.url, browserAdminPassword).allowOrigin(host.URL)

	br := browsertest.Start(t)
	page := br.NewPage(t)
	const wait = 20 * time.Second
	probe := `(() => ({
		globals: Object.getOwnPropertyNames(window).filter(k => !k.startsWith("webkit")).sort(),
		sheets: document.styleSheets.length,
		styles: document.querySelectorAll("style, link[rel=stylesheet]").length,
		title: getComputedStyle(document.getElementById("title")).cssText || [getComputedStyle(document.getElementById("title")).color, getComputedStyle(document.getElementById("title")).fontSize].join(),
		p: [getComputedStyle(document.getElementById("p")).color, getComputedStyle(document.getElementById("p")).fontSize].join(),
		bodyChildren: [...document.body.children].map(e => e.tagName + (e.dataset.lotse ? ":" + e.dataset.lotse : "")),
	}))()`
	type probeResult struct {
		Globals      []string
		Sheets       int
		Styles       int
		Title, P     string
		BodyChildren []string
	}
	get := func() probeResult {
		t.Helper()
		raw, err := browsertest.Run(page, wait, chromedp.Evaluate[[]byte](probe))
		if err != nil {
			t.Fatal(err)
		}
		var pr probeResult
		json.Unmarshal(raw, &pr)
		return pr
	}
	if err := page.Do(wait, chromedp.Navigate(host.URL)); err != nil {
		t.Fatal(err)
	}
	before := get()

	withSDK.Store(true)
	if err := page.Do(wait, chromedp.Navigate(host.URL)); err != nil {
		t.Fatal(err)
	}
	if _, err := browsertest.Run(page, wait, chromedp.Poll[bool](`!!document.querySelector('[data-lotse="launcher"]')`, chromedp.WithPollingTimeout(wait))); err != nil {
		t.Fatalf("launcher never appeared (site key or origin refused?): %v", err)
	}
	if err := page.Do(wait, chromedp.Evaluate[chromedp.Void](`window.Lotse.open()`)); err != nil {
		t.Fatal(err)
	}
	w := page.InShadow(`[data-lotse="widget"]`)
	if _, err := w.WaitText(`form`, "", wait); err != nil {
		t.Fatalf("widget did not render: %v", err)
	}
	after := get()

	set := map[string]bool{}
	for _, g := range before.Globals {
		set[g] = true
	}
	var added []string
	for _, g := range after.Globals {
		if !set[g] {
			added = append(added, g)
		}
	}
	if strings.Join(added, ",") != "Lotse" {
		t.Errorf("globals added by the SDK: %v, want only Lotse", added)
	}
	if after.Sheets != before.Sheets || after.Styles != before.Styles {
		t.Errorf("style sheets outside shadow roots: %d/%d → %d/%d", before.Sheets, before.Styles, after.Sheets, after.Styles)
	}
	if after.Title != before.Title || after.P != before.P {
		t.Errorf("host styles changed: %q/%q → %q/%q", before.Title, before.P, after.Title, after.P)
	}
	for _, c := range after.BodyChildren {
		if !strings.HasPrefix(c, "H1") && !strings.HasPrefix(c, "P") && !strings.HasPrefix(c, "SPAN") && !strings.HasPrefix(c, "DIV:") {
			t.Errorf("unexpected element added to the page: %s", c)
		}
	}
	// The host's script still works.
	raw0, err := browsertest.Run(page, wait, chromedp.Evaluate[[]float64](`(() => { const r = document.getElementById("count").getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()`))
	if err != nil || len(raw0) != 2 {
		t.Fatalf("locate #count: %v", err)
	}
	if err := page.Do(wait, chromedp.MouseClickXY(raw0[0], raw0[1])); err != nil {
		t.Fatal(err)
	}
	if n, _ := browsertest.Run(page, wait, chromedp.Evaluate[int](`window.bankCounter`)); n != 1 {
		t.Errorf("host script broken: counter %d", n)
	}
	// The widget's own UI ignores the host's hostile CSS.
	raw, err := w.Eval(`button[type="submit"]`, `function() { const s = getComputedStyle(this); return [s.display, s.color, s.fontSize].join(); }`, wait)
	if err != nil {
		t.Fatal(err)
	}
	var style string
	json.Unmarshal(raw, &style)
	if strings.Contains(style, "none") || strings.Contains(style, "rgb(255, 0, 0)") || strings.Contains(style, "31px") {
		t.Errorf("the host's CSS reached the widget: %s", style)
	}
}
