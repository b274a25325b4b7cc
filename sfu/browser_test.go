package sfu_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/lotse-io/lotse/internal/browsertest"
	"github.com/lotse-io/lotse/internal/leakcheck"
	"github.com/lotse-io/lotse/sfu"
	"github.com/lotse-io/lotse/sfu/sfuclient"
)

// TestBrowserOfferCollision replays, step by step, the offer collision
// that broke media in Chromium: the browser has made its first offer with
// its camera and microphone when the SFU's offer of another participant's
// tracks crosses it. The browser (polite) rolls back and must be able to
// apply the SFU's offer: Chromium refuses a description that gives a
// header extension id another meaning than the session already has ("RTP
// extension ID reassignment not supported"), so the SFU's ids must agree
// with the browser's from the first exchange on.
func TestBrowserOfferCollision(t *testing.T) {
	b := browsertest.Start(t)
	leakcheck.Check(t)
	s, _ := newSFU(t, testConfig())
	page := b.NewPage(t)
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("<!doctype html><title>offer collision</title>"))
	}))
	t.Cleanup(site.Close)
	if err := page.Do(15*time.Second, chromedp.Navigate(site.URL)); err != nil {
		t.Fatal(err)
	}
	eval := func(what, js string) string {
		t.Helper()
		v, err := browsertest.Run(page, 20*time.Second, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("%s: %v (console: %q)", what, err, page.Console())
		}
		return v
	}
	eval("peer connection", `(async () => {
		window.pc = new RTCPeerConnection({bundlePolicy: "max-bundle"});
		return "ok";
	})()`)

	offers, answers := make(chan string, 16), make(chan string, 16)
	peer, err := s.Join("r", sfu.Participant{ID: "browser", Grants: allGrants}, sfu.SignalerFunc(func(sig sfu.Signal) {
		switch sig.Kind {
		case sfu.SignalOffer:
			offers <- sig.SDP
		case sfu.SignalAnswer:
			answers <- sig.SDP
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(peer.Close)
	nextOffer := func(what string) string {
		t.Helper()
		select {
		case o := <-offers:
			return o
		case <-time.After(15 * time.Second):
			t.Fatalf("no SFU offer: %s", what)
			return ""
		}
	}
	// answer applies an SFU offer in the browser (rolling back its own
	// outstanding offer, as the SDK does) and hands the answer to the SFU.
	answer := func(what, offer string) {
		t.Helper()
		js, _ := json.Marshal(offer)
		a := eval(what, `(async () => {
			if (pc.signalingState === "have-local-offer") await pc.setLocalDescription({type: "rollback"});
			try {
				await pc.setRemoteDescription({type: "offer", sdp: `+string(js)+`});
			} catch (e) {
				return "refused: " + e;
			}
			await pc.setLocalDescription();
			return pc.localDescription.sdp;
		})()`)
		if strings.HasPrefix(a, "refused: ") {
			t.Fatalf("%s: the browser refused the SFU's offer: %s", what, a)
		}
		if err := peer.HandleAnswer(a); err != nil {
			t.Fatalf("%s: the SFU refused the browser's answer: %v", what, err)
		}
	}
	answer("first offer", nextOffer("first offer"))

	// The browser publishes: its offer is made (and applied locally)...
	eval("publish", `(async () => {
		const s = await navigator.mediaDevices.getUserMedia({audio: true, video: true});
		for (const tr of s.getTracks()) pc.addTransceiver(tr, {direction: "sendonly", streams: [s]});
		await pc.setLocalDescription();
		window.myOffer = pc.localDescription.sdp;
		return "ok";
	})()`)
	// ...while another participant publishes and the SFU offers its
	// tracks to the browser.
	other := join(t, s, "r", "other", allGrants, sfuclient.Config{})
	if _, err := other.client.PublishOpus(sfuclient.AudioOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := other.client.PublishVP8(sfuclient.VideoOptions{Source: sfu.SourceCamera, Bitrate: 300_000}); err != nil {
		t.Fatal(err)
	}
	crossing := nextOffer("the other participant's tracks")
	// The SFU ignores the browser's crossing offer (it is the impolite side).
	if err := peer.HandleOffer(eval("my offer", `Promise.resolve(myOffer)`)); err != nil {
		t.Fatalf("crossing offer: %v", err)
	}
	select {
	case a := <-answers:
		t.Fatalf("the SFU answered an offer that crossed its own:\n%s", a)
	case <-time.After(200 * time.Millisecond):
	}
	answer("crossing offer", crossing)
	// Until the SFU offers both of the other participant's tracks.
	for strings.Count(crossing, "a=msid:") < 2 {
		crossing = nextOffer("the other participant's video")
		answer("next offer", crossing)
	}
	for _, ext := range []string{"urn:ietf:params:rtp-hdrext:sdes:mid", "urn:ietf:params:rtp-hdrext:ssrc-audio-level", "transport-wide-cc"} {
		if !strings.Contains(crossing, ext) {
			t.Errorf("the SFU's offer lacks the header extension %s:\n%s", ext, crossing)
		}
	}

	// Afterwards the browser offers its tracks again and both sides agree.
	mine := eval("offer again", `(async () => {
		await pc.setLocalDescription();
		return pc.localDescription.sdp;
	})()`)
	if err := peer.HandleOffer(mine); err != nil {
		t.Fatalf("the SFU refused the browser's offer: %v", err)
	}
	var ans string
	select {
	case ans = <-answers:
	case <-time.After(15 * time.Second):
		t.Fatal("no answer from the SFU to the browser's offer")
	}
	js, _ := json.Marshal(ans)
	if r := eval("apply answer", `(async () => {
		try {
			await pc.setRemoteDescription({type: "answer", sdp: `+string(js)+`});
		} catch (e) {
			return "refused: " + e;
		}
		return pc.signalingState;
	})()`); r != "stable" {
		t.Fatalf("the browser could not apply the SFU's answer: %s", r)
	}
}
