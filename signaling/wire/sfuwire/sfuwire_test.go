package sfuwire

import (
	"reflect"
	"testing"

	"github.com/pion/webrtc/v4"

	"github.com/lotse-io/lotse/sfu"
)

func TestRoundTrip(t *testing.T) {
	mid, idx := "0", uint16(0)
	for _, s := range []sfu.Signal{
		{Kind: sfu.SignalOffer, SDP: "v=0"},
		{Kind: sfu.SignalCandidate, Candidate: &webrtc.ICECandidateInit{Candidate: "candidate:1 1 udp 1 127.0.0.1 1 typ host", SDPMid: &mid, SDPMLineIndex: &idx}},
		{Kind: sfu.SignalTracks, Tracks: []sfu.TrackInfo{{ID: "t", ParticipantID: "p", Source: sfu.SourceCamera, Kind: "video", Simulcast: true, StreamID: "p", Codec: "video/VP8"}}},
		{Kind: sfu.SignalSpeakers, Speakers: []sfu.Speaker{{ParticipantID: "p", Level: 40}}},
		{Kind: sfu.SignalPublish, Publish: []sfu.Publication{{Mid: "1", Source: sfu.SourceScreen}}},
		{Kind: sfu.SignalMute, Source: sfu.SourceMicrophone, Muted: true},
		{Kind: sfu.SignalVideo, TrackID: "t", Width: 320, Height: 180},
		{Kind: sfu.SignalRestart, Reason: sfu.ReasonICEFailed},
	} {
		if got := FromWire(ToWire(s)); !reflect.DeepEqual(got, s) {
			t.Errorf("round trip of %s:\n got %+v\nwant %+v", s.Kind, got, s)
		}
	}
}
