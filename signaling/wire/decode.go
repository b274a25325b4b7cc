package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"unicode/utf8"
)

// Directions a message may travel.
const (
	toServer = 1 << iota
	toClient
)

type entry struct {
	typ reflect.Type
	dir int
}

// registry maps every message type name to its Go type and direction.
var registry = map[string]entry{
	"join":                {reflect.TypeOf(Join{}), toServer},
	"ping":                {reflect.TypeOf(Ping{}), toServer},
	"admit":               {reflect.TypeOf(Admit{}), toServer},
	"remove":              {reflect.TypeOf(Remove{}), toServer},
	"chat":                {reflect.TypeOf(Chat{}), toServer},
	"typing":              {reflect.TypeOf(Typing{}), toServer},
	"update_consent":      {reflect.TypeOf(UpdateConsent{}), toServer},
	"end":                 {reflect.TypeOf(End{}), toServer},
	"leave":               {reflect.TypeOf(Leave{}), toServer},
	"joined":              {reflect.TypeOf(Joined{}), toClient},
	"participant_joined":  {reflect.TypeOf(ParticipantJoined{}), toClient},
	"participant_updated": {reflect.TypeOf(ParticipantUpdated{}), toClient},
	"participant_left":    {reflect.TypeOf(ParticipantLeft{}), toClient},
	"chat_delivered":      {reflect.TypeOf(ChatDelivered{}), toClient},
	"typing_update":       {reflect.TypeOf(TypingUpdate{}), toClient},
	"conversation_ended":  {reflect.TypeOf(ConversationEnded{}), toClient},
	"error":               {reflect.TypeOf(Error{}), toClient},
	"pong":                {reflect.TypeOf(Pong{}), toClient},
	"reconnect":           {reflect.TypeOf(Reconnect{}), toClient},
}

func typOf(v any) reflect.Type { return reflect.TypeOf(v) }

// TypeNames returns every message type name, sorted.
func TypeNames() []string {
	out := make([]string, 0, len(registry))
	for k := range registry {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Protocol error codes sent in Error messages.
const (
	CodeBadMessage   = "bad_message"   // not JSON, wrong shape, unknown field
	CodeUnknownType  = "unknown_type"  // a type the server does not know or accept
	CodeJoinFirst    = "join_first"    // a message before Join
	CodeBadToken     = "bad_token"     // invalid, expired or foreign join token
	CodeNotAllowed   = "not_allowed"   // role or grants forbid it
	CodeNotAdmitted  = "not_admitted"  // waiting customers may not do this yet
	CodeNotFound     = "not_found"     // participant or conversation unknown
	CodeRateLimited  = "rate_limited"  // too many messages; slow down
	CodeEnded        = "ended"         // the conversation is over
	CodeResumeFailed = "resume_failed" // too late or unknown session: join afresh
	CodeInvalid      = "invalid"       // a field's value is out of range
	CodeInternal     = "internal"      // the server failed; try again
	CodeWrongConv    = "wrong_conversation"
)

// ProtocolError is a problem with a client's message; it becomes an Error
// message to the client.
type ProtocolError struct {
	Code, Msg, Ref string
}

func (e *ProtocolError) Error() string { return e.Code + ": " + e.Msg }

// Errorf returns a *ProtocolError.
func Errorf(code, format string, args ...any) *ProtocolError {
	return &ProtocolError{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// Limits on message fields.
const (
	MaxIDLen       = 64
	MaxTokenLen    = 4096
	MaxChatRunes   = 4000
	MaxSDPBytes    = 48 << 10
	MaxNameRunes   = 80
	maxObjectDepth = 16
)

// Decode parses one client message. Only client→server types are
// accepted; unknown types and fields, wrong value types, invalid UTF-8 and
// values over the limits return a *ProtocolError. It never panics.
func Decode(data []byte) (Message, error) {
	return decode(data, toServer)
}

// DecodeFromServer parses one server message (for the Go client).
func DecodeFromServer(data []byte) (Message, error) {
	return decode(data, toClient)
}

func decode(data []byte, dir int) (Message, error) {
	if len(data) > MaxMessageBytes {
		return nil, Errorf(CodeBadMessage, "message larger than %d bytes", MaxMessageBytes)
	}
	if !utf8.Valid(data) {
		return nil, Errorf(CodeBadMessage, "message is not valid UTF-8")
	}
	if depth(data) > maxObjectDepth {
		return nil, Errorf(CodeBadMessage, "message nests too deeply")
	}
	var h Header
	if err := json.Unmarshal(data, &h); err != nil {
		return nil, Errorf(CodeBadMessage, "message is not a JSON object with a string type")
	}
	ref := ""
	if len(h.ID) <= MaxIDLen {
		ref = h.ID
	}
	e, ok := registry[h.Type]
	if !ok || e.dir&dir == 0 {
		return nil, &ProtocolError{Code: CodeUnknownType, Msg: fmt.Sprintf("unknown message type %q", truncate(h.Type, 40)), Ref: ref}
	}
	v := reflect.New(e.typ)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v.Interface()); err != nil {
		return nil, &ProtocolError{Code: CodeBadMessage, Msg: describe(err), Ref: ref}
	}
	if dec.More() {
		return nil, &ProtocolError{Code: CodeBadMessage, Msg: "one JSON object per message", Ref: ref}
	}
	m := v.Interface().(Message)
	if dir == toServer { // the limits guard the server against its clients
		if err := validate(m); err != nil {
			err.Ref = ref
			return nil, err
		}
	}
	return m, nil
}

func describe(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fmt.Sprintf("field %q has the wrong type", truncate(te.Field, 40))
	}
	msg := err.Error()
	if len(msg) > 120 {
		msg = msg[:120]
	}
	return msg
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// depth returns the deepest nesting of objects and arrays in data, without
// building anything (so a hostile message cannot make the decoder recurse).
func depth(data []byte) int {
	d, deepest, inString, escaped := 0, 0, false, false
	for _, c := range data {
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			d++
			deepest = max(deepest, d)
		case c == '}' || c == ']':
			d--
		}
	}
	return deepest
}

// validate checks the limits of each message.
func validate(m Message) *ProtocolError {
	if len(m.Head().ID) > MaxIDLen {
		return Errorf(CodeInvalid, "id longer than %d characters", MaxIDLen)
	}
	switch v := m.(type) {
	case *Join:
		if v.Token == "" || len(v.Token) > MaxTokenLen {
			return Errorf(CodeBadToken, "join needs a token")
		}
		if r := v.Resume; r != nil && (len(r.SessionID) > MaxIDLen || len(r.ResumeToken) > MaxIDLen) {
			return Errorf(CodeInvalid, "resume fields too long")
		}
	case *Admit:
		if v.ParticipantID == "" || len(v.ParticipantID) > MaxIDLen {
			return Errorf(CodeInvalid, "participant_id required")
		}
	case *Remove:
		if v.ParticipantID == "" || len(v.ParticipantID) > MaxIDLen {
			return Errorf(CodeInvalid, "participant_id required")
		}
	case *Chat:
		if n := utf8.RuneCountInString(v.Text); n == 0 || n > MaxChatRunes {
			return Errorf(CodeInvalid, "chat text must have 1 to %d characters", MaxChatRunes)
		}
	}
	return validateMore(m)
}

// validateMore checks the messages registered by the media and co-browse
// files; it is replaced there as those arrive.
var validateMore = func(Message) *ProtocolError { return nil }
