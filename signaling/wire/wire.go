// Package wire defines every message of Lotse's WebSocket signalling
// protocol, once: the server (signaling), the Go client (signaling/client,
// tests, lotse bench) and — generated from these types —
// web-sdk/src/protocol.gen.ts all use these definitions. docs/protocol.md
// describes the protocol; Decode is the one parser of client input.
//
// Every message is one JSON object {"type": ..., "id"?: ..., "seq"?: ...,
// ...fields}: type names the message, id is the client's optional
// reference (echoed in errors), seq numbers the server's messages so that a
// resumed connection can ask for the ones it missed.
package wire

import "time"

// ProtocolVersion is the version of this protocol.
const ProtocolVersion = 1

// MaxMessageBytes is the largest message either side may send; the server
// closes a connection that sends more with 1009 (message too big).
const MaxMessageBytes = 64 << 10

// Header is the part every message has.
type Header struct {
	Type string `json:"type"`
	ID   string `json:"id,omitempty"`
	Seq  uint64 `json:"seq,omitempty"`
}

// Head returns the header (it lets any message satisfy Message).
func (h *Header) Head() *Header { return h }

// Message is any protocol message.
type Message interface{ Head() *Header }

// Roles of participants.
const (
	RoleAdvisor  = "advisor"
	RoleCustomer = "customer"
)

// Participant states.
const (
	StateWaiting  = "waiting"  // a customer waiting to be admitted
	StateAdmitted = "admitted" // in the conversation
	StateLeft     = "left"
	StateRemoved  = "removed"
)

// Conversation states.
const (
	ConvCreated = "created"
	ConvWaiting = "waiting"
	ConvActive  = "active"
	ConvEnded   = "ended"
)

// Consent is what a customer agreed to share.
type Consent struct {
	Camera     bool `json:"camera"`
	Microphone bool `json:"microphone"`
	Cobrowse   bool `json:"cobrowse"`
	// Terms is true when the customer accepted the bank's terms for the
	// session (the text shown is the bank's).
	Terms bool `json:"terms"`
}

// Participant is a person in a conversation as others see them.
type Participant struct {
	ID        string    `json:"id"`
	Role      string    `json:"role"`
	Name      string    `json:"name"`
	State     string    `json:"state"`
	Connected bool      `json:"connected"`
	Consent   *Consent  `json:"consent,omitempty"`
	JoinedAt  time.Time `json:"joined_at"`
}

// ConversationInfo describes the conversation a participant joined.
type ConversationInfo struct {
	ID      string `json:"id"`
	State   string `json:"state"`
	Subject string `json:"subject,omitempty"`
}

// ICEServer is a STUN/TURN server for the browser's RTCPeerConnection.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// ChatMessage is one chat line as delivered.
type ChatMessage struct {
	MessageID string    `json:"message_id"`
	From      string    `json:"from"` // participant id
	Name      string    `json:"name"`
	Text      string    `json:"text"`
	At        time.Time `json:"at"`
}

// ResumeInfo asks to continue a dropped connection.
type ResumeInfo struct {
	SessionID   string `json:"session_id"`
	ResumeToken string `json:"resume_token"`
	// LastSeq is the seq of the last message the client received.
	LastSeq uint64 `json:"last_seq"`
}

// --- client → server ---

// Join must be the first message on a connection. Token is the join token
// from POST /api/v1/join (customers) or /api/v1/conversations/{id}/token
// (staff). With Resume, a connection dropped less than 30 s ago continues:
// the server replays the messages after Resume.LastSeq.
type Join struct {
	Header
	Token  string      `json:"token"`
	Resume *ResumeInfo `json:"resume,omitempty"`
}

// Ping asks for a Pong (the server also pings at the WebSocket level).
type Ping struct{ Header }

// Admit lets a waiting customer in (advisors only).
type Admit struct {
	Header
	ParticipantID string `json:"participant_id"`
}

// Remove sends a participant out of the conversation (advisors only).
type Remove struct {
	Header
	ParticipantID string `json:"participant_id"`
}

// Chat sends a chat message to everyone admitted.
type Chat struct {
	Header
	Text string `json:"text"`
}

// Typing says the sender is (or stopped) typing.
type Typing struct {
	Header
	Active bool `json:"active"`
}

// UpdateConsent changes what the customer shares (customers only).
type UpdateConsent struct {
	Header
	Consent Consent `json:"consent"`
}

// End ends the conversation for everyone (advisors only).
type End struct{ Header }

// Leave leaves the conversation (the connection then closes).
type Leave struct{ Header }

// --- server → client ---

// Joined answers Join.
type Joined struct {
	Header
	SessionID    string           `json:"session_id"`
	ResumeToken  string           `json:"resume_token"`
	Resumed      bool             `json:"resumed"`
	Self         Participant      `json:"self"`
	Conversation ConversationInfo `json:"conversation"`
	Participants []Participant    `json:"participants"`
	// Chat is the conversation's chat so far (empty while waiting).
	Chat       []ChatMessage `json:"chat"`
	ICEServers []ICEServer   `json:"ice_servers"`
	// ICETransportPolicy is "relay" when media must go through the TURN
	// relay (RTCConfiguration.iceTransportPolicy); absent: "all".
	ICETransportPolicy string `json:"ice_transport_policy,omitempty"`
	// PingInterval tells the client how often the server pings, in ms.
	PingInterval int `json:"ping_interval_ms"`
}

// ParticipantJoined announces someone new (a waiting customer only to
// advisors).
type ParticipantJoined struct {
	Header
	Participant Participant `json:"participant"`
}

// ParticipantUpdated announces a change of state, connection or consent.
type ParticipantUpdated struct {
	Header
	Participant Participant `json:"participant"`
}

// ParticipantLeft announces that someone left or was removed.
type ParticipantLeft struct {
	Header
	ParticipantID string `json:"participant_id"`
	Reason        string `json:"reason"`
}

// ChatDelivered carries a chat message to everyone admitted.
type ChatDelivered struct {
	Header
	Message ChatMessage `json:"message"`
}

// TypingUpdate says who is typing.
type TypingUpdate struct {
	Header
	ParticipantID string `json:"participant_id"`
	Active        bool   `json:"active"`
}

// ConversationEnded says the conversation is over; the server closes the
// connection after it.
type ConversationEnded struct {
	Header
	Reason string `json:"reason"`
}

// Error reports a problem with a client message; the connection and the
// conversation carry on unless a close follows.
type Error struct {
	Header
	Code    string `json:"code"`
	Message string `json:"message"`
	// Ref is the id of the client message that caused it, if it had one.
	Ref string `json:"ref,omitempty"`
}

// Pong answers Ping.
type Pong struct{ Header }

// Reconnect asks the client to reconnect (the node is shutting down or
// moving the conversation); the server closes with 1012 after it.
type Reconnect struct {
	Header
	Reason  string `json:"reason"`
	AfterMS int    `json:"after_ms"`
}
