package sfu_test

import (
	"encoding/json"
	"net/netip"
	"regexp"
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/lotse-io/lotse/sfu"
)

// fuzzPeer is a peer of an SFU that lives as long as the fuzz target; its
// signals are discarded. ICE checks may only go to loopback.
func fuzzPeer(f *testing.F) *sfu.Peer {
	s, err := sfu.New(testConfig(), sfu.Deps{Log: zerolog.Nop(), Registerer: prometheus.NewRegistry(), RemoteIPFilter: netip.Addr.IsLoopback})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	p, err := s.Join("fuzz", sfu.Participant{ID: "f", Grants: allGrants}, sfu.SignalerFunc(func(sfu.Signal) {}))
	if err != nil {
		f.Fatal(err)
	}
	return p
}

func FuzzHandleOffer(f *testing.F) {
	offer := clientOffer(f)
	f.Add(offer)
	f.Add(fingerprint.ReplaceAllString(offer, ""))
	f.Add(strings.Replace(offer, "a=mid:1", "a=mid:", 1))
	f.Add(regexp.MustCompile(`a=ice-ufrag:.*`).ReplaceAllString(offer, "a=ice-ufrag:x"))
	f.Add("v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 300\r\n")
	f.Add("v=0\r\nthis is not sdp")
	p := fuzzPeer(f)
	f.Fuzz(func(t *testing.T, sdp string) {
		_ = p.HandleOffer(sdp)
		_ = p.HandleAnswer(sdp)
	})
}

func FuzzAddCandidate(f *testing.F) {
	f.Add("candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host", "0")
	f.Add("candidate:2 1 tcp 1 127.0.0.1 9 typ host tcptype active", "0")
	f.Add("candidate:3 1 udp 1 8.8.8.8 53 typ srflx raddr 0.0.0.0 rport 0", "")
	f.Add("candidate:4 1 udp 1 abc.local 53 typ host", "0")
	f.Add("garbage", "x")
	p := fuzzPeer(f)
	// Apply an offer first, so that candidates reach ICE rather than the
	// early-candidate buffer.
	if err := p.HandleOffer(clientOffer(f)); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, cand, mid string) {
		_ = p.AddCandidate(webrtc.ICECandidateInit{Candidate: cand, SDPMid: &mid})
	})
}

func FuzzDispatch(f *testing.F) {
	for _, s := range []sfu.Signal{
		{Kind: sfu.SignalPublish, Publish: []sfu.Publication{{Mid: "0", Source: sfu.SourceScreen}}},
		{Kind: sfu.SignalMute, Source: sfu.SourceMicrophone, Muted: true},
		{Kind: sfu.SignalVideo, TrackID: "x", Width: 320, Height: 180},
		{Kind: sfu.SignalRestart},
		{Kind: sfu.SignalAnswer, SDP: "v=0"},
	} {
		b, _ := json.Marshal(s)
		f.Add(b)
	}
	p := fuzzPeer(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		var s sfu.Signal
		if json.Unmarshal(b, &s) != nil {
			return
		}
		if s.Kind == sfu.SignalOffer {
			return // FuzzHandleOffer covers offers
		}
		_ = sfu.Dispatch(p, s)
	})
}
