package sfu

import (
	"fmt"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// discardWriter stands in for pion's SRTP write path: it marshals the
// packet as the SRTP layer would before encrypting, and drops it.
type discardWriter struct{ buf []byte }

func (w *discardWriter) WriteRTP(h *rtp.Header, p []byte) (int, error) {
	n, err := h.MarshalTo(w.buf)
	if err != nil {
		return 0, err
	}
	return n + copy(w.buf[n:], p), nil
}

func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }

// BenchmarkFanout measures the SFU's own work per forwarded packet,
// without SRTP and sockets: parsing a received VP8 packet, queueing it
// for every subscriber, and each subscriber's layer selection, sequence
// and timestamp rewriting and header build. One op is one packet
// forwarded to one subscriber.
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{1, 10, 50} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) { benchFanout(b, n) })
	}
}

func benchFanout(b *testing.B, nsubs int) {
	m, err := newMetrics(prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	s := &SFU{cfg: DefaultConfig(), log: zerolog.Nop(), metrics: m, epoch: time.Now()}
	publisher := &Peer{sfu: s, rtcpQ: make(chan []rtcp.Packet, rtcpQueue)}
	pub := &publication{id: "p", peer: publisher, kind: webrtc.RTPCodecTypeVideo, isVP8: true,
		codec: webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}}}
	pub.downs.Store(&[]*downTrack{})
	l := &layer{}
	pub.layers[0].Store(l)
	var subs []*Peer
	for i := 0; i < nsubs; i++ {
		p := &Peer{sfu: s, videoQ: make(chan queued, 512), audioQ: make(chan queued, 8)}
		dt := newDownTrack(pub, p)
		dt.target.Store(0)
		dt.bound.Store(&binding{ssrc: uint32(i + 1), pt: 96, ws: &discardWriter{buf: make([]byte, 1500)}})
		pub.addDown(dt)
		subs = append(subs, p)
	}
	// A VP8 key frame packet with a 15-bit picture ID, then inter frames.
	raw := make([]byte, 1200)
	key := rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: 1, Timestamp: 3000, SSRC: 42}
	var slab []byte
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		key.SequenceNumber = uint16(i)
		key.Timestamp = uint32(i/5) * 3000
		n, _ := key.MarshalTo(raw)
		raw[n], raw[n+1], raw[n+2], raw[n+3] = 0x90, 0x80, 0x80|byte(i>>8&0x7f), byte(i)
		raw[n+4] = 0x01 // inter frame
		if i == 0 {
			raw[n+4] = 0x00
		}
		pub.forward(l, raw, &slab)
		now := s.now()
		for _, p := range subs {
			q := <-p.videoQ
			q.dt.write(q.pkt, now)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*nsubs), "ns/fwd-pkt")
}
