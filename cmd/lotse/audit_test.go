package main

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"
)

func TestAuditVerifyFindsTheFirstBrokenLink(t *testing.T) {
	dd := t.TempDir()
	runCLI(t, "", nil, "tenant", "create", "--data-dir", dd, "--slug", "bank", "--name", "Bank")
	for _, e := range []string{"a@bank.de", "b@bank.de", "c@bank.de"} {
		if code, _, errOut := runCLI(t, "Some-Password-2026\n", nil, "user", "create", "--data-dir", dd, "--tenant", "bank", "--email", e); code != 0 {
			t.Fatal(errOut)
		}
	}
	code, out, _ := runCLI(t, "", nil, "audit", "verify", "--data-dir", dd)
	if code != 0 || !strings.Contains(out, "bank: ok, 4 events") {
		t.Fatalf("intact chain: %d %q", code, out)
	}
	// Tamper with event 3 behind the database's back (drop the guard first,
	// as an attacker with file access could).
	db, err := sql.Open("sqlite", filepath.Join(dd, "lotse.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`DROP TRIGGER audit_log_no_update`, `UPDATE audit_log SET actor = 'mallory' WHERE seq = 3`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	code, out, _ = runCLI(t, "", nil, "audit", "verify", "--data-dir", dd, "--tenant", "bank")
	if code != 1 || !strings.Contains(out, "bank: BROKEN at event 3 (of 4)") {
		t.Fatalf("tampered chain: %d %q", code, out)
	}
}

func TestImportLegacyUsers(t *testing.T) {
	dd := t.TempDir()
	runCLI(t, "", nil, "tenant", "create", "--data-dir", dd, "--slug", "bank", "--name", "Bank")
	sum := sha256.Sum256([]byte("Old-Password-1" + "\x01\x02"))
	csv := "# email,role,salt,sha256\nold@bank.de,advisor,0102," + hex.EncodeToString(sum[:]) + "\n"
	code, out, errOut := runCLI(t, csv, nil, "import-legacy-users", "--data-dir", dd, "--tenant", "bank", "--order", "password-first")
	if code != 0 || !strings.Contains(out, "imported 1 users") {
		t.Fatalf("import: %d %s %s", code, out, errOut)
	}
	db, _ := sql.Open("sqlite", filepath.Join(dd, "lotse.db"))
	defer db.Close()
	var hash string
	db.QueryRow(`SELECT password_hash FROM users WHERE email = 'old@bank.de'`).Scan(&hash)
	if !strings.HasPrefix(hash, "$lotse-sha256$o=ps$0102$argon2id$") || strings.Contains(hash, hex.EncodeToString(sum[:])) {
		t.Fatalf("stored %q: the legacy hash must only exist wrapped in argon2id", hash)
	}
	if code, _, _ := runCLI(t, "bad,line\n", nil, "import-legacy-users", "--data-dir", dd, "--tenant", "bank"); code != 2 {
		t.Fatalf("malformed CSV exit %d", code)
	}
}
