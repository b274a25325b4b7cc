package main

import (
	"encoding/json"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/lotse-io/lotse/internal/browsertest"
)

// requireSDK skips (or, in CI, fails) when the binary was built without the
// web SDK.
func requireSDK(t *testing.T, base string) {
	t.Helper()
	if code, _ := getBody(t, base+"/sdk/v1/lotse.js"); code != 200 {
		msg := "the web SDK is not built (run `make sdk` first)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

// TestBrowserLoadsSDK opens the console in headless Chromium and reads the
// SDK version that /sdk/v1/lotse.js reports.
func TestBrowserLoadsSDK(t *testing.T) {
	browsertest.Require(t)
	s := startServer(t, t.TempDir(), []string{"LOTSE_BOOTSTRAP_ADMIN_PASSWORD=Browser-Test-Pass-1"})
	waitReady(t, s.url)
	requireSDK(t, s.url)

	var pkg struct{ Version string }
	b, err := os.ReadFile("../../web-sdk/package.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &pkg); err != nil {
		t.Fatal(err)
	}

	br := browsertest.Start(t)
	page := br.NewPage(t)
	// The console asks for a sign-in first; a person types into the form.
	if err := page.Do(30*time.Second,
		chromedp.Navigate(s.url+"/console"),
		chromedp.WaitVisible(`input[name="tenant"]`),
		chromedp.SendKeys(`input[name="tenant"]`, "demo"),
		chromedp.SendKeys(`input[name="email"]`, "admin@demo.local"),
		chromedp.SendKeys(`input[name="password"]`, "Browser-Test-Pass-1"),
		chromedp.Click(`button[type="submit"]`),
		chromedp.WaitVisible(`#app`),
	); err != nil {
		t.Fatalf("sign in through the console: %v", err)
	}
	version, err := browsertest.Run(page, 10*time.Second,
		chromedp.Poll[string](`window.Lotse && window.Lotse.version`, chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil {
		t.Fatalf("window.Lotse.version never appeared: %v", err)
	}
	if version != pkg.Version {
		t.Fatalf("SDK reports version %q, package.json says %q", version, pkg.Version)
	}
	shown, err := browsertest.Run(page, 10*time.Second,
		chromedp.Poll[string](`(() => { const t = document.getElementById("server-status").textContent; return t === "ok" ? document.getElementById("sdk-version").textContent : ""; })()`,
			chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil || shown != pkg.Version {
		t.Fatalf("console shows SDK %q (%v)", shown, err)
	}
	// The page loaded everything from Lotse itself.
	base, _ := url.Parse(s.url)
	for _, r := range page.Requests() {
		u, err := url.Parse(r)
		if err != nil || (u.Scheme != "data" && u.Host != base.Host) {
			t.Errorf("request to another host: %s", r)
		}
	}
	if !strings.Contains(strings.Join(page.Requests(), " "), "/sdk/v1/lotse.js") {
		t.Errorf("lotse.js not among the requests: %v", page.Requests())
	}
}
