package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/lotse-io/lotse/internal/browsertest"
)

// viewerJS evaluates expr with doc bound to the advisor's rebuilt copy of
// the customer's page (null until it exists).
func viewerJS(expr string) string {
	return `(() => { const v = document.querySelector("lotse-viewer"); const f = v && v.shadowRoot.querySelector("iframe");
		const doc = f && f.contentDocument; if (!doc || !doc.body) return null; return (` + expr + `); })()`
}

// viewerPointJS returns the advisor-page coordinates of the centre of the
// element sel in the rebuilt page.
func viewerPointJS(sel string) string {
	return viewerJS(`(() => { const e = doc.querySelector(` + jsString(sel) + `); if (!e) return null;
		const ir = f.getBoundingClientRect(); const s = ir.width / f.offsetWidth; const r = e.getBoundingClientRect();
		return [ir.left + (r.left + r.width / 2) * s, ir.top + (r.top + r.height / 2) * s]; })()`)
}

// clickAt clicks the middle of the element sel with the mouse (trusted
// events). chromedp's Click loses track of nodes once a page holds closed
// shadow roots that the test reached into through CDP.
func clickAt(p *browsertest.Page, sel string, timeout time.Duration) error {
	pt, err := browsertest.Run(p, timeout, chromedp.Poll[[]float64](`(() => { const e = document.querySelector(`+jsString(sel)+`); if (!e) return null;
		const r = e.getBoundingClientRect(); return r.width > 0 ? [r.left + r.width / 2, r.top + r.height / 2] : null; })()`, chromedp.WithPollingTimeout(timeout)))
	if err != nil {
		return fmt.Errorf("find %s: %w", sel, err)
	}
	return p.Do(timeout, chromedp.MouseClickXY(pt[0], pt[1]))
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// demoBankURL reads the demo bank's address from the server's log.
func demoBankURL(t *testing.T, s *server) string {
	t.Helper()
	re := regexp.MustCompile(`"url":"(http://[^"]+)"[^\n]*demo bank`)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(s.stdout()); m != nil {
			return m[1]
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no demo bank in the log:\n%s", s.stdout())
	return ""
}

// artifactDir is where browser tests leave screenshots
// (LOTSE_TEST_ARTIFACTS, default artifacts/ at the repository root).
func artifactDir(t *testing.T, name string) string {
	t.Helper()
	dir := os.Getenv("LOTSE_TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "artifacts")
	}
	dir = filepath.Join(dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("artifacts: %v", err)
	}
	return dir
}

func screenshot(t *testing.T, p *browsertest.Page, path string) {
	t.Helper()
	png, err := browsertest.Run(p, 20*time.Second, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot %s: %v", path, err)
		return
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Errorf("screenshot: %v", err)
		return
	}
	abs, _ := filepath.Abs(path)
	t.Logf("screenshot: %s (%d bytes)", abs, len(png))
}

// TestFullJourney drives the whole product like two people would: an
// advisor in the console and a customer on the demo bank's site, in two
// browser contexts of headless Chromium with fake camera and microphone.
func TestFullJourney(t *testing.T) {
	browsertest.Require(t)
	// LOTSE_JOURNEY_URL, _BANK and _PASSWORD run the journey against a
	// running `make run` instead of a server of its own.
	base, bank, password := os.Getenv("LOTSE_JOURNEY_URL"), os.Getenv("LOTSE_JOURNEY_BANK"), os.Getenv("LOTSE_JOURNEY_PASSWORD")
	serverLog := func() string { return "(server not started by the test)" }
	if base == "" {
		s := startServer(t, t.TempDir(), []string{"LOTSE_BOOTSTRAP_ADMIN_PASSWORD=" + browserAdminPassword}, "--dev")
		base, password, serverLog = s.url, browserAdminPassword, s.stdout
		waitReady(t, base)
		bank = demoBankURL(t, s)
	}
	requireSDK(t, base)
	br := browsertest.Start(t)
	advisor, customer := br.NewPage(t), br.NewPage(t)
	const wait = 30 * time.Second
	var convID string
	// A failed step leaves screenshots of both browsers behind.
	step := func(name string, err error) {
		t.Helper()
		if err != nil {
			dir := artifactDir(t, "journey")
			screenshot(t, advisor, filepath.Join(dir, "failed-advisor.png"))
			screenshot(t, customer, filepath.Join(dir, "failed-customer.png"))
			_ = os.WriteFile(filepath.Join(dir, "failed-server.log"), []byte(serverLog()), 0o644)
			if convID != "" {
				rec := signInAPI(t, base, password).call("GET", "/api/v1/conversations/"+convID, nil, nil)
				_ = os.WriteFile(filepath.Join(dir, "failed-record.json"), rec, 0o644)
			}
			t.Fatalf("%s: %v", name, err)
		}
	}
	poll := func(p *browsertest.Page, name, js string) {
		t.Helper()
		_, err := browsertest.Run(p, wait, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(wait)))
		step(name, err)
	}

	// The advisor signs in, creates a conversation, copies the link.
	signInAs(t, advisor, base, password)
	step("create conversation", advisor.Do(wait,
		chromedp.WaitVisible(`form.new-conversation input[name="subject"]`),
		chromedp.SendKeys(`form.new-conversation input[name="subject"]`, "Baufinanzierung"),
		chromedp.SendKeys(`form.new-conversation input[name="customer_name"]`, "Erika Muster"),
		chromedp.Click(`form.new-conversation button[type="submit"]`),
		chromedp.WaitVisible(`input.share-url`)))
	link, err := browsertest.Run(advisor, wait, chromedp.Value(`input.share-url`))
	if err != nil || !strings.HasPrefix(link, bank+"/") || !strings.Contains(link, "#lotse=") {
		t.Fatalf("share link %q should open the demo bank (%s) with a token (%v)", link, bank, err)
	}
	step("open the room", advisor.Do(wait, chromedp.Click(`section.share a.button`), chromedp.WaitVisible(`.waiting-list`)))
	convID, err = browsertest.Run(advisor, wait, chromedp.Evaluate[string](`location.hash.split("/").pop()`))
	step("conversation id", err)

	// The customer opens the link on the bank's page: the widget takes the
	// token out of the address bar and asks for name and consent.
	step("open the bank page", customer.Do(wait, chromedp.Navigate(link)))
	w := customer.InShadow(`[data-lotse="widget"]`)
	step("name", w.Type(`input[name="display_name"]`, "Erika Muster", wait))
	// Styled despite the bank's strict CSP (style-src 'self').
	if raw, err := w.Eval(`.root`, `function() { return getComputedStyle(this).position; }`, wait); err != nil || string(raw) != `"fixed"` {
		t.Errorf("the widget is not styled on the bank's page: position %s %v", raw, err)
	}
	if href, _ := browsertest.Run(customer, wait, chromedp.Evaluate[string](`location.href`)); strings.Contains(href, "lotse=") {
		t.Errorf("the share token stays in the address bar: %s", href)
	}
	for _, name := range []string{"camera", "microphone", "cobrowse"} {
		raw, err := w.Eval(`input[name="`+name+`"]`, `function() { return this.checked; }`, wait)
		if err != nil || string(raw) != "true" {
			t.Fatalf("consent box %s not offered checked: %s %v", name, raw, err)
		}
	}
	step("consent", w.Click(`input[name="terms"]`, wait))
	step("join", w.Click(`button[type="submit"]`, wait))
	_, err = w.WaitText(`[data-state="waiting"]`, "", wait)
	step("customer waits", err)

	// The advisor admits her.
	step("admit", advisor.Do(wait, chromedp.WaitVisible(`.waiting-list button.admit`), chromedp.Click(`.waiting-list button.admit`)))
	_, err = w.WaitText(`[data-state="admitted"]`, "", wait)
	step("customer admitted", err)

	// Both see each other's camera: decoded frames keep rising.
	rising := func(name string, count func() (int, error)) {
		t.Helper()
		deadline := time.Now().Add(wait)
		first := -1
		for time.Now().Before(deadline) {
			if n, err := count(); err == nil && n > 0 {
				if first < 0 {
					first = n
				} else if n > first+10 {
					t.Logf("%s: decoded frames %d → %d", name, first, n)
					return
				}
			}
			time.Sleep(200 * time.Millisecond)
		}
		step(name, fmt.Errorf("decoded frames not rising (first %d)", first))
	}
	rising("advisor sees the customer", func() (int, error) {
		n, err := browsertest.Run(advisor, 5*time.Second, chromedp.Evaluate[[]int](videoFramesJS))
		if err != nil || len(n) == 0 {
			return 0, err
		}
		return n[0], nil
	})
	rising("customer sees the advisor", func() (int, error) {
		raw, err := w.Eval(`.remote video`, `function() { return this.getVideoPlaybackQuality().totalVideoFrames; }`, 5*time.Second)
		if err != nil {
			return 0, err
		}
		var n int
		return n, json.Unmarshal(raw, &n)
	})

	// The advisor sees the bank's page.
	poll(advisor, "advisor sees the bank page", viewerJS(`doc.body.textContent.includes("Musterbank")`))

	// The customer goes to the transfer form: sharing follows her to the
	// new page, and the advisor's view with it.
	step("customer opens the transfer form", clickAt(customer, `nav a[href="/ueberweisung"]`, wait))
	poll(advisor, "advisor sees the transfer form", viewerJS(`!!doc.querySelector("#recipient") && !!doc.querySelector("#taxid")`))

	// She types into a masked and a normal field; only the normal one
	// reaches the advisor.
	const taxID, iban, pin = "47036892816", "DE02120300000000202051", "90210"
	step("customer types", customer.Do(wait,
		chromedp.SendKeys(`#taxid`, taxID),
		chromedp.SendKeys(`#iban`, iban),
		chromedp.SendKeys(`#pin`, pin),
		chromedp.SendKeys(`#recipient`, "Max Mustermann")))
	poll(advisor, "advisor sees the normal field", viewerJS(`doc.querySelector("#recipient").value === "Max Mustermann"`))
	leak, err := browsertest.Run(advisor, wait, chromedp.Evaluate[string](viewerJS(
		`doc.documentElement.outerHTML + [...doc.querySelectorAll("input")].map(i => i.value).join("|")`)))
	step("read the advisor's view", err)
	for _, secret := range []string{taxID, iban, pin} {
		if strings.Contains(leak, secret) {
			t.Errorf("the advisor sees masked input %q", secret)
		}
	}

	// The advisor points: the customer sees the pointer.
	_, err = browsertest.Run(advisor, wait, chromedp.Evaluate[bool](`document.querySelector("lotse-viewer").scrollIntoView({block: "center"}), true`))
	step("advisor scrolls to the customer's page", err)
	pt, err := browsertest.Run(advisor, wait, chromedp.Evaluate[[]float64](viewerPointJS("#purpose")))
	if err != nil || len(pt) != 2 {
		t.Fatalf("position of #purpose in the advisor's view: %v %v", pt, err)
	}
	step("advisor points", advisor.Do(wait,
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, pt[0]-20, pt[1]),
		chromedp.Sleep(100*time.Millisecond),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, pt[0], pt[1])))
	ov := customer.InShadow(`lotse-cobrowse`)
	if _, err := ov.Eval(`.ptr`, `function() { return this.style.transform; }`, wait); err != nil {
		t.Fatalf("customer sees no pointer: %v", err)
	}

	// The advisor asks for control, the customer allows it, the advisor
	// fills the amount.
	step("request control", advisor.Do(wait, chromedp.Click(`button.request-control`)))
	step("customer grants control", ov.Click(`button[data-act="grant"]`, wait))
	poll(advisor, "advisor has control", `document.querySelector(".cobrowse-status").dataset.control === "granted"`)
	pt, err = browsertest.Run(advisor, wait, chromedp.Evaluate[[]float64](viewerPointJS("#amount")))
	if err != nil || len(pt) != 2 {
		t.Fatalf("position of #amount in the advisor's view: %v %v", pt, err)
	}
	step("advisor fills the amount", advisor.Do(wait, chromedp.MouseClickXY(pt[0], pt[1]), chromedp.Sleep(300*time.Millisecond), chromedp.KeyEvent("250")))
	poll(customer, "the customer's amount field is filled", `document.querySelector("#amount").value === "250"`)

	// Chat both ways.
	step("customer writes", w.Type(`input[name="message"]`, "Ist der Betrag so richtig?", wait))
	step("customer sends", w.Click(`form.composer button`, wait))
	poll(advisor, "advisor gets the message", `document.querySelector(".chat").textContent.includes("Ist der Betrag so richtig?")`)
	step("advisor answers", advisor.Do(wait,
		chromedp.SendKeys(`form.composer input[name="message"]`, "Ja, 250 Euro passt."),
		chromedp.Click(`form.composer button`)))
	_, err = w.WaitText(`.chat`, "250 Euro passt", wait)
	step("customer gets the answer", err)
	// The advisor's timeline says in words who did what.
	poll(advisor, "timeline in words", `(() => {
		const li = (type) => [...document.querySelectorAll('.timeline li[data-type="' + type + '"]')].map(e => e.textContent);
		return li("media.started").some(s => /Erika Muster · (Camera|Kamera) (started|startet)/.test(s)) &&
			li("chat").some(s => s.includes("Erika Muster · Chat: Ist der Betrag so richtig?")) &&
			li("cobrowse.control_granted").length > 0 && !li("chat").some(s => s.includes("chat "));
	})()`)

	// Nothing went wrong on the way that the advisor was shown.
	if msg, _ := browsertest.Run(advisor, wait, chromedp.Evaluate[string](`[...document.querySelectorAll("p.error:not([hidden]), .notice:not([hidden])")].map(e => e.textContent).join(" | ")`)); msg != "" {
		t.Errorf("the advisor's room shows errors: %s", msg)
	}
	dir := artifactDir(t, "journey")
	screenshot(t, advisor, filepath.Join(dir, "advisor-room.png"))
	screenshot(t, customer, filepath.Join(dir, "customer-page.png"))

	// The advisor ends the session; the customer is told.
	step("end", advisor.Do(wait, chromedp.Click(`button.end-session`)))
	_, err = w.WaitText(`[data-state="ended"]`, "", wait)
	step("customer sees the end", err)
	screenshot(t, advisor, filepath.Join(dir, "advisor-ended.png"))
	screenshot(t, customer, filepath.Join(dir, "customer-ended.png"))
	_ = os.WriteFile(filepath.Join(dir, "server.log"), []byte(serverLog()), 0o644)

	// The record holds every step.
	api := signInAPI(t, base, password)
	want := []string{"conversation.created", "participant.joined", "consent.given", "participant.admitted",
		"media.started", "cobrowse.started", "cobrowse.control_requested", "cobrowse.control_granted", "chat", "conversation.end_requested", "conversation.ended"}
	var types []string
	deadline := time.Now().Add(wait)
	for {
		var rec struct{ Events []struct{ Type string } }
		api.call("GET", "/api/v1/conversations/"+convID, nil, &rec)
		types = types[:0]
		for _, ev := range rec.Events {
			types = append(types, ev.Type)
		}
		missing := ""
		for _, typ := range want {
			if !strings.Contains(","+strings.Join(types, ",")+",", ","+typ+",") {
				missing = typ
				break
			}
		}
		// Every camera and microphone that started also stopped: the
		// session is over (the last stops come as the media closes).
		count := func(typ string) (n int) {
			for _, x := range types {
				if x == typ {
					n++
				}
			}
			return n
		}
		if started, stopped := count("media.started"), count("media.stopped"); missing == "" && started != stopped {
			missing = fmt.Sprintf("media.stopped for every media.started (%d started, %d stopped)", started, stopped)
		}
		if missing == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the record lacks %s: %v", missing, types)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("record: %s", strings.Join(types, ", "))

	// Privacy: the customer's browser talked only to the bank and Lotse,
	// the advisor's only to Lotse — never to the bank.
	lotse, _ := url.Parse(base)
	bankURL, _ := url.Parse(bank)
	check := func(who string, p *browsertest.Page, allowed ...string) {
		n := 0
		for _, r := range p.Requests() {
			u, err := url.Parse(r)
			if err != nil {
				t.Errorf("%s: unparsable request %q", who, r)
				continue
			}
			if u.Scheme == "data" || u.Scheme == "blob" || u.Scheme == "about" {
				continue
			}
			n++
			if !strings.Contains(" "+strings.Join(allowed, " ")+" ", " "+u.Host+" ") {
				t.Errorf("%s's browser requested %s", who, r)
			}
		}
		t.Logf("%s: %d requests, all to %v", who, n, allowed)
		if n == 0 {
			t.Errorf("%s: no requests recorded", who)
		}
	}
	check("customer", customer, lotse.Host, bankURL.Host)
	check("advisor", advisor, lotse.Host)
}
