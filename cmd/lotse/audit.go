package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/lotse-io/lotse/auth"
	"github.com/lotse-io/lotse/store"
)

func init() {
	commands["audit"] = command{usage: "audit verify [--tenant SLUG]   check the audit log's hash chains", run: cmdAudit}
}

// cmdAudit implements `lotse audit verify`: it walks every tenant's chain
// (or one) and reports the first broken link. Exit 1 when any is broken.
func cmdAudit(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprintln(stderr, "usage: lotse audit verify [--tenant SLUG] [config flags]")
		return exitUsage
	}
	cf := newConfigFlags("audit verify", stderr)
	only := cf.fs.String("tenant", "", "verify only this tenant")
	cfg, code := cf.load(args[1:], stderr)
	if code != proceed {
		return code
	}
	db, ok := openStore(ctx, cfg, stderr)
	if !ok {
		return exitFail
	}
	defer db.Close()
	tenants, err := db.ListTenants(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "lotse:", err)
		return exitFail
	}
	broken, seen := 0, 0
	for _, t := range tenants {
		if *only != "" && t.Slug != *only {
			continue
		}
		seen++
		first, n, err := auth.VerifyAudit(ctx, db, t.ID)
		if err != nil {
			fmt.Fprintln(stderr, "lotse:", err)
			return exitFail
		}
		if first != 0 {
			broken++
			fmt.Fprintf(stdout, "%s: BROKEN at event %d (of %d)\n", t.Slug, first, n)
			continue
		}
		fmt.Fprintf(stdout, "%s: ok, %d events\n", t.Slug, n)
	}
	if *only != "" && seen == 0 {
		fmt.Fprintf(stderr, "lotse: --tenant: no tenant %q\n", *only)
		return exitUsage
	}
	if broken > 0 {
		return exitFail
	}
	return exitOK
}

func init() {
	commands["import-legacy-users"] = command{
		usage: "import-legacy-users --tenant SLUG [--order salt-first|password-first] < users.csv",
		run:   cmdImportLegacy,
	}
}

// cmdImportLegacy reads CSV lines "email,role,salt_hex,sha256_hex" and
// creates staff accounts whose legacy salted SHA-256 hashes are wrapped in
// argon2id; each moves to plain argon2id at its first login.
func cmdImportLegacy(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cf := newConfigFlags("import-legacy-users", stderr)
	tenant := cf.fs.String("tenant", "", "tenant slug (required)")
	order := cf.fs.String("order", "salt-first", "how the old system hashed: salt-first = sha256(salt||password), password-first = sha256(password||salt)")
	cfg, code := cf.load(args, stderr)
	if code != proceed {
		return code
	}
	ord := map[string]auth.LegacyOrder{"salt-first": auth.SaltThenPassword, "password-first": auth.PasswordThenSalt}[*order]
	if ord == "" {
		fmt.Fprintln(stderr, "lotse: --order: salt-first or password-first")
		return exitUsage
	}
	db, ok := openStore(ctx, cfg, stderr)
	if !ok {
		return exitFail
	}
	defer db.Close()
	t, err := db.TenantBySlug(ctx, *tenant)
	if err != nil {
		fmt.Fprintf(stderr, "lotse: --tenant: no tenant %q\n", *tenant)
		return exitUsage
	}
	h := auth.NewHasher(auth.DefaultArgon2Params, 0)
	r := csv.NewReader(io.LimitReader(stdin, 64<<20))
	r.FieldsPerRecord = 4
	r.Comment = '#'
	imported := 0
	for line := 1; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Fprintf(stderr, "lotse: line %d: %v\n", line, err)
			return exitUsage
		}
		email, err := auth.NormalizeEmail(rec[0])
		role := store.Role(strings.TrimSpace(rec[1]))
		if err != nil || !role.Valid() {
			fmt.Fprintf(stderr, "lotse: line %d: want email,role(admin|advisor),salt_hex,sha256_hex\n", line)
			return exitUsage
		}
		wrapped, err := h.ImportLegacySHA256(ctx, strings.TrimSpace(rec[2]), strings.TrimSpace(rec[3]), ord)
		if err != nil {
			fmt.Fprintf(stderr, "lotse: line %d: %v\n", line, err)
			return exitUsage
		}
		u, err := db.CreateUser(ctx, store.User{TenantID: t.ID, Email: email, Role: role, PasswordHash: wrapped})
		if err != nil {
			fmt.Fprintf(stderr, "lotse: line %d (%s): %v\n", line, email, err)
			return exitFail
		}
		if _, err := db.AppendAudit(ctx, store.AuditEvent{TenantID: t.ID, Actor: "cli", Action: "user.imported",
			Target: "user:" + u.ID, Detail: map[string]string{"role": string(role), "hash": "legacy-sha256"}}); err != nil {
			fmt.Fprintln(stderr, "lotse:", err)
			return exitFail
		}
		imported++
	}
	fmt.Fprintf(stdout, "imported %d users into tenant %s\n", imported, t.Slug)
	return exitOK
}
