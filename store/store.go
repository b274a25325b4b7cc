// Package store persists Lotse's records behind small interfaces.
//
// The interfaces here are what the rest of Lotse depends on; store/sqlite is
// the embedded default for a single node, and a PostgreSQL implementation can
// satisfy the same interfaces for cluster mode. SQL in the implementations is
// written with $N placeholders and portable types (TEXT, BIGINT, BOOLEAN)
// so that the same statements run on both databases. Every row that belongs
// to a bank carries its tenant id; callers pass the tenant taken from the
// authenticated principal, never from a request parameter.
package store

import (
	"context"
	"time"
)

// Tenant is one bank (or other organisation) using Lotse.
type Tenant struct {
	ID        string
	Slug      string // short name used at login and in URLs, e.g. "demo"
	Name      string // display name
	SiteKey   string // public key of the one-line SDK embed ("pk_...")
	Settings  TenantSettings
	CreatedAt time.Time
}

// Role is a staff member's role within a tenant.
type Role string

// Staff roles.
const (
	RoleAdmin   Role = "admin"
	RoleAdvisor Role = "advisor"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleAdvisor }

// User is a staff account (admin or advisor) of one tenant.
type User struct {
	ID           string
	TenantID     string
	Email        string // lower-cased; unique within the tenant
	DisplayName  string
	Role         Role
	PasswordHash string // PHC string; never logged
	Disabled     bool
	CreatedAt    time.Time
}

// Tenants stores tenants.
type Tenants interface {
	CreateTenant(ctx context.Context, t Tenant) (Tenant, error)
	TenantBySlug(ctx context.Context, slug string) (Tenant, error)
	TenantBySiteKey(ctx context.Context, key string) (Tenant, error)
	ListTenants(ctx context.Context) ([]Tenant, error)
}

// Users stores staff accounts.
type Users interface {
	CreateUser(ctx context.Context, u User) (User, error)
	UserByEmail(ctx context.Context, tenantID, email string) (User, error)
}

// Bootstrapper creates the first tenant and its first admin, exactly once.
type Bootstrapper interface {
	// Bootstrap creates t and u (and the matching audit rows) in one
	// transaction if no tenant exists yet. It reports false, and changes
	// nothing, when the database already holds a tenant.
	Bootstrap(ctx context.Context, t Tenant, u User) (created bool, err error)
}

// Store is everything a node needs from its database.
type Store interface {
	Tenants
	TenantAdmin
	Users
	Accounts
	Sessions
	APIKeys
	Conversations
	Bootstrapper
	AuditLog
	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
	Close() error
}
