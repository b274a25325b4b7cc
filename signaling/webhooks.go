package signaling

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"syscall"
	"time"

	"github.com/lotse-io/lotse/auth"
	"github.com/lotse-io/lotse/internal/web"
	"github.com/lotse-io/lotse/store"
)

// Webhooks tell the bank's backend about conversations:
// conversation.created, conversation.started, conversation.ended,
// participant.joined and participant.left. Each delivery is a POST with the
// JSON body {"id","event","created_at","tenant","data"} and the header
//
//	Lotse-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
//
// so the receiver can check origin, integrity and freshness. Failed
// deliveries are retried with growing delays (5 s, 30 s, 2 min, 10 min,
// 30 min, 1 h, ...) up to webhook_max_attempts; admins see every delivery.

// webhook enqueues an event for the tenant's endpoint, if it has one.
func (s *Service) webhook(ctx context.Context, tenantID, event string, data map[string]any) {
	if _, err := s.st.Webhook(ctx, tenantID); err != nil {
		return // none configured (or unreadable: logged at delivery)
	}
	id := newID()
	payload, err := json.Marshal(map[string]any{"id": id, "event": event, "created_at": s.now(), "data": data})
	if err != nil {
		return
	}
	if err := s.st.EnqueueWebhook(ctx, store.WebhookDelivery{ID: id, TenantID: tenantID, Event: event, Payload: payload,
		CreatedAt: s.now(), NextAttemptAt: s.now()}); err != nil {
		s.log.Error().Err(err).Str("tenant", tenantID).Msg("enqueue webhook")
		return
	}
	select {
	case s.wakeWebhooks <- struct{}{}:
	default:
	}
}

var retryDelays = []time.Duration{5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute, time.Hour}

func retryDelay(attempt int) time.Duration {
	if attempt-1 < len(retryDelays) {
		return retryDelays[attempt-1]
	}
	return retryDelays[len(retryDelays)-1]
}

// Sign returns the Lotse-Signature header value for body.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// deliverWebhooks sends due deliveries until ctx ends.
func (s *Service) deliverWebhooks(ctx context.Context) {
	client := s.webhookClient()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.wakeWebhooks:
		}
		due, err := s.st.DueWebhooks(ctx, s.now(), 50)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Error().Err(err).Msg("load due webhooks")
			}
			continue
		}
		for _, d := range due {
			s.attempt(ctx, client, d)
		}
	}
}

func (s *Service) attempt(ctx context.Context, client *http.Client, d store.WebhookDelivery) {
	d.Attempts++
	status, err := s.post(ctx, client, d)
	d.LastStatus = status
	d.LastError = ""
	switch {
	case err == nil && status >= 200 && status < 300:
		d.DeliveredAt = s.now()
		s.metrics.webhooks.WithLabelValues("delivered").Inc()
	default:
		if err != nil {
			d.LastError = err.Error()
		} else {
			d.LastError = fmt.Sprintf("HTTP %d", status)
		}
		if len(d.LastError) > 300 {
			d.LastError = d.LastError[:300]
		}
		if d.Attempts >= s.cfg.WebhookMaxAttempts {
			d.Failed = true
			s.metrics.webhooks.WithLabelValues("gave_up").Inc()
		} else {
			d.NextAttemptAt = s.now().Add(retryDelay(d.Attempts))
			s.metrics.webhooks.WithLabelValues("retry").Inc()
		}
	}
	if err := s.st.UpdateWebhookDelivery(ctx, d); err != nil && ctx.Err() == nil {
		s.log.Error().Err(err).Str("delivery", d.ID).Msg("store webhook attempt")
	}
}

func (s *Service) post(ctx context.Context, client *http.Client, d store.WebhookDelivery) (int, error) {
	w, err := s.st.Webhook(ctx, d.TenantID)
	if err != nil {
		return 0, errors.New("no webhook endpoint configured")
	}
	secret, err := s.box.open(d.TenantID, w.Secret)
	if err != nil {
		return 0, err
	}
	var body map[string]any
	_ = json.Unmarshal(d.Payload, &body)
	body["tenant"] = d.TenantID
	b, _ := json.Marshal(body)
	rctx, cancel := context.WithTimeout(ctx, s.cfg.WebhookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, w.URL, bytes.NewReader(b))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Lotse-Webhook/1")
	req.Header.Set("Lotse-Event", d.Event)
	req.Header.Set("Lotse-Delivery", d.ID)
	req.Header.Set("Lotse-Signature", Sign(secret, s.now(), b))
	res, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	return res.StatusCode, nil
}

// errPrivateTarget refuses a webhook address inside private networks.
var errPrivateTarget = errors.New("webhook target is a private, loopback or link-local address")

// webhookClient dials only public addresses unless the operator allowed
// private networks (a bank's backend inside its own network): the check
// runs on the address actually dialled, after DNS, so a name cannot point
// the webhook at internal services. Redirects are not followed.
func (s *Service) webhookClient() *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, Control: func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return err
		}
		if !s.cfg.WebhookAllowPrivate && !publicAddr(ap.Addr()) {
			return errPrivateTarget
		}
		return nil
	}}
	tr := &http.Transport{DialContext: dialer.DialContext, TLSHandshakeTimeout: 5 * time.Second, MaxIdleConnsPerHost: 2,
		ResponseHeaderTimeout: s.cfg.WebhookTimeout, Proxy: nil}
	return &http.Client{Transport: tr, Timeout: s.cfg.WebhookTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// publicAddr reports whether a is a global unicast address outside the
// private, shared, loopback, link-local and documentation ranges.
func publicAddr(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsGlobalUnicast() || a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() {
		return false
	}
	for _, p := range []string{"100.64.0.0/10", "192.0.0.0/24", "198.18.0.0/15", "64:ff9b::/96", "fc00::/7"} {
		if netip.MustParsePrefix(p).Contains(a) {
			return false
		}
	}
	return true
}

// WebhookView is the tenant's endpoint as admins see it.
type WebhookView struct {
	URL       string    `json:"url"`
	CreatedAt time.Time `json:"created_at"`
	// Secret is only present when the endpoint was just set.
	Secret string `json:"secret,omitempty"`
}

// SetWebhook sets the tenant's endpoint and returns its new signing
// secret, once (admins only; audited).
func (s *Service) SetWebhook(ctx context.Context, p *auth.Principal, rawURL string) (*WebhookView, error) {
	if !p.IsAdmin() {
		return nil, auth.ErrForbidden
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || len(rawURL) > 2000 {
		return nil, web.Errorf(http.StatusBadRequest, "invalid", "url must be an http(s) URL")
	}
	if u.Scheme == "http" && !s.cfg.WebhookAllowPrivate {
		return nil, web.Errorf(http.StatusBadRequest, "invalid", "url must use https")
	}
	secret := "whsec_" + auth.NewToken(32)
	w := store.Webhook{TenantID: p.TenantID, URL: u.String(), Secret: s.box.seal(p.TenantID, secret), CreatedAt: s.now()}
	if err := s.st.SetWebhook(ctx, w); err != nil {
		return nil, err
	}
	s.auth.Audit(ctx, p, "webhook.set", "tenant:"+p.TenantID, map[string]string{"url": w.URL})
	return &WebhookView{URL: w.URL, CreatedAt: w.CreatedAt, Secret: secret}, nil
}

// Webhook returns the tenant's endpoint (never its secret).
func (s *Service) Webhook(ctx context.Context, p *auth.Principal) (*WebhookView, error) {
	if !p.IsAdmin() {
		return nil, auth.ErrForbidden
	}
	w, err := s.st.Webhook(ctx, p.TenantID)
	if err != nil {
		return nil, err
	}
	return &WebhookView{URL: w.URL, CreatedAt: w.CreatedAt}, nil
}

// DeleteWebhook removes the tenant's endpoint (admins only; audited).
func (s *Service) DeleteWebhook(ctx context.Context, p *auth.Principal) error {
	if !p.IsAdmin() {
		return auth.ErrForbidden
	}
	if err := s.st.DeleteWebhook(ctx, p.TenantID); err != nil {
		return err
	}
	s.auth.Audit(ctx, p, "webhook.deleted", "tenant:"+p.TenantID, nil)
	return nil
}

// DeliveryView is one webhook delivery as admins see it.
type DeliveryView struct {
	ID            string          `json:"id"`
	Event         string          `json:"event"`
	CreatedAt     time.Time       `json:"created_at"`
	Attempts      int             `json:"attempts"`
	NextAttemptAt *time.Time      `json:"next_attempt_at,omitempty"`
	DeliveredAt   *time.Time      `json:"delivered_at,omitempty"`
	Failed        bool            `json:"failed"`
	LastStatus    int             `json:"last_status,omitempty"`
	LastError     string          `json:"last_error,omitempty"`
	Payload       json.RawMessage `json:"payload"`
}

// Deliveries lists recent deliveries (admins only).
func (s *Service) Deliveries(ctx context.Context, p *auth.Principal) ([]DeliveryView, error) {
	if !p.IsAdmin() {
		return nil, auth.ErrForbidden
	}
	ds, err := s.st.WebhookDeliveries(ctx, p.TenantID, 200)
	if err != nil {
		return nil, err
	}
	out := make([]DeliveryView, 0, len(ds))
	for _, d := range ds {
		v := DeliveryView{ID: d.ID, Event: d.Event, CreatedAt: d.CreatedAt, Attempts: d.Attempts, DeliveredAt: optT(d.DeliveredAt),
			Failed: d.Failed, LastStatus: d.LastStatus, LastError: d.LastError, Payload: d.Payload}
		if d.DeliveredAt.IsZero() && !d.Failed {
			v.NextAttemptAt = optT(d.NextAttemptAt)
		}
		out = append(out, v)
	}
	return out, nil
}
