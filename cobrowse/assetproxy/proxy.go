// Package assetproxy serves the stylesheets, images and fonts that a
// co-browsed page references to the advisor's browser from Lotse's own
// origin, so that the advisor's browser never contacts the bank's site.
//
// The proxy fetches only from the origins the conversation's tenant allows
// (Deps.Origins), never from private, loopback, link-local or other
// special addresses (every DNS answer is checked and the checked address is
// the one dialled; redirects are checked again), with time and size limits
// and a content-type allowlist; URLs inside stylesheets are rewritten to
// point at the proxy too. Responses are cached with an expiry.
//
// A proxy URL is Prefix(mount, conversation) followed by the base64url of
// the asset's absolute URL. The prefix holds a token signed with the
// proxy's key that names the conversation and an expiry, so the handler is
// no open proxy: a request needs a valid token, the lead's Authorize check
// must pass for that conversation, and the target must lie in one of the
// conversation's allowed origins.
package assetproxy

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"golang.org/x/sync/singleflight"

	"github.com/lotse-io/lotse/internal/secret"
)

// Config holds the proxy's limits.
type Config struct {
	// Timeout bounds one upstream fetch, redirects and body included.
	Timeout time.Duration `yaml:"timeout"`
	// MaxBytes caps one asset's body.
	MaxBytes int `yaml:"max_bytes"`
	// MaxRedirects caps the redirects followed (each one checked again).
	MaxRedirects int `yaml:"max_redirects"`
	// CacheBytes bounds the cache; CacheTTL is how long an entry lives.
	CacheBytes int           `yaml:"cache_bytes"`
	CacheTTL   time.Duration `yaml:"cache_ttl"`
	// TokenTTL is how long a viewer's asset URL prefix stays valid.
	TokenTTL time.Duration `yaml:"token_ttl"`
	// ContentTypes are the media types served; anything else is refused.
	ContentTypes []string `yaml:"content_types"`
	// Key signs the URL prefixes. Empty: a random key per process (set one
	// when several nodes serve the same conversations).
	Key secret.String `yaml:"key"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Timeout:      10 * time.Second,
		MaxBytes:     8 << 20,
		MaxRedirects: 3,
		CacheBytes:   64 << 20,
		CacheTTL:     10 * time.Minute,
		TokenTTL:     12 * time.Hour,
		ContentTypes: []string{
			"text/css",
			"image/png", "image/jpeg", "image/gif", "image/webp", "image/avif",
			"image/svg+xml", "image/x-icon", "image/vnd.microsoft.icon", "image/bmp",
			"font/woff", "font/woff2", "font/ttf", "font/otf", "font/sfnt", "font/collection",
			"application/font-woff", "application/font-woff2", "application/x-font-woff",
			"application/x-font-ttf", "application/x-font-otf", "application/font-sfnt",
			"application/vnd.ms-fontobject",
		},
	}
}

// Validate names the first setting that cannot work.
func (c *Config) Validate() error {
	switch {
	case c.Timeout < 100*time.Millisecond:
		return fmt.Errorf("timeout: %s is below 100ms", c.Timeout)
	case c.MaxBytes < 1<<10:
		return fmt.Errorf("max_bytes: %d is below 1024", c.MaxBytes)
	case c.MaxRedirects < 0 || c.MaxRedirects > 10:
		return fmt.Errorf("max_redirects: %d is not within 0..10", c.MaxRedirects)
	case c.CacheBytes < 0:
		return fmt.Errorf("cache_bytes: %d is negative", c.CacheBytes)
	case c.CacheTTL < 0:
		return fmt.Errorf("cache_ttl: %s is negative", c.CacheTTL)
	case c.TokenTTL < time.Minute:
		return fmt.Errorf("token_ttl: %s is below 1m", c.TokenTTL)
	case len(c.ContentTypes) == 0:
		return errors.New("content_types: empty (nothing could be served)")
	case c.Key != "" && len(c.Key.Reveal()) < 16:
		return errors.New("key: shorter than 16 bytes")
	}
	for _, t := range c.ContentTypes {
		if mt, _, err := mime.ParseMediaType(t); err != nil || mt != t {
			return fmt.Errorf("content_types: %q is not a lower-case media type", t)
		}
	}
	return nil
}

// Resolver looks host names up (net.Resolver satisfies it).
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Dialer opens connections (net.Dialer satisfies it).
type Dialer interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
}

// Deps are the proxy's collaborators.
type Deps struct {
	Log        zerolog.Logger
	Registerer prometheus.Registerer
	// Origins returns the origins (scheme://host[:port]) the conversation's
	// tenant allows assets from; an error or none refuses every request.
	Origins func(ctx context.Context, conversation string) ([]string, error)
	// Authorize is the lead's check that the request comes from someone
	// allowed to view the conversation (e.g. the advisor's session). nil:
	// the signed token alone decides.
	Authorize func(r *http.Request, conversation string) error
	// AllowLoopback lets the proxy fetch from loopback addresses: for
	// tests and the dev-mode demo bank only. Off by default.
	AllowLoopback bool
	// Resolver and Dialer replace the system's (tests).
	Resolver Resolver
	Dialer   Dialer
	// Now is the clock (tests).
	Now func() time.Time
}

// Proxy is the asset proxy.
type Proxy struct {
	cfg    Config
	deps   Deps
	key    []byte
	types  map[string]bool
	client *http.Client
	cache  *cache
	group  singleflight.Group
	m      *metrics
}

// New returns a proxy; cfg must have passed Validate.
func New(cfg Config, deps Deps) *Proxy {
	p := &Proxy{cfg: cfg, deps: deps, types: map[string]bool{}, m: newMetrics(deps.Registerer)}
	if p.deps.Now == nil {
		p.deps.Now = time.Now
	}
	if p.deps.Resolver == nil {
		p.deps.Resolver = net.DefaultResolver
	}
	if p.deps.Dialer == nil {
		p.deps.Dialer = &net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}
	}
	p.deps.Log = deps.Log.With().Str("component", "assetproxy").Logger()
	if cfg.Key != "" {
		p.key = []byte(cfg.Key.Reveal())
	} else {
		p.key = make([]byte, 32)
		_, _ = rand.Read(p.key)
	}
	for _, t := range cfg.ContentTypes {
		p.types[t] = true
	}
	p.cache = newCache(cfg.CacheBytes, cfg.CacheTTL, p.deps.Now)
	p.client = &http.Client{
		Transport: &http.Transport{
			Proxy:                 nil, // never an environment proxy
			DialContext:           p.dial,
			ForceAttemptHTTP2:     true,
			TLSHandshakeTimeout:   cfg.Timeout,
			ResponseHeaderTimeout: cfg.Timeout,
			MaxIdleConns:          32,
			IdleConnTimeout:       60 * time.Second,
		},
		CheckRedirect: p.checkRedirect,
		Timeout:       cfg.Timeout,
	}
	return p
}

// Prefix returns the URL prefix (under mount, e.g.
// "/api/v1/cobrowse/assets/") through which a viewer of conversation
// fetches assets: append base64url(absolute asset URL).
func (p *Proxy) Prefix(mount, conversation string) string {
	return mount + p.token(conversation, p.deps.Now().Add(p.cfg.TokenTTL)) + "/"
}

// EncodeURL is the path segment for an asset URL (base64url, unpadded).
func EncodeURL(u string) string { return base64.RawURLEncoding.EncodeToString([]byte(u)) }

// Handler serves proxy URLs under mount.
func (p *Proxy) Handler(mount string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.serve(w, r, mount)
	})
}

// origin normalises u's scheme, host and port into an origin string.
func origin(u *url.URL) string {
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if (u.Scheme == "http" && port == "80") || (u.Scheme == "https" && port == "443") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		return u.Scheme + "://" + host + ":" + port
	}
	return u.Scheme + "://" + host
}

// NormalizeOrigin turns a configured origin ("https://Bank.example:443/")
// into the form the proxy compares with.
func NormalizeOrigin(s string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return "", fmt.Errorf("%w: %q is not an origin (scheme://host[:port])", ErrBadURL, s)
	}
	return origin(u), nil
}

// checkURL parses an asset URL and refuses anything but plain http(s).
func checkURL(raw string) (*url.URL, error) {
	if len(raw) > 4096 {
		return nil, fmt.Errorf("%w: longer than 4096 bytes", ErrBadURL)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.Opaque != "" {
		return nil, fmt.Errorf("%w: not an http(s) URL", ErrBadURL)
	}
	u.Fragment = ""
	return u, nil
}

// allowedOrigins returns the conversation's allowed origins as a set.
func (p *Proxy) allowedOrigins(ctx context.Context, conv string) (map[string]bool, error) {
	if p.deps.Origins == nil {
		return nil, fmt.Errorf("%w: no origins configured", ErrOrigin)
	}
	list, err := p.deps.Origins(ctx, conv)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrOrigin, err)
	}
	set := map[string]bool{}
	for _, o := range list {
		if n, err := NormalizeOrigin(o); err == nil {
			set[n] = true
		}
	}
	return set, nil
}

type allowedKey struct{}

func (p *Proxy) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > p.cfg.MaxRedirects {
		return fmt.Errorf("%w: more than %d redirects", ErrUpstream, p.cfg.MaxRedirects)
	}
	allowed, _ := req.Context().Value(allowedKey{}).(map[string]bool)
	if _, err := checkURL(req.URL.String()); err != nil {
		return err
	}
	if !allowed[origin(req.URL)] {
		return fmt.Errorf("%w: redirect to %s", ErrOrigin, origin(req.URL))
	}
	return nil
}
