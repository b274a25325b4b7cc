package auth

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// CookieName is the staff session cookie. The __Host- prefix makes the
// browser insist on Secure, Path=/ and no Domain, so no subdomain can set
// or read it.
const CookieName = "__Host-lotse_session"

// CSRFHeader carries the session's CSRF token on JSON writes; HTML forms
// send it as the csrf_token field.
const CSRFHeader = "X-CSRF-Token"

// SetSessionCookie sets the session cookie. It is Secure always: browsers
// treat http://localhost and loopback addresses as secure contexts, so
// plain HTTP works for development on loopback and nowhere else.
func SetSessionCookie(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: token, Path: "/", HttpOnly: true, Secure: true,
		SameSite: http.SameSiteLaxMode})
}

// ClearSessionCookie removes the session cookie.
func ClearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", HttpOnly: true, Secure: true,
		SameSite: http.SameSiteLaxMode, MaxAge: -1, Expires: time.Unix(0, 0)})
}

// FromRequest authenticates r by its bearer API key or its session cookie.
// It returns (nil, nil) when the request carries neither.
func (s *Service) FromRequest(ctx context.Context, r *http.Request, ip string) (*Principal, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		key, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return nil, ErrUnauthenticated
		}
		return s.AuthenticateAPIKey(ctx, strings.TrimSpace(key), ip)
	}
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" {
		return nil, nil
	}
	return s.Authenticate(ctx, c.Value, ip)
}

// SameOrigin reports whether r comes from a page of our own origin:
// Sec-Fetch-Site says same-origin, or Origin equals publicOrigin or the
// origin of the request's own Host. A request with neither header (not a
// browser's cross-site request, but not provably ours either) is refused.
func SameOrigin(r *http.Request, publicOrigin string) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin"
	}
	origin := r.Header.Get("Origin")
	if origin == "" || origin == "null" {
		return false
	}
	if strings.EqualFold(origin, publicOrigin) {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host)
}

// CheckCSRF guards a cookie-authenticated state-changing request: it must
// come from our own origin and carry p's CSRF token in the header (JSON) or
// the csrf_token form field (HTML forms). API-key requests need neither.
func CheckCSRF(r *http.Request, p *Principal, publicOrigin string) error {
	if p == nil || p.Kind != KindStaff {
		return nil
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	if !SameOrigin(r, publicOrigin) {
		return ErrCSRF
	}
	token := r.Header.Get(CSRFHeader)
	if token == "" && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		token = r.PostFormValue("csrf_token")
	}
	if !p.CheckCSRF(token) {
		return ErrCSRF
	}
	return nil
}
