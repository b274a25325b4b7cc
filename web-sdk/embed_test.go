package websdk

import (
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func TestNotBuiltAnswers503WithTheCommand(t *testing.T) {
	a := load(fstest.MapFS{".gitkeep": {}})
	if a.Built() {
		t.Fatal("empty build reported as built")
	}
	rec := httptest.NewRecorder()
	a.Handler("/sdk/v1/").ServeHTTP(rec, httptest.NewRequest("GET", "/sdk/v1/lotse.js", nil))
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), BuildCommand) || !strings.Contains(rec.Body.String(), `"code":"sdk_not_built"`) {
		t.Fatalf("got %d %s", rec.Code, rec.Body)
	}
}

func TestServesBuiltFiles(t *testing.T) {
	a := load(fstest.MapFS{"lotse.js": {Data: []byte("window.x=1")}})
	h := a.Handler("/sdk/v1/")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/sdk/v1/lotse.js", nil))
	if rec.Code != 200 || rec.Body.String() != "window.x=1" || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/javascript") {
		t.Fatalf("got %d %q %q", rec.Code, rec.Body, rec.Header().Get("Content-Type"))
	}
	etag := rec.Header().Get("ETag")
	req := httptest.NewRequest("GET", "/sdk/v1/lotse.js", nil)
	req.Header.Set("If-None-Match", etag)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 304 {
		t.Fatalf("conditional GET = %d, want 304", rec.Code)
	}
	for _, p := range []string{"/sdk/v1/missing.js", "/sdk/v1/../embed.go", "/sdk/v1/"} {
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", p, nil))
		if rec.Code != 404 {
			t.Errorf("%s = %d, want 404", p, rec.Code)
		}
	}
}

func TestTestBundlesAreNotServed(t *testing.T) {
	a := load(fstest.MapFS{"lotse.js": {Data: []byte("x")}, "test/cobrowse-customer.js": {Data: []byte("y")}})
	if a.Has("test/cobrowse-customer.js") || !a.Has("lotse.js") {
		t.Fatal("test bundles must not be embedded")
	}
}
