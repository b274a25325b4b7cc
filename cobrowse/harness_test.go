package cobrowse_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/rs/zerolog"

	"github.com/lotse-io/lotse/cobrowse"
)

// harness runs the three origins of a co-browse session on loopback: the
// bank (pages, its own assets), the bank's CDN (a second origin with a
// stylesheet), and Lotse (the test harness bundles, the viewer page, the
// asset proxy and test-only WebSocket endpoints wired to a real Relay).
type harness struct {
	t     testing.TB
	relay *cobrowse.Relay
	bank  *httptest.Server
	cdn   *httptest.Server
	lotse *httptest.Server
	logs  *syncBuffer

	mu        sync.Mutex // guards the fields below
	received  [][]byte   // every message the customer sent, as received
	records   []cobrowse.Event
	viewerWS  map[string]*websocket.Conn
	customers int
	wg        sync.WaitGroup
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

// sdkDist is where `make sdk` puts the harness bundles.
const sdkDist = "../web-sdk/dist/test"

// requireHarness skips (fails in CI) without the built harness bundles.
func requireHarness(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(sdkDist, "cobrowse-customer.js")); err != nil {
		msg := "co-browse test bundles are not built: run `make sdk` (cd web-sdk && npm run build)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

func newHarness(t testing.TB, cfg cobrowse.Config) *harness {
	t.Helper()
	h := &harness{t: t, logs: &syncBuffer{}, viewerWS: map[string]*websocket.Conn{}}
	log := zerolog.New(zerolog.MultiLevelWriter(h.logs, zerolog.NewTestWriter(t))).Level(zerolog.DebugLevel)

	h.cdn = httptest.NewServer(http.StripPrefix("/cdn/", http.FileServer(http.Dir("testdata/cdn"))))
	t.Cleanup(h.cdn.Close)

	lotseMux := http.NewServeMux()
	h.lotse = httptest.NewUnstartedServer(lotseMux)
	h.lotse.Start()
	t.Cleanup(h.lotse.Close)

	bankMux := http.NewServeMux()
	h.bank = httptest.NewServer(bankMux)
	t.Cleanup(h.bank.Close)

	h.relay = cobrowse.New(cfg, cobrowse.Deps{
		Log: log,
		Record: func(_ context.Context, ev cobrowse.Event) {
			h.mu.Lock()
			h.records = append(h.records, ev)
			h.mu.Unlock()
		},
		AssetPath: "/api/v1/cobrowse/assets/",
		Assets:    assetproxyDeps(log, []string{h.bank.URL, h.cdn.URL}),
	})
	t.Cleanup(func() {
		h.relay.Close()
		h.wg.Wait()
	})

	wsURL := "ws" + strings.TrimPrefix(h.lotse.URL, "http")
	page := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			b, err := os.ReadFile(filepath.Join("testdata/bank", name))
			if err != nil {
				http.NotFound(w, r)
				return
			}
			auto := "true"
			if r.URL.Query().Get("auto") == "0" {
				auto = "false"
			}
			s := strings.NewReplacer("{{CDN}}", h.cdn.URL, "{{LOTSE}}", h.lotse.URL,
				"{{WS}}", wsURL+"/ws/customer?conv=c1&p=cust1", "{{AUTOSTART}}", auto).Replace(string(b))
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte(s))
		}
	}
	bankMux.HandleFunc("GET /index.html", page("index.html"))
	bankMux.HandleFunc("GET /page2.html", page("page2.html"))
	bankMux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServer(http.Dir("testdata/bank"))))

	lotseMux.Handle("GET /harness/", http.StripPrefix("/harness/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := map[string]string{"customer.js": "cobrowse-customer.js", "viewer.js": "cobrowse-viewer.js"}[r.URL.Path]
		if name == "" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		http.ServeFile(w, r, filepath.Join(sdkDist, name))
	})))
	lotseMux.HandleFunc("GET /viewer.html", func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Query().Get("p")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		// The policy a console page that hosts the viewer should have.
		w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "+
			"img-src 'self' data:; font-src 'self' data:; connect-src 'self' "+wsURL+"; frame-src 'self'; base-uri 'none'; form-action 'none'")
		fmt.Fprintf(w, `<!doctype html><html><head><meta charset="utf-8"><title>Viewer</title><link rel="stylesheet" href="/viewer.css"></head>`+
			`<body><div id="view"></div><script src="/harness/viewer.js" data-ws="%s/ws/viewer?conv=c1&amp;p=%s"></script></body></html>`, wsURL, url.QueryEscape(p))
	})
	lotseMux.HandleFunc("GET /viewer.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css")
		_, _ = w.Write([]byte("html,body{margin:0;padding:0}#view{width:1280px;height:800px}"))
	})
	lotseMux.Handle("GET /api/v1/cobrowse/assets/", h.relay.AssetHandler())
	up := websocket.Upgrader{CheckOrigin: func(r *http.Request) bool {
		o := r.Header.Get("Origin")
		return o == h.bank.URL || o == h.lotse.URL
	}}
	lotseMux.HandleFunc("GET /ws/customer", func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		h.serveCustomer(c, r.URL.Query().Get("conv"), r.URL.Query().Get("p"))
	})
	lotseMux.HandleFunc("GET /ws/viewer", func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		h.serveViewer(c, r.URL.Query().Get("conv"), r.URL.Query().Get("p"))
	})
	return h
}

// wsSink is a Sink on a WebSocket: a small buffer, drained by a writer.
type wsSink struct {
	ch   chan []byte
	done chan struct{}
}

func (s *wsSink) Send(b []byte) bool {
	select {
	case <-s.done:
		return false
	case s.ch <- b:
		return true
	default:
		return false
	}
}

func (h *harness) writer(c *websocket.Conn, s *wsSink) {
	defer h.wg.Done()
	for {
		select {
		case <-s.done:
			return
		case b := <-s.ch:
			_ = c.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if err := c.WriteMessage(websocket.BinaryMessage, b); err != nil {
				return
			}
		}
	}
}

func (h *harness) serveCustomer(c *websocket.Conn, conv, p string) {
	c.SetReadLimit(cobrowse.WebSocketMessageBytes)
	s := &wsSink{ch: make(chan []byte, 64), done: make(chan struct{})}
	h.wg.Add(1)
	go h.writer(c, s)
	detach := h.relay.SetCustomerSink(conv, p, s)
	h.mu.Lock()
	h.customers++
	h.mu.Unlock()
	defer func() {
		detach()
		close(s.done)
		c.Close()
	}()
	for {
		_, msg, err := c.ReadMessage()
		if err != nil {
			return
		}
		h.mu.Lock()
		h.received = append(h.received, bytes.Clone(msg))
		h.mu.Unlock()
		if err := h.relay.FromCustomer(context.Background(), conv, p, msg); err != nil {
			h.t.Logf("customer frame dropped: %v", err)
		}
	}
}

func (h *harness) serveViewer(c *websocket.Conn, conv, p string) {
	c.SetReadLimit(cobrowse.DataChannelMessageBytes)
	s := &wsSink{ch: make(chan []byte, 64), done: make(chan struct{})}
	h.wg.Add(1)
	go h.writer(c, s)
	detach := h.relay.AddViewer(conv, p, s)
	h.mu.Lock()
	h.viewerWS[p] = c
	h.mu.Unlock()
	defer func() {
		detach()
		close(s.done)
		c.Close()
	}()
	for {
		_, msg, err := c.ReadMessage()
		if err != nil {
			return
		}
		if err := h.relay.FromViewer(context.Background(), conv, p, msg); err != nil {
			h.t.Logf("viewer frame dropped: %v", err)
		}
	}
}

// cutViewer closes a viewer's WebSocket from the server side.
func (h *harness) cutViewer(p string) {
	h.mu.Lock()
	c := h.viewerWS[p]
	h.mu.Unlock()
	if c != nil {
		c.Close()
	}
}

func (h *harness) receivedBytes() [][]byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([][]byte(nil), h.received...)
}

func (h *harness) recorded() []cobrowse.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]cobrowse.Event(nil), h.records...)
}
