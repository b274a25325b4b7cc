package sqlite

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/lotse-io/lotse/store"
)

// CreateSession stores a new session.
func (d *DB) CreateSession(ctx context.Context, s store.Session) error {
	_, err := d.db.ExecContext(ctx, `INSERT INTO sessions (id, token_hash, tenant_id, user_id, csrf_token, stage, created_at, last_seen_at, ip, user_agent)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		s.ID, s.TokenHash, s.TenantID, s.UserID, s.CSRFToken, s.Stage, millis(s.CreatedAt), millis(s.LastSeenAt), s.IP, s.UserAgent)
	if err != nil {
		return fmt.Errorf("create session for %s: %w", s.UserID, mapErr(err))
	}
	return nil
}

// SessionByTokenHash finds a session by the hash of its token.
func (d *DB) SessionByTokenHash(ctx context.Context, tokenHash string) (store.Session, error) {
	var s store.Session
	var created, seen int64
	err := d.db.QueryRowContext(ctx, `SELECT id, token_hash, tenant_id, user_id, csrf_token, stage, created_at, last_seen_at, ip, user_agent
		FROM sessions WHERE token_hash = $1`, tokenHash).
		Scan(&s.ID, &s.TokenHash, &s.TenantID, &s.UserID, &s.CSRFToken, &s.Stage, &created, &seen, &s.IP, &s.UserAgent)
	if err != nil {
		return store.Session{}, fmt.Errorf("session: %w", mapErr(err))
	}
	s.CreatedAt, s.LastSeenAt = fromMillis(created), fromMillis(seen)
	return s, nil
}

// TouchSession records activity.
func (d *DB) TouchSession(ctx context.Context, id string, at time.Time) error {
	_, err := d.db.ExecContext(ctx, `UPDATE sessions SET last_seen_at = $1 WHERE id = $2`, at.UnixMilli(), id)
	return err
}

// DeleteSession ends one session.
func (d *DB) DeleteSession(ctx context.Context, id string) error {
	_, err := d.db.ExecContext(ctx, `DELETE FROM sessions WHERE id = $1`, id)
	return err
}

// DeleteUserSessions ends all sessions of a user.
func (d *DB) DeleteUserSessions(ctx context.Context, tenantID, userID string) (int, error) {
	res, err := d.db.ExecContext(ctx, `DELETE FROM sessions WHERE tenant_id = $1 AND user_id = $2`, tenantID, userID)
	if err != nil {
		return 0, fmt.Errorf("end sessions of %s: %w", userID, err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// CreateAPIKey stores a new key.
func (d *DB) CreateAPIKey(ctx context.Context, k store.APIKey) error {
	_, err := d.db.ExecContext(ctx, `INSERT INTO api_keys (id, tenant_id, name, prefix, key_hash, permissions, created_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		k.ID, k.TenantID, k.Name, k.Prefix, k.KeyHash, strings.Join(k.Permissions, " "), k.CreatedBy, millis(k.CreatedAt))
	if err != nil {
		return fmt.Errorf("create API key in tenant %s: %w", k.TenantID, mapErr(err))
	}
	return nil
}

const apiKeyCols = `id, tenant_id, name, prefix, key_hash, permissions, created_by, created_at, last_used_at, revoked_at`

func scanAPIKey(row interface{ Scan(...any) error }) (store.APIKey, error) {
	var k store.APIKey
	var perms string
	var created, used, revoked int64
	if err := row.Scan(&k.ID, &k.TenantID, &k.Name, &k.Prefix, &k.KeyHash, &perms, &k.CreatedBy, &created, &used, &revoked); err != nil {
		return store.APIKey{}, err
	}
	k.Permissions = strings.Fields(perms)
	k.CreatedAt, k.LastUsedAt, k.RevokedAt = fromMillis(created), optMillis(used), optMillis(revoked)
	return k, nil
}

// APIKeyByHash finds a key by the hash of its secret.
func (d *DB) APIKeyByHash(ctx context.Context, keyHash string) (store.APIKey, error) {
	k, err := scanAPIKey(d.db.QueryRowContext(ctx, `SELECT `+apiKeyCols+` FROM api_keys WHERE key_hash = $1`, keyHash))
	if err != nil {
		return store.APIKey{}, fmt.Errorf("API key: %w", mapErr(err))
	}
	return k, nil
}

// ListAPIKeys returns a tenant's keys, newest first.
func (d *DB) ListAPIKeys(ctx context.Context, tenantID string) ([]store.APIKey, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT `+apiKeyCols+` FROM api_keys WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("list API keys of %s: %w", tenantID, err)
	}
	defer rows.Close()
	var out []store.APIKey
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// RevokeAPIKey revokes a key of a tenant.
func (d *DB) RevokeAPIKey(ctx context.Context, tenantID, id string, at time.Time) error {
	res, err := d.db.ExecContext(ctx, `UPDATE api_keys SET revoked_at = $1 WHERE tenant_id = $2 AND id = $3 AND revoked_at = 0`,
		at.UnixMilli(), tenantID, id)
	if err != nil {
		return fmt.Errorf("revoke API key %s: %w", id, err)
	}
	return affected(res, "API key "+id)
}

// TouchAPIKey records use of a key.
func (d *DB) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	_, err := d.db.ExecContext(ctx, `UPDATE api_keys SET last_used_at = $1 WHERE id = $2`, at.UnixMilli(), id)
	return err
}
