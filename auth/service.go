package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/lotse-io/lotse/store"
)

// Config is the auth section of the configuration.
type Config struct {
	// LockThreshold failed logins in a row lock an account for LockDuration.
	LockThreshold int           `yaml:"lock_threshold"`
	LockDuration  time.Duration `yaml:"lock_duration"`
	// FailureWindow is how long failures count toward delays.
	FailureWindow time.Duration `yaml:"failure_window"`
	// IPFailureLimit failures from one address within FailureWindow make
	// further attempts from it answer 429 until the window passes.
	IPFailureLimit int `yaml:"ip_failure_limit"`
	// MaxDelay caps the growing delay before a login answer.
	MaxDelay time.Duration `yaml:"max_delay"`
	// HashConcurrency bounds concurrent argon2id computations (each uses
	// 19 MiB); 0 means the number of CPUs.
	HashConcurrency int `yaml:"hash_concurrency"`
	// FailureFloor is the least time every failed login takes, so that the
	// database work that differs between unknown, wrong and locked
	// accounts cannot be told apart by timing.
	FailureFloor time.Duration `yaml:"failure_floor"`
	// Issuer names Lotse in authenticator apps.
	Issuer string `yaml:"totp_issuer"`
}

// DefaultConfig returns the auth defaults.
func DefaultConfig() Config {
	return Config{LockThreshold: 10, LockDuration: 15 * time.Minute, FailureWindow: 15 * time.Minute,
		IPFailureLimit: 100, MaxDelay: 3 * time.Second, FailureFloor: 250 * time.Millisecond, Issuer: "Lotse"}
}

// Validate checks the section.
func (c *Config) Validate() error {
	switch {
	case c.LockThreshold < 3 || c.LockThreshold > 1000:
		return fmt.Errorf("lock_threshold: must be between 3 and 1000")
	case c.LockDuration < time.Minute:
		return fmt.Errorf("lock_duration: must be at least 1m")
	case c.FailureWindow < time.Minute:
		return fmt.Errorf("failure_window: must be at least 1m")
	case c.IPFailureLimit < c.LockThreshold:
		return fmt.Errorf("ip_failure_limit: must be at least lock_threshold")
	case c.MaxDelay < 0 || c.MaxDelay > 30*time.Second:
		return fmt.Errorf("max_delay: must be between 0s and 30s")
	case c.FailureFloor < 0 || c.FailureFloor > 5*time.Second:
		return fmt.Errorf("failure_floor: must be between 0s and 5s")
	case c.HashConcurrency < 0:
		return fmt.Errorf("hash_concurrency: must be 0 or more")
	}
	return nil
}

// Store is what the auth service needs from the database.
type Store interface {
	store.Tenants
	store.TenantAdmin
	store.Users
	store.Accounts
	store.Sessions
	store.APIKeys
	store.AuditLog
}

// Deps are the service's collaborators.
type Deps struct {
	Store  Store
	Hasher *Hasher
	Log    zerolog.Logger
	// TOTPKey is the 32-byte key TOTP secrets are encrypted with.
	TOTPKey []byte
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Service authenticates staff and API clients and manages their accounts.
type Service struct {
	cfg    Config
	st     Store
	hasher *Hasher
	box    *secretBox
	log    zerolog.Logger
	clock  func() time.Time
	fails  *throttle

	settingsChanged func(tenantID string)
}

// OnSettingsChanged registers fn to run after a tenant's settings change
// (for caches of allowed origins and the like). Call before serving.
func (s *Service) OnSettingsChanged(fn func(tenantID string)) { s.settingsChanged = fn }

// New returns a Service.
func New(cfg Config, deps Deps) (*Service, error) {
	box, err := newSecretBox(deps.TOTPKey)
	if err != nil {
		return nil, fmt.Errorf("auth: TOTP key: %w", err)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Hasher == nil {
		deps.Hasher = NewHasher(DefaultArgon2Params, cfg.HashConcurrency)
	}
	return &Service{cfg: cfg, st: deps.Store, hasher: deps.Hasher, box: box,
		log: deps.Log.With().Str("component", "auth").Logger(), clock: deps.Now,
		fails: newThrottle(cfg.FailureWindow, 100_000)}, nil
}

func (s *Service) now() time.Time { return s.clock().UTC() }

// Hasher returns the password hasher.
func (s *Service) Hasher() *Hasher { return s.hasher }

// audit appends to the tenant's audit log; failures are logged, never
// returned, so that a full disk does not turn into a login oracle.
func (s *Service) audit(ctx context.Context, tenantID, actor, action, target, ip string, detail map[string]string) {
	if tenantID == "" {
		return
	}
	if _, err := s.st.AppendAudit(ctx, store.AuditEvent{TenantID: tenantID, Actor: actor, Action: action,
		Target: target, IP: ip, Detail: detail}); err != nil {
		s.log.Error().Err(err).Str("tenant", tenantID).Str("action", action).Msg("audit append failed")
	}
}

// Audit appends an event on behalf of p (for other packages' security
// events, e.g. conversation record deletion).
func (s *Service) Audit(ctx context.Context, p *Principal, action, target string, detail map[string]string) {
	s.audit(ctx, p.TenantID, p.Actor(), action, target, p.IP, detail)
}

// LoginInput is one login attempt.
type LoginInput struct {
	Tenant, Email, Password string
	Code                    string // TOTP or recovery code, when MFA is on
	IP, UserAgent           string
}

// LoginResult is a successful login.
type LoginResult struct {
	Token     string // the session cookie's value; shown to nobody else
	Principal *Principal
}

// Login checks credentials and opens a session. Every failure returns
// ErrInvalidCredentials after the same work and the same delay, whether the
// tenant or account exists, the password was wrong, or the account is
// locked or disabled; ErrThrottled when the client address made too many
// failed attempts; ErrMFARequired when the password was right but a code is
// missing.
func (s *Service) Login(ctx context.Context, in LoginInput) (*LoginResult, error) {
	start := time.Now()
	res, err := s.login(ctx, in)
	if errors.Is(err, ErrInvalidCredentials) {
		if rest := s.cfg.FailureFloor - time.Since(start); rest > 0 {
			t := time.NewTimer(rest)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
		}
	}
	return res, err
}

func (s *Service) login(ctx context.Context, in LoginInput) (*LoginResult, error) {
	now := s.now()
	email, emailErr := NormalizeEmail(in.Email)
	acctKey := "acct:" + in.Tenant + "/" + email
	ipKey := "ip:" + in.IP
	if s.fails.failures(ipKey, now) >= s.cfg.IPFailureLimit {
		return nil, ErrThrottled
	}
	delay := max(backoff(s.fails.failures(acctKey, now), 3, 250*time.Millisecond, s.cfg.MaxDelay),
		backoff(s.fails.failures(ipKey, now), 10, 100*time.Millisecond, s.cfg.MaxDelay))
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
	}

	var tenant store.Tenant
	var u store.UserRecord
	found := false
	if emailErr == nil && len(in.Password) <= 4*MaxPolicyLength {
		var err error
		tenant, err = s.st.TenantBySlug(ctx, in.Tenant)
		if err == nil {
			u, err = s.st.UserRecordByEmail(ctx, tenant.ID, email)
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		found = err == nil
	}
	if !found {
		s.hasher.DummyVerify(ctx, in.Password)
		s.fails.fail(acctKey, now)
		s.fails.fail(ipKey, now)
		if tenant.ID == "" {
			s.log.Info().Str("tenant_slug", in.Tenant).Str("ip", in.IP).Msg("login failed: unknown tenant")
		}
		s.audit(ctx, tenant.ID, "anonymous", "login.failed", "", in.IP, map[string]string{"reason": "unknown_account"})
		return nil, ErrInvalidCredentials
	}
	ok, rehash, err := s.hasher.Verify(ctx, in.Password, u.PasswordHash)
	if err != nil && !errors.Is(err, ErrBadHash) {
		return nil, err
	}
	reason := ""
	switch {
	case !ok:
		reason = "bad_password"
	case u.Disabled:
		reason = "disabled"
	case u.Security.LockedUntil.After(now):
		reason = "locked"
	}
	if reason == "" && u.Security.TOTPEnabled {
		if in.Code == "" {
			return nil, ErrMFARequired
		}
		method, good, err := s.checkSecondFactor(ctx, u, in.Code)
		if err != nil {
			return nil, err
		}
		if !good {
			reason = "bad_" + method
		}
	}
	target := "user:" + u.ID
	if reason != "" {
		s.fails.fail(acctKey, now)
		s.fails.fail(ipKey, now)
		s.audit(ctx, tenant.ID, "anonymous", "login.failed", target, in.IP, map[string]string{"reason": reason})
		if reason != "locked" && reason != "disabled" {
			_, lockedUntil, err := s.st.RecordLoginFailure(ctx, tenant.ID, u.ID, s.cfg.LockThreshold, s.cfg.LockDuration, now)
			if err != nil {
				return nil, err
			}
			if lockedUntil.After(now) && !u.Security.LockedUntil.After(now) {
				s.audit(ctx, tenant.ID, "system", "account.locked", target, in.IP,
					map[string]string{"until": lockedUntil.Format(time.RFC3339)})
			}
		}
		return nil, ErrInvalidCredentials
	}

	s.fails.reset(acctKey)
	if err := s.st.RecordLoginSuccess(ctx, tenant.ID, u.ID, now); err != nil {
		return nil, err
	}
	if rehash {
		if h, err := s.hasher.Hash(ctx, in.Password); err == nil {
			if err := s.st.UpdateUser(ctx, tenant.ID, u.ID, store.UserUpdate{PasswordHash: &h}); err == nil {
				s.audit(ctx, tenant.ID, "system", "password.rehashed", target, in.IP, nil)
			}
		}
	}
	stage := StageFull
	switch {
	case u.Security.MustChangePassword || CheckPassword(tenant.Settings.Password, in.Password) != nil:
		stage = StagePasswordChange
	case tenant.Settings.MFARequired(u.Role) && !u.Security.TOTPEnabled:
		stage = StageMFAEnroll
	}
	token, sess, err := s.openSession(ctx, tenant.ID, u.ID, stage, in.IP, in.UserAgent)
	if err != nil {
		return nil, err
	}
	s.audit(ctx, tenant.ID, "user:"+u.ID, "login.ok", target, in.IP, map[string]string{"stage": stage})
	return &LoginResult{Token: token, Principal: staffPrincipal(tenant, u.User, sess, in.IP)}, nil
}

// Session stages.
const (
	StageFull           = "full"
	StageMFAEnroll      = "mfa_enroll"
	StagePasswordChange = "password_change"
)

func (s *Service) openSession(ctx context.Context, tenantID, userID, stage, ip, ua string) (string, store.Session, error) {
	token := NewToken(32) // 256 bits
	now := s.now()
	if len(ua) > 256 {
		ua = ua[:256]
	}
	sess := store.Session{ID: store.NewID(), TokenHash: HashToken(token), TenantID: tenantID, UserID: userID,
		CSRFToken: NewToken(32), Stage: stage, CreatedAt: now, LastSeenAt: now, IP: ip, UserAgent: ua}
	if err := s.st.CreateSession(ctx, sess); err != nil {
		return "", store.Session{}, err
	}
	return token, sess, nil
}

// rotate replaces p's session with a new one (new token and CSRF token) in
// stage, for a privilege change.
func (s *Service) rotate(ctx context.Context, p *Principal, stage string) (string, error) {
	if p.Session == nil {
		return "", ErrUnauthenticated
	}
	token, sess, err := s.openSession(ctx, p.TenantID, p.UserID, stage, p.IP, p.Session.UserAgent)
	if err != nil {
		return "", err
	}
	if err := s.st.DeleteSession(ctx, p.Session.ID); err != nil {
		return "", err
	}
	p.Session = &sess
	p.Stage = stage
	return token, nil
}

// Authenticate returns the principal of a session token, enforcing the
// tenant's idle and absolute timeouts.
func (s *Service) Authenticate(ctx context.Context, token, ip string) (*Principal, error) {
	if token == "" || len(token) > 100 {
		return nil, ErrUnauthenticated
	}
	sess, err := s.st.SessionByTokenHash(ctx, HashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrUnauthenticated
	}
	if err != nil {
		return nil, err
	}
	tenant, err := s.st.TenantByID(ctx, sess.TenantID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	idle := time.Duration(tenant.Settings.SessionIdleSeconds) * time.Second
	absolute := time.Duration(tenant.Settings.SessionAbsoluteSeconds) * time.Second
	if now.Sub(sess.LastSeenAt) > idle || now.Sub(sess.CreatedAt) > absolute {
		_ = s.st.DeleteSession(ctx, sess.ID)
		return nil, ErrUnauthenticated
	}
	u, err := s.st.UserRecord(ctx, sess.TenantID, sess.UserID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.Disabled) {
		_ = s.st.DeleteSession(ctx, sess.ID)
		return nil, ErrUnauthenticated
	}
	if err != nil {
		return nil, err
	}
	if now.Sub(sess.LastSeenAt) > time.Minute { // bound writes: at most one per minute per session
		if err := s.st.TouchSession(ctx, sess.ID, now); err != nil {
			return nil, err
		}
	}
	return staffPrincipal(tenant, u.User, sess, ip), nil
}

// Logout ends p's session.
func (s *Service) Logout(ctx context.Context, p *Principal) error {
	if p.Session == nil {
		return ErrUnauthenticated
	}
	if err := s.st.DeleteSession(ctx, p.Session.ID); err != nil {
		return err
	}
	s.audit(ctx, p.TenantID, p.Actor(), "logout", "user:"+p.UserID, p.IP, nil)
	return nil
}

// LogoutEverywhere ends every session of p's user.
func (s *Service) LogoutEverywhere(ctx context.Context, p *Principal) error {
	if p.Kind != KindStaff {
		return ErrForbidden
	}
	n, err := s.st.DeleteUserSessions(ctx, p.TenantID, p.UserID)
	if err != nil {
		return err
	}
	s.audit(ctx, p.TenantID, p.Actor(), "logout.everywhere", "user:"+p.UserID, p.IP, map[string]string{"sessions": fmt.Sprint(n)})
	return nil
}
