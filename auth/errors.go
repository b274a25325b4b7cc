package auth

import "errors"

var (
	// ErrInvalidCredentials is the one answer to every failed login —
	// unknown tenant or e-mail, wrong password, wrong code, locked or
	// disabled account — so that answers reveal nothing.
	ErrInvalidCredentials = errors.New("auth: invalid credentials")
	// ErrMFARequired means the password was right and a TOTP or recovery
	// code must come with it.
	ErrMFARequired = errors.New("auth: second factor required")
	// ErrThrottled means the client made too many failed attempts.
	ErrThrottled = errors.New("auth: too many attempts")
	// ErrUnauthenticated means the request carries no valid session or key.
	ErrUnauthenticated = errors.New("auth: not authenticated")
	// ErrForbidden means the principal may not do this.
	ErrForbidden = errors.New("auth: forbidden")
	// ErrCSRF means a cookie-authenticated write lacked a valid CSRF token
	// or came from another site.
	ErrCSRF = errors.New("auth: cross-site request refused")
	// ErrStage means the session must first finish MFA enrolment or a
	// password change.
	ErrStage = errors.New("auth: finish sign-in first")
	// ErrBadCode means a TOTP code during enrolment was wrong.
	ErrBadCode = errors.New("auth: wrong code")
	// ErrWrongPassword means the current password given to change it was wrong.
	ErrWrongPassword = errors.New("auth: current password is wrong")
)
