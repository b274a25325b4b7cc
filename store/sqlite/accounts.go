package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/lotse-io/lotse/store"
)

const userCols = `id, tenant_id, email, display_name, role, password_hash, disabled, created_at,
	failed_logins, locked_until, last_login_at, password_changed_at, totp_secret, totp_enabled, totp_last_step, must_change_password`

func scanUser(row interface{ Scan(...any) error }) (store.UserRecord, error) {
	var u store.UserRecord
	var role string
	var created, locked, lastLogin, pwChanged int64
	err := row.Scan(&u.ID, &u.TenantID, &u.Email, &u.DisplayName, &role, &u.PasswordHash, &u.Disabled, &created,
		&u.Security.FailedLogins, &locked, &lastLogin, &pwChanged, &u.Security.TOTPSecret, &u.Security.TOTPEnabled,
		&u.Security.TOTPLastStep, &u.Security.MustChangePassword)
	if err != nil {
		return store.UserRecord{}, err
	}
	u.Role = store.Role(role)
	u.CreatedAt = fromMillis(created)
	u.Security.LockedUntil = optMillis(locked)
	u.Security.LastLoginAt = optMillis(lastLogin)
	u.Security.PasswordChangedAt = optMillis(pwChanged)
	return u, nil
}

func optMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return fromMillis(ms)
}

// UserRecord returns a user of tenantID with its security state.
func (d *DB) UserRecord(ctx context.Context, tenantID, userID string) (store.UserRecord, error) {
	u, err := scanUser(d.db.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE tenant_id = $1 AND id = $2`, tenantID, userID))
	if err != nil {
		return store.UserRecord{}, fmt.Errorf("user %s in tenant %s: %w", userID, tenantID, mapErr(err))
	}
	return u, nil
}

// UserRecordByEmail returns a user of tenantID by e-mail.
func (d *DB) UserRecordByEmail(ctx context.Context, tenantID, email string) (store.UserRecord, error) {
	u, err := scanUser(d.db.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE tenant_id = $1 AND email = $2`, tenantID, email))
	if err != nil {
		return store.UserRecord{}, fmt.Errorf("user in tenant %s: %w", tenantID, mapErr(err))
	}
	return u, nil
}

// ListUsers returns a tenant's users ordered by e-mail.
func (d *DB) ListUsers(ctx context.Context, tenantID string) ([]store.UserRecord, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT `+userCols+` FROM users WHERE tenant_id = $1 ORDER BY email`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("list users of tenant %s: %w", tenantID, err)
	}
	defer rows.Close()
	var out []store.UserRecord
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list users of tenant %s: %w", tenantID, err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// UpdateUser changes the fields of u that are set. Unset fields are passed
// as NULL and kept by COALESCE, so the statement is one constant.
func (d *DB) UpdateUser(ctx context.Context, tenantID, userID string, u store.UserUpdate) error {
	opt := func(p any) any {
		switch v := p.(type) {
		case *string:
			if v != nil {
				return *v
			}
		case *bool:
			if v != nil {
				return *v
			}
		case *store.Role:
			if v != nil {
				return string(*v)
			}
		}
		return nil
	}
	var pwChanged any
	if u.PasswordHash != nil {
		pwChanged = now().UnixMilli()
	}
	res, err := d.db.ExecContext(ctx, `UPDATE users SET
		display_name = COALESCE($1, display_name),
		role = COALESCE($2, role),
		disabled = COALESCE($3, disabled),
		password_hash = COALESCE($4, password_hash),
		password_changed_at = COALESCE($5, password_changed_at),
		must_change_password = COALESCE($6, must_change_password),
		totp_secret = COALESCE($7, totp_secret),
		totp_enabled = COALESCE($8, totp_enabled),
		totp_last_step = CASE WHEN $8 IS NOT NULL AND NOT $8 THEN 0 ELSE totp_last_step END
		WHERE tenant_id = $9 AND id = $10`,
		opt(u.DisplayName), opt(u.Role), opt(u.Disabled), opt(u.PasswordHash), pwChanged, opt(u.MustChangePassword),
		opt(u.TOTPSecret), opt(u.TOTPEnabled), tenantID, userID)
	if err != nil {
		return fmt.Errorf("update user %s: %w", userID, mapErr(err))
	}
	return affected(res, "user "+userID)
}

// RecordLoginFailure counts a failure and locks at the threshold.
func (d *DB) RecordLoginFailure(ctx context.Context, tenantID, userID string, threshold int, lockFor time.Duration, at time.Time) (int, time.Time, error) {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, time.Time{}, err
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	var n int
	var locked int64
	if err := tx.QueryRowContext(ctx, `UPDATE users SET failed_logins = failed_logins + 1 WHERE tenant_id = $1 AND id = $2
		RETURNING failed_logins, locked_until`, tenantID, userID).Scan(&n, &locked); err != nil {
		return 0, time.Time{}, fmt.Errorf("record login failure of %s: %w", userID, mapErr(err))
	}
	if n >= threshold && locked <= at.UnixMilli() {
		locked = at.Add(lockFor).UnixMilli()
		if _, err := tx.ExecContext(ctx, `UPDATE users SET locked_until = $1, failed_logins = 0 WHERE tenant_id = $2 AND id = $3`,
			locked, tenantID, userID); err != nil {
			return 0, time.Time{}, fmt.Errorf("lock %s: %w", userID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, time.Time{}, err
	}
	if locked > at.UnixMilli() {
		return n, fromMillis(locked), nil
	}
	return n, time.Time{}, nil
}

// RecordLoginSuccess resets the failure count.
func (d *DB) RecordLoginSuccess(ctx context.Context, tenantID, userID string, at time.Time) error {
	res, err := d.db.ExecContext(ctx, `UPDATE users SET failed_logins = 0, last_login_at = $1 WHERE tenant_id = $2 AND id = $3`,
		at.UnixMilli(), tenantID, userID)
	if err != nil {
		return fmt.Errorf("record login of %s: %w", userID, err)
	}
	return affected(res, "user "+userID)
}

// Unlock clears the lock.
func (d *DB) Unlock(ctx context.Context, tenantID, userID string) error {
	res, err := d.db.ExecContext(ctx, `UPDATE users SET failed_logins = 0, locked_until = 0 WHERE tenant_id = $1 AND id = $2`, tenantID, userID)
	if err != nil {
		return fmt.Errorf("unlock %s: %w", userID, err)
	}
	return affected(res, "user "+userID)
}

// UseTOTPStep accepts a step once: the update only matches while the
// stored step is older, so two concurrent logins cannot both use a code.
func (d *DB) UseTOTPStep(ctx context.Context, tenantID, userID string, step int64) (bool, error) {
	res, err := d.db.ExecContext(ctx, `UPDATE users SET totp_last_step = $1 WHERE tenant_id = $2 AND id = $3 AND totp_last_step < $1`,
		step, tenantID, userID)
	if err != nil {
		return false, fmt.Errorf("use TOTP step of %s: %w", userID, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ReplaceRecoveryCodes stores a new set of code hashes.
func (d *DB) ReplaceRecoveryCodes(ctx context.Context, tenantID, userID string, hashes []string) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	var one int
	if err := tx.QueryRowContext(ctx, `SELECT 1 FROM users WHERE tenant_id = $1 AND id = $2`, tenantID, userID).Scan(&one); err != nil {
		return fmt.Errorf("recovery codes of %s: %w", userID, mapErr(err))
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, userID); err != nil {
		return err
	}
	for _, h := range hashes {
		if _, err := tx.ExecContext(ctx, `INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)`, userID, h); err != nil {
			return fmt.Errorf("recovery codes of %s: %w", userID, mapErr(err))
		}
	}
	return tx.Commit()
}

// UseRecoveryCode marks a code used, once.
func (d *DB) UseRecoveryCode(ctx context.Context, tenantID, userID, hash string, at time.Time) (bool, error) {
	res, err := d.db.ExecContext(ctx, `UPDATE recovery_codes SET used_at = $1
		WHERE user_id = $2 AND code_hash = $3 AND used_at = 0
		AND EXISTS (SELECT 1 FROM users WHERE users.id = $2 AND users.tenant_id = $4)`,
		at.UnixMilli(), userID, hash, tenantID)
	if err != nil {
		return false, fmt.Errorf("use recovery code of %s: %w", userID, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// RecoveryCodesLeft counts unused recovery codes.
func (d *DB) RecoveryCodesLeft(ctx context.Context, tenantID, userID string) (int, error) {
	var n int
	err := d.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM recovery_codes r JOIN users u ON u.id = r.user_id
		WHERE u.tenant_id = $1 AND r.user_id = $2 AND r.used_at = 0`, tenantID, userID).Scan(&n)
	return n, err
}
