package auth

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/mail"
	"regexp"
	"strings"

	"github.com/lotse-io/lotse/store"
)

// BootstrapOptions say what the first run creates.
type BootstrapOptions struct {
	TenantSlug string // default "demo"
	TenantName string // default "Demo Bank"
	Email      string // default "admin@demo.local"
	Password   string // empty: generate one
}

// BootstrapResult tells the caller what to show the operator, once.
type BootstrapResult struct {
	Created   bool
	Tenant    store.Tenant
	Email     string
	Password  string // the generated password; empty when the operator gave one
	Generated bool
}

// Bootstrap creates the first tenant and its admin on an empty database. On
// a database that already has a tenant it changes nothing and returns
// Created == false.
func Bootstrap(ctx context.Context, st store.Bootstrapper, h *Hasher, opts BootstrapOptions) (BootstrapResult, error) {
	if opts.TenantSlug == "" {
		opts.TenantSlug = "demo"
	}
	if opts.TenantName == "" {
		opts.TenantName = "Demo Bank"
	}
	if opts.Email == "" {
		opts.Email = "admin@demo.local"
	}
	email, err := NormalizeEmail(opts.Email)
	if err != nil {
		return BootstrapResult{}, err
	}
	res := BootstrapResult{Email: email}
	password := opts.Password
	if password == "" {
		password = GeneratePassword()
		res.Password, res.Generated = password, true
	} else if err := CheckPassword(DefaultPasswordPolicy, password); err != nil {
		return BootstrapResult{}, fmt.Errorf("bootstrap admin password: %w", err)
	}
	hash, err := h.Hash(ctx, password)
	if err != nil {
		return BootstrapResult{}, err
	}
	t := store.Tenant{Slug: opts.TenantSlug, Name: opts.TenantName}
	u := store.User{Email: email, DisplayName: "Administrator", Role: store.RoleAdmin, PasswordHash: hash}
	created, err := st.Bootstrap(ctx, t, u)
	if err != nil {
		return BootstrapResult{}, err
	}
	if !created {
		return BootstrapResult{}, nil
	}
	res.Created = true
	res.Tenant = t
	return res, nil
}

// ErrBadEmail means an e-mail address is not a plain address.
var ErrBadEmail = fmt.Errorf("auth: not a valid e-mail address")

// NormalizeEmail lower-cases and checks a plain e-mail address
// ("name@host", no display name).
func NormalizeEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" || len(s) > 254 {
		return "", ErrBadEmail
	}
	return s, nil
}

var slugRE = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$`)

// ValidSlug reports whether s can name a tenant: 1–32 lower-case letters,
// digits and inner hyphens.
func ValidSlug(s string) bool { return slugRE.MatchString(s) }

// GeneratePassword returns a random password of four groups of five
// characters joined by hyphens (about 114 bits), which passes any
// combination of the policy's character rules.
func GeneratePassword() string {
	const alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789" // no 0/O, 1/l/I
	for {
		var sb strings.Builder
		var lower, upper, digit bool
		for i := 0; i < 20; i++ {
			if i > 0 && i%5 == 0 {
				sb.WriteByte('-')
			}
			ch := alphabet[randIndex(len(alphabet))]
			switch {
			case ch >= 'a' && ch <= 'z':
				lower = true
			case ch >= 'A' && ch <= 'Z':
				upper = true
			default:
				digit = true
			}
			sb.WriteByte(ch)
		}
		if lower && upper && digit {
			return sb.String()
		}
	}
}

// randIndex returns a uniform random number in [0, n) for n ≤ 256, by
// rejecting the bytes that would bias the modulo.
func randIndex(n int) int {
	limit := 256 - 256%n
	var b [1]byte
	for {
		_, _ = rand.Read(b[:])
		if int(b[0]) < limit {
			return int(b[0]) % n
		}
	}
}
