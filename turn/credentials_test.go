package turn

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTurnRESTCredentials(t *testing.T) {
	// Reference value computed independently:
	//   printf '%s' '1700000000:alice' | openssl dgst -sha1 -hmac 'test-secret-0123456789abcdef' -binary | base64
	user, pass := RESTCredentials([]byte(testSecret), "alice", time.Unix(1_700_000_000, 0))
	if user != "1700000000:alice" || pass != "AD2gG7/IasG8z1/PzPzi65L53TI=" {
		t.Errorf("got %q / %q", user, pass)
	}
}

func TestTurnCredentialVerdict(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	cases := []struct {
		name, user, realm string
		participant       string
		reason            string
	}{
		{"valid", "1800000600:p-1", "lotse", "p-1", ""},
		{"participant with colon", "1800000600:tenant:p-1", "lotse", "tenant:p-1", ""},
		{"max ttl plus skew", "1800003900:p", "lotse", "p", ""},
		{"expired", "1799999999:p", "lotse", "", authExpired},
		{"expires now", "1800000000:p", "lotse", "", authExpired},
		{"too long-lived", "1800003901:p", "lotse", "", authTooLong},
		{"wrong realm", "1800000600:p", "other", "", authRealm},
		{"no participant", "1800000600:", "lotse", "", authMalformed},
		{"no expiry", ":p", "lotse", "", authMalformed},
		{"no colon", "1800000600", "lotse", "", authMalformed},
		{"negative", "-1800000600:p", "lotse", "", authMalformed},
		{"hex", "0x6b49d200:p", "lotse", "", authMalformed},
		{"huge", "99999999999999999999:p", "lotse", "", authMalformed},
		{"space", "1800000600:p q", "lotse", "", authMalformed},
		{"control", "1800000600:p\x00", "lotse", "", authMalformed},
		{"long participant", "1800000600:" + strings.Repeat("x", maxParticipantLen+1), "lotse", "", authMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, reason := credentialVerdict(tc.user, tc.realm, "lotse", now)
			if p != tc.participant || reason != tc.reason {
				t.Errorf("got (%q, %q), want (%q, %q)", p, reason, tc.participant, tc.reason)
			}
		})
	}
}

// FuzzTurnRESTUsername: the username parser never panics, and what it accepts
// round-trips through RESTCredentials.
func FuzzTurnRESTUsername(f *testing.F) {
	for _, s := range []string{"1800000600:p-1", "1800000600:a:b", ":", "1:", "99999999999999999999:p", "1800000600:p\x00", "", "1800000600"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, exp, ok := parseRESTUsername(s)
		if !ok {
			return
		}
		u, _ := RESTCredentials([]byte(testSecret), p, exp)
		if p2, exp2, ok2 := parseRESTUsername(u); !ok2 || p2 != p || !exp2.Equal(exp) || !strings.HasSuffix(s, ":"+p) {
			t.Errorf("%q parsed to (%q, %v), which formats as %q", s, p, exp, u)
		}
		credentialVerdict(s, "lotse", "lotse", time.Now())
	})
}

func TestTurnLoadOrCreateSecret(t *testing.T) {
	dir := t.TempDir()
	s1, err := LoadOrCreateSecret(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(s1.Reveal()) < 40 {
		t.Errorf("generated secret is short: %d characters", len(s1.Reveal()))
	}
	st, err := os.Stat(filepath.Join(dir, SecretFileName))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("secret file: %v, mode %v", err, st.Mode())
	}
	s2, err := LoadOrCreateSecret(dir)
	if err != nil || s2 != s1 {
		t.Fatalf("second load: %v, same=%v", err, s2 == s1)
	}
	os.Chmod(filepath.Join(dir, SecretFileName), 0o640)
	if _, err := LoadOrCreateSecret(dir); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("group-readable secret accepted: %v", err)
	}
}
