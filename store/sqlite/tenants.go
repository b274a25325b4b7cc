package sqlite

import (
	"context"
	"database/sql"
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
	_, err := ex.ExecContext(ctx, `INSERT INTO tenants (id, slug, name, created_at) VALUES ($1, $2, $3, $4)`,
		t.ID, t.Slug, t.Name, millis(t.CreatedAt))
	if err != nil {
		return store.Tenant{}, fmt.Errorf("create tenant %s: %w", t.Slug, mapErr(err))
	}
	return t, nil
}

// TenantBySlug finds a tenant by its slug.
func (d *DB) TenantBySlug(ctx context.Context, slug string) (store.Tenant, error) {
	var t store.Tenant
	var created int64
	err := d.db.QueryRowContext(ctx, `SELECT id, slug, name, created_at FROM tenants WHERE slug = $1`, slug).
		Scan(&t.ID, &t.Slug, &t.Name, &created)
	if err != nil {
		return store.Tenant{}, fmt.Errorf("tenant %s: %w", slug, mapErr(err))
	}
	t.CreatedAt = fromMillis(created)
	return t, nil
}

// ListTenants returns all tenants ordered by slug.
func (d *DB) ListTenants(ctx context.Context) ([]store.Tenant, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT id, slug, name, created_at FROM tenants ORDER BY slug`)
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	defer rows.Close()
	var out []store.Tenant
	for rows.Next() {
		var t store.Tenant
		var created int64
		if err := rows.Scan(&t.ID, &t.Slug, &t.Name, &created); err != nil {
			return nil, fmt.Errorf("list tenants: %w", err)
		}
		t.CreatedAt = fromMillis(created)
		out = append(out, t)
	}
	return out, rows.Err()
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
	var u store.User
	var role string
	var created int64
	err := d.db.QueryRowContext(ctx, `SELECT id, tenant_id, email, display_name, role, password_hash, disabled, created_at
		FROM users WHERE tenant_id = $1 AND email = $2`, tenantID, email).
		Scan(&u.ID, &u.TenantID, &u.Email, &u.DisplayName, &role, &u.PasswordHash, &u.Disabled, &created)
	if err != nil {
		return store.User{}, fmt.Errorf("user in tenant %s: %w", tenantID, mapErr(err))
	}
	u.Role = store.Role(role)
	u.CreatedAt = fromMillis(created)
	return u, nil
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
