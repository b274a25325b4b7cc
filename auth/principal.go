package auth

import (
	"context"
	"crypto/subtle"
	"slices"

	"github.com/lotse-io/lotse/store"
)

// Kind is the kind of principal.
type Kind string

// Principal kinds.
const (
	KindStaff  Kind = "staff"   // an admin or advisor with a session cookie
	KindAPIKey Kind = "api_key" // the bank's backend with a bearer key
	KindSystem Kind = "system"  // Lotse itself (retention, timeouts)
)

// Permissions an API key can hold. Staff get theirs from their role.
const (
	PermConversationsRead  = "conversations:read"
	PermConversationsWrite = "conversations:write"
	PermRecordsRead        = "records:read"
	PermRecordsDelete      = "records:delete"
)

// AllPermissions lists the permissions an API key may be given.
var AllPermissions = []string{PermConversationsRead, PermConversationsWrite, PermRecordsRead, PermRecordsDelete}

// Principal is who a request acts for. Its TenantID is the only source of
// the tenant for everything the request touches.
type Principal struct {
	Kind       Kind
	TenantID   string
	TenantSlug string
	Settings   store.TenantSettings

	// Staff.
	UserID      string
	Email       string
	DisplayName string
	Role        store.Role
	Stage       string
	Session     *store.Session

	// API key.
	APIKeyID    string
	Permissions []string

	IP string // client address of the request
}

func staffPrincipal(t store.Tenant, u store.User, sess store.Session, ip string) *Principal {
	return &Principal{Kind: KindStaff, TenantID: t.ID, TenantSlug: t.Slug, Settings: t.Settings, UserID: u.ID,
		Email: u.Email, DisplayName: u.DisplayName, Role: u.Role, Stage: sess.Stage, Session: &sess, IP: ip}
}

// Actor names the principal in the audit log.
func (p *Principal) Actor() string {
	switch p.Kind {
	case KindAPIKey:
		return "api_key:" + p.APIKeyID
	case KindSystem:
		return "system"
	}
	return "user:" + p.UserID
}

// IsAdmin reports whether p is a fully signed-in tenant admin.
func (p *Principal) IsAdmin() bool {
	return p.Kind == KindStaff && p.Role == store.RoleAdmin && p.Stage == StageFull
}

// Can reports whether p holds perm: staff hold every conversation and
// record permission once fully signed in (admins also delete records);
// API keys hold what they were given.
func (p *Principal) Can(perm string) bool {
	switch p.Kind {
	case KindStaff:
		if p.Stage != StageFull {
			return false
		}
		return perm != PermRecordsDelete || p.Role == store.RoleAdmin
	case KindAPIKey:
		return slices.Contains(p.Permissions, perm)
	}
	return false
}

// CheckCSRF reports whether token is p's session CSRF token.
func (p *Principal) CheckCSRF(token string) bool {
	return p.Session != nil && token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(p.Session.CSRFToken)) == 1
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal of ctx, or nil.
func FromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}
