package assetproxy

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/lotse-io/lotse/internal/web"
)

// securityHeaders go on every proxied response: the bytes come from the
// bank's site, so they may be nothing but what their type says, and run
// nothing even when opened directly.
func securityHeaders(h http.Header) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; sandbox")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Referrer-Policy", "no-referrer")
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request, mount string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		web.WriteError(w, r, web.ErrMethodNotAllowed)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, mount)
	tok, enc, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 {
		p.refuse(w, r, "path", web.Errorf(http.StatusNotFound, "not_found", "not found"))
		return
	}
	conv, err := p.parseToken(tok)
	if err != nil {
		p.refuse(w, r, "token", &web.HTTPError{Status: http.StatusForbidden, Code: "forbidden", Msg: "forbidden", Err: err})
		return
	}
	if p.deps.Authorize != nil {
		if err := p.deps.Authorize(r, conv); err != nil {
			p.refuse(w, r, "auth", &web.HTTPError{Status: http.StatusForbidden, Code: "forbidden", Msg: "forbidden", Err: err})
			return
		}
	}
	raw, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		p.refuse(w, r, "url", &web.HTTPError{Status: http.StatusBadRequest, Code: "bad_url", Msg: "the asset URL is malformed", Err: err})
		return
	}
	u, err := checkURL(string(raw))
	if err != nil {
		p.refuse(w, r, "url", &web.HTTPError{Status: http.StatusBadRequest, Code: "bad_url", Msg: "the asset URL is malformed", Err: err})
		return
	}
	allowed, err := p.allowedOrigins(r.Context(), conv)
	if err == nil && !allowed[origin(u)] {
		err = fmt.Errorf("%w: %s", ErrOrigin, origin(u))
	}
	if err != nil {
		p.refuse(w, r, "origin", &web.HTTPError{Status: http.StatusForbidden, Code: "origin_not_allowed", Msg: "assets from this origin are not allowed", Err: err})
		return
	}
	e, cached, err := p.get(r.Context(), u.String(), allowed)
	if err != nil {
		reason, he := mapError(err)
		p.refuse(w, r, reason, he)
		return
	}
	body := e.body
	if e.ctype == "text/css" {
		body = RewriteCSS(body, u, mount+p.token(conv, p.deps.Now().Add(p.cfg.TokenTTL))+"/")
	}
	if cached {
		p.m.served.WithLabelValues("cache").Inc()
	} else {
		p.m.served.WithLabelValues("fetch").Inc()
	}
	h := w.Header()
	securityHeaders(h)
	ct := e.ctype
	if strings.HasPrefix(ct, "text/") {
		ct += "; charset=utf-8"
	}
	h.Set("Content-Type", ct)
	h.Set("Cache-Control", "private, max-age=300")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(body)
	}
}

func mapError(err error) (string, *web.HTTPError) {
	switch {
	case errors.Is(err, ErrAddress):
		return "address", &web.HTTPError{Status: http.StatusForbidden, Code: "address_not_allowed", Msg: "the asset's host is not reachable through the proxy", Err: err}
	case errors.Is(err, ErrOrigin):
		return "origin", &web.HTTPError{Status: http.StatusForbidden, Code: "origin_not_allowed", Msg: "assets from this origin are not allowed", Err: err}
	case errors.Is(err, ErrContentType):
		return "content_type", &web.HTTPError{Status: http.StatusUnsupportedMediaType, Code: "content_type_not_allowed", Msg: "this kind of asset is not served", Err: err}
	case errors.Is(err, ErrTooLarge):
		return "size", &web.HTTPError{Status: http.StatusBadGateway, Code: "asset_too_large", Msg: "the asset is too large", Err: err}
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout", &web.HTTPError{Status: http.StatusGatewayTimeout, Code: "upstream_timeout", Msg: "the asset's site took too long", Err: err}
	}
	return "upstream", &web.HTTPError{Status: http.StatusBadGateway, Code: "upstream_failed", Msg: "the asset could not be fetched", Err: err}
}

func (p *Proxy) refuse(w http.ResponseWriter, r *http.Request, reason string, he *web.HTTPError) {
	p.m.refused.WithLabelValues(reason).Inc()
	securityHeaders(w.Header())
	web.WriteError(w, r, he)
}

// get returns the asset from the cache or fetches it (once, however many
// ask at the same time).
func (p *Proxy) get(ctx context.Context, u string, allowed map[string]bool) (*entry, bool, error) {
	if e := p.cache.get(u); e != nil {
		return e, true, nil
	}
	ch := p.group.DoChan(u, func() (any, error) {
		// The fetch outlives any one requester; its own timeout bounds it.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.cfg.Timeout)
		defer cancel()
		return p.fetch(context.WithValue(fctx, allowedKey{}, allowed), u)
	})
	select {
	case <-ctx.Done():
		return nil, false, ctx.Err()
	case res := <-ch:
		if res.Err != nil {
			return nil, false, res.Err
		}
		return res.Val.(*entry), false, nil
	}
}

func (p *Proxy) fetch(ctx context.Context, u string) (*entry, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadURL, err)
	}
	req.Header.Set("User-Agent", "Lotse-AssetProxy/1")
	req.Header.Set("Accept", "text/css,image/*,font/*,*/*;q=0.1")
	resp, err := p.client.Do(req)
	if err != nil {
		// Unwrap url.Error so the sentinels from dial and CheckRedirect
		// survive.
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: status %d", ErrUpstream, resp.StatusCode)
	}
	ctype, err := p.contentType(resp.Header.Get("Content-Type"), resp.Request.URL.Path)
	if err != nil {
		return nil, err
	}
	if resp.ContentLength > int64(p.cfg.MaxBytes) {
		return nil, fmt.Errorf("%w: %d bytes announced", ErrTooLarge, resp.ContentLength)
	}
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(resp.Body, int64(p.cfg.MaxBytes)+1))
	if err != nil {
		return nil, fmt.Errorf("%w: body: %w", ErrUpstream, err)
	}
	if n > int64(p.cfg.MaxBytes) {
		return nil, fmt.Errorf("%w: over %d bytes", ErrTooLarge, p.cfg.MaxBytes)
	}
	p.m.upstreamBytes.Add(float64(n))
	e := &entry{key: u, ctype: ctype, body: buf.Bytes()}
	if !strings.Contains(strings.ToLower(resp.Header.Get("Cache-Control")), "no-store") {
		p.cache.put(e)
	}
	return e, nil
}

// fontExt maps font file extensions to their media types, for servers
// that label fonts application/octet-stream.
var fontExt = map[string]string{".woff": "font/woff", ".woff2": "font/woff2", ".ttf": "font/ttf", ".otf": "font/otf"}

func (p *Proxy) contentType(header, urlPath string) (string, error) {
	mt, _, err := mime.ParseMediaType(header)
	if err != nil {
		return "", fmt.Errorf("%w: %q", ErrContentType, header)
	}
	if mt == "application/octet-stream" {
		if f, ok := fontExt[strings.ToLower(path.Ext(urlPath))]; ok {
			mt = f
		}
	}
	if !p.types[mt] {
		return "", fmt.Errorf("%w: %s", ErrContentType, mt)
	}
	return mt, nil
}
