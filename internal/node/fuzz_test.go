package node

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/lotse-io/lotse/auth"
)

// FuzzLoginJSON posts arbitrary bodies to the login endpoint: the answer is
// always a 2xx or a 4xx with an error code, never a 5xx or a panic.
func FuzzLoginJSON(f *testing.F) {
	for _, s := range []string{
		`{"tenant":"demo","email":"admin@demo.local","password":"x"}`, `{"tenant":1}`, `{`, `[]`, `null`,
		`{"tenant":"demo","email":"a@b.c","password":"` + string(bytes.Repeat([]byte("a"), 5000)) + `"}`,
		`{"tenant":"demo","email":"admin@demo.local","password":"x","totp":"123456","extra":1}`,
	} {
		f.Add([]byte(s))
	}
	e := newEnv(f, fastHasher, nil)
	h := e.n.Handler()
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", "/api/v1/auth/login", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", "http://example.com")
		req.Host = "example.com"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		checkAnswer(t, rec, body)
	})
}

// FuzzAdminJSON posts arbitrary bodies to every JSON admin endpoint with a
// valid admin session.
func FuzzAdminJSON(f *testing.F) {
	targets := []struct{ method, path string }{
		{"POST", "/api/v1/admin/users"}, {"PUT", "/api/v1/admin/settings"}, {"POST", "/api/v1/admin/api-keys"},
		{"POST", "/api/v1/me/password"}, {"POST", "/api/v1/me/mfa/totp/confirm"},
	}
	for i, s := range []string{
		`{"email":"x@demo.local","role":"advisor"}`, `{"password":{"min_length":-1}}`, `{"name":"k","permissions":["x"]}`,
		`{"current":"a","new":"b"}`, `{"code":"000000"}`, `{"allowed_origins":["javascript:alert(1)"]}`, `{"role":"root"}`,
	} {
		f.Add(uint8(i), []byte(s))
	}
	e := newEnv(f, fastHasher, nil)
	admin := e.mustLogin("demo", "admin@demo.local", adminPassword)
	h := e.n.Handler()
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		tg := targets[int(which)%len(targets)]
		req := httptest.NewRequest(tg.method, tg.path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", "http://example.com")
		req.Host = "example.com"
		req.AddCookie(&http.Cookie{Name: auth.CookieName, Value: admin.cookie})
		req.Header.Set(auth.CSRFHeader, admin.csrf)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		checkAnswer(t, rec, body)
	})
}

func checkAnswer(t *testing.T, rec *httptest.ResponseRecorder, body []byte) {
	t.Helper()
	if rec.Code >= 500 {
		t.Fatalf("body %q: status %d %s", body, rec.Code, rec.Body)
	}
	if rec.Code >= 400 && !bytes.Contains(rec.Body.Bytes(), []byte(`"code":"`)) {
		t.Fatalf("body %q: %d without an error code: %s", body, rec.Code, rec.Body)
	}
}
