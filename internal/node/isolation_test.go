package node

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/lotse-io/lotse/internal/route"
	"github.com/lotse-io/lotse/store"
)

// TestTenantIsolation calls every route of the node — the same list the
// router is built from, so a new route cannot be forgotten — as tenant A's
// admin with tenant B's ids. Routes with ids must answer 404; no answer may
// contain any of B's data; B's records must be unchanged afterwards.
func TestTenantIsolation(t *testing.T) {
	e := newEnv(t, fastHasher, nil)
	ctx := context.Background()

	// Tenant B with an admin, an advisor and an API key.
	bAdmin := e.addUser("bank-b", "boss@bank-b.example", store.RoleAdmin, "B-Admin-Password-1")
	bAdv := e.addUser("bank-b", "berta@bank-b.example", store.RoleAdvisor, "B-Advisor-Password-1")
	bc := e.mustLogin("bank-b", "boss@bank-b.example", "B-Admin-Password-1")
	r := bc.do("POST", "/api/v1/admin/api-keys", map[string]any{"name": "B backend", "permissions": []string{"conversations:read"}})
	var bKey struct {
		APIKey struct{ ID, Prefix string } `json:"api_key"`
	}
	r.json(t, &bKey)
	bSettingsBefore := e.tenant("bank-b").Settings
	r = bc.do("POST", "/api/v1/conversations", map[string]string{"subject": "B secret subject", "customer_name": "B Kundin"})
	var bConv created
	r.json(t, &bConv)
	if r.status != 201 {
		t.Fatalf("create B conversation: %d %s", r.status, r.body)
	}
	// Tenant A's backend key, with every permission.
	a0 := e.mustLogin("demo", "admin@demo.local", adminPassword)
	r = a0.do("POST", "/api/v1/admin/api-keys", map[string]any{"name": "A backend", "permissions": []string{"conversations:read", "conversations:write", "records:read", "records:delete"}})
	var aKey struct{ Key string }
	r.json(t, &aKey)

	// Everything that would betray B if it showed up in A's answers.
	secrets := []string{"bank-b", "BANK-B", "boss@bank-b.example", "berta@bank-b.example", bAdmin.ID, bAdv.ID, bKey.APIKey.ID, bKey.APIKey.Prefix,
		"B backend", bConv.ID, "B secret subject", "B Kundin"}
	ids := map[string]string{"user": bAdv.ID, "api_key": bKey.APIKey.ID, "conversation": bConv.ID, "share_token": shareToken(bConv.ShareURL)}

	for _, rt := range e.n.Routes() {
		t.Run(rt.Pattern(), func(t *testing.T) {
			path := rt.Path
			for param, kind := range rt.IDKinds {
				id, ok := ids[kind]
				if !ok {
					t.Fatalf("no tenant-B fixture for id kind %q: add one to this test", kind)
				}
				path = strings.ReplaceAll(path, "{"+param+"}", url.PathEscape(id))
			}
			if strings.Contains(path, "{") {
				t.Fatalf("route %s has a wildcard without IDKinds", rt.Pattern())
			}
			callers := map[string]*client{"admin session": e.mustLogin("demo", "admin@demo.local", adminPassword)}
			if rt.APIPerm != "" {
				callers["API key"] = &client{e: e, bearer: aKey.Key}
			}
			for who, a := range callers {
				var body any
				if rt.Method != "GET" {
					if strings.HasPrefix(rt.Path, "/console") {
						body = "csrf_token=" + url.QueryEscape(a.csrf)
					} else {
						body = []byte(`{}`)
					}
				}
				res := a.do(rt.Method, path, body)
				if len(rt.IDKinds) > 0 && rt.Access != route.Public && res.status != 404 {
					t.Errorf("%s: %s %s with tenant B's id = %d %s, want 404", who, rt.Method, path, res.status, res.body)
				}
				if res.status >= 500 {
					t.Errorf("%s: %s %s = %d", who, rt.Method, path, res.status)
				}
				for _, s := range secrets {
					if strings.Contains(string(res.body), s) {
						t.Errorf("%s: %s %s answer contains tenant B's %q", who, rt.Method, path, s)
					}
				}
			}
		})
	}

	// B is untouched.
	rec, err := e.n.db.UserRecord(ctx, bAdv.TenantID, bAdv.ID)
	if err != nil || rec.Role != store.RoleAdvisor || rec.Disabled || rec.Security.MustChangePassword {
		t.Errorf("tenant B's advisor changed: %+v %v", rec, err)
	}
	keys, _ := e.n.db.ListAPIKeys(ctx, bAdv.TenantID)
	if len(keys) != 1 || !keys[0].RevokedAt.IsZero() {
		t.Errorf("tenant B's API key changed: %+v", keys)
	}
	if got := e.tenant("bank-b").Settings; got.Password != bSettingsBefore.Password || got.RetentionDays != bSettingsBefore.RetentionDays {
		t.Errorf("tenant B's settings changed")
	}
	if rec, err := e.n.db.Conversation(ctx, bAdv.TenantID, bConv.ID); err != nil || rec.State != "created" || rec.Share.Revoked {
		t.Errorf("tenant B's conversation changed: %+v %v", rec, err)
	}
	if len(e.auditActions("bank-b")) == 0 {
		t.Fatal("tenant B has no audit rows at all")
	}
	for _, a := range e.auditActions("bank-b") {
		if strings.Contains(a, "demo") {
			t.Errorf("tenant A's actions ended up in B's audit log: %s", a)
		}
	}
}
