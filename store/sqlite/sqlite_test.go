package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lotse-io/lotse/store"
)

func openTest(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), Config{Path: filepath.Join(t.TempDir(), "t.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func tableNames(t *testing.T, db *DB) string {
	t.Helper()
	rows, err := db.SQL().Query(`SELECT name FROM sqlite_master WHERE type IN ('table','trigger') ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	return strings.Join(names, ",")
}

func TestOpenSettings(t *testing.T) {
	db := openTest(t)
	for pragma, want := range map[string]string{"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": "5000"} {
		var got string
		if err := db.SQL().QueryRow(`PRAGMA ` + pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %s, want %s", pragma, got, want)
		}
	}
}

func TestMigrationsEmptyAndUpToDate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	ctx := context.Background()
	db, err := Open(ctx, Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	want := tableNames(t, db)
	for _, name := range []string{"tenants", "users", "audit_log", "schema_migrations"} {
		if !strings.Contains(want, name) {
			t.Errorf("table %s missing after migrating an empty database: %s", name, want)
		}
	}
	migs, _ := Migrations()
	n, err := store.Migrate(ctx, db.SQL(), migs)
	if err != nil || n != 0 {
		t.Fatalf("second Migrate on an up-to-date database applied %d, err %v", n, err)
	}
	db.Close()
	db, err = Open(ctx, Config{Path: path}) // reopening is the same check through Open
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := tableNames(t, db); got != want {
		t.Errorf("schema changed on reopen: %s -> %s", want, got)
	}
}

func TestFailedMigrationLeavesDatabaseAsItWas(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "f.db")
	migs, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	db, err := Open(ctx, Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateTenant(ctx, store.Tenant{Slug: "keep", Name: "Keep"}); err != nil {
		t.Fatal(err)
	}
	before := tableNames(t, db)
	db.Close()

	bad := append(append([]store.Migration(nil), migs...), store.Migration{
		Version: len(migs) + 1, Name: "broken",
		SQL: "CREATE TABLE half_done (id TEXT);\nALTER TABLE tenants ADD COLUMN extra TEXT;\nINSERT INTO no_such_table VALUES (1);\n",
	})
	_, err = OpenWith(ctx, Config{Path: path}, bad)
	var me *store.MigrationError
	if !errors.As(err, &me) || me.Version != len(migs)+1 {
		t.Fatalf("OpenWith with a broken migration = %v, want MigrationError for version %d", err, len(migs)+1)
	}

	db, err = Open(ctx, Config{Path: path})
	if err != nil {
		t.Fatalf("database unusable after failed migration: %v", err)
	}
	defer db.Close()
	if after := tableNames(t, db); after != before {
		t.Errorf("schema changed by a failed migration:\nbefore %s\nafter  %s", before, after)
	}
	var version int
	db.SQL().QueryRow(`SELECT MAX(version) FROM schema_migrations`).Scan(&version)
	if version != len(migs) {
		t.Errorf("schema version %d after failed migration, want %d", version, len(migs))
	}
	if _, err := db.SQL().Exec(`SELECT extra FROM tenants`); err == nil {
		t.Error("column added by the failed migration survived")
	}
	if _, err := db.TenantBySlug(ctx, "keep"); err != nil {
		t.Errorf("data lost by a failed migration: %v", err)
	}
}

func TestSchemaNewerThanBinary(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "n.db")
	migs, _ := Migrations()
	more := append(append([]store.Migration(nil), migs...), store.Migration{Version: len(migs) + 1, Name: "future", SQL: "CREATE TABLE future (id TEXT);"})
	db, err := OpenWith(ctx, Config{Path: path}, more)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Open(ctx, Config{Path: path}); !errors.Is(err, store.ErrSchemaTooNew) {
		t.Fatalf("Open of a newer database = %v, want ErrSchemaTooNew", err)
	}
}

func TestTenantsAndUsers(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	a, err := db.CreateTenant(ctx, store.Tenant{Slug: "a", Name: "A"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateTenant(ctx, store.Tenant{Slug: "a", Name: "again"}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate slug = %v, want ErrConflict", err)
	}
	b, _ := db.CreateTenant(ctx, store.Tenant{Slug: "b", Name: "B"})
	u := store.User{TenantID: a.ID, Email: "x@a.example", Role: store.RoleAdvisor, PasswordHash: "h"}
	if _, err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateUser(ctx, u); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate e-mail in one tenant = %v, want ErrConflict", err)
	}
	u.TenantID = b.ID // the same e-mail in another tenant is a different person
	if _, err := db.CreateUser(ctx, u); err != nil {
		t.Fatalf("same e-mail in another tenant: %v", err)
	}
	if _, err := db.UserByEmail(ctx, a.ID, "nobody@a.example"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown user = %v, want ErrNotFound", err)
	}
	got, err := db.UserByEmail(ctx, a.ID, "x@a.example")
	if err != nil || got.TenantID != a.ID || got.Role != store.RoleAdvisor {
		t.Fatalf("UserByEmail = %+v, %v", got, err)
	}
	bad := store.User{TenantID: "no-such-tenant", Email: "y@a.example", Role: store.RoleAdmin, PasswordHash: "h"}
	if _, err := db.CreateUser(ctx, bad); err == nil {
		t.Fatal("user for a missing tenant accepted: foreign keys are off")
	}
}

func TestBootstrapOnce(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	u := store.User{Email: "admin@demo.local", Role: store.RoleAdmin, PasswordHash: "h"}
	created, err := db.Bootstrap(ctx, store.Tenant{Slug: "demo", Name: "Demo"}, u)
	if err != nil || !created {
		t.Fatalf("first Bootstrap = %v, %v", created, err)
	}
	created, err = db.Bootstrap(ctx, store.Tenant{Slug: "demo2", Name: "Demo"}, u)
	if err != nil || created {
		t.Fatalf("second Bootstrap = %v, %v; want no change", created, err)
	}
	ts, _ := db.ListTenants(ctx)
	if len(ts) != 1 {
		t.Fatalf("%d tenants after two bootstraps", len(ts))
	}
	ev, _ := db.AuditEvents(ctx, ts[0].ID, 0, 0)
	if len(ev) != 2 || ev[0].Action != "tenant.created" || ev[1].Action != "user.created" {
		t.Fatalf("bootstrap audit rows = %+v", ev)
	}
}

func TestAuditChain(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	ten, _ := db.CreateTenant(ctx, store.Tenant{Slug: "a", Name: "A"})
	other, _ := db.CreateTenant(ctx, store.Tenant{Slug: "b", Name: "B"})

	// Concurrent writers still produce one gap-free chain per tenant.
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := 0; i < 20; i++ {
		for _, tid := range []string{ten.ID, other.ID} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := db.AppendAudit(ctx, store.AuditEvent{TenantID: tid, Actor: "test", Action: "x",
					Detail: map[string]string{"i": time.Now().String()}})
				errs <- err
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	ev, err := db.AuditEvents(ctx, ten.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev) != 20 {
		t.Fatalf("%d events, want 20", len(ev))
	}
	if broken := store.VerifyChain(ev); broken != 0 {
		t.Fatalf("chain broken at %d", broken)
	}
	// The database refuses to change or delete history.
	if _, err := db.SQL().Exec(`UPDATE audit_log SET actor = 'mallory' WHERE seq = 3`); err == nil {
		t.Error("UPDATE of audit_log succeeded")
	}
	if _, err := db.SQL().Exec(`DELETE FROM audit_log WHERE seq = 3`); err == nil {
		t.Error("DELETE from audit_log succeeded")
	}
}
