package sfu

import "errors"

// Errors returned by the SFU. Callers test them with errors.Is; the
// returned errors wrap them with the operation and ids (never payloads).
var (
	// ErrClosed means the SFU, the room or the peer has been closed.
	ErrClosed = errors.New("sfu: closed")
	// ErrRoomFull means the room already has Config.MaxParticipantsPerRoom
	// participants.
	ErrRoomFull = errors.New("sfu: room is full")
	// ErrTooManyRooms means the node already hosts Config.MaxRooms rooms.
	ErrTooManyRooms = errors.New("sfu: too many rooms")
	// ErrBadParticipant means a participant or room id is empty, too long
	// or holds characters that cannot appear in SDP.
	ErrBadParticipant = errors.New("sfu: invalid participant or room id")
	// ErrBadSDP means an offer or answer could not be parsed or applied
	// (malformed, no DTLS fingerprint, unsupported).
	ErrBadSDP = errors.New("sfu: invalid session description")
	// ErrNotAllowed means the participant's grants forbid what it asked for
	// (publishing a source, receiving data).
	ErrNotAllowed = errors.New("sfu: not allowed by grants")
	// ErrTooManyTracks means an offer publishes more tracks than
	// Config.MaxTracksPerParticipant.
	ErrTooManyTracks = errors.New("sfu: too many published tracks")
	// ErrUnexpectedAnswer means an answer arrived while the SFU had no
	// offer outstanding.
	ErrUnexpectedAnswer = errors.New("sfu: answer without an outstanding offer")
	// ErrBadCandidate means an ICE candidate could not be parsed or added.
	ErrBadCandidate = errors.New("sfu: invalid ICE candidate")
	// ErrTooManyCandidates means more ICE candidates arrived before the
	// remote description than the SFU buffers.
	ErrTooManyCandidates = errors.New("sfu: too many early ICE candidates")
	// ErrUnknownTrack means a request named a track the room does not have.
	ErrUnknownTrack = errors.New("sfu: unknown track")
	// ErrBadSignal means a Signal had an unknown kind or missing fields.
	ErrBadSignal = errors.New("sfu: invalid signal")
	// ErrDataNotOpen means the data channel is not (yet, or any more) open.
	ErrDataNotOpen = errors.New("sfu: data channel not open")
	// ErrDataTooLarge means a data-channel message exceeds
	// Config.MaxDataMessageBytes.
	ErrDataTooLarge = errors.New("sfu: data message too large")
	// ErrDataBackpressure means the data channel's send buffer holds more
	// than Config.MaxDataBufferedBytes; the message was dropped.
	ErrDataBackpressure = errors.New("sfu: data channel send buffer full")
)

// ConfigError names the setting (relative to the sfu section, e.g.
// "udp_port") that Config.Validate found wrong and what is wrong with it.
type ConfigError struct {
	Key string
	Msg string
}

func (e *ConfigError) Error() string { return "sfu." + e.Key + ": " + e.Msg }
