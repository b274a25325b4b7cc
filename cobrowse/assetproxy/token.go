package assetproxy

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
	"time"
)

// A token is base64url(expiry as 8 bytes big-endian Unix seconds ||
// conversation id) "." base64url(first 16 bytes of HMAC-SHA256(key,
// "lotse-cobrowse-asset" 0x00 || the same bytes)).
const tokenContext = "lotse-cobrowse-asset\x00"

func (p *Proxy) mac(body []byte) []byte {
	h := hmac.New(sha256.New, p.key)
	h.Write([]byte(tokenContext))
	h.Write(body)
	return h.Sum(nil)[:16]
}

func (p *Proxy) token(conv string, exp time.Time) string {
	body := binary.BigEndian.AppendUint64(nil, uint64(exp.Unix()))
	body = append(body, conv...)
	return base64.RawURLEncoding.EncodeToString(body) + "." + base64.RawURLEncoding.EncodeToString(p.mac(body))
}

// parseToken returns the conversation a valid, unexpired token names.
func (p *Proxy) parseToken(tok string) (string, error) {
	b64, sig, ok := strings.Cut(tok, ".")
	if !ok || len(tok) > 512 {
		return "", fmt.Errorf("%w: malformed", ErrToken)
	}
	body, err1 := base64.RawURLEncoding.DecodeString(b64)
	mac, err2 := base64.RawURLEncoding.DecodeString(sig)
	if err1 != nil || err2 != nil || len(body) < 9 {
		return "", fmt.Errorf("%w: malformed", ErrToken)
	}
	if !hmac.Equal(mac, p.mac(body)) {
		return "", fmt.Errorf("%w: signature", ErrToken)
	}
	if exp := int64(binary.BigEndian.Uint64(body[:8])); p.deps.Now().Unix() > exp {
		return "", fmt.Errorf("%w: expired", ErrToken)
	}
	return string(body[8:]), nil
}
