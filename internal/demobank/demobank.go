// Package demobank serves "Musterbank", a small fictional bank website for
// trying Lotse on one machine (`lotse serve --dev`). It runs on a port of its
// own, so it is a different origin from Lotse, like a real bank's site; it
// embeds the customer SDK with the one-line script tag and has forms with
// fields Lotse masks (password, IBAN, card number). It is never served
// outside dev mode.
package demobank

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed site
var site embed.FS

// Handler serves the demo bank. lotseURL is Lotse's origin (where the SDK
// comes from) and siteKey the demo tenant's public SDK key.
func Handler(lotseURL, siteKey string) (http.Handler, error) {
	sub, err := fs.Sub(site, "site")
	if err != nil {
		return nil, err
	}
	pages := map[string][]byte{}
	data := struct{ Lotse, SiteKey string }{lotseURL, siteKey}
	for _, name := range []string{"index.html", "ueberweisung.html", "depot.html"} {
		t, err := template.ParseFS(sub, "layout.html", name)
		if err != nil {
			return nil, err
		}
		var b bytes.Buffer
		if err := t.ExecuteTemplate(&b, "layout", data); err != nil {
			return nil, err
		}
		pages["/"+strings.TrimSuffix(name, ".html")] = b.Bytes()
	}
	pages["/"] = pages["/index"]
	wsOrigin := "ws" + strings.TrimPrefix(lotseURL, "http")
	// The bank's own policy: scripts and connections only to itself and to
	// Lotse — what a bank embedding Lotse would set.
	csp := "default-src 'self'; script-src 'self' " + lotseURL + "; connect-src 'self' " + lotseURL + " " + wsOrigin +
		"; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if body, ok := pages[r.URL.Path]; ok {
			h.Set("Content-Type", "text/html; charset=utf-8")
			h.Set("Content-Security-Policy", csp)
			h.Set("Cache-Control", "no-store")
			_, _ = w.Write(body)
			return
		}
		switch path.Ext(r.URL.Path) {
		case ".css", ".js", ".svg":
			files.ServeHTTP(w, r)
		default:
			http.NotFound(w, r)
		}
	}), nil
}
