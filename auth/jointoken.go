package auth

import (
	"errors"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Grants a join token can carry.
const (
	GrantPublishAudio  = "publish_audio"
	GrantPublishVideo  = "publish_video"
	GrantPublishScreen = "publish_screen"
	GrantSubscribe     = "subscribe"
	GrantCobrowseShare = "cobrowse_share" // the customer may share their page
	GrantCobrowseView  = "cobrowse_view"  // may watch the shared page
	GrantControl       = "control"        // may ask the customer for control
)

// JoinClaims are what a join token binds: one participant of one
// conversation of one tenant, with a role and grants.
type JoinClaims struct {
	Tenant       string   `json:"tid"`
	Conversation string   `json:"cid"`
	Participant  string   `json:"sub"`
	Role         string   `json:"role"`
	Name         string   `json:"name"`
	Grants       []string `json:"grants"`
	jwt.RegisteredClaims
}

// Has reports whether the token grants g.
func (c *JoinClaims) Has(g string) bool { return slices.Contains(c.Grants, g) }

// MaxJoinTokenTTL bounds a join token's lifetime: it is only needed to open
// (or resume) the signalling connection.
const MaxJoinTokenTTL = 5 * time.Minute

const (
	joinIssuer   = "lotse"
	joinAudience = "lotse-signal"
)

// ErrBadJoinToken means a join token is malformed, forged or expired.
var ErrBadJoinToken = errors.New("auth: invalid join token")

// JoinTokens issues and checks join tokens (JWT, HS256, RFC 7519) with a
// key from the node's data directory.
type JoinTokens struct {
	key []byte
	ttl time.Duration
	now func() time.Time
}

// NewJoinTokens returns an issuer with a 32-byte key; ttl ≤ 5 min.
func NewJoinTokens(key []byte, ttl time.Duration, now func() time.Time) *JoinTokens {
	if ttl <= 0 || ttl > MaxJoinTokenTTL {
		ttl = MaxJoinTokenTTL
	}
	if now == nil {
		now = time.Now
	}
	return &JoinTokens{key: key, ttl: ttl, now: now}
}

// Issue signs c and returns the token and its expiry.
func (j *JoinTokens) Issue(c JoinClaims) (string, time.Time, error) {
	now := j.now()
	exp := now.Add(j.ttl)
	c.RegisteredClaims = jwt.RegisteredClaims{Issuer: joinIssuer, Audience: jwt.ClaimStrings{joinAudience}, Subject: c.Participant,
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now.Add(-5 * time.Second)), ExpiresAt: jwt.NewNumericDate(exp),
		ID: NewToken(12)}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, &c).SignedString(j.key)
	return s, exp, err
}

// Verify checks a token's signature (HS256 only), issuer, audience and
// lifetime and returns its claims.
func (j *JoinTokens) Verify(token string) (*JoinClaims, error) {
	var c JoinClaims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return j.key, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithIssuer(joinIssuer), jwt.WithAudience(joinAudience),
		jwt.WithExpirationRequired(), jwt.WithTimeFunc(j.now), jwt.WithLeeway(2*time.Second))
	if err != nil || c.Tenant == "" || c.Conversation == "" || c.Participant == "" {
		return nil, ErrBadJoinToken
	}
	if c.ExpiresAt.Sub(c.IssuedAt.Time) > MaxJoinTokenTTL+time.Second {
		return nil, ErrBadJoinToken
	}
	return &c, nil
}
