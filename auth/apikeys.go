package auth

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/lotse-io/lotse/store"
)

// apiKeyPrefix starts every API key, so that secret scanners recognise
// leaked keys.
const apiKeyPrefix = "lotse_sk_"

// CreateAPIKey makes a key for the bank's backend with the given
// permissions and returns it once; only its hash is stored.
func (s *Service) CreateAPIKey(ctx context.Context, p *Principal, name string, perms []string) (store.APIKey, string, error) {
	if err := s.requireAdmin(ctx, p, "api_keys.create"); err != nil {
		return store.APIKey{}, "", err
	}
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return store.APIKey{}, "", &ValidationError{"name", "1 to 100 characters"}
	}
	if len(perms) == 0 {
		return store.APIKey{}, "", &ValidationError{"permissions", "name at least one of " + strings.Join(AllPermissions, ", ")}
	}
	for _, perm := range perms {
		if !slices.Contains(AllPermissions, perm) {
			return store.APIKey{}, "", &ValidationError{"permissions", "unknown permission " + perm}
		}
	}
	secret := apiKeyPrefix + NewToken(32)
	k := store.APIKey{ID: store.NewID(), TenantID: p.TenantID, Name: name, Prefix: secret[:len(apiKeyPrefix)+6],
		KeyHash: HashToken(secret), Permissions: slices.Compact(slices.Sorted(slices.Values(perms))),
		CreatedBy: p.Actor(), CreatedAt: s.now()}
	if err := s.st.CreateAPIKey(ctx, k); err != nil {
		return store.APIKey{}, "", err
	}
	s.audit(ctx, p.TenantID, p.Actor(), "api_key.created", "api_key:"+k.ID, p.IP,
		map[string]string{"name": name, "permissions": strings.Join(k.Permissions, " ")})
	return k, secret, nil
}

// APIKeys lists the tenant's keys (never their secrets).
func (s *Service) APIKeys(ctx context.Context, p *Principal) ([]store.APIKey, error) {
	if err := s.requireAdmin(ctx, p, "api_keys.list"); err != nil {
		return nil, err
	}
	return s.st.ListAPIKeys(ctx, p.TenantID)
}

// RevokeAPIKey revokes a key; it stops working at once.
func (s *Service) RevokeAPIKey(ctx context.Context, p *Principal, id string) error {
	if err := s.requireAdmin(ctx, p, "api_keys.revoke"); err != nil {
		return err
	}
	if err := s.st.RevokeAPIKey(ctx, p.TenantID, id, s.now()); err != nil {
		return err
	}
	s.audit(ctx, p.TenantID, p.Actor(), "api_key.revoked", "api_key:"+id, p.IP, nil)
	return nil
}

// AuthenticateAPIKey returns the principal of a bearer key.
func (s *Service) AuthenticateAPIKey(ctx context.Context, key, ip string) (*Principal, error) {
	if !strings.HasPrefix(key, apiKeyPrefix) || len(key) > 100 {
		return nil, ErrUnauthenticated
	}
	k, err := s.st.APIKeyByHash(ctx, HashToken(key))
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrUnauthenticated
	}
	if err != nil {
		return nil, err
	}
	if !k.RevokedAt.IsZero() {
		return nil, ErrUnauthenticated
	}
	t, err := s.st.TenantByID(ctx, k.TenantID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	if now.Sub(k.LastUsedAt) > time.Minute {
		if err := s.st.TouchAPIKey(ctx, k.ID, now); err != nil {
			return nil, err
		}
	}
	return &Principal{Kind: KindAPIKey, TenantID: t.ID, TenantSlug: t.Slug, Settings: t.Settings,
		APIKeyID: k.ID, Permissions: k.Permissions, Stage: StageFull, IP: ip}, nil
}
