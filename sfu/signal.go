package sfu

import (
	"fmt"

	"github.com/pion/webrtc/v4"
)

// SignalKind names a Signal. The JSON names are part of the signalling
// protocol (docs/media.md).
type SignalKind string

// Signals in both directions.
const (
	// SignalOffer carries an SDP offer: from the SFU for subscriptions,
	// from the client for publications.
	SignalOffer SignalKind = "offer"
	// SignalAnswer carries the SDP answer to the other side's offer.
	SignalAnswer SignalKind = "answer"
	// SignalCandidate carries one trickled ICE candidate.
	SignalCandidate SignalKind = "candidate"
	// SignalRestart from the SFU tells the client its connection failed:
	// Reason ReasonICEFailed asks it to restart ICE (offer with new
	// credentials), ReasonRejoin to join again. From the client it asks
	// the SFU to restart ICE with a fresh offer.
	SignalRestart SignalKind = "restart"
)

// Reasons of a SignalRestart from the SFU.
const (
	// ReasonICEFailed: the connection failed; restart ICE.
	ReasonICEFailed = "ice_failed"
	// ReasonRejoin: the connection cannot be renegotiated; join again.
	ReasonRejoin = "rejoin"
)

// Signals from the SFU to the client.
const (
	// SignalTracks carries every track of the room (including the
	// client's own publications) whenever the set or a mute state changes.
	SignalTracks SignalKind = "tracks"
	// SignalSpeakers carries the active speakers, loudest first, whenever
	// they change (an empty list: nobody speaks).
	SignalSpeakers SignalKind = "speakers"
	// SignalError reports a problem the SFU found outside a request (for
	// example a published track it refused); Reason says which.
	SignalError SignalKind = "error"
)

// Signals from the client to the SFU.
const (
	// SignalPublish declares the source (camera, microphone, screen,
	// screen_audio) of tracks the client is about to offer.
	SignalPublish SignalKind = "publish"
	// SignalMute sets the mute state of one of the client's sources.
	SignalMute SignalKind = "mute"
	// SignalVideo tells the SFU at which size the client shows a video
	// track (0×0 pauses it).
	SignalVideo SignalKind = "video"
)

// Source is what a published track carries.
type Source string

// Sources.
const (
	SourceCamera      Source = "camera"
	SourceMicrophone  Source = "microphone"
	SourceScreen      Source = "screen"
	SourceScreenAudio Source = "screen_audio"
)

func (s Source) valid() bool {
	switch s {
	case SourceCamera, SourceMicrophone, SourceScreen, SourceScreenAudio:
		return true
	}
	return false
}

// kind is the media kind a source must have.
func (s Source) kind() webrtc.RTPCodecType {
	if s == SourceMicrophone || s == SourceScreenAudio {
		return webrtc.RTPCodecTypeAudio
	}
	return webrtc.RTPCodecTypeVideo
}

// Signal is one negotiation or room-state message between the SFU and a
// client. Which fields are set depends on Kind (docs/media.md lists them).
type Signal struct {
	Kind SignalKind `json:"kind"`
	// SDP is the session description of an offer or answer.
	SDP string `json:"sdp,omitempty"`
	// Candidate is a trickled ICE candidate.
	Candidate *webrtc.ICECandidateInit `json:"candidate,omitempty"`
	// Tracks is the room's track list (SignalTracks).
	Tracks []TrackInfo `json:"tracks,omitempty"`
	// Speakers are the active speakers, loudest first (SignalSpeakers).
	Speakers []Speaker `json:"speakers,omitempty"`
	// Publish declares sources of tracks about to be offered.
	Publish []Publication `json:"publish,omitempty"`
	// TrackID names a track (SignalVideo).
	TrackID string `json:"track_id,omitempty"`
	// Source and Muted set a mute state (SignalMute).
	Source Source `json:"source,omitempty"`
	Muted  bool   `json:"muted,omitempty"`
	// Width and Height are the displayed video size (SignalVideo).
	Width  int `json:"width,omitempty"`
	Height int `json:"height,omitempty"`
	// Reason explains a restart or an error.
	Reason string `json:"reason,omitempty"`
}

// TrackInfo describes one published track of the room.
type TrackInfo struct {
	// ID is the track id, unique in the room; it is the track part of the
	// a=msid line of the subscription's m-section and what SignalVideo
	// names.
	ID string `json:"id"`
	// ParticipantID is the publisher.
	ParticipantID string `json:"participant_id"`
	Source        Source `json:"source"`
	// Kind is "audio" or "video".
	Kind  string `json:"kind"`
	Muted bool   `json:"muted,omitempty"`
	// Simulcast is true when the publisher sends layers q/h/f.
	Simulcast bool `json:"simulcast,omitempty"`
	// StreamID is the stream part of the a=msid line: the publisher's id
	// for camera and microphone (one MediaStream, kept in lip sync), the
	// publisher's id + "/screen" for the screen share and its audio.
	StreamID string `json:"stream_id"`
	// Codec is the MIME type, e.g. video/VP8.
	Codec string `json:"codec,omitempty"`
}

// Speaker is one active speaker.
type Speaker struct {
	ParticipantID string `json:"participant_id"`
	// Level is the speech loudness from 1 (faint) to 100 (loudest).
	Level int `json:"level"`
}

// Publication declares the source of a track the client publishes,
// identified by the m-section's mid or by the track id of its a=msid line.
type Publication struct {
	Mid     string `json:"mid,omitempty"`
	TrackID string `json:"track_id,omitempty"`
	Source  Source `json:"source"`
}

// Participant is who joins a room.
type Participant struct {
	// ID is unique in the room: letters, digits and "-_.:" only, at most
	// 64 bytes (it appears in SDP).
	ID string
	// Name is the display name; the SFU neither uses nor logs it (it is
	// personal data).
	Name   string
	Grants Grants
}

// Grants say what a participant may do (from its join token).
type Grants struct {
	PublishAudio  bool
	PublishVideo  bool
	PublishScreen bool
	Subscribe     bool
	// Data opens the reliable "lotse" data channel (co-browse plane).
	Data bool
}

func (g Grants) allows(s Source) bool {
	switch s {
	case SourceMicrophone:
		return g.PublishAudio
	case SourceCamera:
		return g.PublishVideo
	case SourceScreen, SourceScreenAudio:
		return g.PublishScreen
	}
	return false
}

// Signaler receives the SFU's signals for one participant. Signal must
// not block (the signalling layer queues) and must not call back into the
// Peer synchronously; signals for one peer are delivered in order.
type Signaler interface {
	Signal(Signal)
}

// SignalerFunc adapts a function to a Signaler.
type SignalerFunc func(Signal)

// Signal calls f(s).
func (f SignalerFunc) Signal(s Signal) { f(s) }

// DataHandler receives the messages participants send on their data
// channel. It is called from the peer's data-channel goroutine, one
// message at a time per peer, and should not block for long.
type DataHandler interface {
	HandleData(roomID, participantID string, b []byte)
}

// Dispatch applies a Signal that arrived from the client to p: it is the
// one place that maps client signal kinds to Peer methods, for signalling
// layers that carry Signal values as they are.
func Dispatch(p *Peer, s Signal) error {
	switch s.Kind {
	case SignalOffer:
		return p.HandleOffer(s.SDP)
	case SignalAnswer:
		return p.HandleAnswer(s.SDP)
	case SignalCandidate:
		if s.Candidate == nil {
			return fmt.Errorf("candidate signal: %w: no candidate", ErrBadSignal)
		}
		return p.AddCandidate(*s.Candidate)
	case SignalPublish:
		return p.SetSources(s.Publish)
	case SignalMute:
		return p.SetMuted(s.Source, s.Muted)
	case SignalVideo:
		return p.RequestVideo(s.TrackID, s.Width, s.Height)
	case SignalRestart:
		return p.RestartICE()
	}
	return fmt.Errorf("%w: kind %.32q", ErrBadSignal, string(s.Kind))
}
