package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

type loginReq struct {
	Tenant string `json:"tenant"`
	Email  string `json:"email"`
	Age    int    `json:"age"`
}

func decodeStatus(t *testing.T, ct, body string, limit int64) (int, string) {
	t.Helper()
	var got loginReq
	h := Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := DecodeJSON(r, &got); err != nil {
			WriteError(w, r, err)
			return
		}
		WriteJSON(w, 200, got)
	}), Options{Log: zerolog.Nop(), MaxBodyBytes: limit})
	req := httptest.NewRequest("POST", "/x", strings.NewReader(body))
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var eb ErrorBody
	_ = json.Unmarshal(rec.Body.Bytes(), &eb)
	return rec.Code, eb.Error.Code
}

func TestDecodeJSON(t *testing.T) {
	tests := []struct {
		name, ct, body string
		status         int
		code           string
	}{
		{"ok", "application/json", `{"tenant":"a","email":"b"}`, 200, ""},
		{"ok with charset", "application/json; charset=utf-8", `{"tenant":"a"}`, 200, ""},
		{"form content type", "application/x-www-form-urlencoded", `tenant=a`, 415, "unsupported_media_type"},
		{"text/plain (CSRF-able)", "text/plain", `{"tenant":"a"}`, 415, "unsupported_media_type"},
		{"no content type", "", `{"tenant":"a"}`, 415, "unsupported_media_type"},
		{"empty", "application/json", ``, 400, "bad_json"},
		{"syntax", "application/json", `{"tenant":`, 400, "bad_json"},
		{"not an object", "application/json", `[1,2]`, 400, "bad_json"},
		{"wrong type", "application/json", `{"age":"old"}`, 400, "bad_field"},
		{"unknown field", "application/json", `{"tenant":"a","admin":true}`, 400, "unknown_field"},
		{"two objects", "application/json", `{"tenant":"a"}{"tenant":"b"}`, 400, "bad_json"},
		{"too large", "application/json", `{"tenant":"` + strings.Repeat("a", 5000) + `"}`, 413, "body_too_large"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, code := decodeStatus(t, tc.ct, tc.body, 1024)
			if status != tc.status || code != tc.code {
				t.Errorf("status %d code %q, want %d %q", status, code, tc.status, tc.code)
			}
		})
	}
}

func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"tenant":"a"}`, `{`, `[]`, `{"age":1e999}`, `{"tenant":"\u0000"}`, `null`, `{"a":1}{`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		status, code := decodeStatus(t, "application/json", body, 4096)
		if status != 200 && (status < 400 || status > 499 || code == "") {
			t.Fatalf("body %q: status %d code %q; want 200 or a coded 4xx", body, status, code)
		}
	})
}

func TestWriteErrorHidesInternalDetail(t *testing.T) {
	var logBuf bytes.Buffer
	h := Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, r, errors.New("db password=hunter2 refused"))
	}), Options{Log: zerolog.New(&logBuf)})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "hunter2") {
		t.Fatalf("client got %d %s", rec.Code, rec.Body)
	}
	if !strings.Contains(rec.Body.String(), `"code":"internal"`) {
		t.Fatalf("body %s", rec.Body)
	}
	if !strings.Contains(logBuf.String(), "refused") {
		t.Fatalf("detail missing from the log: %s", logBuf.String())
	}
}

func TestRecoverAndHeaders(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if RequestID(r.Context()) == "" {
			t.Error("no request id in context")
		}
		panic("boom")
	}), Options{Log: zerolog.Nop(), Metrics: NewMetrics(reg)})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), `"internal"`) {
		t.Fatalf("panic gave %d %s", rec.Code, rec.Body)
	}
	for _, hd := range []string{"X-Request-Id", "X-Content-Type-Options", "Content-Security-Policy", "Referrer-Policy"} {
		if rec.Header().Get(hd) == "" {
			t.Errorf("header %s missing", hd)
		}
	}
	mfs, _ := reg.Gather()
	found := false
	for _, mf := range mfs {
		if mf.GetName() == "lotse_http_requests_total" {
			found = true
		}
	}
	if !found {
		t.Error("request not counted")
	}
}

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	tests := []struct {
		remote, xff, want string
	}{
		{"192.0.2.1:5000", "", "192.0.2.1"},
		{"192.0.2.1:5000", "203.0.113.9", "192.0.2.1"},              // untrusted peer: header ignored
		{"10.0.0.2:5000", "203.0.113.9", "203.0.113.9"},             // trusted proxy
		{"10.0.0.2:5000", "198.51.100.7, 10.0.0.5", "198.51.100.7"}, // chain of proxies
		{"10.0.0.2:5000", "spoofed, 203.0.113.9", "203.0.113.9"},    // rightmost untrusted wins
		{"[::ffff:192.0.2.1]:5000", "", "192.0.2.1"},
	}
	for _, tc := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.remote
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got, _ := clientIP(r, trusted); got.String() != tc.want {
			t.Errorf("clientIP(%s, %q) = %s, want %s", tc.remote, tc.xff, got, tc.want)
		}
	}
}
