package main

import (
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/lotse-io/lotse/internal/browsertest"
)

const browserAdminPassword = "Browser-Test-Pass-1"

// signIn signs in through the console's login form, like a person.
func signIn(t *testing.T, page *browsertest.Page, base string) {
	t.Helper()
	signInAs(t, page, base, browserAdminPassword)
}

// signInAs signs the demo admin in with password.
func signInAs(t *testing.T, page *browsertest.Page, base, password string) {
	t.Helper()
	if err := page.Do(30*time.Second,
		chromedp.Navigate(base+"/console"),
		chromedp.WaitVisible(`input[name="tenant"]`),
		chromedp.SendKeys(`input[name="tenant"]`, "demo"),
		chromedp.SendKeys(`input[name="email"]`, "admin@demo.local"),
		chromedp.SendKeys(`input[name="password"]`, password),
		chromedp.Click(`button[type="submit"]`),
		chromedp.WaitVisible(`#app`),
	); err != nil {
		t.Fatalf("sign in through the console: %v", err)
	}
}

// TestBrowserChatJourney: an advisor signed into the console creates a
// conversation; a second browser context opens the link, consents, is
// admitted, and chat messages cross both ways.
func TestBrowserChatJourney(t *testing.T) {
	browsertest.Require(t)
	s := startServer(t, t.TempDir(), []string{"LOTSE_BOOTSTRAP_ADMIN_PASSWORD=" + browserAdminPassword})
	waitReady(t, s.url)
	requireSDK(t, s.url)
	br := browsertest.Start(t)
	advisor := br.NewPage(t)
	customer := br.NewPage(t)
	const wait = 20 * time.Second

	signIn(t, advisor, s.url)
	if err := advisor.Do(wait,
		chromedp.WaitVisible(`form.new-conversation input[name="subject"]`),
		chromedp.SendKeys(`form.new-conversation input[name="subject"]`, "Kontoeröffnung"),
		chromedp.SendKeys(`form.new-conversation input[name="customer_name"]`, "Erika Muster"),
		chromedp.Click(`form.new-conversation button[type="submit"]`),
		chromedp.WaitVisible(`input.share-url`),
	); err != nil {
		t.Fatalf("create conversation in the console: %v", err)
	}
	link, err := browsertest.Run(advisor, wait, chromedp.Value(`input.share-url`))
	if err != nil || !strings.HasPrefix(link, s.url+"/j/") {
		t.Fatalf("share link %q (%v)", link, err)
	}
	if err := advisor.Do(wait, chromedp.Click(`section.share a.button`), chromedp.WaitVisible(`.waiting-list`)); err != nil {
		t.Fatalf("open the room: %v", err)
	}

	// The customer follows the link, gives name and consent, and waits.
	if err := customer.Do(wait, chromedp.Navigate(link)); err != nil {
		t.Fatal(err)
	}
	w := customer.InShadow(`[data-lotse="widget"]`)
	steps := []func() error{
		func() error { return w.Type(`input[name="display_name"]`, "Erika Muster", wait) },
		func() error { return w.Click(`input[name="terms"]`, wait) },
		func() error { return w.Click(`button[type="submit"]`, wait) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.WaitText(`[data-state="waiting"]`, "", wait); err != nil {
		t.Fatalf("customer not waiting: %v", err)
	}

	// The advisor admits her.
	if err := advisor.Do(wait, chromedp.WaitVisible(`.waiting-list button.admit`), chromedp.Click(`.waiting-list button.admit`)); err != nil {
		t.Fatalf("admit: %v", err)
	}
	if _, err := w.WaitText(`[data-state="admitted"]`, "", wait); err != nil {
		t.Fatalf("customer not admitted: %v", err)
	}

	// Chat both ways.
	if err := w.Type(`input[name="message"]`, "Guten Tag, ich hätte eine Frage.", wait); err != nil {
		t.Fatal(err)
	}
	if err := w.Click(`form.composer button`, wait); err != nil {
		t.Fatal(err)
	}
	if _, err := browsertest.Run(advisor, wait, chromedp.Poll[bool](`document.querySelector(".chat").textContent.includes("ich hätte eine Frage")`, chromedp.WithPollingTimeout(wait))); err != nil {
		// Seen once under heavy parallel load: keep what both sides showed.
		dir := artifactDir(t, filepath.Join("failed", t.Name()))
		screenshot(t, advisor, filepath.Join(dir, "advisor.png"))
		screenshot(t, customer, filepath.Join(dir, "customer.png"))
		state, _ := w.Eval(`form.composer input`, `function() { return {value: this.value, focused: this.getRootNode().activeElement === this, connected: this.isConnected}; }`, 5*time.Second)
		t.Fatalf("advisor did not get the customer's message: %v (customer's composer: %s; customer's console: %q)", err, state, customer.Console())
	}
	if err := advisor.Do(wait,
		chromedp.SendKeys(`form.composer input[name="message"]`, "Sehr gern, worum geht es?"),
		chromedp.Click(`form.composer button`),
	); err != nil {
		t.Fatal(err)
	}
	if _, err := w.WaitText(`.chat`, "worum geht es?", wait); err != nil {
		t.Fatalf("customer did not get the advisor's message: %v", err)
	}

	// Nothing left Lotse's origin.
	base, _ := url.Parse(s.url)
	for _, p := range []*browsertest.Page{advisor, customer} {
		for _, r := range p.Requests() {
			if u, err := url.Parse(r); err != nil || (u.Scheme != "data" && u.Host != base.Host) {
				t.Errorf("request to another host: %s", r)
			}
		}
	}
}
