package web

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// Options configure Wrap.
type Options struct {
	Log            zerolog.Logger
	Metrics        *Metrics // may be nil
	MaxBodyBytes   int64
	TrustedProxies []netip.Prefix
	// HSTS adds Strict-Transport-Security (when the public URL is https).
	HSTS bool
}

type ctxKey int

const (
	keyRequestID ctxKey = iota
	keyClientIP
)

// RequestID returns the id of the request ctx belongs to, or "".
func RequestID(ctx context.Context) string {
	s, _ := ctx.Value(keyRequestID).(string)
	return s
}

// ClientIP returns the client address of the request ctx belongs to:
// the peer address, or — when the peer is a trusted proxy — the last
// address in X-Forwarded-For that is not a trusted proxy.
func ClientIP(ctx context.Context) netip.Addr {
	a, _ := ctx.Value(keyClientIP).(netip.Addr)
	return a
}

// DefaultCSP is the Content-Security-Policy of every response that does not
// set its own: only our own origin, no inline script or style, no plugins,
// no framing by other sites.
const DefaultCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"media-src 'self' blob:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; " +
	"form-action 'self'; frame-ancestors 'self'"

var requestIDRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// Wrap puts the standard middleware around h: request id and client address
// in the context (with a child logger carrying the id), panic recovery,
// security headers, the body size limit, metrics and one access-log line.
func Wrap(h http.Handler, o Options) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ip, fromProxy := clientIP(r, o.TrustedProxies)
		id := ""
		if fromProxy {
			if in := r.Header.Get("X-Request-Id"); requestIDRE.MatchString(in) {
				id = in
			}
		}
		if id == "" {
			id = newRequestID()
		}
		log := o.Log.With().Str("req", id).Logger()
		ctx := context.WithValue(r.Context(), keyRequestID, id)
		ctx = context.WithValue(ctx, keyClientIP, ip)
		ctx = log.WithContext(ctx)
		r = r.WithContext(ctx)

		hd := w.Header()
		hd.Set("X-Request-Id", id)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "SAMEORIGIN")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		hd.Set("Content-Security-Policy", DefaultCSP)
		if o.HSTS {
			hd.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		}
		if r.Body != nil && o.MaxBodyBytes > 0 {
			r.Body = http.MaxBytesReader(w, r.Body, o.MaxBodyBytes)
		}

		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				log.Error().Interface("panic", p).Str("path", r.URL.Path).Msg("handler panicked")
				if !sw.wrote {
					WriteError(sw, r, errors.New("panic"))
				}
			}
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			d := time.Since(start)
			if o.Metrics != nil {
				o.Metrics.observe(r.Method, route, status, d)
			}
			log.Info().Str("method", r.Method).Str("route", route).Str("path", logPath(r.URL.Path)).
				Int("status", status).Dur("dur", d).Int64("bytes", sw.bytes).Str("ip", ip.String()).Msg("request")
		}()
		h.ServeHTTP(sw, r)
	})
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func clientIP(r *http.Request, trusted []netip.Prefix) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		a, _ := netip.ParseAddr(host)
		return a.Unmap(), false
	}
	peer := ap.Addr().Unmap()
	if !inPrefixes(peer, trusted) {
		return peer, false
	}
	// Walk X-Forwarded-For from the right; the first address that is not
	// one of our proxies is the client.
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		a = a.Unmap()
		if !inPrefixes(a, trusted) {
			return a, true
		}
	}
	return peer, true
}

func inPrefixes(a netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// statusWriter records the status and size of a response. It passes
// Hijack and Flush through, so WebSockets and streaming work behind it.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush implements http.Flusher.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Hijack implements http.Hijacker (WebSocket upgrades).
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("hijack not supported")
	}
	if !w.wrote {
		w.status, w.wrote = http.StatusSwitchingProtocols, true
	}
	return hj.Hijack()
}

// logPath keeps secrets out of the access log: share-link tokens travel in
// the path of the landing page (/j/<token>).
func logPath(p string) string {
	if strings.HasPrefix(p, "/j/") {
		return "/j/[redacted]"
	}
	if len(p) > 200 {
		return p[:200] + "…"
	}
	return p
}
