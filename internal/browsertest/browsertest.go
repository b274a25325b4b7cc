// Package browsertest starts headless Chromium for tests through chromedp,
// with the flags this project's machines need, and records every network
// request a page makes.
//
// Where Chromium is missing the test is skipped with a message, except when
// CI=true: there every browser test must run, so it fails instead.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Candidates are the executables tried, in order (LOTSE_CHROMIUM wins).
var Candidates = []string{"chromium", "chromium-browser", "google-chrome"}

// ExecPath returns the Chromium executable to use, or "".
func ExecPath() string {
	if p := os.Getenv("LOTSE_CHROMIUM"); p != "" {
		return p
	}
	for _, c := range Candidates {
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	return ""
}

// Require skips t when Chromium is missing, or fails it when CI=true.
func Require(t testing.TB) string {
	t.Helper()
	p := ExecPath()
	if p == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("Chromium not found (install Debian's chromium package); browser tests must run in CI")
		}
		t.Skip("Chromium not found: install Debian's chromium package (or set LOTSE_CHROMIUM) to run browser tests")
	}
	return p
}

// Browser is one Chromium process; each NewContext is an isolated browser
// context (its own cookies and storage), like a separate person.
type Browser struct {
	alloc  context.Context
	cancel context.CancelFunc
}

// Start launches headless Chromium for t and stops it when t ends; extra
// options come after (and override) the defaults, e.g.
// chromedp.Flag("use-fake-ui-for-media-stream", "deny") for a person who
// refuses camera and microphone.
func Start(t testing.TB, extra ...chromedp.ExecAllocatorOption) *Browser {
	t.Helper()
	path := Require(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("allow-loopback-in-peer-connection", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.WindowSize(1280, 900),
	}
	opts = append(opts, extra...)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	// The first context starts the browser; pages are its children, each
	// in a browser context of its own.
	root, cancel := chromedp.NewContext(alloc, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() { closeBrowser(t, root, cancel, cancelAlloc) })
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(root) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("start Chromium: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Chromium did not start within a minute")
	}
	return &Browser{alloc: root, cancel: cancel}
}

// closeBrowser closes Chromium gracefully and kills it when that hangs, so
// that a stuck browser fails one test instead of stalling the run.
func closeBrowser(t testing.TB, root context.Context, cancel, cancelAlloc context.CancelFunc) {
	var proc *os.Process
	if c := chromedp.FromContext(root); c != nil && c.Browser != nil {
		proc = c.Browser.Process()
	}
	done := make(chan struct{})
	go func() {
		cancel()
		cancelAlloc()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Logf("Chromium did not close within 20 s: killing it")
		if proc != nil {
			_ = proc.Kill()
		}
	}
}

// Page is one tab in its own browser context.
type Page struct {
	Ctx context.Context

	mu       sync.Mutex // guards requests and console
	requests []string
	console  []string
}

// NewPage opens a tab in a fresh browser context that records the URL of
// every request it makes (WebSockets included). It closes when t ends.
func (b *Browser) NewPage(t testing.TB) *Page {
	t.Helper()
	p := &Page{}
	ctx, cancel := chromedp.NewContext(b.alloc,
		chromedp.WithNewBrowserContext(),
		chromedp.WithListener(p.record))
	t.Cleanup(func() {
		// Closing the tab may hang with Chromium; the browser's own close
		// (killing it if need be) follows anyway.
		done := make(chan struct{})
		go func() { cancel(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Logf("a tab did not close within 10 s")
		}
	})
	p.Ctx = ctx
	opened := make(chan error, 1)
	go func() { opened <- chromedp.Do(ctx) }()
	select {
	case err := <-opened:
		if err != nil {
			t.Fatalf("open a tab: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Chromium did not open a tab within 30 s")
	}
	return p
}

func (p *Page) record(ev any) {
	var url string
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		var parts []string
		for _, a := range e.Args {
			if a.Value != nil {
				parts = append(parts, string(a.Value))
			} else {
				parts = append(parts, a.Description)
			}
		}
		p.mu.Lock()
		p.console = append(p.console, string(e.Type)+": "+strings.Join(parts, " "))
		p.mu.Unlock()
		return
	case *runtime.EventExceptionThrown:
		p.mu.Lock()
		p.console = append(p.console, "exception: "+e.ExceptionDetails.Text)
		p.mu.Unlock()
		return
	case *network.EventRequestWillBeSent:
		url = e.Request.URL
	case network.EventRequestWillBeSent:
		url = e.Request.URL
	case *network.EventWebSocketCreated:
		url = e.URL
	default:
		return
	}
	p.mu.Lock()
	p.requests = append(p.requests, url)
	p.mu.Unlock()
}

// Do runs actions that return nothing, with a deadline.
func (p *Page) Do(timeout time.Duration, actions ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(p.Ctx, timeout)
	defer cancel()
	return chromedp.Do(ctx, actions...)
}

// Run runs one action on p with a deadline and returns its value.
func Run[T any](p *Page, timeout time.Duration, action chromedp.Action[T]) (T, error) {
	ctx, cancel := context.WithTimeout(p.Ctx, timeout)
	defer cancel()
	return chromedp.Run(ctx, action)
}

// Console returns the page's console messages and uncaught exceptions so
// far (for failure reports).
func (p *Page) Console() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.console...)
}

// Requests returns the URLs the page has requested so far.
func (p *Page) Requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.requests...)
}
