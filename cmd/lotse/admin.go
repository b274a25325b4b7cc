package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/lotse-io/lotse/auth"
	"github.com/lotse-io/lotse/internal/config"
	"github.com/lotse-io/lotse/store"
	"github.com/lotse-io/lotse/store/sqlite"
)

func openStore(ctx context.Context, cfg config.Config, stderr io.Writer) (*sqlite.DB, bool) {
	db, err := sqlite.Open(ctx, sqlite.Config{Path: cfg.Store.SQLitePath, BusyTimeout: cfg.Store.BusyTimeout})
	if err != nil {
		fmt.Fprintln(stderr, "lotse:", err)
		return nil, false
	}
	return db, true
}

func cmdTenantCreate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cf := newConfigFlags("tenant create", stderr)
	slug := cf.fs.String("slug", "", "short name used at login, e.g. musterbank (required)")
	name := cf.fs.String("name", "", "display name, e.g. \"Musterbank AG\" (required)")
	cfg, code := cf.load(args, stderr)
	if code != proceed {
		return code
	}
	if !auth.ValidSlug(*slug) {
		fmt.Fprintln(stderr, "lotse: --slug: 1 to 32 lower-case letters, digits and inner hyphens")
		return exitUsage
	}
	if n := strings.TrimSpace(*name); n == "" || len(n) > 200 {
		fmt.Fprintln(stderr, "lotse: --name: required, at most 200 characters")
		return exitUsage
	}
	db, ok := openStore(ctx, cfg, stderr)
	if !ok {
		return exitFail
	}
	defer db.Close()
	t, err := db.CreateTenant(ctx, store.Tenant{Slug: *slug, Name: strings.TrimSpace(*name)})
	if errors.Is(err, store.ErrConflict) {
		fmt.Fprintf(stderr, "lotse: tenant %q already exists\n", *slug)
		return exitFail
	}
	if err != nil {
		fmt.Fprintln(stderr, "lotse:", err)
		return exitFail
	}
	if _, err := db.AppendAudit(ctx, store.AuditEvent{TenantID: t.ID, Actor: "cli", Action: "tenant.created", Target: "tenant:" + t.ID}); err != nil {
		fmt.Fprintln(stderr, "lotse:", err)
		return exitFail
	}
	fmt.Fprintf(stdout, "created tenant %s (%s)\n", t.Slug, t.ID)
	return exitOK
}

func cmdUserCreate(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cf := newConfigFlags("user create", stderr)
	tenant := cf.fs.String("tenant", "", "tenant slug (required)")
	email := cf.fs.String("email", "", "e-mail address, the login name (required)")
	role := cf.fs.String("role", "advisor", "admin or advisor")
	displayName := cf.fs.String("name", "", "display name")
	cfg, code := cf.load(args, stderr)
	if code != proceed {
		return code
	}
	addr, err := auth.NormalizeEmail(*email)
	if err != nil {
		fmt.Fprintln(stderr, "lotse: --email: not a plain e-mail address")
		return exitUsage
	}
	if !store.Role(*role).Valid() {
		fmt.Fprintln(stderr, "lotse: --role: admin or advisor")
		return exitUsage
	}
	// The password comes from stdin, never from a flag (flags show up in
	// ps and shell history).
	line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		fmt.Fprintln(stderr, "lotse: read password from stdin:", err)
		return exitFail
	}
	password := strings.TrimRight(line, "\r\n")
	db, ok := openStore(ctx, cfg, stderr)
	if !ok {
		return exitFail
	}
	defer db.Close()
	t, err := db.TenantBySlug(ctx, *tenant)
	if errors.Is(err, store.ErrNotFound) {
		fmt.Fprintf(stderr, "lotse: --tenant: no tenant %q\n", *tenant)
		return exitUsage
	}
	if err != nil {
		fmt.Fprintln(stderr, "lotse:", err)
		return exitFail
	}
	if err := auth.CheckPassword(t.Settings.Password, password); err != nil {
		fmt.Fprintln(stderr, "lotse: password from stdin:", err)
		return exitUsage
	}
	hash, err := auth.NewHasher(auth.DefaultArgon2Params, 1).Hash(ctx, password)
	if err != nil {
		fmt.Fprintln(stderr, "lotse:", err)
		return exitFail
	}
	u, err := db.CreateUser(ctx, store.User{TenantID: t.ID, Email: addr, DisplayName: *displayName, Role: store.Role(*role), PasswordHash: hash})
	if errors.Is(err, store.ErrConflict) {
		fmt.Fprintf(stderr, "lotse: user %s already exists in tenant %s\n", addr, t.Slug)
		return exitFail
	}
	if err != nil {
		fmt.Fprintln(stderr, "lotse:", err)
		return exitFail
	}
	if _, err := db.AppendAudit(ctx, store.AuditEvent{TenantID: t.ID, Actor: "cli", Action: "user.created",
		Target: "user:" + u.ID, Detail: map[string]string{"role": string(u.Role)}}); err != nil {
		fmt.Fprintln(stderr, "lotse:", err)
		return exitFail
	}
	fmt.Fprintf(stdout, "created %s %s in tenant %s (%s)\n", u.Role, u.Email, t.Slug, u.ID)
	return exitOK
}
