package main

import (
	"encoding/json"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/lotse-io/lotse/internal/browsertest"
)

// videoFramesJS counts the decoded frames of the remote videos in a document.
const videoFramesJS = `[...document.querySelectorAll(".tile video")].map(v => v.getVideoPlaybackQuality().totalVideoFrames)`

// TestBrowserMedia: an advisor in the console and a customer on the landing
// page, both in headless Chromium with fake camera and microphone, see
// each other's video (decoded frames keep rising) and get audio — through
// our SFU, nothing else.
func TestBrowserMedia(t *testing.T) {
	browsertest.Require(t)
	s := startServer(t, t.TempDir(), []string{"LOTSE_BOOTSTRAP_ADMIN_PASSWORD=" + browserAdminPassword}, "--dev")
	browserMediaBothWays(t, s)
	// With a direct path the relay stays idle (the relay-only test below
	// relies on this difference).
	t.Logf("relayed through TURN: %.0f bytes", relayedBytes(t, s.url))
}

// TestBrowserMediaRelayOnly: with signaling.ice_transport_policy "relay"
// both browsers may use nothing but our TURN relay (as behind a firewall
// that lets only the relay through); video and audio still arrive both
// ways, and the relay carried them.
func TestBrowserMediaRelayOnly(t *testing.T) {
	browsertest.Require(t)
	cfg := testConfigFile(t, "signaling:\n  ice_transport_policy: relay\n")
	s := startServer(t, t.TempDir(), []string{"LOTSE_BOOTSTRAP_ADMIN_PASSWORD=" + browserAdminPassword}, "--dev", "--config", cfg)
	before := relayedBytes(t, s.url)
	browserMediaBothWays(t, s)
	after := relayedBytes(t, s.url)
	if after-before < 100_000 {
		t.Fatalf("the relay carried %.0f bytes: media did not go through it", after-before)
	}
	t.Logf("relayed through TURN: %.1f MB", float64(after-before)/1e6)
}

// relayedBytes reads lotse_turn_relayed_bytes_total from /metrics.
func relayedBytes(t *testing.T, base string) float64 {
	t.Helper()
	_, body := getBody(t, base+"/metrics")
	total := 0.0
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "lotse_turn_relayed_bytes_total") {
			f := strings.Fields(line)
			v, err := strconv.ParseFloat(f[len(f)-1], 64)
			if err == nil {
				total += v
			}
		}
	}
	return total
}

// browserMediaBothWays signs an advisor into the console and brings a
// customer in through the landing page, then checks that each gets the
// other's video (decoded frames rising) and audio. It returns that check,
// to run again later.
func browserMediaBothWays(t *testing.T, s *server) (check func(when string)) {
	t.Helper()
	waitReady(t, s.url)
	requireSDK(t, s.url)
	br := browsertest.Start(t)
	advisor, customer := br.NewPage(t), br.NewPage(t)
	const wait = 30 * time.Second

	signIn(t, advisor, s.url)
	var conv struct {
		ID       string `json:"id"`
		ShareURL string `json:"share_url"`
	}
	api := signInAPI(t, s.url, browserAdminPassword)
	api.call("POST", "/api/v1/conversations", map[string]string{"subject": "Video"}, &conv)
	link := s.url + "/j/" + conv.ShareURL[strings.LastIndex(conv.ShareURL, "#lotse=")+len("#lotse="):]
	if strings.Contains(conv.ShareURL, "/j/") {
		link = conv.ShareURL
	}
	if err := advisor.Do(wait, chromedp.Navigate(s.url+"/console#/c/"+conv.ID), chromedp.WaitVisible(`.waiting-list`)); err != nil {
		t.Fatal(err)
	}
	if err := customer.Do(wait, chromedp.Navigate(link)); err != nil {
		t.Fatal(err)
	}
	w := customer.InShadow(`[data-lotse="widget"]`)
	for _, step := range []func() error{
		func() error { return w.Type(`input[name="display_name"]`, "Erika Muster", wait) },
		func() error { return w.Click(`input[name="terms"]`, wait) },
		func() error { return w.Click(`button[type="submit"]`, wait) },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	if err := advisor.Do(wait, chromedp.WaitVisible(`.waiting-list button.admit`), chromedp.Click(`.waiting-list button.admit`)); err != nil {
		t.Fatalf("admit: %v", err)
	}

	check = func(when string) {
		t.Helper()
		mediaFlowsBothWays(t, when, advisor, customer, w, wait)
	}
	check("")
	return check
}

// mediaFlowsBothWays checks that the advisor's console and the customer's
// widget each decode rising video frames of the other and play live audio.
func mediaFlowsBothWays(t *testing.T, when string, advisor, customer *browsertest.Page, w *browsertest.Shadow, wait time.Duration) {
	t.Helper()
	// The advisor sees the customer's camera: decoded frames keep rising.
	rising := func(name string, count func() ([]int, error)) {
		t.Helper()
		deadline := time.Now().Add(wait)
		first := -1
		for time.Now().Before(deadline) {
			n, err := count()
			if err == nil && len(n) > 0 && n[0] > 0 {
				if first < 0 {
					first = n[0]
				} else if n[0] > first+10 {
					t.Logf("%s%s: decoded frames %d → %d", when, name, first, n[0])
					return
				}
			}
			time.Sleep(200 * time.Millisecond)
		}
		screenshot(t, advisor, filepath.Join(artifactDir(t, "media"), "failed-advisor.png"))
		t.Logf("advisor's console: %q", advisor.Console())
		t.Logf("customer's console: %q", customer.Console())
		t.Fatalf("%s%s: decoded frames not rising (first %d)", when, name, first)
	}
	rising("advisor sees customer", func() ([]int, error) {
		return browsertest.Run(advisor, 5*time.Second, chromedp.Evaluate[[]int](videoFramesJS))
	})
	rising("customer sees advisor", func() ([]int, error) {
		raw, err := w.Eval(`.remote video`, `function() { return [this.getVideoPlaybackQuality().totalVideoFrames]; }`, 5*time.Second)
		if err != nil {
			return nil, err
		}
		var n []int
		return n, json.Unmarshal(raw, &n)
	})
	// Audio arrives both ways: a live remote audio track that plays.
	audioJS := `(() => { const a = document.querySelector("span.audio audio"); if (!a || !a.srcObject) return false;
		const tr = a.srcObject.getAudioTracks()[0]; return !!tr && tr.readyState === "live" && !a.paused; })()`
	if _, err := browsertest.Run(advisor, wait, chromedp.Poll[bool](audioJS, chromedp.WithPollingTimeout(wait))); err != nil {
		t.Fatalf("advisor gets no customer audio: %v", err)
	}
	raw, err := w.Eval(`.remote audio`, `function() { const tr = this.srcObject && this.srcObject.getAudioTracks()[0]; return !!tr && tr.readyState === "live" && !this.paused; }`, wait)
	if err != nil || string(raw) != "true" {
		t.Fatalf("customer gets no advisor audio: %s %v", raw, err)
	}
}

// TestBrowserMediaSurvivesServerRestart: the server restarts in the middle
// of a session (an upgrade). Both browsers reconnect by themselves; the new
// process cannot resume their old sessions, so they join afresh, get new SFU
// peers, start new PeerConnections, and see and hear each other again.
func TestBrowserMediaSurvivesServerRestart(t *testing.T) {
	browsertest.Require(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	env := []string{"LOTSE_BOOTSTRAP_ADMIN_PASSWORD=" + browserAdminPassword}
	s := startServer(t, dir, env, "--dev", "--listen", addr)
	check := browserMediaBothWays(t, s)

	if _, code := s.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("lotse serve exited %d", code)
	}
	s = startServer(t, dir, env, "--dev", "--listen", addr)
	waitReady(t, s.url)
	check("after the restart: ")
}
