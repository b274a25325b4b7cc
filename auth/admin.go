package auth

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/lotse-io/lotse/store"
)

// requireAdmin lets only fully signed-in admins through; a refusal is
// audited, so that an advisor probing admin functions leaves a trace.
func (s *Service) requireAdmin(ctx context.Context, p *Principal, what string) error {
	if p != nil && p.IsAdmin() {
		return nil
	}
	if p != nil {
		s.audit(ctx, p.TenantID, p.Actor(), "access.denied", what, p.IP, map[string]string{"role": string(p.Role)})
	}
	return ErrForbidden
}

// ValidationError is an input an admin must correct; Field names it.
type ValidationError struct{ Field, Msg string }

func (e *ValidationError) Error() string { return e.Field + ": " + e.Msg }

// Users lists the tenant's staff.
func (s *Service) Users(ctx context.Context, p *Principal) ([]store.UserRecord, error) {
	if err := s.requireAdmin(ctx, p, "users.list"); err != nil {
		return nil, err
	}
	return s.st.ListUsers(ctx, p.TenantID)
}

// User returns one user of the tenant (ErrNotFound for other tenants').
func (s *Service) User(ctx context.Context, p *Principal, id string) (store.UserRecord, error) {
	if err := s.requireAdmin(ctx, p, "users.read"); err != nil {
		return store.UserRecord{}, err
	}
	return s.st.UserRecord(ctx, p.TenantID, id)
}

// NewUser is an admin's request to add staff.
type NewUser struct {
	Email       string
	DisplayName string
	Role        store.Role
	// Password is optional: empty means generate a one-time password the
	// user must change at first login.
	Password string
}

// CreateUser adds a staff account and returns it with the one-time
// password when one was generated.
func (s *Service) CreateUser(ctx context.Context, p *Principal, in NewUser) (store.User, string, error) {
	if err := s.requireAdmin(ctx, p, "users.create"); err != nil {
		return store.User{}, "", err
	}
	email, err := NormalizeEmail(in.Email)
	if err != nil {
		return store.User{}, "", &ValidationError{"email", "not a plain e-mail address"}
	}
	if !in.Role.Valid() {
		return store.User{}, "", &ValidationError{"role", "must be admin or advisor"}
	}
	name := strings.TrimSpace(in.DisplayName)
	if len(name) > 200 {
		return store.User{}, "", &ValidationError{"display_name", "at most 200 characters"}
	}
	temp := ""
	password := in.Password
	if password == "" {
		temp = GeneratePassword()
		password = temp
	} else if err := CheckPassword(p.Settings.Password, password); err != nil {
		return store.User{}, "", err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return store.User{}, "", err
	}
	u, err := s.st.CreateUser(ctx, store.User{TenantID: p.TenantID, Email: email, DisplayName: name, Role: in.Role, PasswordHash: hash})
	if errors.Is(err, store.ErrConflict) {
		return store.User{}, "", &ValidationError{"email", "a user with this e-mail exists"}
	}
	if err != nil {
		return store.User{}, "", err
	}
	if temp != "" {
		t := true
		if err := s.st.UpdateUser(ctx, p.TenantID, u.ID, store.UserUpdate{MustChangePassword: &t}); err != nil {
			return store.User{}, "", err
		}
	}
	s.audit(ctx, p.TenantID, p.Actor(), "user.created", "user:"+u.ID, p.IP, map[string]string{"role": string(u.Role)})
	return u, temp, nil
}

// UserPatch is an admin's change to a user; nil fields stay.
type UserPatch struct {
	DisplayName *string
	Role        *store.Role
	Disabled    *bool
}

// UpdateUser changes role, display name or disabled state. A role change
// or disabling ends the user's sessions (new sign-in, new token).
func (s *Service) UpdateUser(ctx context.Context, p *Principal, id string, patch UserPatch) error {
	if err := s.requireAdmin(ctx, p, "users.update"); err != nil {
		return err
	}
	u, err := s.st.UserRecord(ctx, p.TenantID, id)
	if err != nil {
		return err
	}
	if patch.Role != nil && !patch.Role.Valid() {
		return &ValidationError{"role", "must be admin or advisor"}
	}
	if id == p.UserID && ((patch.Role != nil && *patch.Role != store.RoleAdmin) || (patch.Disabled != nil && *patch.Disabled)) {
		return &ValidationError{"role", "you cannot demote or disable yourself"}
	}
	if patch.DisplayName != nil {
		n := strings.TrimSpace(*patch.DisplayName)
		if len(n) > 200 {
			return &ValidationError{"display_name", "at most 200 characters"}
		}
		patch.DisplayName = &n
	}
	if err := s.st.UpdateUser(ctx, p.TenantID, id, store.UserUpdate{DisplayName: patch.DisplayName, Role: patch.Role, Disabled: patch.Disabled}); err != nil {
		return err
	}
	target := "user:" + id
	if patch.Role != nil && *patch.Role != u.Role {
		s.audit(ctx, p.TenantID, p.Actor(), "user.role_changed", target, p.IP, map[string]string{"from": string(u.Role), "to": string(*patch.Role)})
		if _, err := s.st.DeleteUserSessions(ctx, p.TenantID, id); err != nil {
			return err
		}
	}
	if patch.Disabled != nil && *patch.Disabled != u.Disabled {
		action := "user.enabled"
		if *patch.Disabled {
			action = "user.disabled"
			if _, err := s.st.DeleteUserSessions(ctx, p.TenantID, id); err != nil {
				return err
			}
		}
		s.audit(ctx, p.TenantID, p.Actor(), action, target, p.IP, nil)
	}
	if patch.DisplayName != nil && *patch.DisplayName != u.DisplayName {
		s.audit(ctx, p.TenantID, p.Actor(), "user.renamed", target, p.IP, nil)
	}
	return nil
}

// ResetPassword gives a user a one-time password they must change at the
// next login, ends their sessions, and returns the password (shown once).
func (s *Service) ResetPassword(ctx context.Context, p *Principal, id string) (string, error) {
	if err := s.requireAdmin(ctx, p, "users.reset_password"); err != nil {
		return "", err
	}
	if _, err := s.st.UserRecord(ctx, p.TenantID, id); err != nil {
		return "", err
	}
	temp := GeneratePassword()
	hash, err := s.hasher.Hash(ctx, temp)
	if err != nil {
		return "", err
	}
	t := true
	if err := s.st.UpdateUser(ctx, p.TenantID, id, store.UserUpdate{PasswordHash: &hash, MustChangePassword: &t}); err != nil {
		return "", err
	}
	if _, err := s.st.DeleteUserSessions(ctx, p.TenantID, id); err != nil {
		return "", err
	}
	s.audit(ctx, p.TenantID, p.Actor(), "password.reset", "user:"+id, p.IP, nil)
	return temp, nil
}

// ResetMFA turns a user's TOTP off (lost phone) and ends their sessions;
// if the tenant requires MFA they enrol again at the next login.
func (s *Service) ResetMFA(ctx context.Context, p *Principal, id string) error {
	if err := s.requireAdmin(ctx, p, "users.reset_mfa"); err != nil {
		return err
	}
	if _, err := s.st.UserRecord(ctx, p.TenantID, id); err != nil {
		return err
	}
	f, empty := false, ""
	if err := s.st.UpdateUser(ctx, p.TenantID, id, store.UserUpdate{TOTPEnabled: &f, TOTPSecret: &empty}); err != nil {
		return err
	}
	if err := s.st.ReplaceRecoveryCodes(ctx, p.TenantID, id, nil); err != nil {
		return err
	}
	if _, err := s.st.DeleteUserSessions(ctx, p.TenantID, id); err != nil {
		return err
	}
	s.audit(ctx, p.TenantID, p.Actor(), "mfa.reset", "user:"+id, p.IP, nil)
	return nil
}

// Unlock lifts a lock after failed logins.
func (s *Service) Unlock(ctx context.Context, p *Principal, id string) error {
	if err := s.requireAdmin(ctx, p, "users.unlock"); err != nil {
		return err
	}
	if err := s.st.Unlock(ctx, p.TenantID, id); err != nil {
		return err
	}
	s.audit(ctx, p.TenantID, p.Actor(), "account.unlocked", "user:"+id, p.IP, nil)
	return nil
}

// Settings returns the tenant's settings (admins only).
func (s *Service) Settings(ctx context.Context, p *Principal) (store.TenantSettings, error) {
	if err := s.requireAdmin(ctx, p, "settings.read"); err != nil {
		return store.TenantSettings{}, err
	}
	t, err := s.st.TenantByID(ctx, p.TenantID)
	return t.Settings, err
}

// UpdateSettings validates and stores new tenant settings; each changed
// group is audited with its old and new values.
func (s *Service) UpdateSettings(ctx context.Context, p *Principal, next store.TenantSettings) error {
	if err := s.requireAdmin(ctx, p, "settings.update"); err != nil {
		return err
	}
	if err := ValidatePolicy(next.Password); err != nil {
		return &ValidationError{"password", err.Error()}
	}
	if next.SessionIdleSeconds < 60 || next.SessionIdleSeconds > 24*3600 {
		return &ValidationError{"session_idle_seconds", "between 60 and 86400"}
	}
	if next.SessionAbsoluteSeconds < next.SessionIdleSeconds || next.SessionAbsoluteSeconds > 7*24*3600 {
		return &ValidationError{"session_absolute_seconds", "between the idle timeout and 604800"}
	}
	if next.RetentionDays < 1 || next.RetentionDays > 3650 {
		return &ValidationError{"retention_days", "between 1 and 3650"}
	}
	switch next.DataRegion {
	case "de", "eu":
	default:
		return &ValidationError{"data_region", "de or eu"}
	}
	if len(next.AllowedOrigins) > 50 {
		return &ValidationError{"allowed_origins", "at most 50"}
	}
	for i, o := range next.AllowedOrigins {
		norm, err := NormalizeOrigin(o)
		if err != nil {
			return &ValidationError{fmt.Sprintf("allowed_origins[%d]", i), err.Error()}
		}
		next.AllowedOrigins[i] = norm
	}
	if next.CustomerPageURL != "" {
		u, err := url.Parse(next.CustomerPageURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "" || u.User != nil {
			return &ValidationError{"customer_page_url", "an http(s) URL without a fragment, e.g. https://www.example-bank.de/beratung"}
		}
	}
	for name, list := range map[string][]string{"masking.mask": next.Masking.Mask, "masking.mask_text": next.Masking.MaskText, "masking.block": next.Masking.Block} {
		if len(list) > 100 {
			return &ValidationError{name, "at most 100 selectors"}
		}
		for _, sel := range list {
			// Selectors run in the customer's browser (querySelectorAll); keep
			// them to selector syntax so they cannot carry CSS rules.
			if sel == "" || len(sel) > 300 || strings.ContainsAny(sel, "{};<\\") {
				return &ValidationError{name, fmt.Sprintf("%q is not a plain CSS selector", sel)}
			}
		}
	}
	for _, l := range []*[]string{&next.Masking.Mask, &next.Masking.MaskText, &next.Masking.Block} {
		if *l == nil {
			*l = []string{}
		}
	}
	if next.AllowedOrigins == nil {
		next.AllowedOrigins = []string{}
	}
	cur, err := s.st.TenantByID(ctx, p.TenantID)
	if err != nil {
		return err
	}
	if err := s.st.UpdateTenantSettings(ctx, p.TenantID, next); err != nil {
		return err
	}
	if s.settingsChanged != nil {
		s.settingsChanged(p.TenantID)
	}
	old := cur.Settings
	diff := func(action string, changed bool, from, to any) {
		if changed {
			s.audit(ctx, p.TenantID, p.Actor(), action, "tenant:"+p.TenantID, p.IP,
				map[string]string{"from": fmt.Sprintf("%+v", from), "to": fmt.Sprintf("%+v", to)})
		}
	}
	diff("policy.password_changed", old.Password != next.Password, old.Password, next.Password)
	diff("policy.sessions_changed", old.SessionIdleSeconds != next.SessionIdleSeconds || old.SessionAbsoluteSeconds != next.SessionAbsoluteSeconds,
		[2]int{old.SessionIdleSeconds, old.SessionAbsoluteSeconds}, [2]int{next.SessionIdleSeconds, next.SessionAbsoluteSeconds})
	diff("policy.mfa_changed", old.MFARequiredAdmin != next.MFARequiredAdmin || old.MFARequiredAdvisor != next.MFARequiredAdvisor,
		[2]bool{old.MFARequiredAdmin, old.MFARequiredAdvisor}, [2]bool{next.MFARequiredAdmin, next.MFARequiredAdvisor})
	diff("policy.origins_changed", !slices.Equal(old.AllowedOrigins, next.AllowedOrigins), old.AllowedOrigins, next.AllowedOrigins)
	diff("policy.retention_changed", old.RetentionDays != next.RetentionDays, old.RetentionDays, next.RetentionDays)
	diff("policy.region_changed", old.DataRegion != next.DataRegion, old.DataRegion, next.DataRegion)
	diff("policy.customer_page_changed", old.CustomerPageURL != next.CustomerPageURL, old.CustomerPageURL, next.CustomerPageURL)
	diff("policy.masking_changed", !slices.Equal(old.Masking.Mask, next.Masking.Mask) || !slices.Equal(old.Masking.MaskText, next.Masking.MaskText) ||
		!slices.Equal(old.Masking.Block, next.Masking.Block), old.Masking, next.Masking)
	return nil
}

// NormalizeOrigin checks and normalises a web origin (scheme://host[:port]).
func NormalizeOrigin(s string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%q is not an origin such as https://www.example-bank.de", s)
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), nil
}

// AuditEvents returns the tenant's audit log after seq (admins only).
func (s *Service) AuditEvents(ctx context.Context, p *Principal, after int64, limit int) ([]store.AuditEvent, error) {
	if err := s.requireAdmin(ctx, p, "audit.read"); err != nil {
		return nil, err
	}
	return s.st.AuditEvents(ctx, p.TenantID, after, limit)
}

// VerifyAudit checks the tenant's whole chain and returns the first broken
// sequence number (0: intact) and the number of events checked.
func VerifyAudit(ctx context.Context, st store.AuditLog, tenantID string) (firstBroken int64, n int, err error) {
	var all []store.AuditEvent
	var after int64
	for {
		page, err := st.AuditEvents(ctx, tenantID, after, 5000)
		if err != nil {
			return 0, 0, err
		}
		all = append(all, page...)
		if len(page) < 5000 {
			break
		}
		after = page[len(page)-1].Seq
	}
	return store.VerifyChain(all), len(all), nil
}
