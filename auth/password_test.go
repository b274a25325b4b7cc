package auth

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/lotse-io/lotse/store"
)

// fastParams keep tests quick; the PHC format is the same.
var fastParams = Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestHashFormatAndVerify(t *testing.T) {
	ctx := context.Background()
	h := NewHasher(DefaultArgon2Params, 1)
	enc, err := h.Hash(ctx, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !re.MatchString(enc) {
		t.Fatalf("hash %q is not an OWASP-strength argon2id PHC string", enc)
	}
	enc2, _ := h.Hash(ctx, "correct horse battery")
	if enc == enc2 {
		t.Fatal("two hashes of one password are equal: salt is not random")
	}
	ok, rehash, err := h.Verify(ctx, "correct horse battery", enc)
	if !ok || rehash || err != nil {
		t.Fatalf("Verify(right) = %v %v %v", ok, rehash, err)
	}
	ok, _, err = h.Verify(ctx, "correct horse batterz", enc)
	if ok || err != nil {
		t.Fatalf("Verify(wrong) = %v %v", ok, err)
	}
}

func TestVerifyAsksForRehash(t *testing.T) {
	ctx := context.Background()
	old, _ := NewHasher(fastParams, 1).Hash(ctx, "pw-pw-pw-pw-pw")
	ok, rehash, err := NewHasher(DefaultArgon2Params, 1).Verify(ctx, "pw-pw-pw-pw-pw", old)
	if !ok || !rehash || err != nil {
		t.Fatalf("Verify with weaker stored parameters = ok %v rehash %v err %v; want ok and rehash", ok, rehash, err)
	}
}

func TestVerifyRejectsBadHashes(t *testing.T) {
	h := NewHasher(fastParams, 1)
	good, _ := h.Hash(context.Background(), "x")
	parts := strings.Split(good, "$")
	for name, enc := range map[string]string{
		"empty":          "",
		"bcrypt":         "$2a$10$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz12345",
		"argon2i":        strings.Replace(good, "argon2id", "argon2i", 1),
		"wrong version":  strings.Replace(good, "v=19", "v=16", 1),
		"huge memory":    "$argon2id$v=19$m=99999999,t=1,p=1$" + parts[4] + "$" + parts[5],
		"huge time":      "$argon2id$v=19$m=64,t=1000,p=1$" + parts[4] + "$" + parts[5],
		"zero threads":   "$argon2id$v=19$m=64,t=1,p=0$" + parts[4] + "$" + parts[5],
		"unknown param":  "$argon2id$v=19$m=64,t=1,x=1$" + parts[4] + "$" + parts[5],
		"bad salt":       "$argon2id$v=19$m=64,t=1,p=1$!!!$" + parts[5],
		"too many parts": good + "$x",
	} {
		t.Run(name, func(t *testing.T) {
			ok, _, err := h.Verify(context.Background(), "x", enc)
			if ok || !errors.Is(err, ErrBadHash) {
				t.Fatalf("Verify = %v, %v; want ErrBadHash", ok, err)
			}
		})
	}
}

func TestHasherHonoursContext(t *testing.T) {
	h := NewHasher(fastParams, 1)
	h.sem <- struct{}{} // the only slot is taken
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Hash(ctx, "x"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Hash with a full semaphore and a canceled context = %v", err)
	}
}

func TestPolicy(t *testing.T) {
	strict := store.PasswordPolicy{MinLength: 12, MaxLength: 20, RequireLetter: true, RequireDigit: true, RequireSpecial: true}
	tests := []struct {
		pw   string
		p    store.PasswordPolicy
		rule string
	}{
		{"short", DefaultPasswordPolicy, "min_length"},
		{"twelve chars", DefaultPasswordPolicy, ""},
		{"äöüäöüäöüäöü", DefaultPasswordPolicy, ""}, // 12 runes, 24 bytes
		{strings.Repeat("a", 129), DefaultPasswordPolicy, "max_length"},
		{"123456789012!", strict, "require_letter"},
		{"abcdefghijkl!", strict, "require_digit"},
		{"abcdefghijk1", strict, "require_special"},
		{"abcdefghij1!", strict, ""},
		{"password1234", DefaultPasswordPolicy, "reject_common"},
		{"Qwertyuiop2024!", DefaultPasswordPolicy, "reject_common"},
		{"iloveyou-forever", DefaultPasswordPolicy, ""},
	}
	for _, tc := range tests {
		err := CheckPassword(tc.p, tc.pw)
		var pe *PolicyError
		if tc.rule == "" {
			if err != nil {
				t.Errorf("Check(%q) = %v, want ok", tc.pw, err)
			}
			continue
		}
		if !errors.As(err, &pe) || pe.Rule != tc.rule {
			t.Errorf("Check(%q) = %v, want rule %s", tc.pw, err, tc.rule)
		} else if strings.Contains(pe.Msg, tc.pw) {
			t.Errorf("policy message contains the password")
		}
	}
}

func TestGeneratePassword(t *testing.T) {
	strict := store.PasswordPolicy{MinLength: 12, MaxLength: 128, RequireLetter: true, RequireDigit: true, RequireSpecial: true, RejectCommon: true}
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		pw := GeneratePassword()
		if err := CheckPassword(strict, pw); err != nil {
			t.Fatalf("generated %q breaks the strictest policy: %v", pw, err)
		}
		if seen[pw] {
			t.Fatal("generated password repeated")
		}
		seen[pw] = true
	}
}

func FuzzDecodePHC(f *testing.F) {
	good, _ := NewHasher(fastParams, 1).Hash(context.Background(), "x")
	for _, s := range []string{good, "", "$argon2id$v=19$m=64,t=1,p=1$$", "$argon2id$v=19$m=,t=,p=$a$b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, salt, key, err := decodePHC(s)
		if err != nil {
			return
		}
		if p.MemoryKiB > maxMemoryKiB || p.Time > maxTime || p.Threads == 0 || len(salt) < 8 || len(key) < 16 {
			t.Fatalf("accepted out-of-bounds parameters %+v", p)
		}
	})
}
