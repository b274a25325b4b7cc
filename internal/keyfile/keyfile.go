// Package keyfile loads the node's own random keys (the TOTP secret
// encryption key, the join-token signing key, ...) from files in the data
// directory, creating each with 0600 permissions on first use. A key file
// that others can read is refused, as is one of the wrong size.
package keyfile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Load returns the size-byte key stored hex-encoded in dir/keys/name,
// creating it when it does not exist.
func Load(dir, name string, size int) ([]byte, error) {
	kdir := filepath.Join(dir, "keys")
	if err := os.MkdirAll(kdir, 0o700); err != nil {
		return nil, fmt.Errorf("key %s: %w", name, err)
	}
	path := filepath.Join(kdir, name)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return create(path, size)
	}
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", path, err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("key %s is readable by group or others (mode %04o); run chmod 600 %s", path, st.Mode().Perm(), path)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) != size {
		return nil, fmt.Errorf("key %s: want %d hex-encoded bytes", path, size)
	}
	return key, nil
}

func create(path string, size int) ([]byte, error) {
	key := make([]byte, size)
	_, _ = rand.Read(key)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		// Another process created it first; use theirs.
		return Load(filepath.Dir(filepath.Dir(path)), filepath.Base(path), size)
	}
	if err != nil {
		return nil, fmt.Errorf("create key %s: %w", path, err)
	}
	if _, err := f.WriteString(hex.EncodeToString(key) + "\n"); err != nil {
		f.Close()
		return nil, fmt.Errorf("write key %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	return key, nil
}
