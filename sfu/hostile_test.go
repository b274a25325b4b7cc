package sfu_test

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/lotse-io/lotse/internal/leakcheck"
	"github.com/lotse-io/lotse/sfu"
	"github.com/lotse-io/lotse/sfu/sfuclient"
)

// clientOffer returns an offer of a plain pion PeerConnection with one
// audio and one video track (nothing is gathered or sent).
func clientOffer(t testing.TB) string {
	t.Helper()
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			t.Fatal(err)
		}
	}
	o, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	return o.SDP
}

var fingerprint = regexp.MustCompile(`(?m)^a=fingerprint:.*\r?\n`)

// TestHostileInput: malformed or forbidden negotiation and random bytes
// on the media ports are refused with an error while the room's media
// keeps flowing.
func TestHostileInput(t *testing.T) {
	leakcheck.Check(t)
	cfg := testConfig()
	cfg.TCPPort = 0
	s, _ := newSFU(t, cfg)
	pub := join(t, s, "h", "pub", allGrants, sfuclient.Config{})
	video, err := pub.client.PublishVP8(sfuclient.VideoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sub := join(t, s, "h", "sub", allGrants, sfuclient.Config{})
	rv := remoteOf(t, sub, "pub", sfu.SourceCamera)
	waitFor(t, 10*time.Second, "media", func() bool { return rv.Stats().Probes > 50 })

	audioOnly := sfu.Grants{PublishAudio: true, Subscribe: true}
	attacker := join(t, s, "h", "attacker", audioOnly, sfuclient.Config{})
	remoteOf(t, attacker, "pub", sfu.SourceCamera)
	offer := clientOffer(t)
	mid := "0"

	tests := []struct {
		name string
		do   func(p *sfu.Peer) error
		want error
	}{
		{"bogus sdp", func(p *sfu.Peer) error { return p.HandleOffer("v=0\r\nthis is not sdp") }, sfu.ErrBadSDP},
		{"empty sdp", func(p *sfu.Peer) error { return p.HandleOffer("") }, sfu.ErrBadSDP},
		{"huge sdp", func(p *sfu.Peer) error { return p.HandleOffer(strings.Repeat("a=x\r\n", 40000)) }, sfu.ErrBadSDP},
		{"sdp without fingerprint", func(p *sfu.Peer) error {
			// Audio only, so that the grants pass and the fingerprint is
			// what fails.
			o := offer[:strings.Index(offer, "m=video")]
			o = strings.Replace(o, "a=group:BUNDLE 0 1", "a=group:BUNDLE 0", 1)
			return p.HandleOffer(fingerprint.ReplaceAllString(o, ""))
		}, sfu.ErrBadSDP},
		{"offer with a video track the grants forbid", func(p *sfu.Peer) error { return p.HandleOffer(offer) }, sfu.ErrNotAllowed},
		{"declaring a forbidden source", func(p *sfu.Peer) error {
			return p.SetSources([]sfu.Publication{{Mid: mid, Source: sfu.SourceScreen}})
		}, sfu.ErrNotAllowed},
		{"declaring an unknown source", func(p *sfu.Peer) error {
			return p.SetSources([]sfu.Publication{{Mid: mid, Source: "hologram"}})
		}, sfu.ErrBadSignal},
		{"answer without offer", func(p *sfu.Peer) error { return p.HandleAnswer(offer) }, sfu.ErrUnexpectedAnswer},
		{"garbage candidate", func(p *sfu.Peer) error {
			return p.AddCandidate(webrtc.ICECandidateInit{Candidate: "candidate:garbage"})
		}, sfu.ErrBadCandidate},
		{"mdns candidate is ignored", func(p *sfu.Peer) error {
			return p.AddCandidate(webrtc.ICECandidateInit{Candidate: "candidate:1 1 udp 2130706431 3f1c2a5e-0000-4000-8000-000000000000.local 50000 typ host"})
		}, nil},
		{"oversized candidate", func(p *sfu.Peer) error {
			return p.AddCandidate(webrtc.ICECandidateInit{Candidate: strings.Repeat("x", 4096)})
		}, sfu.ErrBadCandidate},
		{"unknown signal", func(p *sfu.Peer) error { return sfu.Dispatch(p, sfu.Signal{Kind: "rm -rf"}) }, sfu.ErrBadSignal},
		{"candidate signal without candidate", func(p *sfu.Peer) error { return sfu.Dispatch(p, sfu.Signal{Kind: sfu.SignalCandidate}) }, sfu.ErrBadSignal},
		{"video request for an unknown track", func(p *sfu.Peer) error { return p.RequestVideo("nope", 100, 100) }, sfu.ErrUnknownTrack},
		{"absurd video size", func(p *sfu.Peer) error { return p.RequestVideo(trackOf(sub.client, "pub", sfu.SourceCamera), 1<<20, 1) }, sfu.ErrBadSignal},
		{"mute of an unknown source", func(p *sfu.Peer) error { return p.SetMuted("everything", true) }, sfu.ErrBadSignal},
		{"data without the grant", func(p *sfu.Peer) error { return p.SendData([]byte("x")) }, sfu.ErrNotAllowed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.do(attacker.peer)
			t.Logf("error: %v", err)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error = %v, want %v", err, tc.want)
			}
		})
	}

	t.Run("client publishing video without the grant", func(t *testing.T) {
		if _, err := attacker.client.PublishVP8(sfuclient.VideoOptions{}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, "the offer to be refused", func() bool { return contains(attacker.errors(), sfu.ErrNotAllowed) })
		time.Sleep(300 * time.Millisecond)
		if id := trackOf(sub.client, "attacker", sfu.SourceCamera); id != "" {
			t.Fatalf("forbidden track %s published", id)
		}
	})

	t.Run("random bytes to the UDP port", func(t *testing.T) {
		c, err := net.Dial("udp", s.MediaAddrs()[0].String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		b := make([]byte, 1200)
		for i := 0; i < 2000; i++ {
			_, _ = rand.Read(b)
			n := 1 + int(b[0])*4
			if i%4 == 0 {
				b[0] = 0x00 // STUN-like first byte
				b[1] = 0x01
			}
			_, _ = c.Write(b[:n])
		}
	})

	t.Run("random bytes to the TCP port", func(t *testing.T) {
		for i := 0; i < 20; i++ {
			c, err := net.Dial("tcp", s.MediaAddrs()[1].String())
			if err != nil {
				t.Fatal(err)
			}
			b := make([]byte, 2+200)
			_, _ = rand.Read(b)
			binary.BigEndian.PutUint16(b, 200)
			_, _ = c.Write(b)
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, err = io.ReadAll(c)
			c.Close()
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("connection %d with garbage not closed by the SFU", i)
			}
		}
	})

	t.Run("room carries on", func(t *testing.T) {
		before := rv.Stats().Probes
		waitFor(t, 10*time.Second, "media after the attacks", func() bool { return rv.Stats().Probes > before+100 })
		video.Stop()
		time.Sleep(300 * time.Millisecond)
		if r := ratio(rv.Stats(), video.ProbesSent(0)); r < 0.99 {
			t.Errorf("subscriber received %.4f of the packets, want >= 0.99", r)
		}
		for _, c := range []*conn{pub, sub, attacker} {
			if st := c.client.ConnectionState(); st != webrtc.PeerConnectionStateConnected {
				t.Errorf("%s is %s", c.id, st)
			}
		}
		if n := len(sub.errors()) + len(pub.errors()); n != 0 {
			t.Errorf("errors for well-behaved clients: %v %v", sub.errors(), pub.errors())
		}
	})
}

// TestUnansweredOffer: a client that never answers the SFU's offer (lost
// in transit, or refused without telling) is told to rejoin after
// answer_timeout instead of stalling its subscriptions for good.
func TestUnansweredOffer(t *testing.T) {
	leakcheck.Check(t)
	cfg := testConfig()
	cfg.AnswerTimeout = 2 * time.Second
	s, reg := newSFU(t, cfg)
	var offers atomic.Int32
	sub, err := dial(t, s, "r", "sub", allGrants, sfuclient.Config{}, func(sig sfu.Signal) (sfu.Signal, bool) {
		if sig.Kind == sfu.SignalOffer && offers.Add(1) > 1 {
			return sig, false // every offer after the first is lost
		}
		return sig, true
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the first exchange", func() bool { return sub.client.MediaSections() > 0 })
	if sub.client.NeedsRejoin() {
		t.Fatal("told to rejoin after an answered offer")
	}
	pub := join(t, s, "r", "pub", allGrants, sfuclient.Config{})
	if _, err := pub.client.PublishOpus(sfuclient.AudioOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the SFU's next offer", func() bool { return offers.Load() > 1 })
	waitFor(t, 10*time.Second, "the rejoin request", sub.client.NeedsRejoin)
	if n := metricSum(t, reg, "lotse_sfu_answer_timeouts_total"); n != 1 {
		t.Errorf("answer timeouts counted: %v, want 1", n)
	}
}
