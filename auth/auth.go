// Package auth owns Lotse's principals and their secrets: password hashing
// (argon2id) and policy, the first-run bootstrap of the demo tenant and its
// admin, and — as later parts arrive — staff sessions, CSRF, TOTP, API keys
// and the join and share-link tokens of conversations.
//
// Secrets never leave this package in readable form except where a person
// must see them once (a generated password, a new API key).
package auth
