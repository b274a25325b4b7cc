package cobrowse_test

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/rs/zerolog"

	"github.com/lotse-io/lotse/cobrowse"
	"github.com/lotse-io/lotse/cobrowse/assetproxy"
	"github.com/lotse-io/lotse/internal/browsertest"
	"github.com/lotse-io/lotse/internal/leakcheck"
)

func assetproxyDeps(log zerolog.Logger, origins []string) assetproxy.Deps {
	return assetproxy.Deps{
		Log: log,
		Origins: func(context.Context, string) ([]string, error) {
			return origins, nil
		},
		// The test's "bank" is a loopback server.
		AllowLoopback: true,
	}
}

func js[T any](t testing.TB, p *browsertest.Page, expr string) T {
	t.Helper()
	v, err := browsertest.Run(p, 30*time.Second, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %.80q: %v", expr, err)
	}
	return v
}

// waitJS polls expr until it is truthy and returns its value.
func waitJS[T any](t testing.TB, p *browsertest.Page, what, expr string) T {
	t.Helper()
	v, err := browsertest.Run(p, 25*time.Second, chromedp.Poll[T](expr,
		chromedp.WithPollingTimeout(20*time.Second), chromedp.WithPollingInterval(10*time.Millisecond)))
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
	return v
}

// logConsole copies the page's console messages and uncaught exceptions
// into the test log.
func logConsole(t testing.TB, name string, p *browsertest.Page) {
	msgs := chromedp.Events(p.Ctx, cdpruntime.ConsoleAPICalled)
	excs := chromedp.Events(p.Ctx, cdpruntime.ExceptionThrown)
	go func() {
		for ev, err := range msgs {
			if err != nil {
				return
			}
			var parts []string
			for _, a := range ev.Args {
				parts = append(parts, string(a.Value)+a.Description)
			}
			t.Logf("%s console.%s: %s", name, ev.Type, strings.Join(parts, " "))
		}
	}()
	go func() {
		for ev, err := range excs {
			if err != nil {
				return
			}
			t.Logf("%s exception: %s %s", name, ev.ExceptionDetails.Text, ev.ExceptionDetails.Exception.Description)
		}
	}()
}

func do(t testing.TB, p *browsertest.Page, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := p.Do(30*time.Second, actions...); err != nil {
		t.Fatal(err)
	}
}

// domSig lists the elements of a document (through open shadow roots and
// same-origin iframes) with id, classes, own text and field values, leaving
// out what is masked or blocked and what only one side has.
const domSig = `(doc) => {
  const sensitive = new Set(["iban","bic","card","cvc","password","tan-field","note","shadow-pin","doc-pin"]);
  const skip = new Set(["script","noscript","style","link","meta","head","title","lotse-cobrowse","template"]);
  const out = [];
  const walk = (node, depth) => {
    for (const c of node.childNodes) {
      if (c.nodeType !== 1) continue;
      const tag = c.localName;
      if (skip.has(tag)) continue;
      const cls = Array.from(c.classList).filter((x) => !x.startsWith(":") && !x.startsWith("rr")).sort().join(".");
      let line = depth + ":" + tag + (c.id ? "#" + c.id : "") + (cls ? "." + cls : "");
      if (c.matches("[data-lotse-block],#ad-banner")) { out.push(depth + ":" + tag + (cls ? "." + cls : "") + " [blocked]"); continue; }
      if (!c.id && c.style && c.style.width && !c.firstChild && c.classList.contains("preview")) { out.push(line + " [blocked]"); continue; }
      const masked = c.closest("[data-lotse-mask],[data-lotse-mask-text],.masked-by-rule,.secret-note");
      const text = Array.from(c.childNodes).filter((n) => n.nodeType === 3).map((n) => n.textContent.trim()).filter(Boolean).join(" ");
      if (text && !masked && tag !== "textarea") line += " " + JSON.stringify(text);
      if ((tag === "input" || tag === "textarea") && !sensitive.has(c.id)) line += c.type === "checkbox" ? " checked=" + c.checked : " =" + JSON.stringify(c.value);
      out.push(line);
      if (c.shadowRoot) walk(c.shadowRoot, depth + 1);
      if (tag === "iframe") { try { if (c.contentDocument && c.contentDocument.body) walk(c.contentDocument.body, depth + 1); } catch (e) {} }
      walk(c, depth + 1);
    }
  };
  if (doc && doc.body) walk(doc.body, 0);
  return out;
}`

const viewerDoc = `window.lotseViewer && window.lotseViewer.doc()`

func TestBrowserCobrowse(t *testing.T) {
	browsertest.Require(t)
	requireHarness(t)
	leakcheck.Check(t)
	h := newHarness(t, cobrowse.DefaultConfig())
	br := browsertest.Start(t)

	cust := br.NewPage(t)
	logConsole(t, "customer", cust)
	do(t, cust, chromedp.EmulateViewport(1280, 800), chromedp.Navigate(h.bank.URL+"/index.html"))
	waitJS[bool](t, cust, "the customer's capture to connect", `!!(window.lotseTest && window.lotseTest.connected)`)

	viewA := br.NewPage(t)
	logConsole(t, "viewer", viewA)
	do(t, viewA, chromedp.EmulateViewport(1280, 800), chromedp.Navigate(h.lotse.URL+"/viewer.html?p=adv1"))
	waitJS[bool](t, viewA, "the page in the viewer", `!!(`+viewerDoc+` && `+viewerDoc+`.getElementById("transfer"))`)

	t.Run("viewer matches the page", func(t *testing.T) {
		js[bool](t, cust, `document.fonts.ready.then(() => true)`)
		want := js[[]string](t, cust, `(`+domSig+`)(document)`)
		var got []string
		deadline := time.Now().Add(10 * time.Second)
		for {
			got = js[[]string](t, viewA, `(`+domSig+`)(`+viewerDoc+`)`)
			if strings.Join(got, "\n") == strings.Join(want, "\n") || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if d := diffLines(want, got); d != "" {
			t.Fatalf("rebuilt DOM differs from the page (- page, + viewer):\n%s", d)
		}
		if len(want) < 60 {
			t.Fatalf("suspiciously small DOM signature (%d lines): %v", len(want), want)
		}
		compareScreens(t, cust, viewA)
	})

	t.Run("typing shows on the viewer", func(t *testing.T) {
		js[bool](t, viewA, `(window.lotseViewer.watch(["#reference"]), true)`)
		js[bool](t, cust, `(document.getElementById("reference").focus(), true)`)
		do(t, cust, chromedp.KeyEvent("hallo Welt"))
		waitJS[bool](t, viewA, "typed text in the viewer", viewerDoc+`.getElementById("reference").value === "hallo Welt"`)

		// 200 changes, 25 ms apart: change → applied latency.
		js[bool](t, viewA, `(window.lotseViewer.watch(["#reference"]), true)`)
		sent := js[map[string]float64](t, cust, `window.lotseTest.setValue("#reference", "v", 200, 25)`)
		waitJS[bool](t, viewA, "the last change", `window.lotseViewer.seen.some((s) => s.v === "v199")`)
		seen := js[[]struct {
			V string  `json:"v"`
			T float64 `json:"t"`
		}](t, viewA, `window.lotseViewer.seen`)
		applied := map[int]float64{}
		for _, s := range seen {
			var i int
			if _, err := fmt.Sscanf(s.V, "v%d", &i); err == nil {
				applied[i] = s.T
			}
		}
		lat := latencies(sent, "v", 200, applied)
		p50, p95 := percentile(lat, 50), percentile(lat, 95)
		t.Logf("input change → applied on the viewer over %d changes: p50 %.1f ms, p95 %.1f ms, max %.1f ms", len(lat), p50, p95, percentile(lat, 100))
		if len(lat) != 200 {
			t.Fatalf("measured %d of 200 changes", len(lat))
		}
	})

	marker := "MRKR7QZ9XW"
	t.Run("masked values never reach the server", func(t *testing.T) {
		fields := []string{
			`document.getElementById("iban")`, `document.getElementById("bic")`, `document.getElementById("card")`,
			`document.getElementById("cvc")`, `document.getElementById("password")`, `document.getElementById("tan-field")`,
			`document.getElementById("note")`,
			`document.getElementById("widget").shadowRoot.getElementById("shadow-pin")`,
			`document.getElementById("docs").contentDocument.getElementById("doc-pin")`,
		}
		for _, f := range fields {
			js[bool](t, cust, `(`+f+`.focus(), true)`)
			do(t, cust, chromedp.KeyEvent(marker))
			if v := js[string](t, cust, f+`.value`); v != marker {
				t.Fatalf("%s holds %q after typing, want the marker", f, v)
			}
		}
		// Text in masked and blocked elements, and attributes that mirror
		// a value, change too.
		js[bool](t, cust, `(() => {
			document.getElementById("balance-value").textContent = "`+marker+`";
			document.getElementById("rule-text").textContent = "`+marker+`";
			document.getElementById("card-preview").textContent = "`+marker+`";
			document.getElementById("ad-banner").textContent = "`+marker+`";
			document.getElementById("card").setAttribute("value", "`+marker+`");
			document.getElementById("card").setAttribute("title", "`+marker+`");
			return true; })()`)
		js[bool](t, cust, `(document.getElementById("reference").focus(), document.getElementById("reference").select(), true)`)
		do(t, cust, chromedp.KeyEvent("SENTINEL1"))
		waitJS[bool](t, viewA, "the sentinel after the marker", viewerDoc+`.getElementById("reference").value === "SENTINEL1"`)

		plain, sentinel := inspectReceived(t, h.receivedBytes(), marker, "SENTINEL1")
		if plain > 0 {
			t.Fatalf("the marker reached the server in %d messages", plain)
		}
		if !sentinel {
			t.Fatal("the sentinel typed into a normal field is not in what the server received: the inspection sees nothing")
		}
		if bytes.Contains(h.logs.Bytes(), []byte(marker)) {
			t.Fatal("the marker is in the server's log")
		}
		for _, r := range h.recorded() {
			if strings.Contains(fmt.Sprint(r), marker) {
				t.Fatalf("the marker is in the conversation record: %+v", r)
			}
		}
		html := js[string](t, viewA, `(() => { const d = `+viewerDoc+`; let s = d.documentElement.outerHTML;
			const w = d.getElementById("widget"); if (w && w.shadowRoot) s += w.shadowRoot.innerHTML;
			const f = d.getElementById("docs"); if (f && f.contentDocument) s += f.contentDocument.documentElement.outerHTML;
			for (const e of [...d.querySelectorAll("input,textarea")]) s += e.value; return s; })()`)
		if strings.Contains(html, marker) {
			t.Fatal("the marker is in the viewer's document")
		}
		if v := js[string](t, viewA, viewerDoc+`.getElementById("iban").value`); v != cobrowsePlaceholder {
			t.Fatalf("masked IBAN shows %q on the viewer, want the placeholder", v)
		}
	})

	t.Run("a late viewer sees the page at once", func(t *testing.T) {
		viewB := br.NewPage(t)
		start := time.Now()
		do(t, viewB, chromedp.EmulateViewport(1280, 800), chromedp.Navigate(h.lotse.URL+"/viewer.html?p=adv2"))
		waitJS[bool](t, viewB, "the current page in the late viewer", `!!(`+viewerDoc+` && `+viewerDoc+`.getElementById("reference") && `+viewerDoc+`.getElementById("reference").value === "SENTINEL1")`)
		t.Logf("late viewer: navigation → current page shown in %s", time.Since(start).Round(time.Millisecond))
		checkNoBankRequests(t, viewB, h)
	})

	t.Run("a reconnecting viewer sees the page at once", func(t *testing.T) {
		before := js[int](t, viewA, `window.lotseViewer.connected`)
		js[bool](t, viewA, `(window.lotseViewer.applied = 0, true)`)
		start := time.Now()
		h.cutViewer("adv1")
		waitJS[bool](t, viewA, "the reconnect", fmt.Sprintf(`window.lotseViewer.connected > %d && window.lotseViewer.applied > 0 && `+viewerDoc+`.getElementById("reference").value === "SENTINEL1"`, before))
		t.Logf("reconnecting viewer: cut → current page shown in %s", time.Since(start).Round(time.Millisecond))
		js[bool](t, cust, `(document.getElementById("amount").focus(), true)`)
		do(t, cust, chromedp.KeyEvent("42,00"))
		waitJS[bool](t, viewA, "live changes after the reconnect", viewerDoc+`.getElementById("amount").value === "42,00"`)
	})

	t.Run("pointer and highlight appear on the customer's page", func(t *testing.T) {
		do(t, viewA, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 300, 200))
		waitJS[bool](t, cust, "the advisor's pointer", `(() => { const p = window.lotseTest.shadow().querySelector('.ptr[data-participant="adv1"]');
			return !!p && !p.hidden && p.style.transform === "translate(300px, 200px)"; })()`)
		js[bool](t, viewA, `(window.lotseViewer.session.setMode("highlight"), true)`)
		do(t, viewA,
			chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 100, 120),
			chromedp.MouseEvent(input.DispatchMouseEventTypeMousePressed, 100, 120, chromedp.ButtonLeft),
			chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 200, 180, chromedp.ButtonLeft),
			chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 300, 250, chromedp.ButtonLeft),
			chromedp.MouseEvent(input.DispatchMouseEventTypeMouseReleased, 300, 250, chromedp.ButtonLeft))
		waitJS[bool](t, cust, "the highlight", `(() => { const h = window.lotseTest.shadow().querySelector('.hl[data-participant="adv1"]');
			return !!h && h.style.left === "100px" && h.style.top === "120px" && h.style.width === "200px" && h.style.height === "130px"; })()`)
	})

	t.Run("control only with the customer's grant", func(t *testing.T) {
		testControl(t, h, cust, viewA)
	})

	t.Run("navigation continues the session", func(t *testing.T) {
		epoch := js[float64](t, cust, `window.lotseTest.session.epoch`)
		do(t, cust, chromedp.Click(chromedp.ID("nav-depot")))
		// The click navigates: poll until the second page answers.
		deadline := time.Now().Add(20 * time.Second)
		for {
			ok, err := browsertest.Run(cust, 5*time.Second, chromedp.Evaluate[bool](`!!(window.lotseTest && window.lotseTest.connected && document.getElementById("depot-title"))`))
			if err == nil && ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("capture on the second page: %v", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if e := js[float64](t, cust, `window.lotseTest.session.epoch`); e <= epoch {
			t.Fatalf("epoch %v on the second page, not after %v", e, epoch)
		}
		waitJS[bool](t, viewA, "the second page in the viewer", `!!(`+viewerDoc+` && `+viewerDoc+`.getElementById("depot-title"))`)
		js[bool](t, cust, `(document.getElementById("search").focus(), true)`)
		do(t, cust, chromedp.KeyEvent("Fonds"))
		waitJS[bool](t, viewA, "typing on the second page", viewerDoc+`.getElementById("search").value === "Fonds"`)
	})

	t.Run("the viewer never contacts the bank", func(t *testing.T) {
		checkNoBankRequests(t, viewA, h)
	})
}

const cobrowsePlaceholder = "••••••••"

func testControl(t *testing.T, h *harness, cust, view *browsertest.Page) {
	center := func(p *browsertest.Page, expr string) (float64, float64) {
		t.Helper()
		r := js[struct{ X, Y, W, H float64 }](t, p, `(() => { const r = (`+expr+`).getBoundingClientRect(); return {X: r.left, Y: r.top, W: r.width, H: r.height}; })()`)
		if r.W == 0 || r.H == 0 {
			t.Fatalf("%s has no size", expr)
		}
		return r.X + r.W/2, r.Y + r.H/2
	}
	results := func() int { return js[int](t, view, `window.lotseViewer.results.length`) }
	lastResult := func(n int) string {
		t.Helper()
		return waitJS[string](t, view, "an action result", fmt.Sprintf(`window.lotseViewer.results.length > %d && JSON.stringify(window.lotseViewer.results[window.lotseViewer.results.length - 1])`, n))
	}
	counter := func() string { return js[string](t, cust, `document.getElementById("counter").textContent`) }

	js[bool](t, view, `(window.lotseViewer.session.setMode("control"), true)`)
	bx, by := center(view, viewerDoc+`.getElementById("counter-btn")`)

	// Without a grant the click does nothing.
	n := results()
	do(t, view, chromedp.MouseClickXY(bx, by))
	if r := lastResult(n); !strings.Contains(r, `"err":"not_granted"`) {
		t.Fatalf("click without a grant: %s", r)
	}
	if c := counter(); c != "0" {
		t.Fatalf("counter %s after a click without a grant", c)
	}

	// The advisor asks, the customer grants with a real click.
	js[bool](t, view, `(window.lotseViewer.session.requestControl(), true)`)
	waitJS[bool](t, cust, "the control prompt", `(() => { const b = window.lotseTest.shadow().querySelector('button[data-act="grant"]'); return !!b && b.offsetParent !== null; })()`)
	// A script on the page cannot grant.
	js[bool](t, cust, `(window.lotseTest.shadow().querySelector('button[data-act="grant"]').click(), true)`)
	time.Sleep(200 * time.Millisecond)
	if s := js[string](t, view, `window.lotseViewer.states.length ? window.lotseViewer.states[window.lotseViewer.states.length - 1].control : ""`); s == "granted" {
		t.Fatal("a scripted click granted control")
	}
	gx, gy := center(cust, `window.lotseTest.shadow().querySelector('button[data-act="grant"]')`)
	do(t, cust, chromedp.MouseClickXY(gx, gy))
	waitJS[bool](t, view, "the grant", `window.lotseViewer.states.length > 0 && window.lotseViewer.states[window.lotseViewer.states.length - 1].control === "granted"`)

	n = results()
	do(t, view, chromedp.MouseClickXY(bx, by))
	if r := lastResult(n); !strings.Contains(r, `"ok":true`) {
		t.Fatalf("click with the grant: %s", r)
	}
	if c := counter(); c != "1" {
		t.Fatalf("counter %s after a granted click, want 1", c)
	}
	waitJS[bool](t, view, "the click's effect in the viewer", viewerDoc+`.getElementById("counter").textContent === "1"`)

	// Typing into a normal field acts; into a masked one it never does.
	rx, ry := center(view, viewerDoc+`.getElementById("recipient")`)
	do(t, view, chromedp.MouseClickXY(rx, ry), chromedp.KeyEvent("Anna"))
	waitJS[bool](t, cust, "the advisor's typing", `document.getElementById("recipient").value === "Anna"`)
	ibanBefore := js[string](t, cust, `document.getElementById("iban").value`)
	n = results()
	ix, iy := center(view, viewerDoc+`.getElementById("iban")`)
	do(t, view, chromedp.MouseClickXY(ix, iy))
	if r := lastResult(n); !strings.Contains(r, `"err":"masked"`) {
		t.Fatalf("click on a masked field: %s", r)
	}
	n = results()
	do(t, view, chromedp.KeyEvent("x"))
	if r := lastResult(n); !strings.Contains(r, `"err":"masked"`) {
		t.Fatalf("typing into a masked field: %s", r)
	}
	if v := js[string](t, cust, `document.getElementById("iban").value`); v != ibanBefore {
		t.Fatalf("masked field changed by the advisor: %q → %q", ibanBefore, v)
	}

	// The customer revokes: clicks do nothing again.
	vx, vy := center(cust, `window.lotseTest.shadow().querySelector('button[data-act="revoke"]')`)
	do(t, cust, chromedp.MouseClickXY(vx, vy))
	waitJS[bool](t, view, "the revocation", `window.lotseViewer.states[window.lotseViewer.states.length - 1].control === "none"`)
	n = results()
	do(t, view, chromedp.MouseClickXY(bx, by))
	if r := lastResult(n); !strings.Contains(r, `"err":"not_granted"`) {
		t.Fatalf("click after revoke: %s", r)
	}
	if c := counter(); c != "1" {
		t.Fatalf("counter %s after a click after revoke, want 1", c)
	}

	var kinds []string
	for _, r := range h.recorded() {
		kinds = append(kinds, string(r.Kind))
	}
	want := []string{"cobrowse.control_requested", "cobrowse.control_granted", "cobrowse.control_revoked"}
	if !containsInOrder(kinds, want) {
		t.Fatalf("recorded %v, want %v in order", kinds, want)
	}
}

func containsInOrder(have, want []string) bool {
	i := 0
	for _, h := range have {
		if i < len(want) && h == want[i] {
			i++
		}
	}
	return i == len(want)
}

// checkNoBankRequests fails when the viewer page requested anything from
// the bank or its CDN, or from any host but Lotse.
func checkNoBankRequests(t *testing.T, p *browsertest.Page, h *harness) {
	t.Helper()
	lotse, _ := url.Parse(h.lotse.URL)
	proxied := 0
	for _, r := range p.Requests() {
		u, err := url.Parse(r)
		if err != nil {
			t.Errorf("unparsable request %q", r)
			continue
		}
		if u.Scheme == "data" || u.Scheme == "about" {
			continue
		}
		if u.Host != lotse.Host {
			t.Errorf("the viewer requested %s (not Lotse)", r)
		}
		if strings.HasPrefix(u.Path, "/api/v1/cobrowse/assets/") {
			proxied++
		}
	}
	if proxied < 3 {
		t.Errorf("only %d requests through the asset proxy (want the stylesheet, font and images): %v", proxied, p.Requests())
	}
}

// inspectReceived reassembles and inflates everything the customer sent
// and counts messages containing marker (raw or inflated); it reports
// whether sentinel was seen in an inflated payload.
func inspectReceived(t *testing.T, msgs [][]byte, marker, sentinel string) (hits int, sawSentinel bool) {
	t.Helper()
	var pending []byte
	for _, m := range msgs {
		if bytes.Contains(m, []byte(marker)) {
			hits++
		}
		f, err := cobrowse.DecodeFrame(m)
		if err != nil {
			t.Fatalf("undecodable customer message: %v", err)
		}
		if f.Kind == cobrowse.KindChunk {
			var c cobrowse.Chunk
			if err := f.DecodeHeader(&c); err != nil {
				t.Fatal(err)
			}
			if c.Index == 0 {
				pending = nil
			}
			pending = append(pending, f.Payload...)
			if c.Index < c.Count-1 {
				continue
			}
			if f, err = cobrowse.DecodeFrame(pending); err != nil {
				t.Fatalf("reassembled frame: %v", err)
			}
		}
		if f.Kind != cobrowse.KindSnapshot && f.Kind != cobrowse.KindEvents {
			continue
		}
		var hdr struct {
			Z bool `json:"z"`
		}
		_ = json.Unmarshal(f.Header, &hdr)
		body := f.Payload
		if hdr.Z {
			b, err := io.ReadAll(flate.NewReader(bytes.NewReader(f.Payload)))
			if err != nil {
				t.Fatalf("inflate: %v", err)
			}
			body = b
		}
		if bytes.Contains(body, []byte(marker)) {
			hits++
			i := bytes.Index(body, []byte(marker))
			t.Logf("marker in payload: …%s…", body[max(0, i-200):min(len(body), i+50)])
		}
		if bytes.Contains(body, []byte(sentinel)) {
			sawSentinel = true
		}
	}
	return hits, sawSentinel
}

// compareScreens compares the customer's viewport with the viewer's
// rebuilt page pixel by pixel, leaving out masked and blocked elements.
// Tolerance: at most 1% of the compared pixels may differ by more than 48
// in any colour channel.
func compareScreens(t *testing.T, cust, view *browsertest.Page) {
	t.Helper()
	js[bool](t, cust, `(document.activeElement && document.activeElement.blur(), document.querySelector("lotse-cobrowse").style.setProperty("visibility", "hidden", "important"), true)`)
	js[bool](t, view, `(() => { const r = document.querySelector("lotse-viewer").shadowRoot; r.querySelector(".replayer-mouse").style.display = "none"; r.querySelector(".focus").style.visibility = "hidden"; return true; })()`)
	js[bool](t, view, `(`+viewerDoc+`).fonts.ready.then(() => new Promise((r) => setTimeout(() => r(true), 500)))`)
	excl := js[[]struct{ X, Y, W, H float64 }](t, cust, `[...document.querySelectorAll("#card-preview,#ad-banner,#balance-value,#rule-text")].map((e) => { const r = e.getBoundingClientRect(); return {X: r.left, Y: r.top, W: r.width, H: r.height}; })`)
	a := shot(t, cust)
	b := shot(t, view)
	defer js[bool](t, cust, `(document.querySelector("lotse-cobrowse").style.removeProperty("visibility"), true)`)
	if a.Bounds() != b.Bounds() {
		t.Fatalf("screenshots differ in size: %v vs %v", a.Bounds(), b.Bounds())
	}
	excluded := func(x, y int) bool {
		for _, r := range excl {
			if float64(x) >= r.X-2 && float64(x) < r.X+r.W+2 && float64(y) >= r.Y-2 && float64(y) < r.Y+r.H+2 {
				return true
			}
		}
		return false
	}
	total, diff := 0, 0
	bd := a.Bounds()
	for y := bd.Min.Y; y < bd.Max.Y; y++ {
		for x := bd.Min.X; x < bd.Max.X; x++ {
			if excluded(x, y) {
				continue
			}
			total++
			r1, g1, b1, _ := a.At(x, y).RGBA()
			r2, g2, b2, _ := b.At(x, y).RGBA()
			if absDiff(r1, r2) > 48<<8 || absDiff(g1, g2) > 48<<8 || absDiff(b1, b2) > 48<<8 {
				diff++
			}
		}
	}
	share := float64(diff) / float64(total) * 100
	t.Logf("screenshot comparison: %.3f%% of %d pixels differ (tolerance 1%%)", share, total)
	if share > 1.0 {
		t.Fatalf("the viewer's picture differs from the page in %.2f%% of pixels (tolerance 1%%)", share)
	}
}

func shot(t *testing.T, p *browsertest.Page) image.Image {
	t.Helper()
	b, err := browsertest.Run(p, 30*time.Second, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}

func diffLines(want, got []string) string {
	var out []string
	n := max(len(want), len(got))
	for i := 0; i < n && len(out) < 30; i++ {
		var w, g string
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		if w != g {
			out = append(out, fmt.Sprintf("%d\n- %s\n+ %s", i, w, g))
		}
	}
	return strings.Join(out, "\n")
}

// latencies pairs each sent value prefix+i with the first time the viewer
// showed it or a later value (a later value proves the change applied).
func latencies(sent map[string]float64, prefix string, n int, applied map[int]float64) []float64 {
	var out []float64
	for i := 0; i < n; i++ {
		s, ok := sent[fmt.Sprintf("%s%d", prefix, i)]
		if !ok {
			continue
		}
		best := -1.0
		for j, at := range applied {
			if j >= i && (best < 0 || at < best) {
				best = at
			}
		}
		if best >= 0 {
			out = append(out, best-s)
		}
	}
	return out
}

func percentile(v []float64, p float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[int(p/100*float64(len(s)-1))]
}
