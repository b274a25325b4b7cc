package auth

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// PasswordPolicy is a tenant's rule for staff passwords.
type PasswordPolicy struct {
	MinLength      int  `json:"min_length"`
	MaxLength      int  `json:"max_length"`
	RequireLetter  bool `json:"require_letter"`
	RequireDigit   bool `json:"require_digit"`
	RequireSpecial bool `json:"require_special"`
}

// DefaultPasswordPolicy is the policy of a new tenant.
var DefaultPasswordPolicy = PasswordPolicy{MinLength: 12, MaxLength: 128}

// PolicyError says which rule a password broke, in words a person can act
// on. It never contains the password.
type PolicyError struct{ Rule, Msg string }

func (e *PolicyError) Error() string { return e.Msg }

// Check returns a *PolicyError when password breaks p.
func (p PasswordPolicy) Check(password string) error {
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
	}
	return nil
}
