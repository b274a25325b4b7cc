// Package sfuwire converts between the SFU's signals (sfu.Signal) and the
// signalling protocol's media message (wire.Media), in both directions, for
// the server and the Go client alike. It is its own package so that wire
// stays free of pion.
package sfuwire

import (
	"github.com/pion/webrtc/v4"

	"github.com/lotse-io/lotse/sfu"
	"github.com/lotse-io/lotse/signaling/wire"
)

// ToWire turns an SFU signal into a media message.
func ToWire(s sfu.Signal) *wire.Media {
	m := &wire.Media{Header: wire.Header{Type: "media"}, Kind: string(s.Kind), SDP: s.SDP, TrackID: s.TrackID, Source: string(s.Source),
		Muted: s.Muted, Width: s.Width, Height: s.Height, Reason: s.Reason}
	if c := s.Candidate; c != nil {
		m.Candidate = &wire.ICECandidate{Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex, UsernameFragment: c.UsernameFragment}
	}
	for _, t := range s.Tracks {
		m.Tracks = append(m.Tracks, wire.TrackInfo{ID: t.ID, ParticipantID: t.ParticipantID, Source: string(t.Source), Kind: t.Kind,
			Muted: t.Muted, Simulcast: t.Simulcast, StreamID: t.StreamID, Codec: t.Codec})
	}
	for _, sp := range s.Speakers {
		m.Speakers = append(m.Speakers, wire.Speaker{ParticipantID: sp.ParticipantID, Level: sp.Level})
	}
	for _, p := range s.Publish {
		m.Publish = append(m.Publish, wire.Publication{Mid: p.Mid, TrackID: p.TrackID, Source: string(p.Source)})
	}
	return m
}

// FromWire turns a media message into an SFU signal.
func FromWire(m *wire.Media) sfu.Signal {
	s := sfu.Signal{Kind: sfu.SignalKind(m.Kind), SDP: m.SDP, TrackID: m.TrackID, Source: sfu.Source(m.Source), Muted: m.Muted,
		Width: m.Width, Height: m.Height, Reason: m.Reason}
	if c := m.Candidate; c != nil {
		s.Candidate = &webrtc.ICECandidateInit{Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex, UsernameFragment: c.UsernameFragment}
	}
	for _, t := range m.Tracks {
		s.Tracks = append(s.Tracks, sfu.TrackInfo{ID: t.ID, ParticipantID: t.ParticipantID, Source: sfu.Source(t.Source), Kind: t.Kind,
			Muted: t.Muted, Simulcast: t.Simulcast, StreamID: t.StreamID, Codec: t.Codec})
	}
	for _, sp := range m.Speakers {
		s.Speakers = append(s.Speakers, sfu.Speaker{ParticipantID: sp.ParticipantID, Level: sp.Level})
	}
	for _, p := range m.Publish {
		s.Publish = append(s.Publish, sfu.Publication{Mid: p.Mid, TrackID: p.TrackID, Source: sfu.Source(p.Source)})
	}
	return s
}
