package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/lotse-io/lotse/store"
)

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// CreateTenant inserts t, filling in ID and CreatedAt when empty.
func (d *DB) CreateTenant(ctx context.Context, t store.Tenant) (store.Tenant, error) {
	return createTenant(ctx, d.db, t)
}

func createTenant(ctx context.Context, ex execer, t store.Tenant) (store.Tenant, error) {
	if t.ID == "" {
		t.ID = store.NewID()
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = now()
	}
	if t.Settings.Password.MinLength == 0 {
		t.Settings = store.DefaultTenantSettings()
	}
	settings, err := json.Marshal(t.Settings)
	if err != nil {
		return store.Tenant{}, fmt.Errorf("create tenant %s: %w", t.Slug, err)
	}
	if t.SiteKey == "" {
		t.SiteKey = newSiteKey()
	}
	_, err = ex.ExecContext(ctx, `INSERT INTO tenants (id, slug, name, site_key, settings, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		t.ID, t.Slug, t.Name, t.SiteKey, string(settings), millis(t.CreatedAt))
	if err != nil {
		return store.Tenant{}, fmt.Errorf("create tenant %s: %w", t.Slug, mapErr(err))
	}
	return t, nil
}

const tenantCols = `id, slug, name, site_key, settings, created_at`

func scanTenant(row interface{ Scan(...any) error }) (store.Tenant, error) {
	var t store.Tenant
	var created int64
	var settings string
	if err := row.Scan(&t.ID, &t.Slug, &t.Name, &t.SiteKey, &settings, &created); err != nil {
		return store.Tenant{}, err
	}
	t.Settings = store.DefaultTenantSettings()
	if err := json.Unmarshal([]byte(settings), &t.Settings); err != nil {
		return store.Tenant{}, fmt.Errorf("settings: %w", err)
	}
	t.CreatedAt = fromMillis(created)
	return t, nil
}

// TenantBySlug finds a tenant by its slug.
func (d *DB) TenantBySlug(ctx context.Context, slug string) (store.Tenant, error) {
	t, err := scanTenant(d.db.QueryRowContext(ctx, `SELECT `+tenantCols+` FROM tenants WHERE slug = $1`, slug))
	if err != nil {
		return store.Tenant{}, fmt.Errorf("tenant %s: %w", slug, mapErr(err))
	}
	return t, nil
}

// TenantBySiteKey finds a tenant by the public key of its SDK embed.
func (d *DB) TenantBySiteKey(ctx context.Context, key string) (store.Tenant, error) {
	if key == "" {
		return store.Tenant{}, store.ErrNotFound
	}
	t, err := scanTenant(d.db.QueryRowContext(ctx, `SELECT `+tenantCols+` FROM tenants WHERE site_key = $1`, key))
	if err != nil {
		return store.Tenant{}, fmt.Errorf("tenant by site key: %w", mapErr(err))
	}
	return t, nil
}

// newSiteKey returns a public site key: "pk_" and 16 random bytes.
func newSiteKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "pk_" + hex.EncodeToString(b)
}

// TenantByID finds a tenant by its id.
func (d *DB) TenantByID(ctx context.Context, id string) (store.Tenant, error) {
	t, err := scanTenant(d.db.QueryRowContext(ctx, `SELECT `+tenantCols+` FROM tenants WHERE id = $1`, id))
	if err != nil {
		return store.Tenant{}, fmt.Errorf("tenant %s: %w", id, mapErr(err))
	}
	return t, nil
}

// UpdateTenantSettings replaces a tenant's settings.
func (d *DB) UpdateTenantSettings(ctx context.Context, id string, s store.TenantSettings) error {
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("update tenant %s settings: %w", id, err)
	}
	res, err := d.db.ExecContext(ctx, `UPDATE tenants SET settings = $1 WHERE id = $2`, string(b), id)
	if err != nil {
		return fmt.Errorf("update tenant %s settings: %w", id, err)
	}
	return affected(res, "tenant "+id)
}

// ListTenants returns all tenants ordered by slug.
func (d *DB) ListTenants(ctx context.Context) ([]store.Tenant, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT `+tenantCols+` FROM tenants ORDER BY slug`)
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	defer rows.Close()
	var out []store.Tenant
	for rows.Next() {
		t, err := scanTenant(rows)
		if err != nil {
			return nil, fmt.Errorf("list tenants: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// affected turns "no row changed" into ErrNotFound.
func affected(res sql.Result, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}

// CreateUser inserts u, filling in ID and CreatedAt when empty.
func (d *DB) CreateUser(ctx context.Context, u store.User) (store.User, error) {
	return createUser(ctx, d.db, u)
}

func createUser(ctx context.Context, ex execer, u store.User) (store.User, error) {
	if u.ID == "" {
		u.ID = store.NewID()
	}
	if u.CreatedAt.IsZero() {
		u.CreatedAt = now()
	}
	_, err := ex.ExecContext(ctx, `INSERT INTO users (id, tenant_id, email, display_name, role, password_hash, disabled, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		u.ID, u.TenantID, u.Email, u.DisplayName, string(u.Role), u.PasswordHash, u.Disabled, millis(u.CreatedAt))
	if err != nil {
		return store.User{}, fmt.Errorf("create user in tenant %s: %w", u.TenantID, mapErr(err))
	}
	return u, nil
}

// UserByEmail finds a user of one tenant by e-mail.
func (d *DB) UserByEmail(ctx context.Context, tenantID, email string) (store.User, error) {
	r, err := d.UserRecordByEmail(ctx, tenantID, email)
	return r.User, err
}

// Bootstrap creates the first tenant and admin if no tenant exists yet.
func (d *DB) Bootstrap(ctx context.Context, t store.Tenant, u store.User) (bool, error) {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("bootstrap: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM tenants`).Scan(&n); err != nil {
		return false, fmt.Errorf("bootstrap: %w", err)
	}
	if n > 0 {
		return false, nil
	}
	if t, err = createTenant(ctx, tx, t); err != nil {
		return false, fmt.Errorf("bootstrap: %w", err)
	}
	u.TenantID = t.ID
	if u, err = createUser(ctx, tx, u); err != nil {
		return false, fmt.Errorf("bootstrap: %w", err)
	}
	for _, e := range []store.AuditEvent{
		{TenantID: t.ID, Actor: "system:bootstrap", Action: "tenant.created", Target: "tenant:" + t.ID},
		{TenantID: t.ID, Actor: "system:bootstrap", Action: "user.created", Target: "user:" + u.ID,
			Detail: map[string]string{"role": string(u.Role)}},
	} {
		if _, err := appendAudit(ctx, tx, e); err != nil {
			return false, fmt.Errorf("bootstrap: %w", err)
		}
	}
	return true, tx.Commit()
}
