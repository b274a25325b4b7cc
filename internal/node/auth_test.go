package node

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/lotse-io/lotse/auth"
	"github.com/lotse-io/lotse/internal/config"
	"github.com/lotse-io/lotse/store"
)

func TestPasswordsStoredAsArgon2idPHC(t *testing.T) {
	e := newEnv(t, nil, nil) // real OWASP parameters
	admin := e.mustLogin("demo", "admin@demo.local", adminPassword)
	r := admin.do("POST", "/api/v1/admin/users", map[string]string{"email": "anna@demo.local", "role": "advisor", "password": "Anna-Password-2026"})
	if r.status != 201 {
		t.Fatalf("create user: %d %s", r.status, r.body)
	}
	var hash string
	if err := e.n.db.SQL().QueryRow(`SELECT password_hash FROM users WHERE email = 'anna@demo.local'`).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Contains(hash, "Anna-Password") {
		t.Fatalf("stored %q", hash)
	}
}

func TestPolicyEnforcedOnCreateChangeAndReset(t *testing.T) {
	e := newEnv(t, fastHasher, nil)
	admin := e.mustLogin("demo", "admin@demo.local", adminPassword)
	// Tighten the policy.
	var s store.TenantSettings
	admin.do("GET", "/api/v1/admin/settings", nil).json(t, &s)
	s.Password = store.PasswordPolicy{MinLength: 14, MaxLength: 64, RequireLetter: true, RequireDigit: true, RequireSpecial: true, RejectCommon: true}
	if r := admin.do("PUT", "/api/v1/admin/settings", s); r.status != 200 {
		t.Fatalf("put settings: %d %s", r.status, r.body)
	}
	for _, tc := range []struct{ pw, rule string }{
		{"Short-1", "at least 14"}, {"abcdefghijklmnop1", "neither letter nor digit"},
		{"Abcdefghijklmn!", "digit"}, {"Password123456!", "commonly used"},
	} {
		r := admin.do("POST", "/api/v1/admin/users", map[string]string{"email": "x@demo.local", "role": "advisor", "password": tc.pw})
		if r.status != 400 || r.code() != "password_policy" || !strings.Contains(string(r.body), tc.rule) {
			t.Errorf("create with %q: %d %s", tc.pw, r.status, r.body)
		}
	}
	r := admin.do("POST", "/api/v1/admin/users", map[string]string{"email": "ben@demo.local", "role": "advisor", "password": "Ben-Strong-Pass-42"})
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var created struct{ User struct{ ID string } }
	r.json(t, &created)

	// Change: the user's own change is checked too.
	ben := e.mustLogin("demo", "ben@demo.local", "Ben-Strong-Pass-42")
	if r := ben.do("POST", "/api/v1/me/password", map[string]string{"current": "Ben-Strong-Pass-42", "new": "weak"}); r.status != 400 || r.code() != "password_policy" {
		t.Fatalf("weak change: %d %s", r.status, r.body)
	}
	if r := ben.do("POST", "/api/v1/me/password", map[string]string{"current": "wrong", "new": "Another-Strong-Pass-7"}); r.status != 400 || r.code() != "wrong_password" {
		t.Fatalf("wrong current: %d %s", r.status, r.body)
	}
	// Reset: the one-time password passes the policy and must be changed.
	r = admin.do("POST", "/api/v1/admin/users/"+created.User.ID+"/reset-password", nil)
	var reset struct {
		OTP string `json:"one_time_password"`
	}
	r.json(t, &reset)
	if err := auth.CheckPassword(s.Password, reset.OTP); r.status != 200 || err != nil {
		t.Fatalf("reset: %d %s (%v)", r.status, r.body, err)
	}
	if ben.do("GET", "/api/v1/auth/session", nil).status != 401 {
		t.Fatal("reset did not end the user's sessions")
	}
	ben, r = e.login("demo", "ben@demo.local", reset.OTP, "")
	var sess struct{ Stage string }
	r.json(t, &sess)
	if sess.Stage != auth.StagePasswordChange {
		t.Fatalf("after reset stage = %q, want password_change", sess.Stage)
	}
	if r := ben.do("GET", "/api/v1/admin/users", nil); r.status != 403 {
		t.Fatalf("restricted session reached the API: %d", r.status)
	}
	if r := ben.do("POST", "/api/v1/me/password", map[string]string{"current": reset.OTP, "new": "Brand-New-Pass-2026"}); r.status != 200 {
		t.Fatalf("change after reset: %d %s", r.status, r.body)
	}
	r = ben.do("GET", "/api/v1/auth/session", nil)
	r.json(t, &sess)
	if sess.Stage != auth.StageFull {
		t.Fatalf("stage after change %q", sess.Stage)
	}
}

func TestOnlyAdminsChangeSettings(t *testing.T) {
	e := newEnv(t, fastHasher, nil)
	e.addUser("demo", "advisor@demo.local", store.RoleAdvisor, "Advisor-Pass-2026")
	adv := e.mustLogin("demo", "advisor@demo.local", "Advisor-Pass-2026")
	s := store.DefaultTenantSettings()
	s.Password.MinLength = 8
	for _, tc := range []struct{ method, path string }{
		{"PUT", "/api/v1/admin/settings"}, {"GET", "/api/v1/admin/settings"}, {"GET", "/api/v1/admin/users"}, {"POST", "/api/v1/admin/api-keys"},
	} {
		var body any
		if tc.method != "GET" {
			body = s
		}
		if r := adv.do(tc.method, tc.path, body); r.status != 403 || r.code() != "forbidden" {
			t.Errorf("advisor %s %s = %d %s", tc.method, tc.path, r.status, r.body)
		}
	}
	if !contains(e.auditActions("demo"), "access.denied(PUT /api/v1/admin/settings)") {
		t.Fatalf("no audit row for the refused policy change: %v", e.auditActions("demo"))
	}
	// The console page refuses too.
	if r := adv.do("POST", "/console/admin/settings", "min_length=8&csrf_token="+adv.csrf); r.status != 403 {
		t.Fatalf("advisor console settings post = %d", r.status)
	}
	ten := e.tenant("demo")
	if ten.Settings.Password.MinLength != 12 {
		t.Fatalf("policy changed by an advisor: %+v", ten.Settings.Password)
	}
}

func TestLegacyHashUpgradedOnLogin(t *testing.T) {
	e := newEnv(t, fastHasher, nil)
	u := e.addUser("demo", "old@demo.local", store.RoleAdvisor, "placeholder-pw-123")
	// Build a real legacy hash for a known password.
	legacy := legacySHA256("a1b2", "Legacy-Password-1")
	wrapped, err := e.n.hasher.ImportLegacySHA256(context.Background(), "a1b2", legacy, auth.SaltThenPassword)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.n.db.UpdateUser(context.Background(), u.TenantID, u.ID, store.UserUpdate{PasswordHash: &wrapped}); err != nil {
		t.Fatal(err)
	}
	if _, r := e.login("demo", "old@demo.local", "Legacy-Password-2", ""); r.status != 401 {
		t.Fatalf("wrong password against a legacy hash: %d", r.status)
	}
	if _, r := e.login("demo", "old@demo.local", "Legacy-Password-1", ""); r.status != 200 {
		t.Fatalf("legacy login: %d %s", r.status, r.body)
	}
	rec, _ := e.n.db.UserRecord(context.Background(), u.TenantID, u.ID)
	if !strings.HasPrefix(rec.PasswordHash, "$argon2id$") {
		t.Fatalf("hash not upgraded: %q", rec.PasswordHash)
	}
	if _, r := e.login("demo", "old@demo.local", "Legacy-Password-1", ""); r.status != 200 {
		t.Fatalf("login after upgrade: %d", r.status)
	}
	if !contains(e.auditActions("demo"), "password.rehashed") {
		t.Fatal("upgrade not audited")
	}
}

func TestSessionCookieRotationLogoutAndExpiry(t *testing.T) {
	e := newEnv(t, fastHasher, nil)
	a, r := e.login("demo", "admin@demo.local", adminPassword, "")
	setCookie := r.header.Get("Set-Cookie")
	for _, want := range []string{auth.CookieName + "=", "Path=/", "HttpOnly", "Secure", "SameSite=Lax"} {
		if !strings.Contains(setCookie, want) {
			t.Errorf("cookie %q lacks %s", setCookie, want)
		}
	}
	if strings.Contains(setCookie, "Domain=") {
		t.Errorf("__Host- cookie with Domain: %s", setCookie)
	}
	if len(a.cookie) < 43 {
		t.Fatalf("token %q shorter than 256 bits", a.cookie)
	}
	var stored string
	e.n.db.SQL().QueryRow(`SELECT token_hash FROM sessions LIMIT 1`).Scan(&stored)
	if stored != auth.HashToken(a.cookie) || strings.Contains(stored, a.cookie) {
		t.Fatal("session token not stored as its SHA-256")
	}
	b := e.mustLogin("demo", "admin@demo.local", adminPassword)
	if a.cookie == b.cookie {
		t.Fatal("second login reused the session token")
	}

	// Logout revokes server-side: the old cookie no longer works.
	old := a.cookie
	if r := a.do("POST", "/api/v1/auth/logout", nil); r.status != 204 {
		t.Fatalf("logout: %d %s", r.status, r.body)
	}
	a.cookie = old
	if r := a.do("GET", "/api/v1/auth/session", nil); r.status != 401 {
		t.Fatalf("revoked session still works: %d", r.status)
	}
	// b is unaffected until "log out everywhere".
	c := e.mustLogin("demo", "admin@demo.local", adminPassword)
	if r := b.do("POST", "/api/v1/auth/logout-all", nil); r.status != 204 {
		t.Fatalf("logout-all: %d", r.status)
	}
	if r := c.do("GET", "/api/v1/auth/session", nil); r.status != 401 {
		t.Fatal("logout-all left another session alive")
	}

	// Idle timeout (30 min by default): activity keeps the session, silence ends it.
	d := e.mustLogin("demo", "admin@demo.local", adminPassword)
	for i := 0; i < 3; i++ {
		e.clock.add(20 * time.Minute)
		if r := d.do("GET", "/api/v1/auth/session", nil); r.status != 200 {
			t.Fatalf("active session expired after %d×20 min: %d", i+1, r.status)
		}
	}
	e.clock.add(31 * time.Minute)
	if r := d.do("GET", "/api/v1/auth/session", nil); r.status != 401 {
		t.Fatalf("idle session still valid: %d", r.status)
	}
	// Absolute timeout (12 h): even an active session ends.
	f := e.mustLogin("demo", "admin@demo.local", adminPassword)
	for i := 0; i < 25; i++ {
		e.clock.add(29 * time.Minute)
		f.do("GET", "/api/v1/auth/session", nil)
	}
	if r := f.do("GET", "/api/v1/auth/session", nil); r.status != 401 {
		t.Fatalf("session alive after 12 h: %d", r.status)
	}
}

func TestLockoutAndIdenticalAnswers(t *testing.T) {
	e := newEnv(t, fastHasher, func(c *config.Config) { c.Auth.FailureFloor = 40 * time.Millisecond })
	e.addUser("demo", "lock@demo.local", store.RoleAdvisor, "Right-Password-99")
	fail := func(tenant, email, pw string) resp {
		t.Helper()
		start := time.Now()
		_, r := e.login(tenant, email, pw, "")
		if d := time.Since(start); d < 40*time.Millisecond {
			t.Errorf("failed login answered in %v, before the 40 ms floor", d)
		}
		return r
	}
	ref := fail("demo", "lock@demo.local", "wrong-1")
	if ref.status != 401 || ref.code() != "invalid_credentials" {
		t.Fatalf("wrong password: %d %s", ref.status, ref.body)
	}
	for i := 2; i <= 10; i++ {
		fail("demo", "lock@demo.local", "wrong")
	}
	// Locked: even the right password gets the same answer.
	for name, r := range map[string]resp{
		"locked account, right password": fail("demo", "lock@demo.local", "Right-Password-99"),
		"unknown e-mail":                 fail("demo", "nobody@demo.local", "Right-Password-99"),
		"unknown tenant":                 fail("nosuchbank", "lock@demo.local", "Right-Password-99"),
		"malformed e-mail":               fail("demo", "not-an-email", "x"),
	} {
		if r.status != ref.status || string(r.body) != string(ref.body) {
			t.Errorf("%s: %d %s, want the same as a wrong password: %d %s", name, r.status, r.body, ref.status, ref.body)
		}
	}
	acts := e.auditActions("demo")
	if !contains(acts, "account.locked") || !contains(acts, "login.failed") {
		t.Fatalf("audit: %v", acts)
	}
	// The lock ends after 15 minutes, or when an admin lifts it.
	e.clock.add(16 * time.Minute)
	if _, r := e.login("demo", "lock@demo.local", "Right-Password-99", ""); r.status != 200 {
		t.Fatalf("still locked after 16 min: %d %s", r.status, r.body)
	}
	for i := 0; i < 10; i++ {
		fail("demo", "lock@demo.local", "wrong")
	}
	admin := e.mustLogin("demo", "admin@demo.local", adminPassword)
	u, _ := e.n.db.UserByEmail(context.Background(), e.tenant("demo").ID, "lock@demo.local")
	if r := admin.do("POST", "/api/v1/admin/users/"+u.ID+"/unlock", nil); r.status != 204 {
		t.Fatalf("unlock: %d %s", r.status, r.body)
	}
	if _, r := e.login("demo", "lock@demo.local", "Right-Password-99", ""); r.status != 200 {
		t.Fatalf("after unlock: %d", r.status)
	}
}

func TestIPThrottle(t *testing.T) {
	e := newEnv(t, fastHasher, func(c *config.Config) { c.Auth.IPFailureLimit = 15; c.Auth.FailureFloor = 0; c.Auth.MaxDelay = 0 })
	for i := 0; i < 15; i++ {
		e.login("demo", "guess"+string(rune('a'+i))+"@demo.local", "x", "")
	}
	if _, r := e.login("demo", "admin@demo.local", adminPassword, ""); r.status != 429 || r.code() != "throttled" {
		t.Fatalf("16th attempt from one address: %d %s", r.status, r.body)
	}
}

func enrolTOTP(t *testing.T, e *env, c *client) (secret string, codes []string) {
	t.Helper()
	r := c.do("POST", "/api/v1/me/mfa/totp", nil)
	var en auth.TOTPEnrolment
	r.json(t, &en)
	if r.status != 200 || !strings.HasPrefix(en.URI, "otpauth://totp/") || !strings.HasPrefix(en.QRPNG, "data:image/png;base64,") {
		t.Fatalf("enrol: %d %s", r.status, r.body)
	}
	code, _ := totp.GenerateCode(en.Secret, e.clock.now())
	before := c.cookie
	r = c.do("POST", "/api/v1/me/mfa/totp/confirm", map[string]string{"code": code})
	var done struct {
		RecoveryCodes []string `json:"recovery_codes"`
		Session       struct {
			CSRFToken string `json:"csrf_token"`
		}
	}
	r.json(t, &done)
	if r.status != 200 || len(done.RecoveryCodes) != 10 {
		t.Fatalf("confirm: %d %s", r.status, r.body)
	}
	if c.cookie == before {
		t.Fatal("session token not rotated after MFA enrolment")
	}
	c.csrf = done.Session.CSRFToken
	old := &client{e: e, cookie: before, origin: e.srv.URL}
	if old.do("GET", "/api/v1/auth/session", nil).status != 401 {
		t.Fatal("pre-enrolment token still valid")
	}
	return en.Secret, done.RecoveryCodes
}

func TestTOTPReplayAndRecoveryCodes(t *testing.T) {
	e := newEnv(t, fastHasher, nil)
	admin := e.mustLogin("demo", "admin@demo.local", adminPassword)
	secret, codes := enrolTOTP(t, e, admin)
	var stored string
	e.n.db.SQL().QueryRow(`SELECT totp_secret FROM users WHERE email = 'admin@demo.local'`).Scan(&stored)
	if strings.Contains(stored, secret) || !strings.HasPrefix(stored, "v1:") {
		t.Fatal("TOTP secret stored readable")
	}
	e.clock.add(time.Minute) // a fresh time step

	if _, r := e.login("demo", "admin@demo.local", adminPassword, ""); r.status != 401 || r.code() != "mfa_required" {
		t.Fatalf("no code: %d %s", r.status, r.body)
	}
	if _, r := e.login("demo", "admin@demo.local", "wrong-password", ""); r.code() != "invalid_credentials" {
		t.Fatalf("wrong password with MFA on revealed %q", r.code())
	}
	code, _ := totp.GenerateCode(secret, e.clock.now())
	if _, r := e.login("demo", "admin@demo.local", adminPassword, code); r.status != 200 {
		t.Fatalf("right code: %d %s", r.status, r.body)
	}
	if _, r := e.login("demo", "admin@demo.local", adminPassword, code); r.status != 401 || r.code() != "invalid_credentials" {
		t.Fatalf("replayed code: %d %s", r.status, r.body)
	}
	stale, _ := totp.GenerateCode(secret, e.clock.now().Add(-10*time.Minute))
	if _, r := e.login("demo", "admin@demo.local", adminPassword, stale); r.status != 401 {
		t.Fatalf("stale code accepted: %d", r.status)
	}
	if _, r := e.login("demo", "admin@demo.local", adminPassword, strings.ToUpper(codes[0])); r.status != 200 {
		t.Fatalf("recovery code: %d %s", r.status, r.body)
	}
	if _, r := e.login("demo", "admin@demo.local", adminPassword, codes[0]); r.status != 401 {
		t.Fatalf("recovery code worked twice: %d", r.status)
	}
	acts := e.auditActions("demo")
	if !contains(acts, "mfa.enrolled") {
		t.Fatalf("audit: %v", acts)
	}
}

func TestMFARequiredLeadsThroughEnrolment(t *testing.T) {
	e := newEnv(t, fastHasher, nil)
	admin := e.mustLogin("demo", "admin@demo.local", adminPassword)
	var s store.TenantSettings
	admin.do("GET", "/api/v1/admin/settings", nil).json(t, &s)
	s.MFARequiredAdvisor = true
	admin.do("PUT", "/api/v1/admin/settings", s)
	e.addUser("demo", "eve@demo.local", store.RoleAdvisor, "Eve-Password-2026")
	eve, r := e.login("demo", "eve@demo.local", "Eve-Password-2026", "")
	var sess struct{ Stage string }
	r.json(t, &sess)
	if sess.Stage != auth.StageMFAEnroll {
		t.Fatalf("stage %q", sess.Stage)
	}
	// The console sends her to her account page to enrol.
	if r := eve.do("GET", "/console", nil); r.status != http.StatusSeeOther {
		t.Fatalf("console with enrolment pending: %d", r.status)
	}
	enrolTOTP(t, e, eve)
	r = eve.do("GET", "/api/v1/auth/session", nil)
	r.json(t, &sess)
	if sess.Stage != auth.StageFull {
		t.Fatalf("stage after enrolment %q", sess.Stage)
	}
	// An admin reset lets her enrol again (lost phone).
	u, _ := e.n.db.UserByEmail(context.Background(), e.tenant("demo").ID, "eve@demo.local")
	if r := admin.do("POST", "/api/v1/admin/users/"+u.ID+"/reset-mfa", nil); r.status != 204 {
		t.Fatalf("reset mfa: %d", r.status)
	}
	if _, r := e.login("demo", "eve@demo.local", "Eve-Password-2026", ""); !strings.Contains(string(r.body), `"stage":"mfa_enroll"`) {
		t.Fatalf("after reset: %s", r.body)
	}
	if !contains(e.auditActions("demo"), "mfa.reset") {
		t.Fatal("mfa reset not audited")
	}
}

func TestCSRF(t *testing.T) {
	e := newEnv(t, fastHasher, nil)
	admin := e.mustLogin("demo", "admin@demo.local", adminPassword)
	body := map[string]string{"email": "c@demo.local", "role": "advisor"}
	for _, tc := range []struct {
		name    string
		mutate  func(c *client)
		headers []string
	}{
		{"no token", func(c *client) { c.csrf = "" }, nil},
		{"wrong token", func(c *client) { c.csrf = "x" + c.csrf[1:] }, nil},
		{"cross-site origin", func(c *client) { c.origin = "https://evil.example" }, nil},
		{"cross-site fetch", func(c *client) {}, []string{"Sec-Fetch-Site", "cross-site"}},
		{"no origin at all", func(c *client) { c.origin = "" }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := *admin
			tc.mutate(&c)
			if r := c.do("POST", "/api/v1/admin/users", body, tc.headers...); r.status != 403 || r.code() != "csrf" {
				t.Fatalf("%d %s", r.status, r.body)
			}
		})
	}
	// Forms: the console's form post needs the token field and our origin.
	if r := admin.do("POST", "/console/logout", "csrf_token=nope", auth.CSRFHeader, ""); r.status != 403 {
		t.Fatalf("form without the right token: %d", r.status)
	}
	// JSON APIs reject form content types even with a valid token.
	if r := admin.do("POST", "/api/v1/admin/users", "email=c@demo.local&role=advisor"); r.status != 415 {
		t.Fatalf("form body to JSON API: %d", r.status)
	}
	// Login itself only from our pages.
	evil := e.anon()
	evil.origin = "https://evil.example"
	if r := evil.do("POST", "/api/v1/auth/login", map[string]string{"tenant": "demo", "email": "admin@demo.local", "password": adminPassword}); r.status != 403 {
		t.Fatalf("cross-site login: %d", r.status)
	}
	if r := admin.do("POST", "/api/v1/admin/users", body); r.status != 201 {
		t.Fatalf("with token and origin: %d %s", r.status, r.body)
	}
}

func TestAPIKeys(t *testing.T) {
	e := newEnv(t, fastHasher, nil)
	admin := e.mustLogin("demo", "admin@demo.local", adminPassword)
	r := admin.do("POST", "/api/v1/admin/api-keys", map[string]any{"name": "CRM", "permissions": []string{"conversations:write"}})
	var created struct {
		APIKey struct{ ID, Prefix string } `json:"api_key"`
		Key    string                      `json:"key"`
	}
	r.json(t, &created)
	if r.status != 201 || !strings.HasPrefix(created.Key, "lotse_sk_") || !strings.HasPrefix(created.Key, created.APIKey.Prefix) {
		t.Fatalf("create key: %d %s", r.status, r.body)
	}
	var stored string
	e.n.db.SQL().QueryRow(`SELECT key_hash FROM api_keys`).Scan(&stored)
	if stored != auth.HashToken(created.Key) {
		t.Fatal("API key not stored as its hash")
	}
	if r := admin.do("GET", "/api/v1/admin/api-keys", nil); strings.Contains(string(r.body), created.Key) {
		t.Fatal("listing shows the secret")
	}
	backend := &client{e: e, bearer: created.Key}
	// The key authenticates (the conversations API arrives with issue 4;
	// the session endpoint is staff-only, admin routes are refused).
	if r := backend.do("GET", "/api/v1/admin/users", nil); r.status != 403 {
		t.Fatalf("API key on an admin route: %d", r.status)
	}
	bad := &client{e: e, bearer: created.Key + "x"}
	if r := bad.do("GET", "/api/v1/admin/users", nil); r.status != 401 {
		t.Fatalf("tampered key: %d", r.status)
	}
	if r := admin.do("DELETE", "/api/v1/admin/api-keys/"+created.APIKey.ID, nil); r.status != 204 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if r := backend.do("GET", "/api/v1/admin/users", nil); r.status != 401 {
		t.Fatalf("revoked key: %d", r.status)
	}
	acts := e.auditActions("demo")
	if !contains(acts, "api_key.created") || !contains(acts, "api_key.revoked") {
		t.Fatalf("audit: %v", acts)
	}
}

func TestAuditVerify(t *testing.T) {
	e := newEnv(t, fastHasher, nil)
	admin := e.mustLogin("demo", "admin@demo.local", adminPassword)
	r := admin.do("GET", "/api/v1/admin/audit/verify", nil)
	if r.status != 200 || !strings.Contains(string(r.body), `"ok":true`) {
		t.Fatalf("verify: %d %s", r.status, r.body)
	}
	r = admin.do("GET", "/api/v1/admin/audit?limit=2", nil)
	var page struct {
		Events []struct {
			Seq    int64
			Action string
		}
		NextAfter int64 `json:"next_after"`
	}
	r.json(t, &page)
	if len(page.Events) != 2 || page.NextAfter != 2 {
		t.Fatalf("audit page: %s", r.body)
	}
}
