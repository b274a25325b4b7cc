package keyfile

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestLoadCreatesOnceAndChecksMode(t *testing.T) {
	dir := t.TempDir()
	k1, err := Load(dir, "a.key", 32)
	if err != nil || len(k1) != 32 {
		t.Fatal(err)
	}
	k2, err := Load(dir, "a.key", 32)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("second Load returned another key (%v)", err)
	}
	st, _ := os.Stat(filepath.Join(dir, "keys", "a.key"))
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", st.Mode())
	}
	if _, err := Load(dir, "a.key", 16); err == nil {
		t.Fatal("wrong size accepted")
	}
	os.Chmod(filepath.Join(dir, "keys", "a.key"), 0o644)
	if _, err := Load(dir, "a.key", 32); err == nil {
		t.Fatal("world-readable key accepted")
	}
}
