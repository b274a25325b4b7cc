package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/lotse-io/lotse/internal/browsertest"
	sigclient "github.com/lotse-io/lotse/signaling/client"
	"github.com/lotse-io/lotse/signaling/wire"
)

// TestWidgetErrors: what a customer sees when something is wrong, in the
// bank page's language (the demo bank is German): a withdrawn link, a wrong
// code, a camera she did not allow (the session goes on without it), the
// advisor leaving, the session ending. Nothing hangs on the way.
func TestWidgetErrors(t *testing.T) {
	browsertest.Require(t)
	// A short resume window: a departed advisor counts as gone quickly.
	cfg := testConfigFile(t, "signaling:\n  resume_window: 2s\n")
	s := startServer(t, t.TempDir(), []string{"LOTSE_BOOTSTRAP_ADMIN_PASSWORD=" + browserAdminPassword}, "--dev", "--config", cfg)
	waitReady(t, s.url)
	requireSDK(t, s.url)
	bank := demoBankURL(t, s)
	api := signInAPI(t, s.url, browserAdminPassword)
	br := browsertest.Start(t)
	const wait = 30 * time.Second
	type conv struct {
		ID       string `json:"id"`
		ShareURL string `json:"share_url"`
		Code     string `json:"code"`
	}
	newConv := func() conv {
		var c conv
		api.call("POST", "/api/v1/conversations", map[string]string{"subject": "Fehlerfälle"}, &c)
		return c
	}
	consent := func(w *browsertest.Shadow) {
		t.Helper()
		for _, step := range []func() error{
			func() error { return w.Type(`input[name="display_name"]`, "Erika Muster", wait) },
			func() error { return w.Click(`input[name="terms"]`, wait) },
			func() error { return w.Click(`button[type="submit"]`, wait) },
		} {
			if err := step(); err != nil {
				t.Fatal(err)
			}
		}
	}
	expect := func(w *browsertest.Shadow, what, text string) {
		t.Helper()
		if _, err := w.WaitText(`.root`, text, wait); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		t.Logf("%s: %q", what, text)
	}

	t.Run("withdrawn link", func(t *testing.T) {
		c := newConv()
		api.call("DELETE", "/api/v1/conversations/"+c.ID+"/share", nil, nil)
		p := br.NewPage(t)
		if err := p.Do(wait, chromedp.Navigate(c.ShareURL)); err != nil {
			t.Fatal(err)
		}
		w := p.InShadow(`[data-lotse="widget"]`)
		consent(w)
		expect(w, "withdrawn link", "Dieser Link wurde zurückgezogen")
	})

	t.Run("wrong code", func(t *testing.T) {
		p := br.NewPage(t)
		if err := p.Do(wait, chromedp.Navigate(bank+"/")); err != nil {
			t.Fatal(err)
		}
		// The bank's own "start advice" button opens the code entry.
		if err := clickAt(p, `#advice`, wait); err != nil {
			t.Fatal(err)
		}
		w := p.InShadow(`[data-lotse="widget"]`)
		if err := w.Type(`input[name="code"]`, "000000", wait); err != nil {
			t.Fatal(err)
		}
		if err := w.Click(`button[type="submit"]`, wait); err != nil {
			t.Fatal(err)
		}
		consent(w)
		expect(w, "wrong code", "Dieser Code ist ungültig oder abgelaufen")
		// She can try again at once: the code field is back.
		if _, err := w.Text(`input[name="code"]`, wait); err != nil {
			t.Fatalf("no second try: %v", err)
		}
	})

	t.Run("camera denied, advisor leaves, session ends", func(t *testing.T) {
		c := newConv()
		// The customer refuses camera and microphone when asked.
		p := browsertest.Start(t, chromedp.Flag("use-fake-ui-for-media-stream", "deny")).NewPage(t)
		// The advisor is a signalling client of its own.
		var tok struct {
			JoinToken string `json:"join_token"`
		}
		api.call("POST", "/api/v1/conversations/"+c.ID+"/token", nil, &tok)
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		adv, _, err := sigclient.Dial(ctx, "ws"+strings.TrimPrefix(s.url, "http")+"/api/v1/signal", s.url)
		if err != nil {
			t.Fatal(err)
		}
		defer adv.Close()
		if _, err := adv.Join(ctx, tok.JoinToken, nil); err != nil {
			t.Fatal(err)
		}

		if err := p.Do(wait, chromedp.Navigate(c.ShareURL)); err != nil {
			t.Fatal(err)
		}
		w := p.InShadow(`[data-lotse="widget"]`)
		consent(w)
		customerID := ""
		for customerID == "" {
			select {
			case m := <-adv.Pending():
				if pj, ok := m.(*wire.ParticipantJoined); ok && pj.Participant.Role == "customer" {
					customerID = pj.Participant.ID
				}
			case <-ctx.Done():
				t.Fatal("the customer never arrived")
			}
		}
		if err := adv.Send(&wire.Admit{Header: wire.Header{Type: "admit"}, ParticipantID: customerID}); err != nil {
			t.Fatal(err)
		}
		expect(w, "camera denied", "Der Zugriff auf Kamera oder Mikrofon wurde nicht erlaubt")
		if _, err := w.WaitText(`[data-state="admitted"]`, "", wait); err != nil {
			t.Fatalf("the session does not go on without a camera: %v", err)
		}

		if err := adv.Send(&wire.Leave{Header: wire.Header{Type: "leave"}}); err != nil {
			t.Fatal(err)
		}
		expect(w, "advisor left", "Ihr Berater hat das Gespräch verlassen")

		api.call("POST", "/api/v1/conversations/"+c.ID+"/end", nil, nil)
		expect(w, "session ended", "Das Gespräch ist beendet")
	})
}
