package store

import "errors"

var (
	// ErrNotFound means the requested row does not exist (or belongs to
	// another tenant, which callers must not be able to tell apart).
	ErrNotFound = errors.New("store: not found")
	// ErrConflict means a uniqueness rule would be broken, e.g. a second
	// tenant with the same slug or a second user with the same e-mail.
	ErrConflict = errors.New("store: already exists")
)

// MigrationError reports a migration that could not be applied. The
// database is left as it was before that migration began.
type MigrationError struct {
	Version int
	Name    string
	Err     error
}

func (e *MigrationError) Error() string {
	return "migration " + itoa(e.Version) + " (" + e.Name + "): " + e.Err.Error()
}

func (e *MigrationError) Unwrap() error { return e.Err }
