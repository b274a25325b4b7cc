package assetproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// resolver maps test host names to fixed addresses; anything else fails.
type resolver map[string][]netip.Addr

func (r resolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := r[host]; ok {
		return a, nil
	}
	return nil, fmt.Errorf("no such host %s", host)
}

// guardDialer dials loopback only, and fails the test if asked for
// anything else: refusals must happen before any connection.
type guardDialer struct {
	t     *testing.T
	dials atomic.Int32
}

func (d *guardDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || !ap.Addr().IsLoopback() {
		d.t.Errorf("the proxy tried to connect to %s", addr)
		return nil, errors.New("refused by the test")
	}
	d.dials.Add(1)
	var nd net.Dialer
	return nd.DialContext(ctx, network, addr)
}

type fixture struct {
	p        *Proxy
	h        http.Handler
	dialer   *guardDialer
	upstream *httptest.Server
	port     string
	hits     sync.Map // path → *atomic.Int32
	now      atomic.Int64
}

const mount = "/assets/"

func newFixture(t *testing.T, cfg Config, loopback bool, authorize func(*http.Request, string) error) *fixture {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	fx := &fixture{dialer: &guardDialer{t: t}}
	fx.now.Store(time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC).Unix())
	mux := http.NewServeMux()
	count := func(r *http.Request) {
		v, _ := fx.hits.LoadOrStore(r.URL.Path, new(atomic.Int32))
		v.(*atomic.Int32).Add(1)
	}
	mux.HandleFunc("/style.css", func(w http.ResponseWriter, r *http.Request) {
		count(r)
		w.Header().Set("Content-Type", "text/css")
		_, _ = io.WriteString(w, `@import "theme.css"; body { background: url(img/bg.png) } .x { background: url("javascript:alert(1)") } @font-face { src: url('/f.woff2') }`)
	})
	mux.HandleFunc("/logo.png", func(w http.ResponseWriter, r *http.Request) {
		count(r)
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write([]byte("\x89PNG fake"))
	})
	mux.HandleFunc("/font.woff2", func(w http.ResponseWriter, r *http.Request) {
		count(r)
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write([]byte("wOF2"))
	})
	mux.HandleFunc("/page.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "<script>alert(1)</script>")
	})
	mux.HandleFunc("/app.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		_, _ = io.WriteString(w, "alert(1)")
	})
	mux.HandleFunc("/big.png", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(make([]byte, 64<<10))
	})
	mux.HandleFunc("/big-chunked.png", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		for i := 0; i < 64; i++ {
			_, _ = w.Write(make([]byte, 1<<10))
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/slow.png", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/to-metadata", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://metadata.test/latest/meta-data/", http.StatusFound)
	})
	mux.HandleFunc("/to-foreign", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://elsewhere.test/x.png", http.StatusFound)
	})
	mux.HandleFunc("/to-logo", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/logo.png", http.StatusFound)
	})
	fx.upstream = httptest.NewServer(mux)
	t.Cleanup(fx.upstream.Close)
	_, fx.port, _ = net.SplitHostPort(fx.upstream.Listener.Addr().String())

	origins := []string{"http://bank.test:" + fx.port, "http://metadata.test", "http://intranet.test", "http://loop.test",
		"http://v6mapped.test", "http://ula.test", "http://linklocal6.test", "http://cgnat.test", "http://127.0.0.1:" + fx.port}
	fx.p = New(cfg, Deps{
		Log: zerolog.New(zerolog.NewTestWriter(t)),
		Origins: func(_ context.Context, conv string) ([]string, error) {
			if conv != "conv1" {
				return nil, errors.New("unknown conversation")
			}
			return origins, nil
		},
		Authorize:     authorize,
		AllowLoopback: loopback,
		Resolver: resolver{
			"bank.test":       {netip.MustParseAddr("127.0.0.1")},
			"metadata.test":   {netip.MustParseAddr("169.254.169.254")},
			"intranet.test":   {netip.MustParseAddr("10.0.0.5")},
			"loop.test":       {netip.MustParseAddr("127.0.0.1")},
			"v6mapped.test":   {netip.MustParseAddr("::ffff:192.168.1.1")},
			"ula.test":        {netip.MustParseAddr("fd00::1")},
			"linklocal6.test": {netip.MustParseAddr("fe80::1")},
			"cgnat.test":      {netip.MustParseAddr("93.184.216.34"), netip.MustParseAddr("100.64.0.1")},
			"elsewhere.test":  {netip.MustParseAddr("127.0.0.1")},
		},
		Dialer: fx.dialer,
		Now:    func() time.Time { return time.Unix(fx.now.Load(), 0) },
	})
	fx.h = fx.p.Handler(mount)
	return fx
}

func (fx *fixture) get(t *testing.T, conv, target string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, fx.p.Prefix(mount, conv)+EncodeURL(target), nil)
	w := httptest.NewRecorder()
	fx.h.ServeHTTP(w, req)
	return w
}

func (fx *fixture) hitCount(path string) int32 {
	v, ok := fx.hits.Load(path)
	if !ok {
		return 0
	}
	return v.(*atomic.Int32).Load()
}

func TestProxyRefuses(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxBytes = 16 << 10
	cfg.Timeout = 300 * time.Millisecond
	fx := newFixture(t, cfg, false, nil)
	for _, tc := range []struct {
		name   string
		target string
		status int
		code   string
	}{
		{"metadata address", "http://metadata.test/latest/meta-data/", 403, "address_not_allowed"},
		{"private address", "http://intranet.test/logo.png", 403, "address_not_allowed"},
		{"loopback by name", "http://loop.test/logo.png", 403, "address_not_allowed"},
		{"loopback literal", "http://127.0.0.1:" + fx.port + "/logo.png", 403, "address_not_allowed"},
		{"IPv4-mapped private", "http://v6mapped.test/x.png", 403, "address_not_allowed"},
		{"unique local IPv6", "http://ula.test/x.png", 403, "address_not_allowed"},
		{"link-local IPv6", "http://linklocal6.test/x.png", 403, "address_not_allowed"},
		{"one bad answer of two", "http://cgnat.test/x.png", 403, "address_not_allowed"},
		{"origin not allowed", "http://evil.example/x.png", 403, "origin_not_allowed"},
		{"not http", "file:///etc/passwd", 400, "bad_url"},
		{"userinfo", "http://user:pw@bank.test/x.png", 400, "bad_url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := fx.get(t, "conv1", tc.target)
			if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.code) {
				t.Fatalf("%d %s, want %d %s", w.Code, w.Body, tc.status, tc.code)
			}
		})
	}
	if n := fx.dialer.dials.Load(); n != 0 {
		t.Fatalf("%d connections were made", n)
	}
}

func TestProxyUpstream(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxBytes = 16 << 10
	cfg.Timeout = 300 * time.Millisecond
	cfg.CacheTTL = time.Minute
	// The "bank" is a loopback test server: allowed here, and only here.
	fx := newFixture(t, cfg, true, nil)
	bank := "http://bank.test:" + fx.port
	for _, tc := range []struct {
		name   string
		path   string
		status int
		code   string
	}{
		{"image", "/logo.png", 200, ""},
		{"font labelled octet-stream", "/font.woff2", 200, ""},
		{"html", "/page.html", 415, "content_type_not_allowed"},
		{"script", "/app.js", 415, "content_type_not_allowed"},
		{"oversize", "/big.png", 502, "asset_too_large"},
		{"oversize without length", "/big-chunked.png", 502, "asset_too_large"},
		{"slow", "/slow.png", 504, "upstream_timeout"},
		{"redirect to metadata", "/to-metadata", 403, "address_not_allowed"},
		{"redirect to another origin", "/to-foreign", 403, "origin_not_allowed"},
		{"redirect within the origin", "/to-logo", 200, ""},
		{"missing", "/nothing.png", 502, "upstream_failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := fx.get(t, "conv1", bank+tc.path)
			if w.Code != tc.status || (tc.code != "" && !strings.Contains(w.Body.String(), tc.code)) {
				t.Fatalf("%d %s, want %d %s", w.Code, w.Body, tc.status, tc.code)
			}
			if w.Code == 200 {
				h := w.Header()
				if h.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(h.Get("Content-Security-Policy"), "sandbox") {
					t.Fatalf("missing security headers: %v", h)
				}
			}
		})
	}
	t.Run("cached until it expires", func(t *testing.T) {
		before := fx.hitCount("/logo.png")
		for i := 0; i < 3; i++ {
			if w := fx.get(t, "conv1", bank+"/logo.png"); w.Code != 200 || w.Body.String() != "\x89PNG fake" {
				t.Fatalf("%d %q", w.Code, w.Body)
			}
		}
		if n := fx.hitCount("/logo.png"); n != before {
			t.Fatalf("upstream asked %d more times, want 0 (cached)", n-before)
		}
		fx.now.Add(int64(2 * time.Minute / time.Second))
		if w := fx.get(t, "conv1", bank+"/logo.png"); w.Code != 200 {
			t.Fatalf("%d after expiry", w.Code)
		}
		if n := fx.hitCount("/logo.png"); n != before+1 {
			t.Fatalf("upstream asked %d more times after expiry, want 1", n-before)
		}
	})
	t.Run("stylesheet URLs point at the proxy", func(t *testing.T) {
		w := fx.get(t, "conv1", bank+"/style.css")
		if w.Code != 200 {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
		css := w.Body.String()
		prefix := fx.p.Prefix(mount, "conv1")
		for _, abs := range []string{bank + "/theme.css", bank + "/img/bg.png", bank + "/f.woff2"} {
			if !strings.Contains(css, prefix+EncodeURL(abs)) {
				t.Errorf("stylesheet lacks the proxy URL of %s:\n%s", abs, css)
			}
		}
		if strings.Contains(css, "javascript:") || strings.Contains(css, "bank.test") {
			t.Errorf("stylesheet still points elsewhere:\n%s", css)
		}
	})
}

func TestProxyTokens(t *testing.T) {
	deny := errors.New("not a viewer")
	fx := newFixture(t, DefaultConfig(), true, func(r *http.Request, conv string) error {
		if r.Header.Get("X-Test-Viewer") != conv {
			return deny
		}
		return nil
	})
	target := EncodeURL("http://bank.test:" + fx.port + "/logo.png")
	good := fx.p.Prefix(mount, "conv1")
	tok := strings.TrimSuffix(strings.TrimPrefix(good, mount), "/")
	for _, tc := range []struct {
		name   string
		path   string
		viewer string
		status int
	}{
		{"valid", good + target, "conv1", 200},
		{"auth hook refuses", good + target, "", 403},
		{"tampered signature", mount + tok[:len(tok)-2] + "AA/" + target, "conv1", 403},
		{"other conversation's token", fx.p.Prefix(mount, "conv2") + target, "conv2", 403},
		{"no token", mount + target, "conv1", 404},
		{"garbage url", good + "!!!", "conv1", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, tc.path, nil)
			req.Header.Set("X-Test-Viewer", tc.viewer)
			w := httptest.NewRecorder()
			fx.h.ServeHTTP(w, req)
			if w.Code != tc.status {
				t.Fatalf("%d %s, want %d", w.Code, w.Body, tc.status)
			}
		})
	}
	t.Run("expired", func(t *testing.T) {
		old := good
		fx.now.Add(int64(DefaultConfig().TokenTTL/time.Second) + 60)
		req := httptest.NewRequest(http.MethodGet, old+target, nil)
		req.Header.Set("X-Test-Viewer", "conv1")
		w := httptest.NewRecorder()
		fx.h.ServeHTTP(w, req)
		if w.Code != 403 {
			t.Fatalf("%d, want 403 for an expired token", w.Code)
		}
	})
}

func TestRewriteCSS(t *testing.T) {
	base, _ := url.Parse("https://bank.example/css/site.css")
	p := "/a/T/"
	enc := func(s string) string { return `"` + p + EncodeURL(s) + `"` }
	for _, tc := range []struct{ name, in, want string }{
		{"unquoted", `a{background:url(x.png)}`, `a{background:url(` + enc("https://bank.example/css/x.png") + `)}`},
		{"quoted with spaces", `a{background:URL( 'x y.png' )}`, `a{background:url(` + enc("https://bank.example/css/x%20y.png") + `)}`},
		{"import", `@import "t.css" screen;`, `@import ` + enc("https://bank.example/css/t.css") + ` screen;`},
		{"import url", `@import url(/t.css);`, `@import url(` + enc("https://bank.example/t.css") + `);`},
		{"data kept", `a{b:url(data:image/png;base64,AAAA)}`, `a{b:url("data:image/png;base64,AAAA")}`},
		{"javascript dropped", `a{b:url("javascript:alert(1)")}`, `a{b:url("about:invalid")}`},
		{"comment untouched", `/* url(x.png) */a{}`, `/* url(x.png) */a{}`},
		{"string not a url", `a::after{content:"url(x)"}`, `a::after{content:"url(x)"}`},
		{"escaped", `a{b:url(x\).png)}`, `a{b:url(` + enc("https://bank.example/css/x).png") + `)}`},
		{"other origin", `a{b:url(//cdn.example/y.png)}`, `a{b:url(` + enc("https://cdn.example/y.png") + `)}`},
		{"not a url function", `a{b:myurl(x)}`, `a{b:myurl(x)}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(RewriteCSS([]byte(tc.in), base, p)); got != tc.want {
				t.Fatalf("\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func FuzzRewriteCSS(f *testing.F) {
	for _, s := range []string{`a{background:url(x.png)}`, `@import "t.css";`, `url(`, `"unterminated`, `/* open`, `url("a\`} {
		f.Add(s)
	}
	base, _ := url.Parse("https://bank.example/s.css")
	f.Fuzz(func(t *testing.T, css string) {
		out := string(RewriteCSS([]byte(css), base, "/p/"))
		if strings.Contains(strings.ToLower(out), "url(javascript:") {
			t.Fatalf("javascript URL survived: %q", out)
		}
	})
}

func TestAllowedAddress(t *testing.T) {
	for _, tc := range []struct {
		addr     string
		loopback bool
		want     bool
	}{
		{"93.184.216.34", false, true},
		{"2606:2800:220:1:248:1893:25c8:1946", false, true},
		{"127.0.0.1", false, false},
		{"127.0.0.1", true, true},
		{"::1", false, false},
		{"10.1.2.3", false, false},
		{"172.16.0.1", false, false},
		{"192.168.0.1", false, false},
		{"169.254.169.254", false, false},
		{"100.64.0.1", false, false},
		{"0.0.0.0", false, false},
		{"224.0.0.1", false, false},
		{"255.255.255.255", false, false},
		{"fd00::1", false, false},
		{"fe80::1", false, false},
		{"::ffff:10.0.0.1", false, false},
		{"64:ff9b::a00:1", false, false},
		{"2002:a00:1::1", false, false},
	} {
		if got := AllowedAddress(netip.MustParseAddr(tc.addr), tc.loopback); got != tc.want {
			t.Errorf("AllowedAddress(%s, loopback=%v) = %v", tc.addr, tc.loopback, got)
		}
	}
}
