package signaling

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/lotse-io/lotse/auth"
	"github.com/lotse-io/lotse/signaling/wire"
	"github.com/lotse-io/lotse/store"
)

// Config is the signalling section of the configuration.
type Config struct {
	// ShareTTL is how long a new share link works; ShareMaxUses how often.
	ShareTTL     time.Duration `yaml:"share_ttl"`
	ShareMaxUses int           `yaml:"share_max_uses"`
	// CodeTTL is how long a 6-digit code works.
	CodeTTL time.Duration `yaml:"code_ttl"`
	// CodeFailuresPerIP wrong codes from one address within CodeWindow
	// block further attempts from it; CodeFailuresGlobal wrong codes from
	// all addresses together within CodeWindow block code exchange for
	// everyone (a distributed guessing attack), until the window passes.
	CodeFailuresPerIP  int           `yaml:"code_failures_per_ip"`
	CodeFailuresGlobal int           `yaml:"code_failures_global"`
	CodeWindow         time.Duration `yaml:"code_window"`
	// JoinTokenTTL is the join token's lifetime (≤ 5m).
	JoinTokenTTL time.Duration `yaml:"join_token_ttl"`
	// EmptyTimeout ends a conversation everyone has left for this long.
	EmptyTimeout time.Duration `yaml:"empty_timeout"`
	// ResumeWindow is how long a dropped connection may resume.
	ResumeWindow time.Duration `yaml:"resume_window"`
	// PingInterval is how often the server pings; a peer silent for three
	// intervals is closed.
	PingInterval time.Duration `yaml:"ping_interval"`
	// JoinTimeout is how long a new connection may take to send Join.
	JoinTimeout time.Duration `yaml:"join_timeout"`
	// ReplayBuffer is how many messages a session keeps for resumption.
	ReplayBuffer int `yaml:"replay_buffer"`
	// SendQueue is the per-connection outbound queue; a client that falls
	// further behind is disconnected (and can resume).
	SendQueue int `yaml:"send_queue"`
	// RateLimit messages per second (burst RateBurst) per connection;
	// RateStrikes refusals within 10 s close the connection with 1008.
	RateLimit   float64 `yaml:"rate_limit"`
	RateBurst   int     `yaml:"rate_burst"`
	RateStrikes int     `yaml:"rate_strikes"`
	// ICERefresh is how often connected participants get fresh ICE
	// servers (TURN credentials live 10 minutes by default).
	ICERefresh time.Duration `yaml:"ice_refresh"`
	// CobrowseFrameRate bounds binary co-browse frames per second per
	// connection (burst: twice as many).
	CobrowseFrameRate float64 `yaml:"cobrowse_frame_rate"`
	// MaxConnections bounds WebSockets on this node.
	MaxConnections int `yaml:"max_connections"`
	// Webhooks.
	WebhookTimeout      time.Duration `yaml:"webhook_timeout"`
	WebhookMaxAttempts  int           `yaml:"webhook_max_attempts"`
	WebhookAllowPrivate bool          `yaml:"webhook_allow_private_networks"`
	// RetentionInterval is how often old records are deleted.
	RetentionInterval time.Duration `yaml:"retention_interval"`
	// ICETransportPolicy is handed to clients for their PeerConnection:
	// "all" (the default) or "relay" — media only through the TURN relay,
	// for deployments whose SFU ports clients cannot reach.
	ICETransportPolicy string `yaml:"ice_transport_policy"`
}

// DefaultConfig returns the signalling defaults.
func DefaultConfig() Config {
	return Config{
		ShareTTL: 24 * time.Hour, ShareMaxUses: 10, CodeTTL: 10 * time.Minute,
		CodeFailuresPerIP: 10, CodeFailuresGlobal: 1000, CodeWindow: 10 * time.Minute,
		JoinTokenTTL: 5 * time.Minute, EmptyTimeout: 10 * time.Minute, ResumeWindow: 30 * time.Second,
		PingInterval: 15 * time.Second, JoinTimeout: 10 * time.Second, ReplayBuffer: 1024, SendQueue: 512,
		RateLimit: 30, RateBurst: 100, RateStrikes: 50, CobrowseFrameRate: 200, MaxConnections: 20000, ICERefresh: 4 * time.Minute,
		WebhookTimeout: 10 * time.Second, WebhookMaxAttempts: 8, RetentionInterval: time.Hour, ICETransportPolicy: "all",
	}
}

// Validate checks the section.
func (c *Config) Validate() error {
	switch {
	case c.ICETransportPolicy != "all" && c.ICETransportPolicy != "relay":
		return errors.New(`ice_transport_policy: "all" or "relay"`)
	case c.ShareTTL < time.Minute || c.ShareTTL > 30*24*time.Hour:
		return errors.New("share_ttl: between 1m and 720h")
	case c.ShareMaxUses < 1 || c.ShareMaxUses > 1000:
		return errors.New("share_max_uses: between 1 and 1000")
	case c.CodeTTL < time.Minute || c.CodeTTL > time.Hour:
		return errors.New("code_ttl: between 1m and 1h")
	case c.CodeFailuresPerIP < 1, c.CodeFailuresGlobal < c.CodeFailuresPerIP, c.CodeWindow < time.Minute:
		return errors.New("code_failures_per_ip: at least 1, code_failures_global at least that, code_window at least 1m")
	case c.JoinTokenTTL < 10*time.Second || c.JoinTokenTTL > auth.MaxJoinTokenTTL:
		return errors.New("join_token_ttl: between 10s and 5m")
	case c.EmptyTimeout < time.Second:
		return errors.New("empty_timeout: at least 1s")
	case c.ResumeWindow < time.Second || c.ResumeWindow > 10*time.Minute:
		return errors.New("resume_window: between 1s and 10m")
	case c.PingInterval < time.Second || c.PingInterval > time.Minute:
		return errors.New("ping_interval: between 1s and 1m")
	case c.JoinTimeout < time.Second:
		return errors.New("join_timeout: at least 1s")
	case c.ReplayBuffer < 16 || c.ReplayBuffer > 1<<16:
		return errors.New("replay_buffer: between 16 and 65536")
	case c.SendQueue < 16 || c.SendQueue > 1<<16:
		return errors.New("send_queue: between 16 and 65536")
	case c.RateLimit <= 0 || c.RateBurst < 1 || c.RateStrikes < 1 || c.CobrowseFrameRate < 1:
		return errors.New("rate_limit, rate_burst and rate_strikes must be positive")
	case c.ICERefresh < 10*time.Second:
		return errors.New("ice_refresh: at least 10s")
	case c.MaxConnections < 1:
		return errors.New("max_connections: at least 1")
	case c.WebhookTimeout < time.Second || c.WebhookMaxAttempts < 1 || c.WebhookMaxAttempts > 20:
		return errors.New("webhook_timeout: at least 1s; webhook_max_attempts: 1 to 20")
	case c.RetentionInterval < time.Minute:
		return errors.New("retention_interval: at least 1m")
	}
	return nil
}

// Store is what signalling needs from the database.
type Store interface {
	auth.Store
	store.Conversations
}

// Deps are the service's collaborators.
type Deps struct {
	Log        zerolog.Logger
	Auth       *auth.Service
	Store      Store
	Registerer prometheus.Registerer
	// JoinKey signs join tokens; CodeKey keys the HMAC of 6-digit codes;
	// SecretKey encrypts webhook secrets. 32 bytes each.
	JoinKey, CodeKey, SecretKey []byte
	// PublicURL is Lotse's own origin, e.g. https://lotse.example-bank.de.
	PublicURL string
	// ICEServers returns the ICE servers for a participant (the SFU and
	// TURN fill it); nil means none.
	ICEServers func(participantID string) []wire.ICEServer
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Service is the signalling plane: conversations, joining, the live hub.
type Service struct {
	cfg     Config
	st      Store
	auth    *auth.Service
	log     zerolog.Logger
	tokens  *auth.JoinTokens
	codeKey []byte
	box     *sealer
	hub     *Hub
	pub     string
	ice     func(string) []wire.ICEServer
	clock   func() time.Time
	metrics *metrics
	codes   *failureCounter
	origins *originCache

	cobrowse     CobrowseRelay
	media        MediaServer
	wakeWebhooks chan struct{}
	writeBuffers *sync.Pool
	wg           sync.WaitGroup
	mediaOps     sync.WaitGroup // SFU joins and closes in flight
	trackEvents  chan trackEvent
	liveTracks   sync.Map // "conversation id/track id" → tenant id of each published track
}

// New returns the signalling service.
func New(cfg Config, deps Deps) (*Service, error) {
	if deps.Now == nil {
		deps.Now = time.Now
	}
	box, err := newSealer(deps.SecretKey)
	if err != nil {
		return nil, err
	}
	if deps.Registerer == nil {
		deps.Registerer = prometheus.NewRegistry()
	}
	s := &Service{cfg: cfg, st: deps.Store, auth: deps.Auth, log: deps.Log.With().Str("component", "signaling").Logger(),
		tokens: auth.NewJoinTokens(deps.JoinKey, cfg.JoinTokenTTL, deps.Now), codeKey: deps.CodeKey, box: box, pub: deps.PublicURL,
		ice: deps.ICEServers, clock: deps.Now, codes: newFailureCounter(cfg.CodeWindow), wakeWebhooks: make(chan struct{}, 1),
		trackEvents: make(chan trackEvent, 256)}
	s.origins = newOriginCache(deps.Store, 10*time.Second)
	s.writeBuffers = &sync.Pool{}
	s.hub = newHub(cfg, s, s.log)
	s.metrics = newMetrics(deps.Registerer, s.hub)
	return s, nil
}

func (s *Service) now() time.Time { return s.clock().UTC() }

// Start runs the background work (room sweeps, webhook delivery, record
// retention) until ctx ends; Wait waits for it.
func (s *Service) Start(ctx context.Context) {
	s.wg.Add(4)
	go func() { defer s.wg.Done(); s.hub.run(ctx) }()
	go func() { defer s.wg.Done(); s.recordTrackEvents(ctx) }()
	go func() { defer s.wg.Done(); s.deliverWebhooks(ctx) }()
	go func() { defer s.wg.Done(); s.retention(ctx) }()
}

// Wait waits for the background work started by Start.
func (s *Service) Wait() { s.wg.Wait(); s.mediaOps.Wait() }

// Shutdown tells every WebSocket client to reconnect and closes it.
func (s *Service) Shutdown(ctx context.Context) error {
	s.hub.shutdown(ctx)
	return nil
}

// record appends an event to a conversation's record.
func (s *Service) record(ctx context.Context, tenantID, convID, actor, typ string, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	_, err = s.st.AppendConvEvent(ctx, store.ConvEvent{ConversationID: convID, TenantID: tenantID, At: s.now(), Actor: actor, Type: typ, Data: b})
	if err != nil {
		return fmt.Errorf("record %s in %s: %w", typ, convID, err)
	}
	s.metrics.events.WithLabelValues(typ).Inc()
	return nil
}

// participant loads one participant of a conversation.
func (s *Service) participant(ctx context.Context, tenantID, convID, id string) (store.Participant, error) {
	ps, err := s.st.Participants(ctx, tenantID, convID)
	if err != nil {
		return store.Participant{}, err
	}
	for _, p := range ps {
		if p.ID == id {
			return p, nil
		}
	}
	return store.Participant{}, store.ErrNotFound
}

// chatHistory returns a conversation's chat from its record.
func (s *Service) chatHistory(ctx context.Context, tenantID, convID string) ([]wire.ChatMessage, error) {
	events, err := s.st.ConvEvents(ctx, tenantID, convID, 0, 0)
	if err != nil {
		return nil, err
	}
	out := []wire.ChatMessage{}
	for _, e := range events {
		if e.Type != "chat" {
			continue
		}
		var m wire.ChatMessage
		if json.Unmarshal(e.Data, &m) == nil {
			out = append(out, m)
		}
	}
	return out, nil
}

// codeHash keys a 6-digit code with the node's secret, so that the stored
// value does not give the code away.
func (s *Service) codeHash(code string) string {
	m := hmac.New(sha256.New, s.codeKey)
	m.Write([]byte(code))
	return hex.EncodeToString(m.Sum(nil))
}

// icePolicy is the joined message's ice_transport_policy ("" for all).
func (s *Service) icePolicy() string {
	if s.cfg.ICETransportPolicy == "relay" {
		return "relay"
	}
	return ""
}

// iceServers returns the ICE servers for a participant.
func (s *Service) iceServers(participantID string) []wire.ICEServer {
	if s.ice == nil {
		return []wire.ICEServer{}
	}
	if l := s.ice(participantID); l != nil {
		return l
	}
	return []wire.ICEServer{}
}
