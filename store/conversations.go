package store

import (
	"context"
	"encoding/json"
	"time"
)

// ShareLink is a conversation's customer link: only the hash of its token
// is stored.
type ShareLink struct {
	TokenHash string
	ExpiresAt time.Time
	MaxUses   int
	Uses      int
	Revoked   bool
}

// Conversation is one advisory session and the head of its record.
type Conversation struct {
	ID           string
	TenantID     string
	Subject      string
	CustomerName string
	State        string // created | waiting | active | ended
	CreatedBy    string // actor
	OwnerID      string // advisor user id, if any
	CreatedAt    time.Time
	StartedAt    time.Time
	EndedAt      time.Time
	EndReason    string
	Share        ShareLink
	CodeHash     string
	CodeExpires  time.Time
}

// Participant is a person in a conversation.
type Participant struct {
	ID             string
	ConversationID string
	TenantID       string
	Role           string // advisor | customer
	UserID         string // staff only
	DisplayName    string
	State          string // waiting | admitted | left | removed
	Consent        json.RawMessage
	CreatedAt      time.Time
	AdmittedAt     time.Time
	LeftAt         time.Time
	ConnectedMS    int64
	// RejoinHash is the SHA-256 of the customer's rejoin token.
	RejoinHash string
}

// ConvEvent is one entry of a conversation's ordered record.
type ConvEvent struct {
	ConversationID string
	TenantID       string
	Seq            int64 // 1, 2, 3, ... per conversation; set by the store
	At             time.Time
	Actor          string
	Type           string
	Data           json.RawMessage
}

// ConversationFilter selects conversations for a list.
type ConversationFilter struct {
	State   string    // "" = any
	OwnerID string    // "" = any
	From    time.Time // created at or after
	To      time.Time // created before
	// Cursor continues a previous page: only conversations that sort after
	// it (newest first) are returned.
	Cursor string
	Limit  int
}

// Webhook is a tenant's endpoint for conversation events.
type Webhook struct {
	TenantID  string
	URL       string
	Secret    string // sealed
	CreatedAt time.Time
}

// WebhookDelivery is one event on its way to a tenant's endpoint.
type WebhookDelivery struct {
	ID            string
	TenantID      string
	Event         string
	Payload       json.RawMessage
	CreatedAt     time.Time
	Attempts      int
	NextAttemptAt time.Time
	DeliveredAt   time.Time
	Failed        bool // gave up
	LastStatus    int
	LastError     string
}

// Conversations stores conversations and their records. Every method is
// scoped to a tenant, except the lookups by share-token or code hash, whose
// answer carries the tenant.
type Conversations interface {
	CreateConversation(ctx context.Context, c Conversation) error
	Conversation(ctx context.Context, tenantID, id string) (Conversation, error)
	ConversationByShareHash(ctx context.Context, hash string) (Conversation, error)
	// ConversationByCodeHash finds the conversation whose code is still
	// valid at now.
	ConversationByCodeHash(ctx context.Context, hash string, now time.Time) (Conversation, error)
	ListConversations(ctx context.Context, tenantID string, f ConversationFilter) ([]Conversation, error)
	// SetConversationState moves a conversation to state (recording when
	// it started or ended); it refuses to leave "ended".
	SetConversationState(ctx context.Context, tenantID, id, state, reason string, at time.Time) error
	// UseShareToken counts one use of the link if it is valid at now.
	UseShareToken(ctx context.Context, tenantID, id string, now time.Time) (bool, error)
	// UseCode ends the code's validity after a successful exchange.
	UseCode(ctx context.Context, tenantID, id string) error
	SetShare(ctx context.Context, tenantID, id string, link ShareLink, codeHash string, codeExpires time.Time) error
	RevokeShare(ctx context.Context, tenantID, id string) error
	DeleteConversation(ctx context.Context, tenantID, id string) error
	// DeleteConversationsEndedBefore erases conversations (and their
	// records) that ended, or were abandoned, before t.
	DeleteConversationsEndedBefore(ctx context.Context, tenantID string, t time.Time) (int, error)

	AddParticipant(ctx context.Context, p Participant) error
	UpdateParticipant(ctx context.Context, p Participant) error
	Participants(ctx context.Context, tenantID, conversationID string) ([]Participant, error)
	// ParticipantByRejoinHash finds a customer by the hash of their rejoin token.
	ParticipantByRejoinHash(ctx context.Context, hash string) (Participant, error)

	AppendConvEvent(ctx context.Context, e ConvEvent) (ConvEvent, error)
	ConvEvents(ctx context.Context, tenantID, conversationID string, afterSeq int64, limit int) ([]ConvEvent, error)

	SetWebhook(ctx context.Context, w Webhook) error
	Webhook(ctx context.Context, tenantID string) (Webhook, error)
	DeleteWebhook(ctx context.Context, tenantID string) error
	EnqueueWebhook(ctx context.Context, d WebhookDelivery) error
	DueWebhooks(ctx context.Context, now time.Time, limit int) ([]WebhookDelivery, error)
	UpdateWebhookDelivery(ctx context.Context, d WebhookDelivery) error
	WebhookDeliveries(ctx context.Context, tenantID string, limit int) ([]WebhookDelivery, error)
}
