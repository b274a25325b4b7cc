package node

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	sigclient "github.com/lotse-io/lotse/signaling/client"
	"github.com/lotse-io/lotse/signaling/wire"
)

func (e *env) wsURL() string { return "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/api/v1/signal" }

type created struct {
	ID            string    `json:"id"`
	State         string    `json:"state"`
	ShareURL      string    `json:"share_url"`
	Code          string    `json:"code"`
	ExpiresAt     time.Time `json:"expires_at"`
	CodeExpiresAt time.Time `json:"code_expires_at"`
}

func (c *client) createConversation(body map[string]any) created {
	c.e.t.Helper()
	r := c.do("POST", "/api/v1/conversations", body)
	if r.status != 201 {
		c.e.t.Fatalf("create conversation: %d %s", r.status, r.body)
	}
	var v created
	r.json(c.e.t, &v)
	return v
}

func shareToken(shareURL string) string {
	if i := strings.LastIndex(shareURL, "/j/"); i >= 0 {
		return shareURL[i+3:]
	}
	_, tok, _ := strings.Cut(shareURL, "#lotse=")
	return tok
}

type joinRes struct {
	JoinToken     string `json:"join_token"`
	ParticipantID string `json:"participant_id"`
	SignalURL     string `json:"signal_url"`
}

// exchange trades a link token or code for a join token as a customer.
func (e *env) exchange(token, code, name string) (joinRes, resp) {
	e.t.Helper()
	body := map[string]any{"display_name": name, "consent": map[string]bool{"terms": true, "camera": true, "microphone": true, "cobrowse": true}}
	if token != "" {
		body["token"] = token
	}
	if code != "" {
		body["code"] = code
	}
	r := e.anon().do("POST", "/api/v1/join", body)
	var v joinRes
	if r.status == 200 {
		r.json(e.t, &v)
	}
	return v, r
}

func (c *client) staffToken(convID string) joinRes {
	c.e.t.Helper()
	r := c.do("POST", "/api/v1/conversations/"+convID+"/token", nil)
	if r.status != 200 {
		c.e.t.Fatalf("staff token: %d %s", r.status, r.body)
	}
	var v joinRes
	r.json(c.e.t, &v)
	return v
}

func (e *env) dial(origin string) *sigclient.Client {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if origin == "" {
		origin = e.srv.URL
	}
	c, _, err := sigclient.Dial(ctx, e.wsURL(), origin)
	if err != nil {
		e.t.Fatalf("dial: %v", err)
	}
	e.t.Cleanup(c.Close)
	return c
}

func (e *env) joinWS(token string) (*sigclient.Client, *wire.Joined) {
	e.t.Helper()
	c := e.dial("")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	j, err := c.Join(ctx, token, nil)
	if err != nil {
		e.t.Fatalf("join: %v", err)
	}
	return c, j
}

func wait[T wire.Message](t testing.TB, c *sigclient.Client, match func(T) bool) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := c.WaitFor(ctx, func(m wire.Message) bool {
		v, ok := m.(T)
		return ok && (match == nil || match(v))
	})
	if err != nil {
		var zero T
		t.Fatalf("waiting for %T: %v", zero, err)
	}
	return m.(T)
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }
