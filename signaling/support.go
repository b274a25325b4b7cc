package signaling

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lotse-io/lotse/store"
)

// sealer encrypts secrets that must be read back (webhook signing keys)
// with AES-256-GCM; the tenant id is authenticated data.
type sealer struct{ aead cipher.AEAD }

func newSealer(key []byte) (*sealer, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, errors.New("signaling: secret key must be 32 bytes")
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead}, nil
}

func (s *sealer) seal(bind, plain string) string {
	nonce := make([]byte, s.aead.NonceSize())
	_, _ = rand.Read(nonce)
	return "v1:" + base64.RawStdEncoding.EncodeToString(s.aead.Seal(nonce, nonce, []byte(plain), []byte(bind)))
}

func (s *sealer) open(bind, sealed string) (string, error) {
	raw, ok := strings.CutPrefix(sealed, "v1:")
	ct, err := base64.RawStdEncoding.DecodeString(raw)
	if !ok || err != nil || len(ct) < s.aead.NonceSize() {
		return "", errors.New("signaling: corrupt sealed secret")
	}
	pt, err := s.aead.Open(nil, ct[:s.aead.NonceSize()], ct[s.aead.NonceSize():], []byte(bind))
	if err != nil {
		return "", errors.New("signaling: sealed secret does not open")
	}
	return string(pt), nil
}

// failureCounter counts failures per key in a fixed window.
type failureCounter struct {
	window time.Duration

	mu     sync.Mutex // guards counts
	counts map[string]*windowCount
}

type windowCount struct {
	n     int
	start time.Time
}

func newFailureCounter(window time.Duration) *failureCounter {
	return &failureCounter{window: window, counts: map[string]*windowCount{}}
}

func (f *failureCounter) get(key string, now time.Time) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.counts[key]
	if c == nil || now.Sub(c.start) > f.window {
		return 0
	}
	return c.n
}

func (f *failureCounter) add(key string, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.counts[key]
	if c == nil || now.Sub(c.start) > f.window {
		if len(f.counts) > 100_000 {
			for k, v := range f.counts {
				if now.Sub(v.start) > f.window {
					delete(f.counts, k)
				}
			}
		}
		c = &windowCount{start: now}
		f.counts[key] = c
	}
	c.n++
}

// originCache knows the SDK origins all tenants allow, for the CORS
// preflight and the WebSocket upgrade, which happen before the tenant is
// known.
type originCache struct {
	st  store.Tenants
	ttl time.Duration

	mu      sync.Mutex // guards the fields below
	origins map[string]bool
	loaded  time.Time
}

func newOriginCache(st store.Tenants, ttl time.Duration) *originCache {
	return &originCache{st: st, ttl: ttl}
}

// anyTenantAllows reports whether some tenant allows origin.
func (o *originCache) anyTenantAllows(ctx context.Context, origin string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.origins == nil || time.Since(o.loaded) > o.ttl {
		ts, err := o.st.ListTenants(ctx)
		if err != nil {
			return o.origins[origin]
		}
		m := map[string]bool{}
		for _, t := range ts {
			for _, a := range t.Settings.AllowedOrigins {
				m[a] = true
			}
		}
		o.origins, o.loaded = m, time.Now()
	}
	return o.origins[origin]
}

// invalidate makes the next check reload.
func (o *originCache) invalidate() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.origins = nil
}

// metrics of the signalling plane.
type metrics struct {
	messagesIn  *prometheus.CounterVec
	messagesErr *prometheus.CounterVec
	events      *prometheus.CounterVec
	joins       *prometheus.CounterVec
	webhooks    *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, h *Hub) *metrics {
	m := &metrics{
		messagesIn:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lotse_signal_messages_total", Help: "Signalling messages received, by type."}, []string{"type"}),
		messagesErr: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lotse_signal_errors_total", Help: "Error messages sent to clients, by code."}, []string{"code"}),
		events:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lotse_conversation_events_total", Help: "Conversation record events, by type."}, []string{"type"}),
		joins:       prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lotse_join_exchanges_total", Help: "Share link and code exchanges, by result."}, []string{"result"}),
		webhooks:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lotse_webhook_attempts_total", Help: "Webhook delivery attempts, by result."}, []string{"result"}),
	}
	reg.MustRegister(m.messagesIn, m.messagesErr, m.events, m.joins, m.webhooks,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "lotse_signal_rooms", Help: "Live conversation rooms on this node."},
			func() float64 { r, _ := h.counts(); return float64(r) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "lotse_signal_connections", Help: "Open signalling WebSockets on this node."},
			func() float64 { _, c := h.counts(); return float64(c) }))
	return m
}
