package auth

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/lotse-io/lotse/store"
)

// DefaultPasswordPolicy is the policy of a new tenant.
var DefaultPasswordPolicy = store.DefaultTenantSettings().Password

// Bounds on what a tenant may set.
const (
	MinPolicyLength = 8
	MaxPolicyLength = 1024
)

// PolicyError says which rule a password broke, in words a person can act
// on. It never contains the password.
type PolicyError struct{ Rule, Msg string }

func (e *PolicyError) Error() string { return e.Msg }

// CheckPassword returns a *PolicyError when password breaks p.
func CheckPassword(p store.PasswordPolicy, password string) error {
	n := utf8.RuneCountInString(password)
	if n < p.MinLength {
		return &PolicyError{"min_length", fmt.Sprintf("password must be at least %d characters long", p.MinLength)}
	}
	if p.MaxLength > 0 && n > p.MaxLength {
		return &PolicyError{"max_length", fmt.Sprintf("password must be at most %d characters long", p.MaxLength)}
	}
	var letter, digit, special bool
	for _, r := range password {
		switch {
		case unicode.IsLetter(r):
			letter = true
		case unicode.IsDigit(r):
			digit = true
		case !unicode.IsSpace(r):
			special = true
		}
	}
	switch {
	case p.RequireLetter && !letter:
		return &PolicyError{"require_letter", "password must contain a letter"}
	case p.RequireDigit && !digit:
		return &PolicyError{"require_digit", "password must contain a digit"}
	case p.RequireSpecial && !special:
		return &PolicyError{"require_special", "password must contain a character that is neither letter nor digit"}
	case p.RejectCommon && IsCommonPassword(password):
		return &PolicyError{"reject_common", "password is on the list of commonly used passwords"}
	}
	return nil
}

// ValidatePolicy checks a policy an admin wants to set.
func ValidatePolicy(p store.PasswordPolicy) error {
	if p.MinLength < MinPolicyLength || p.MinLength > MaxPolicyLength {
		return fmt.Errorf("min_length must be between %d and %d", MinPolicyLength, MaxPolicyLength)
	}
	if p.MaxLength < p.MinLength || p.MaxLength > MaxPolicyLength {
		return fmt.Errorf("max_length must be between min_length and %d", MaxPolicyLength)
	}
	return nil
}

// commonPasswords is a list of 17,950 commonly used passwords of eight or
// more characters, lower-cased, from the zxcvbn-ts common dictionary
// (@zxcvbn-ts/language-common 4.1.3, MIT, see common-passwords.LICENSE.txt).
//
//go:embed common-passwords.txt.gz
var commonPasswordsGz []byte

var commonOnce = sync.OnceValue(func() map[string]struct{} {
	zr, err := gzip.NewReader(bytes.NewReader(commonPasswordsGz))
	if err != nil {
		return map[string]struct{}{}
	}
	set := make(map[string]struct{}, 18000)
	sc := bufio.NewScanner(zr)
	for sc.Scan() {
		set[sc.Text()] = struct{}{}
	}
	return set
})

// IsCommonPassword reports whether pw, lower-cased, is on the list — also
// when it only adds digits or symbols at the end ("Password2024!").
func IsCommonPassword(pw string) bool {
	set := commonOnce()
	lower := strings.ToLower(pw)
	if _, ok := set[lower]; ok {
		return true
	}
	base := strings.TrimRightFunc(lower, func(r rune) bool { return !unicode.IsLetter(r) })
	if base != lower && utf8.RuneCountInString(base) >= 6 {
		if _, ok := set[base]; ok {
			return true
		}
	}
	return false
}
