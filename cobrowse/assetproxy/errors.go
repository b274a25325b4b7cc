package assetproxy

import "errors"

// Reasons a request is refused. The handler maps them to HTTP statuses.
var (
	// ErrToken means the URL's token is malformed, forged or expired.
	ErrToken = errors.New("assetproxy: bad token")
	// ErrBadURL means the asset URL is not a plain http(s) URL.
	ErrBadURL = errors.New("assetproxy: bad asset URL")
	// ErrOrigin means the asset (or a redirect) lies outside the
	// conversation's allowed origins.
	ErrOrigin = errors.New("assetproxy: origin not allowed")
	// ErrAddress means the host resolves to an address the proxy never
	// contacts (private, loopback, link-local, ...).
	ErrAddress = errors.New("assetproxy: address not allowed")
	// ErrContentType means the upstream's content type is not allowed.
	ErrContentType = errors.New("assetproxy: content type not allowed")
	// ErrTooLarge means the upstream body is over the size limit.
	ErrTooLarge = errors.New("assetproxy: asset too large")
	// ErrUpstream means the upstream failed (status, timeout, too many
	// redirects, connection).
	ErrUpstream = errors.New("assetproxy: upstream failed")
)
