package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
)

// Argon2Params are the argon2id cost parameters (RFC 9106 §3.1).
type Argon2Params struct {
	MemoryKiB uint32 // m
	Time      uint32 // t, passes over memory
	Threads   uint8  // p
	SaltLen   int
	KeyLen    int
}

// DefaultArgon2Params follow the OWASP Password Storage Cheat Sheet's first
// argon2id option: m=19 MiB, t=2, p=1.
var DefaultArgon2Params = Argon2Params{MemoryKiB: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Hasher hashes and verifies passwords with argon2id. At most a bounded
// number of hashes run at once (each holds MemoryKiB of RAM), so a flood of
// login attempts queues instead of exhausting memory.
type Hasher struct {
	params Argon2Params
	sem    chan struct{}

	dummyOnce sync.Once
	dummy     string
}

// NewHasher returns a Hasher with params; concurrency bounds how many
// hashes run at once (≤ 0 means the number of CPUs).
func NewHasher(params Argon2Params, concurrency int) *Hasher {
	if concurrency <= 0 {
		concurrency = runtime.GOMAXPROCS(0)
	}
	return &Hasher{params: params, sem: make(chan struct{}, concurrency)}
}

// Params returns the parameters new hashes are made with.
func (h *Hasher) Params() Argon2Params { return h.params }

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() { <-h.sem }

// Hash returns the PHC string of password with a fresh random salt:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key> (base64 without padding).
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, h.params.SaltLen)
	_, _ = rand.Read(salt)
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, h.params.Time, h.params.MemoryKiB, h.params.Threads, uint32(h.params.KeyLen))
	h.release()
	return encodePHC(h.params, salt, key), nil
}

// Verify reports whether password matches the PHC string encoded. rehash
// is true when the match used other parameters than the Hasher's, so the
// caller should store a new hash made with Hash.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (ok, rehash bool, err error) {
	if input, inner, isLegacy := legacyInput(encoded, password); isLegacy {
		ok, _, err := h.Verify(ctx, input, inner)
		return ok, ok, err // a legacy hash is always replaced after a match
	}
	p, salt, key, err := decodePHC(encoded)
	if err != nil {
		return false, false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(key)))
	h.release()
	if subtle.ConstantTimeCompare(got, key) != 1 {
		return false, false, nil
	}
	rehash = p.MemoryKiB != h.params.MemoryKiB || p.Time != h.params.Time || p.Threads != h.params.Threads ||
		len(salt) != h.params.SaltLen || len(key) != h.params.KeyLen
	return true, rehash, nil
}

var b64 = base64.RawStdEncoding

func encodePHC(p Argon2Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// DummyVerify spends the same time as a real verification, for logins to
// unknown accounts, so that timing does not tell which accounts exist.
func (h *Hasher) DummyVerify(ctx context.Context, password string) {
	_, _, _ = h.Verify(ctx, password, h.dummyHash())
}

func (h *Hasher) dummyHash() string {
	h.dummyOnce.Do(func() {
		salt := make([]byte, h.params.SaltLen)
		h.dummy = encodePHC(h.params, salt, make([]byte, h.params.KeyLen))
	})
	return h.dummy
}

// ErrBadHash means a stored password hash is not a PHC string we can read.
var ErrBadHash = fmt.Errorf("auth: unrecognised password hash")

// Limits on parameters read from a stored hash, so a corrupt or planted row
// cannot make one verification take gigabytes or minutes.
const (
	maxMemoryKiB = 1 << 20 // 1 GiB
	maxTime      = 16
)

func decodePHC(s string) (Argon2Params, []byte, []byte, error) {
	parts := strings.Split(s, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return Argon2Params{}, nil, nil, ErrBadHash
	}
	var p Argon2Params
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return Argon2Params{}, nil, nil, ErrBadHash
		}
		switch k {
		case "m":
			p.MemoryKiB = uint32(n)
		case "t":
			p.Time = uint32(n)
		case "p":
			if n > 255 {
				return Argon2Params{}, nil, nil, ErrBadHash
			}
			p.Threads = uint8(n)
		default:
			return Argon2Params{}, nil, nil, ErrBadHash
		}
	}
	if p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > maxMemoryKiB || p.Time < 1 || p.Time > maxTime || p.Threads < 1 {
		return Argon2Params{}, nil, nil, ErrBadHash
	}
	salt, err1 := b64.DecodeString(parts[4])
	key, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 || len(key) > 128 {
		return Argon2Params{}, nil, nil, ErrBadHash
	}
	p.SaltLen, p.KeyLen = len(salt), len(key)
	return p, salt, key, nil
}
