package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
)

// Legacy SHA-256 import. A bank moving to Lotse may hold salted SHA-256
// password hashes. We never store those as they are: ImportLegacySHA256
// wraps the old hash in argon2id (the argon2id input is the hex SHA-256),
// giving
//
//	$lotse-sha256$o=<sp|ps>$<salt hex>$argon2id$v=19$m=…,t=…,p=…$<salt>$<key>
//
// Verify recognises this form, checks the password through both layers
// and asks for a rehash, so the account moves to plain argon2id of the
// password at its next login.

// LegacyOrder says how the old system combined salt and password.
type LegacyOrder string

// Legacy orders.
const (
	SaltThenPassword LegacyOrder = "sp" // sha256(salt || password)
	PasswordThenSalt LegacyOrder = "ps" // sha256(password || salt)
)

const legacyPrefix = "$lotse-sha256$"

// ErrBadLegacyHash means an imported hash is not hex of the right size.
var ErrBadLegacyHash = errors.New("auth: legacy hash must be hex SHA-256 with a hex salt")

// ImportLegacySHA256 wraps a legacy salted SHA-256 hash in argon2id.
func (h *Hasher) ImportLegacySHA256(ctx context.Context, saltHex, sha256Hex string, order LegacyOrder) (string, error) {
	saltHex, sha256Hex = strings.ToLower(saltHex), strings.ToLower(sha256Hex)
	if _, err := hex.DecodeString(saltHex); err != nil {
		return "", ErrBadLegacyHash
	}
	if b, err := hex.DecodeString(sha256Hex); err != nil || len(b) != sha256.Size {
		return "", ErrBadLegacyHash
	}
	if order != SaltThenPassword && order != PasswordThenSalt {
		return "", ErrBadLegacyHash
	}
	inner, err := h.Hash(ctx, sha256Hex)
	if err != nil {
		return "", err
	}
	return legacyPrefix + "o=" + string(order) + "$" + saltHex + inner, nil
}

// legacyInput returns what the argon2id layer of a wrapped legacy hash was
// computed over, given the password, and the inner PHC string.
func legacyInput(encoded, password string) (input, inner string, ok bool) {
	rest, found := strings.CutPrefix(encoded, legacyPrefix)
	if !found {
		return "", "", false
	}
	orderPart, rest, _ := strings.Cut(rest, "$")
	saltHex, inner, _ := strings.Cut(rest, "$")
	salt, err := hex.DecodeString(saltHex)
	if err != nil {
		return "", "", false
	}
	var sum [32]byte
	switch LegacyOrder(strings.TrimPrefix(orderPart, "o=")) {
	case SaltThenPassword:
		sum = sha256.Sum256(append(append([]byte{}, salt...), password...))
	case PasswordThenSalt:
		sum = sha256.Sum256(append([]byte(password), salt...))
	default:
		return "", "", false
	}
	return hex.EncodeToString(sum[:]), "$" + inner, true
}
