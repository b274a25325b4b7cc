// Package secret has the string type that configuration secrets (shared
// keys, passwords, connection strings) are held in: it never shows its value
// when printed, logged or encoded, so a secret cannot leak by accident
// through fmt, zerolog or `lotse config print`.
package secret

// String is a secret string. Its value is read only with Reveal.
type String string

// Reveal returns the secret's value, for the one place that needs it.
func (s String) Reveal() string { return string(s) }

// String redacts the secret ("" when unset, else "[redacted]").
func (s String) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// GoString redacts the secret in %#v.
func (s String) GoString() string { return `"` + s.String() + `"` }

// MarshalYAML redacts the secret.
func (s String) MarshalYAML() (any, error) { return s.String(), nil }

// MarshalJSON redacts the secret.
func (s String) MarshalJSON() ([]byte, error) { return []byte(`"` + s.String() + `"`), nil }

// MarshalText redacts the secret (encoding.TextMarshaler, used by zerolog
// and others).
func (s String) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
