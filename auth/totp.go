package auth

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"image/png"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/lotse-io/lotse/store"
)

// TOTP follows RFC 6238 with the parameters every authenticator app
// supports: SHA-1, 6 digits, 30 s steps. A code is accepted for the current
// step and one step either side (clock drift), and only once: the step of
// the last accepted code is stored and must grow.
const (
	totpPeriod = 30
	totpSkew   = 1
	// RecoveryCodeCount is how many recovery codes an enrolment yields.
	RecoveryCodeCount = 10
)

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Skew: 0, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// TOTPEnrolment is what a user needs to add Lotse to an authenticator app.
type TOTPEnrolment struct {
	Secret string `json:"secret"`      // base32, for manual entry
	URI    string `json:"otpauth_uri"` // otpauth://totp/...
	QRPNG  string `json:"qr_png"`      // data:image/png;base64,...
}

// secretBox encrypts TOTP secrets at rest with AES-256-GCM; the user id is
// authenticated data, so a secret copied to another row does not decrypt.
type secretBox struct{ aead cipher.AEAD }

func newSecretBox(key []byte) (*secretBox, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &secretBox{aead: aead}, nil
}

func (b *secretBox) seal(userID, secret string) string {
	nonce := make([]byte, b.aead.NonceSize())
	_, _ = rand.Read(nonce)
	ct := b.aead.Seal(nonce, nonce, []byte(secret), []byte(userID))
	return "v1:" + base64.RawStdEncoding.EncodeToString(ct)
}

func (b *secretBox) open(userID, sealed string) (string, error) {
	raw, ok := strings.CutPrefix(sealed, "v1:")
	if !ok {
		return "", errors.New("auth: unknown TOTP secret format")
	}
	ct, err := base64.RawStdEncoding.DecodeString(raw)
	if err != nil || len(ct) < b.aead.NonceSize() {
		return "", errors.New("auth: corrupt TOTP secret")
	}
	pt, err := b.aead.Open(nil, ct[:b.aead.NonceSize()], ct[b.aead.NonceSize():], []byte(userID))
	if err != nil {
		return "", errors.New("auth: TOTP secret does not decrypt")
	}
	return string(pt), nil
}

// newTOTP makes a new secret for account and its enrolment data.
func newTOTP(issuer, account string) (secret string, e TOTPEnrolment, err error) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: account, Period: totpPeriod,
		SecretSize: 20, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return "", TOTPEnrolment{}, err
	}
	img, err := key.Image(240, 240)
	if err != nil {
		return "", TOTPEnrolment{}, err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", TOTPEnrolment{}, err
	}
	return key.Secret(), TOTPEnrolment{Secret: key.Secret(), URI: key.URL(),
		QRPNG: "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())}, nil
}

// matchTOTP returns the time step whose code equals code (within the skew),
// or 0.
func matchTOTP(secret, code string, now time.Time) int64 {
	code = strings.TrimSpace(code)
	if len(code) != 6 {
		return 0
	}
	step := now.Unix() / totpPeriod
	for d := int64(-totpSkew); d <= totpSkew; d++ {
		want, err := totp.GenerateCodeCustom(secret, time.Unix((step+d)*totpPeriod, 0), totpOpts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return step + d
		}
	}
	return 0
}

// newRecoveryCodes returns RecoveryCodeCount codes (80 bits each, shown as
// four groups of four base32 characters) and their hashes.
func newRecoveryCodes() (codes, hashes []string) {
	const alphabet = "abcdefghijkmnpqrstuvwxyz23456789" // 32 symbols, no 0/o/1/l
	for i := 0; i < RecoveryCodeCount; i++ {
		var sb strings.Builder
		for j := 0; j < 16; j++ {
			if j > 0 && j%4 == 0 {
				sb.WriteByte('-')
			}
			sb.WriteByte(alphabet[randIndex(len(alphabet))])
		}
		codes = append(codes, sb.String())
		hashes = append(hashes, HashToken(normalizeRecoveryCode(sb.String())))
	}
	return codes, hashes
}

func normalizeRecoveryCode(s string) string {
	return strings.ToLower(strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(s)))
}

func looksLikeRecoveryCode(s string) bool { return len(normalizeRecoveryCode(s)) == 16 }

// checkSecondFactor verifies a TOTP code (once per step) or a recovery
// code (once) for u.
func (s *Service) checkSecondFactor(ctx context.Context, u store.UserRecord, code string) (method string, ok bool, err error) {
	if looksLikeRecoveryCode(code) {
		used, err := s.st.UseRecoveryCode(ctx, u.TenantID, u.ID, HashToken(normalizeRecoveryCode(code)), s.now())
		return "recovery_code", used, err
	}
	secret, err := s.box.open(u.ID, u.Security.TOTPSecret)
	if err != nil {
		return "totp", false, fmt.Errorf("user %s: %w", u.ID, err)
	}
	step := matchTOTP(secret, code, s.now())
	if step == 0 {
		return "totp", false, nil
	}
	fresh, err := s.st.UseTOTPStep(ctx, u.TenantID, u.ID, step)
	return "totp", fresh, err
}
