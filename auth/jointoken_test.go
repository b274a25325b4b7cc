package auth

import (
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestJoinTokens(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	key := []byte("0123456789abcdef0123456789abcdef")
	j := NewJoinTokens(key, time.Hour, clock) // clamped to 5 min
	claims := JoinClaims{Tenant: "t1", Conversation: "c1", Participant: "p1", Role: "customer", Grants: []string{GrantSubscribe}}
	tok, exp, err := j.Issue(claims)
	if err != nil || exp.Sub(now) != MaxJoinTokenTTL {
		t.Fatalf("issue: %v, ttl %v", err, exp.Sub(now))
	}
	c, err := j.Verify(tok)
	if err != nil || c.Tenant != "t1" || c.Conversation != "c1" || c.Participant != "p1" || !c.Has(GrantSubscribe) || c.Has(GrantControl) {
		t.Fatalf("verify: %+v %v", c, err)
	}
	parts := strings.Split(tok, ".")
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, &claims).SignedString(jwt.UnsafeAllowNoneSignatureType)
	other, _, _ := NewJoinTokens([]byte("another-key-another-key-another!!"), 0, clock).Issue(claims)
	for name, bad := range map[string]string{
		"tampered payload": parts[0] + "." + parts[1] + "x." + parts[2],
		"alg none":         none,
		"other key":        other,
		"garbage":          "not.a.token",
		"empty":            "",
	} {
		if _, err := j.Verify(bad); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	now = now.Add(6 * time.Minute)
	if _, err := j.Verify(tok); err == nil {
		t.Error("expired token accepted")
	}
}
