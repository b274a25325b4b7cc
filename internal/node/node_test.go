package node

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/lotse-io/lotse/internal/config"
)

func testConfig(t testing.TB) config.Config {
	t.Helper()
	cfg, err := config.Load("", func(string) (string, bool) { return "", false },
		config.Overrides{"data_dir": t.TempDir(), "listen": "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	cfg.HTTP.DrainDelay = 300 * time.Millisecond
	// Kernel-chosen ports, so that tests run side by side.
	cfg.TURN.ListenUDP, cfg.TURN.ListenTCP, cfg.TURN.RelayPortMin, cfg.TURN.RelayPortMax = "127.0.0.1:0", "127.0.0.1:0", 0, 0
	cfg.SFU.ListenIP, cfg.SFU.UDPPort, cfg.SFU.TCPPort, cfg.SFU.LoopbackCandidates = "127.0.0.1", 0, 0, true
	return cfg
}

type running struct {
	url    string
	cancel context.CancelFunc
	done   chan error
	out    *bytes.Buffer
	node   *Node
}

func start(t *testing.T, cfg config.Config) *running {
	t.Helper()
	var out bytes.Buffer
	n, err := New(context.Background(), cfg, Deps{Log: zerolog.New(zerolog.NewTestWriter(t)), Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{url: "http://" + l.Addr().String(), cancel: cancel, done: make(chan error, 1), out: &out, node: n}
	go func() { r.done <- n.Run(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(15 * time.Second):
			t.Error("node did not stop")
		}
	})
	return r
}

func get(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

func TestErrorsAreJSON(t *testing.T) {
	r := start(t, testConfig(t))
	for _, tc := range []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/no/such/path", 404, "not_found"},
		{"POST", "/healthz", 405, "method_not_allowed"},
		{"DELETE", "/metrics", 405, "method_not_allowed"},
	} {
		req, _ := http.NewRequest(tc.method, r.url+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Error struct{ Code, Message string }
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || err != nil || body.Error.Code != tc.code ||
			!strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Errorf("%s %s = %d %q (%v), want %d %q as JSON", tc.method, tc.path, resp.StatusCode, body.Error.Code, err, tc.status, tc.code)
		}
	}
}

func TestDrainAndShutdownHooks(t *testing.T) {
	cfg := testConfig(t)
	r := start(t, cfg)
	if code, _ := get(t, r.url+"/readyz"); code != 200 {
		t.Fatalf("readyz = %d before drain", code)
	}
	var hookRan atomic.Bool
	r.node.OnShutdown("test", func(ctx context.Context) error {
		hookRan.Store(true)
		return nil
	})
	begin := time.Now()
	r.cancel()
	// During the drain delay readiness fails but liveness holds.
	code, body := get(t, r.url+"/readyz")
	if code != 503 {
		t.Fatalf("readyz during drain = %d %v, want 503", code, body)
	}
	if code, _ := get(t, r.url+"/healthz"); code != 200 {
		t.Fatalf("healthz during drain = %d, want 200", code)
	}
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
		r.done <- nil // for Cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("node did not stop within 10 s")
	}
	if !hookRan.Load() {
		t.Error("shutdown hook did not run")
	}
	if d := time.Since(begin); d < cfg.HTTP.DrainDelay {
		t.Errorf("stopped after %v, before the drain delay %v", d, cfg.HTTP.DrainDelay)
	}
}

func TestInFlightRequestFinishes(t *testing.T) {
	cfg := testConfig(t)
	var out bytes.Buffer
	n, err := New(context.Background(), cfg, Deps{Log: zerolog.New(zerolog.NewTestWriter(t)), Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	inner := n.handler
	started := make(chan struct{})
	n.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(started)
			time.Sleep(cfg.HTTP.DrainDelay + 500*time.Millisecond)
			w.Write([]byte("done"))
			return
		}
		inner.ServeHTTP(w, r)
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx, l) }()

	type result struct {
		body string
		err  error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + l.Addr().String() + "/slow")
		if err != nil {
			res <- result{err: err}
			return
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		res <- result{body: b.String()}
	}()
	<-started
	cancel()
	r := <-res
	if r.err != nil || r.body != "done" {
		t.Fatalf("in-flight request got %q, %v", r.body, r.err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
}
