package cobrowse

import "errors"

// Errors the relay returns for bad input. Callers log them at debug level
// (they are counted in metrics too) and carry on: bad input never ends a
// conversation.
var (
	// ErrShortFrame means a message is too short to be a frame.
	ErrShortFrame = errors.New("cobrowse: short frame")
	// ErrBadFrame means a frame's magic, version or header is wrong.
	ErrBadFrame = errors.New("cobrowse: malformed frame")
	// ErrUnknownKind means a frame's "t" is not a known kind.
	ErrUnknownKind = errors.New("cobrowse: unknown frame kind")
	// ErrBadChunk means chunks arrived out of order or malformed.
	ErrBadChunk = errors.New("cobrowse: bad chunk")
	// ErrTooLarge means a frame, payload or inflated payload is over its
	// limit.
	ErrTooLarge = errors.New("cobrowse: too large")
	// ErrNotAllowed means the sender may not send this kind of frame
	// (e.g. a viewer sending events, or an action without control).
	ErrNotAllowed = errors.New("cobrowse: not allowed")
	// ErrInvalidEvent means a payload failed validation; the frame was
	// dropped and a fresh snapshot requested.
	ErrInvalidEvent = errors.New("cobrowse: invalid event")
	// ErrOutOfSequence means a sequenced frame arrived out of order (a gap
	// or an old epoch); it was dropped and a snapshot requested.
	ErrOutOfSequence = errors.New("cobrowse: out of sequence")
	// ErrNotAttached means a viewer message came from a participant that
	// is not attached as a viewer of the conversation.
	ErrNotAttached = errors.New("cobrowse: viewer not attached")
	// ErrNotCustomer means a customer frame came from a participant other
	// than the conversation's sharing customer.
	ErrNotCustomer = errors.New("cobrowse: not the sharing customer")
	// ErrClosed means the relay or conversation has ended.
	ErrClosed = errors.New("cobrowse: closed")
)
