package store

import (
	"context"
	"time"
)

// PasswordPolicy is a tenant's rule for staff passwords.
type PasswordPolicy struct {
	MinLength      int  `json:"min_length"`
	MaxLength      int  `json:"max_length"`
	RequireLetter  bool `json:"require_letter"`
	RequireDigit   bool `json:"require_digit"`
	RequireSpecial bool `json:"require_special"`
	// RejectCommon refuses passwords on the list shipped in the binary.
	RejectCommon bool `json:"reject_common"`
}

// TenantSettings are the settings a tenant's admins control.
type TenantSettings struct {
	Password PasswordPolicy `json:"password"`
	// SessionIdleSeconds ends a staff session after this much inactivity.
	SessionIdleSeconds int `json:"session_idle_seconds"`
	// SessionAbsoluteSeconds ends a staff session this long after login.
	SessionAbsoluteSeconds int  `json:"session_absolute_seconds"`
	MFARequiredAdmin       bool `json:"mfa_required_admin"`
	MFARequiredAdvisor     bool `json:"mfa_required_advisor"`
	// AllowedOrigins are the bank's sites that may embed the SDK
	// (scheme://host[:port]).
	AllowedOrigins []string `json:"allowed_origins"`
	// RetentionDays is how long conversation records are kept.
	RetentionDays int    `json:"retention_days"`
	DataRegion    string `json:"data_region"`
	// CustomerPageURL is the bank's page (with the SDK) that share links
	// open, with the token in the fragment; empty: Lotse's landing page.
	CustomerPageURL string `json:"customer_page_url"`
	// Masking are the tenant's own co-browse masking rules (CSS selectors)
	// on top of the built-in ones.
	Masking MaskingRules `json:"masking"`
}

// MaskingRules are CSS selectors the customer SDK applies before anything
// leaves the browser: Mask hides input values, MaskText hides text, Block
// replaces elements with same-size placeholders.
type MaskingRules struct {
	Mask     []string `json:"mask"`
	MaskText []string `json:"mask_text"`
	Block    []string `json:"block"`
}

// DefaultTenantSettings are the settings of a new tenant.
func DefaultTenantSettings() TenantSettings {
	return TenantSettings{
		Password:               PasswordPolicy{MinLength: 12, MaxLength: 128, RejectCommon: true},
		SessionIdleSeconds:     30 * 60,
		SessionAbsoluteSeconds: 12 * 60 * 60,
		AllowedOrigins:         []string{},
		RetentionDays:          365,
		DataRegion:             "de",
	}
}

// MFARequired reports whether the tenant requires MFA for role.
func (s TenantSettings) MFARequired(role Role) bool {
	if role == RoleAdmin {
		return s.MFARequiredAdmin
	}
	return s.MFARequiredAdvisor
}

// UserSecurity is the security state kept with a staff account.
type UserSecurity struct {
	FailedLogins       int
	LockedUntil        time.Time // zero: not locked
	LastLoginAt        time.Time
	PasswordChangedAt  time.Time
	TOTPSecret         string // encrypted; empty when none
	TOTPEnabled        bool
	TOTPLastStep       int64
	MustChangePassword bool
}

// UserRecord is a user with its security state.
type UserRecord struct {
	User
	Security UserSecurity
}

// UserUpdate changes some fields of a user; nil fields stay as they are.
type UserUpdate struct {
	DisplayName        *string
	Role               *Role
	Disabled           *bool
	PasswordHash       *string
	MustChangePassword *bool
	TOTPSecret         *string // "" clears
	TOTPEnabled        *bool
}

// Accounts stores staff accounts and their security state. Every method
// is scoped to a tenant: a user of another tenant is ErrNotFound.
type Accounts interface {
	UserRecord(ctx context.Context, tenantID, userID string) (UserRecord, error)
	UserRecordByEmail(ctx context.Context, tenantID, email string) (UserRecord, error)
	ListUsers(ctx context.Context, tenantID string) ([]UserRecord, error)
	UpdateUser(ctx context.Context, tenantID, userID string, u UserUpdate) error
	// RecordLoginFailure counts a failed login and locks the account for
	// lockFor once the count reaches threshold; it returns the new count
	// and the lock's end (zero when not locked).
	RecordLoginFailure(ctx context.Context, tenantID, userID string, threshold int, lockFor time.Duration, now time.Time) (int, time.Time, error)
	// RecordLoginSuccess resets the failure count and notes the time.
	RecordLoginSuccess(ctx context.Context, tenantID, userID string, now time.Time) error
	// Unlock clears a lock and the failure count.
	Unlock(ctx context.Context, tenantID, userID string) error
	// UseTOTPStep records that the TOTP code of step was used; it reports
	// false when that step (or a later one) was already used.
	UseTOTPStep(ctx context.Context, tenantID, userID string, step int64) (bool, error)
	// ReplaceRecoveryCodes stores new recovery code hashes, dropping the old.
	ReplaceRecoveryCodes(ctx context.Context, tenantID, userID string, hashes []string) error
	// UseRecoveryCode marks the code with hash as used; false when unknown
	// or already used.
	UseRecoveryCode(ctx context.Context, tenantID, userID, hash string, now time.Time) (bool, error)
	// RecoveryCodesLeft counts the unused codes.
	RecoveryCodesLeft(ctx context.Context, tenantID, userID string) (int, error)
}

// Session is a staff login. The cookie holds a random token; only its
// SHA-256 is stored.
type Session struct {
	ID         string
	TokenHash  string
	TenantID   string
	UserID     string
	CSRFToken  string
	Stage      string // "full", "mfa_enroll" or "password_change"
	CreatedAt  time.Time
	LastSeenAt time.Time
	IP         string
	UserAgent  string
}

// Sessions stores staff sessions.
type Sessions interface {
	CreateSession(ctx context.Context, s Session) error
	SessionByTokenHash(ctx context.Context, tokenHash string) (Session, error)
	TouchSession(ctx context.Context, id string, at time.Time) error
	DeleteSession(ctx context.Context, id string) error
	// DeleteUserSessions ends every session of a user and returns how many.
	DeleteUserSessions(ctx context.Context, tenantID, userID string) (int, error)
}

// APIKey is a credential for a bank's backend. Only its SHA-256 is stored.
type APIKey struct {
	ID          string
	TenantID    string
	Name        string
	Prefix      string
	KeyHash     string
	Permissions []string
	CreatedBy   string
	CreatedAt   time.Time
	LastUsedAt  time.Time
	RevokedAt   time.Time
}

// APIKeys stores API keys.
type APIKeys interface {
	CreateAPIKey(ctx context.Context, k APIKey) error
	APIKeyByHash(ctx context.Context, keyHash string) (APIKey, error)
	ListAPIKeys(ctx context.Context, tenantID string) ([]APIKey, error)
	RevokeAPIKey(ctx context.Context, tenantID, id string, at time.Time) error
	TouchAPIKey(ctx context.Context, id string, at time.Time) error
}

// TenantAdmin reads and changes tenants beyond creation.
type TenantAdmin interface {
	TenantByID(ctx context.Context, id string) (Tenant, error)
	UpdateTenantSettings(ctx context.Context, id string, s TenantSettings) error
}
