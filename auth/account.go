package auth

import (
	"context"
	"errors"

	"github.com/lotse-io/lotse/store"
)

// ChangePassword changes p's own password. It checks the current one and
// the tenant's policy, ends the user's other sessions, and returns the token
// of a fresh session (privilege change).
func (s *Service) ChangePassword(ctx context.Context, p *Principal, current, next string) (string, error) {
	if p.Kind != KindStaff {
		return "", ErrForbidden
	}
	u, err := s.st.UserRecord(ctx, p.TenantID, p.UserID)
	if err != nil {
		return "", err
	}
	ok, _, err := s.hasher.Verify(ctx, current, u.PasswordHash)
	if err != nil && !errors.Is(err, ErrBadHash) {
		return "", err
	}
	if !ok {
		s.audit(ctx, p.TenantID, p.Actor(), "password.change_failed", "user:"+p.UserID, p.IP, map[string]string{"reason": "wrong_current"})
		return "", ErrWrongPassword
	}
	if err := CheckPassword(p.Settings.Password, next); err != nil {
		return "", err
	}
	if next == current {
		return "", &PolicyError{"reuse", "the new password must differ from the current one"}
	}
	hash, err := s.hasher.Hash(ctx, next)
	if err != nil {
		return "", err
	}
	f := false
	if err := s.st.UpdateUser(ctx, p.TenantID, p.UserID, store.UserUpdate{PasswordHash: &hash, MustChangePassword: &f}); err != nil {
		return "", err
	}
	if _, err := s.st.DeleteUserSessions(ctx, p.TenantID, p.UserID); err != nil {
		return "", err
	}
	s.audit(ctx, p.TenantID, p.Actor(), "password.changed", "user:"+p.UserID, p.IP, nil)
	stage := StageFull
	if p.Settings.MFARequired(p.Role) && !u.Security.TOTPEnabled {
		stage = StageMFAEnroll
	}
	p.Session.ID = "" // deleted above; rotate would delete it again
	token, sess, err := s.openSession(ctx, p.TenantID, p.UserID, stage, p.IP, p.Session.UserAgent)
	if err != nil {
		return "", err
	}
	p.Session, p.Stage = &sess, stage
	return token, nil
}

// BeginTOTP starts (or restarts) TOTP enrolment for p and returns what the
// authenticator app needs. The secret is stored encrypted and stays inactive
// until ConfirmTOTP.
func (s *Service) BeginTOTP(ctx context.Context, p *Principal) (TOTPEnrolment, error) {
	if p.Kind != KindStaff {
		return TOTPEnrolment{}, ErrForbidden
	}
	u, err := s.st.UserRecord(ctx, p.TenantID, p.UserID)
	if err != nil {
		return TOTPEnrolment{}, err
	}
	if u.Security.TOTPEnabled {
		return TOTPEnrolment{}, &PolicyError{"mfa_enabled", "two-factor authentication is already on; an admin can reset it"}
	}
	secret, e, err := newTOTP(s.cfg.Issuer+" ("+p.TenantSlug+")", p.Email)
	if err != nil {
		return TOTPEnrolment{}, err
	}
	sealed := s.box.seal(p.UserID, secret)
	if err := s.st.UpdateUser(ctx, p.TenantID, p.UserID, store.UserUpdate{TOTPSecret: &sealed}); err != nil {
		return TOTPEnrolment{}, err
	}
	return e, nil
}

// ConfirmTOTP turns TOTP on after the user proved the app works with a
// code. It returns the recovery codes (shown once) and the token of a fresh
// session, since the user's privileges changed.
func (s *Service) ConfirmTOTP(ctx context.Context, p *Principal, code string) (codes []string, token string, err error) {
	if p.Kind != KindStaff {
		return nil, "", ErrForbidden
	}
	u, err := s.st.UserRecord(ctx, p.TenantID, p.UserID)
	if err != nil {
		return nil, "", err
	}
	if u.Security.TOTPEnabled || u.Security.TOTPSecret == "" {
		return nil, "", ErrBadCode
	}
	secret, err := s.box.open(u.ID, u.Security.TOTPSecret)
	if err != nil {
		return nil, "", err
	}
	step := matchTOTP(secret, code, s.now())
	if step == 0 {
		return nil, "", ErrBadCode
	}
	if ok, err := s.st.UseTOTPStep(ctx, p.TenantID, p.UserID, step); err != nil || !ok {
		return nil, "", errors.Join(ErrBadCode, err)
	}
	codes, hashes := newRecoveryCodes()
	if err := s.st.ReplaceRecoveryCodes(ctx, p.TenantID, p.UserID, hashes); err != nil {
		return nil, "", err
	}
	t := true
	if err := s.st.UpdateUser(ctx, p.TenantID, p.UserID, store.UserUpdate{TOTPEnabled: &t}); err != nil {
		return nil, "", err
	}
	s.audit(ctx, p.TenantID, p.Actor(), "mfa.enrolled", "user:"+p.UserID, p.IP, map[string]string{"method": "totp"})
	token, err = s.rotate(ctx, p, StageFull)
	return codes, token, err
}

// MFAStatus tells whether p has TOTP on and how many recovery codes remain.
func (s *Service) MFAStatus(ctx context.Context, p *Principal) (enabled bool, codesLeft int, err error) {
	u, err := s.st.UserRecord(ctx, p.TenantID, p.UserID)
	if err != nil {
		return false, 0, err
	}
	n, err := s.st.RecoveryCodesLeft(ctx, p.TenantID, p.UserID)
	return u.Security.TOTPEnabled, n, err
}
