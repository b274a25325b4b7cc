package turn

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // the TURN REST scheme (coturn use-auth-secret) is HMAC-SHA1
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/lotse-io/lotse/internal/secret"
)

// Credential limits.
const (
	// maxParticipantLen bounds the user part of a REST username; with
	// the expiry it stays far below STUN's 513-byte USERNAME limit.
	maxParticipantLen = 128
	// clockSkew is how far in the future beyond MaxCredentialTTL an
	// expiry may lie, for minting hosts whose clocks run ahead.
	clockSkew = 5 * time.Minute
	// SecretFileName is the generated secret's file in the data directory.
	SecretFileName = "turn-secret"
)

// ICEServer is one entry of an RTCConfiguration's iceServers list (W3C
// WebRTC §4.2.4), ready to marshal to JSON for a browser.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// RESTCredentials returns the TURN REST API credentials for participantID
// valid until expiry: username "<unix expiry>:<participantID>" and password
// base64(HMAC-SHA1(secret, username)). This is the scheme of
// draft-uberti-behave-turn-rest-00 that coturn's use-auth-secret
// implements, so any holder of the secret can mint credentials for either
// relay.
func RESTCredentials(secret []byte, participantID string, expiry time.Time) (username, password string) {
	username = strconv.FormatInt(expiry.Unix(), 10) + ":" + participantID
	return username, restPassword(secret, username)
}

func restPassword(secret []byte, username string) string {
	mac := hmac.New(sha1.New, secret)
	mac.Write([]byte(username))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Reasons a credential is refused (the "reason" label of
// lotse_turn_auth_failures_total).
const (
	authMalformed = "malformed" // not "expiry:participant"
	authExpired   = "expired"
	authTooLong   = "too_long_lived" // expiry further ahead than MaxCredentialTTL
	authRealm     = "wrong_realm"
	authIntegrity = "bad_integrity" // MESSAGE-INTEGRITY did not verify: wrong password
)

// parseRESTUsername splits a REST username "expiry:participant". The
// participant must be 1..maxParticipantLen printable ASCII characters; the
// expiry a decimal Unix time.
func parseRESTUsername(username string) (participant string, expiry time.Time, ok bool) {
	exp, participant, found := strings.Cut(username, ":")
	if !found || exp == "" || len(exp) > 12 || participant == "" || len(participant) > maxParticipantLen {
		return "", time.Time{}, false
	}
	var secs int64
	for _, c := range []byte(exp) {
		if c < '0' || c > '9' {
			return "", time.Time{}, false
		}
		secs = secs*10 + int64(c-'0')
	}
	for _, c := range []byte(participant) {
		if c < 0x21 || c > 0x7e {
			return "", time.Time{}, false
		}
	}
	return participant, time.Unix(secs, 0), true
}

// credentialVerdict judges a REST username at now: the participant on
// success, else the refusal reason.
func credentialVerdict(username, realm, wantRealm string, now time.Time) (participant, reason string) {
	p, exp, ok := parseRESTUsername(username)
	switch {
	case !ok:
		return "", authMalformed
	case realm != wantRealm:
		return "", authRealm
	case !exp.After(now):
		return "", authExpired
	case exp.Sub(now) > MaxCredentialTTL+clockSkew:
		return "", authTooLong
	}
	return p, ""
}

// LoadOrCreateSecret returns the shared secret kept in dataDir, creating a
// random 256-bit one (mode 0600) on first use. lotse serve uses it when no
// secret is configured; copy the file to a `lotse turn` host to share it.
func LoadOrCreateSecret(dataDir string) (secret.String, error) {
	path := filepath.Join(dataDir, SecretFileName)
	s, err := readSecretFile(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return s, err
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	val := base64.RawURLEncoding.EncodeToString(b)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) { // created concurrently
		return readSecretFile(path)
	}
	if err != nil {
		return "", fmt.Errorf("create %s: %w", path, err)
	}
	if _, err := f.WriteString(val + "\n"); err != nil {
		f.Close()
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return secret.String(val), nil
}

// readSecretFile reads a secret file (secret.ReadFile) at least
// minSecretLen long. A missing file is reported with fs.ErrNotExist.
func readSecretFile(path string) (secret.String, error) {
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	s, err := secret.ReadFile(path)
	if err != nil {
		return "", err
	}
	if len(s.Reveal()) < minSecretLen {
		return "", fmt.Errorf("%s: the secret must be at least %d characters", path, minSecretLen)
	}
	return s, nil
}
