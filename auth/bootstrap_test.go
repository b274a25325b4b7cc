package auth

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lotse-io/lotse/store/sqlite"
)

func TestBootstrap(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "b.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	h := NewHasher(fastParams, 1)

	if _, err := Bootstrap(ctx, db, h, BootstrapOptions{Password: "short"}); err == nil {
		t.Fatal("weak bootstrap password accepted")
	}
	if _, err := Bootstrap(ctx, db, h, BootstrapOptions{Email: "Not An Address"}); !errors.Is(err, ErrBadEmail) {
		t.Fatalf("bad e-mail: %v", err)
	}
	res, err := Bootstrap(ctx, db, h, BootstrapOptions{Email: " Admin@Demo.Local "})
	if err != nil || !res.Created || !res.Generated || res.Password == "" || res.Email != "admin@demo.local" {
		t.Fatalf("first bootstrap = %+v, %v", res, err)
	}
	ten, err := db.TenantBySlug(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	u, err := db.UserByEmail(ctx, ten.ID, "admin@demo.local")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u.PasswordHash, "$argon2id$") || strings.Contains(u.PasswordHash, res.Password) {
		t.Fatalf("stored hash %q", u.PasswordHash)
	}
	if ok, _, err := h.Verify(ctx, res.Password, u.PasswordHash); !ok || err != nil {
		t.Fatalf("generated password does not verify: %v %v", ok, err)
	}
	again, err := Bootstrap(ctx, db, h, BootstrapOptions{})
	if err != nil || again.Created || again.Password != "" {
		t.Fatalf("second bootstrap = %+v, %v; want nothing", again, err)
	}
}

func TestNormalizeEmailAndSlug(t *testing.T) {
	for in, want := range map[string]string{"A@B.de": "a@b.de", " x@y.z ": "x@y.z"} {
		if got, err := NormalizeEmail(in); got != want || err != nil {
			t.Errorf("NormalizeEmail(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "a", "Bob <b@c.d>", "a@b@c", "a b@c.d"} {
		if _, err := NormalizeEmail(bad); err == nil {
			t.Errorf("NormalizeEmail(%q) accepted", bad)
		}
	}
	for s, want := range map[string]bool{"demo": true, "bank-1": true, "-bank": false, "Bank": false, "": false, strings.Repeat("a", 33): false} {
		if ValidSlug(s) != want {
			t.Errorf("ValidSlug(%q) = %v", s, !want)
		}
	}
}
