package node

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/lotse-io/lotse/auth"
	"github.com/lotse-io/lotse/internal/config"
	"github.com/lotse-io/lotse/store"
)

// fastHasher keeps tests quick; the PHC format and flow are the same.
var fastHasher = auth.NewHasher(auth.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 4)

const adminPassword = "Admin-Password-2026"

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// env is a node behind an httptest server with a movable clock.
type env struct {
	t     testing.TB
	n     *Node
	srv   *httptest.Server
	clock *clock
}

func newEnv(t testing.TB, hasher *auth.Hasher, mutate func(*config.Config)) *env {
	t.Helper()
	cfg := testConfig(t)
	l, lerr := net.Listen("tcp", "127.0.0.1:0")
	if lerr != nil {
		t.Fatal(lerr)
	}
	cfg.PublicURL = "http://" + l.Addr().String()
	cfg.Bootstrap.AdminPassword = adminPassword
	cfg.Auth.FailureFloor = 5 * time.Millisecond
	cfg.Auth.MaxDelay = 10 * time.Millisecond
	if mutate != nil {
		mutate(&cfg)
	}
	c := &clock{t: time.Now()}
	n, err := New(context.Background(), cfg, Deps{Log: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel), Now: c.now, Hasher: hasher})
	if err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: n.Handler()}}
	srv.Start()
	bg, stop := context.WithCancel(context.Background())
	n.signal.Start(bg)
	t.Cleanup(func() { srv.Close(); stop(); n.signal.Wait(); n.Close() })
	return &env{t: t, n: n, srv: srv, clock: c}
}

func (e *env) tenant(slug string) store.Tenant {
	e.t.Helper()
	ten, err := e.n.db.TenantBySlug(context.Background(), slug)
	if err == nil {
		return ten
	}
	ten, err = e.n.db.CreateTenant(context.Background(), store.Tenant{Slug: slug, Name: strings.ToUpper(slug)})
	if err != nil {
		e.t.Fatal(err)
	}
	return ten
}

func (e *env) addUser(tenantSlug, email string, role store.Role, password string) store.User {
	e.t.Helper()
	ten := e.tenant(tenantSlug)
	hash, err := e.n.hasher.Hash(context.Background(), password)
	if err != nil {
		e.t.Fatal(err)
	}
	u, err := e.n.db.CreateUser(context.Background(), store.User{TenantID: ten.ID, Email: email, Role: role, PasswordHash: hash, DisplayName: email})
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// client is one browser (or backend): it keeps the session cookie and the
// CSRF token, and sends our Origin unless told otherwise.
type client struct {
	e      *env
	cookie string
	csrf   string
	bearer string
	origin string
}

func (e *env) anon() *client { return &client{e: e, origin: e.srv.URL} }

type resp struct {
	status int
	body   []byte
	header http.Header
}

func (r resp) code() string {
	var b struct{ Error struct{ Code string } }
	_ = json.Unmarshal(r.body, &b)
	return b.Error.Code
}

func (r resp) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (c *client) do(method, path string, body any, headers ...string) resp {
	c.e.t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case string: // a raw form body
		rd, ct = strings.NewReader(b), "application/x-www-form-urlencoded"
	case []byte:
		rd, ct = bytes.NewReader(b), "application/json"
	default:
		j, _ := json.Marshal(b)
		rd, ct = bytes.NewReader(j), "application/json"
	}
	req, err := http.NewRequest(method, c.e.srv.URL+path, rd)
	if err != nil {
		c.e.t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if c.origin != "" {
		req.Header.Set("Origin", c.origin)
	}
	if c.cookie != "" {
		req.AddCookie(&http.Cookie{Name: auth.CookieName, Value: c.cookie})
	}
	if c.csrf != "" && method != "GET" {
		req.Header.Set(auth.CSRFHeader, c.csrf)
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noRedirect.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	for _, ck := range res.Cookies() {
		if ck.Name == auth.CookieName {
			c.cookie = ck.Value
		}
	}
	return resp{status: res.StatusCode, body: b, header: res.Header}
}

// login signs in through the JSON API and keeps the session.
func (e *env) login(tenant, email, password, code string) (*client, resp) {
	e.t.Helper()
	c := e.anon()
	r := c.do("POST", "/api/v1/auth/login", map[string]string{"tenant": tenant, "email": email, "password": password, "totp": code})
	if r.status == 200 {
		var v struct {
			CSRFToken string `json:"csrf_token"`
		}
		r.json(e.t, &v)
		c.csrf = v.CSRFToken
	}
	return c, r
}

func (e *env) mustLogin(tenant, email, password string) *client {
	e.t.Helper()
	c, r := e.login(tenant, email, password, "")
	if r.status != 200 {
		e.t.Fatalf("login %s/%s: %d %s", tenant, email, r.status, r.body)
	}
	return c
}

func (e *env) auditActions(tenantSlug string) []string {
	e.t.Helper()
	ev, err := e.n.db.AuditEvents(context.Background(), e.tenant(tenantSlug).ID, 0, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, x := range ev {
		out = append(out, x.Action+"("+x.Target+")")
	}
	return out
}

func contains(list []string, prefix string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

func legacySHA256(saltHex, password string) string {
	salt, _ := hex.DecodeString(saltHex)
	sum := sha256.Sum256(append(salt, password...))
	return hex.EncodeToString(sum[:])
}
