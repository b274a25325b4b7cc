// Package websdk embeds the built browser code — the customer SDK
// (lotse.js), the advisor console and their styles — and serves it.
//
// The TypeScript sources live beside this file; `make sdk` (esbuild) writes
// the bundles into dist/, which `go build` embeds. A binary built before the
// SDK answers every SDK path with 503 and the command to run, instead of
// failing to compile.
package websdk

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed all:dist
var dist embed.FS

// BuildCommand is what to run when the SDK is missing from the binary.
const BuildCommand = "make sdk"

type file struct {
	body  []byte
	etag  string
	ctype string
}

// Assets holds the built files in memory with their ETags.
type Assets struct {
	files map[string]file
	built time.Time
}

// Load reads the embedded build. It never fails: a missing build yields an
// Assets whose Built reports false.
func Load() *Assets {
	sub, _ := fs.Sub(dist, "dist")
	return load(sub)
}

func load(fsys fs.FS) *Assets {
	a := &Assets{files: map[string]file{}, built: time.Now()}
	_ = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || strings.HasPrefix(path.Base(p), ".") {
			return nil
		}
		if d.IsDir() {
			if p == "test" {
				return fs.SkipDir // test harness bundles are read from disk by tests, never served
			}
			return nil
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil
		}
		sum := sha256.Sum256(b)
		ct := mime.TypeByExtension(path.Ext(p))
		switch path.Ext(p) {
		case ".js", ".mjs":
			ct = "text/javascript; charset=utf-8"
		case ".map":
			ct = "application/json; charset=utf-8"
		case ".css":
			ct = "text/css; charset=utf-8"
		case ".html":
			ct = "text/html; charset=utf-8"
		}
		if ct == "" {
			ct = "application/octet-stream"
		}
		a.files[p] = file{body: b, etag: `"` + hex.EncodeToString(sum[:12]) + `"`, ctype: ct}
		return nil
	})
	return a
}

// Built reports whether the SDK was built before the binary.
func (a *Assets) Built() bool {
	_, ok := a.files["lotse.js"]
	return ok
}

// Has reports whether the build contains name (e.g. "lotse.js").
func (a *Assets) Has(name string) bool {
	_, ok := a.files[name]
	return ok
}

// notBuilt is the 503 body; it has the shape of every Lotse error.
var notBuilt = []byte(`{"error":{"code":"sdk_not_built","message":"the web SDK is not built into this binary: run ` +
	"`" + BuildCommand + "`" + ` (or: cd web-sdk && npm ci --ignore-scripts && npm run build), then rebuild lotse"}}` + "\n")

// ServeFile writes the built file name, answering conditional requests
// with 304. cacheControl is sent as is. Unknown names get 404, and any name
// 503 when the SDK was not built at all.
func (a *Assets) ServeFile(w http.ResponseWriter, r *http.Request, name, cacheControl string) {
	if !a.Built() {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Retry-After", "60")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write(notBuilt)
		return
	}
	f, ok := a.files[name]
	if !ok {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":{"code":"not_found","message":"not found"}}` + "\n"))
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("ETag", f.etag)
	h.Set("Cache-Control", cacheControl)
	http.ServeContent(w, r, "", a.built, bytes.NewReader(f.body))
}

// Handler serves the SDK files under prefix (e.g. "/sdk/v1/"). Scripts may
// be loaded by any site that embeds Lotse, so they carry permissive CORS and
// CORP headers; they hold no secrets.
func (a *Assets) Handler(prefix string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, prefix)
		if name == "" || strings.Contains(name, "..") {
			a.ServeFile(w, r, "\x00", "")
			return
		}
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Cross-Origin-Resource-Policy", "cross-origin")
		a.ServeFile(w, r, name, "public, max-age=300")
	})
}
