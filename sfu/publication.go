package sfu

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/lotse-io/lotse/sfu/codec"
	"github.com/lotse-io/lotse/sfu/simulcast"
)

// packet is one received RTP packet, shared read-only by the queues of
// every subscriber it is forwarded to.
type packet struct {
	hdr      rtp.Header // without header extensions
	payload  []byte
	layer    int8
	keyFrame bool // first packet of a key frame
	level    int8 // RFC 6464 audio level, -1 when absent
	vp8      codec.VP8
}

// layer is one received encoding of a publication (the only one without
// simulcast).
type layer struct {
	index   int
	rid     string
	track   *webrtc.TrackRemote
	ssrc    uint32
	bytes   atomic.Uint64
	packets atomic.Uint64
	lastPLI atomic.Int64 // SFU clock; rate-limits key-frame requests
	lastKey atomic.Int64 // SFU clock of the last key frame's first packet
	width   atomic.Int32 // from VP8 key frames
	height  atomic.Int32

	// owned by the room loop (measure)
	prevBytes, prevPackets uint64
	idleTicks              atomic.Int32
	bitrate                atomic.Int64
}

// publication is one track a participant publishes (camera, microphone,
// screen, screen audio) with its simulcast layers and its subscribers.
type publication struct {
	id        string
	peer      *Peer
	mid       string
	kind      webrtc.RTPCodecType
	source    Source
	codec     webrtc.RTPCodecParameters
	simulcast bool
	streamID  string
	isVP8     bool
	levelID   uint8 // negotiated audio-level extension id, 0 if none

	layers [3]atomic.Pointer[layer]
	downs  atomic.Pointer[[]*downTrack] // copy on write, read per packet
	muted  atomic.Bool

	// speech statistics since the last speaker interval
	loud, loudSum, total atomic.Uint64

	mu     sync.Mutex // guards closed and writes of downs
	closed bool
}

func newPublication(p *Peer, mid string, t *webrtc.TrackRemote, r *webrtc.RTPReceiver, source Source, sim bool) *publication {
	pub := &publication{
		id:        p.id + "-" + randomID(),
		peer:      p,
		mid:       mid,
		kind:      t.Kind(),
		source:    source,
		codec:     t.Codec(),
		simulcast: sim,
		streamID:  p.id,
		isVP8:     strings.EqualFold(t.Codec().MimeType, webrtc.MimeTypeVP8),
	}
	if source == SourceScreen || source == SourceScreenAudio {
		pub.streamID = p.id + "/screen"
	}
	for _, e := range r.GetParameters().HeaderExtensions {
		if e.URI == sdp.AudioLevelURI && e.ID > 0 && e.ID < 256 {
			pub.levelID = uint8(e.ID)
		}
	}
	pub.downs.Store(&[]*downTrack{})
	return pub
}

func (pub *publication) info() TrackInfo {
	return TrackInfo{
		ID:            pub.id,
		ParticipantID: pub.peer.id,
		Source:        pub.source,
		Kind:          pub.kind.String(),
		Muted:         pub.muted.Load(),
		Simulcast:     pub.simulcast,
		StreamID:      pub.streamID,
		Codec:         pub.codec.MimeType,
	}
}

// addLayer registers a received encoding; false if the slot is taken.
func (pub *publication) addLayer(l *layer) bool {
	return pub.layers[l.index].CompareAndSwap(nil, l)
}

// addDown subscribes dt; false once the publication has ended.
func (pub *publication) addDown(dt *downTrack) bool {
	pub.mu.Lock()
	defer pub.mu.Unlock()
	if pub.closed {
		return false
	}
	old := *pub.downs.Load()
	n := make([]*downTrack, len(old), len(old)+1)
	copy(n, old)
	n = append(n, dt)
	pub.downs.Store(&n)
	return true
}

// removeDown stops forwarding to dt.
func (pub *publication) removeDown(dt *downTrack) {
	pub.mu.Lock()
	defer pub.mu.Unlock()
	old := *pub.downs.Load()
	n := make([]*downTrack, 0, len(old))
	for _, d := range old {
		if d != dt {
			n = append(n, d)
		}
	}
	pub.downs.Store(&n)
}

// close ends the publication and returns the subscriptions it had.
func (pub *publication) close() []*downTrack {
	pub.mu.Lock()
	defer pub.mu.Unlock()
	if pub.closed {
		return nil
	}
	pub.closed = true
	old := *pub.downs.Load()
	pub.downs.Store(&[]*downTrack{})
	return old
}

// maxRTPPacket is the largest RTP packet read from a publisher.
const maxRTPPacket = 1500

// slabSize is how much payload memory readLoop allocates at once; packets
// are carved from it so that the reader allocates per slab, not per packet.
const slabSize = 64 << 10

// readLoop reads one layer's packets and hands each to every subscriber's
// queue without blocking. It ends when the track ends.
func (pub *publication) readLoop(l *layer) {
	p := pub.peer
	defer p.wg.Done()
	defer p.trackEnded(pub)
	buf := make([]byte, maxRTPPacket)
	var slab []byte
	for {
		n, _, err := l.track.Read(buf)
		if err != nil {
			return
		}
		pub.forward(l, buf[:n], &slab)
	}
}

// forward parses one received RTP packet and queues it for every
// subscriber.
func (pub *publication) forward(l *layer, b []byte, slab *[]byte) {
	pkt := pub.parse(l, b, slab)
	if pkt == nil {
		return
	}
	l.bytes.Add(uint64(len(b)))
	l.packets.Add(1)
	for _, dt := range *pub.downs.Load() {
		dt.enqueue(pkt)
	}
}

// parse turns a received RTP packet into the read-only form the queues
// share: payload copied out of the read buffer (into slab), padding and
// header extensions removed, key frames and audio levels noted. Padding
// only packets (bandwidth probes) and unparsable ones give nil.
func (pub *publication) parse(l *layer, b []byte, slab *[]byte) *packet {
	pkt := &packet{layer: int8(l.index), level: -1}
	hn, err := pkt.hdr.Unmarshal(b)
	if err != nil {
		return nil
	}
	end := len(b)
	if pkt.hdr.Padding {
		pad := int(b[end-1])
		if pad == 0 || hn+pad > end {
			return nil
		}
		end -= pad
		pkt.hdr.Padding, pkt.hdr.PaddingSize = false, 0
	}
	if end <= hn {
		return nil
	}
	if pub.levelID != 0 {
		if e := pkt.hdr.GetExtension(pub.levelID); len(e) > 0 {
			pkt.level = int8(e[0] & 0x7f)
			pub.countLevel(int(pkt.level), pub.peer.sfu.cfg.SpeakerThreshold)
		}
	}
	// The extensions point into b, which the next read reuses; the SFU
	// writes its own per subscriber.
	pkt.hdr.Extension, pkt.hdr.Extensions = false, nil
	size := end - hn
	if len(*slab) < size {
		*slab = make([]byte, slabSize)
	}
	pkt.payload = (*slab)[:size:size]
	*slab = (*slab)[size:]
	copy(pkt.payload, b[hn:end])
	if pub.kind == webrtc.RTPCodecTypeVideo {
		if pub.isVP8 {
			if d, err := codec.ParseVP8(pkt.payload); err == nil {
				pkt.vp8 = d
				pkt.keyFrame = d.KeyFrame
				if d.Width > 0 {
					l.width.Store(int32(d.Width))
					l.height.Store(int32(d.Height))
				}
			}
		} else {
			pkt.keyFrame = codec.IsKeyFrameStart(pub.codec.MimeType, pkt.payload)
		}
		if pkt.keyFrame {
			l.lastKey.Store(pub.peer.sfu.now())
		}
	}
	return pkt
}

// countLevel adds one audio packet's level to the speech statistics.
func (pub *publication) countLevel(level, threshold int) {
	pub.total.Add(1)
	if level <= threshold {
		pub.loud.Add(1)
		pub.loudSum.Add(uint64(127 - level))
	}
}

// speechLevel takes the statistics of the last interval: a track speaks
// when at least 30 % of its packets were at or above the threshold, and
// its level is their mean loudness on a 1..100 scale.
func (pub *publication) speechLevel() (int, bool) {
	loud, sum, total := pub.loud.Swap(0), pub.loudSum.Swap(0), pub.total.Swap(0)
	if pub.muted.Load() || total == 0 || loud*10 < total*3 {
		return 0, false
	}
	return max(1, int(sum/loud)*100/127), true
}

// measure updates each layer's bitrate from the bytes received in the
// last elapsed nanoseconds (room loop only).
func (pub *publication) measure(elapsed int64) {
	if elapsed <= 0 {
		return
	}
	for i := range pub.layers {
		l := pub.layers[i].Load()
		if l == nil {
			continue
		}
		b, n := l.bytes.Load(), l.packets.Load()
		rate := int64(b-l.prevBytes) * 8 * 1e9 / elapsed
		if n == l.prevPackets {
			l.idleTicks.Add(1)
		} else {
			l.idleTicks.Store(0)
		}
		l.prevBytes, l.prevPackets = b, n
		old := l.bitrate.Load()
		switch {
		case l.idleTicks.Load() >= 4: // a second without packets: the layer is off
			rate = 0
		case old > 0:
			rate = (old*3 + rate) / 4
		}
		l.bitrate.Store(rate)
	}
}

// layerSnapshot describes the layers for the allocator, lowest first. A
// layer that has packets but no measurement yet counts as active.
func (pub *publication) layerSnapshot() []simulcast.Layer {
	n := 1
	if pub.simulcast {
		n = len(pub.layers)
	}
	out := make([]simulcast.Layer, n)
	for i := range out {
		l := pub.layers[i].Load()
		if l == nil {
			continue
		}
		br := int(l.bitrate.Load())
		if br == 0 && l.idleTicks.Load() < 4 && l.packets.Load() > 0 {
			br = 1
		}
		out[i] = simulcast.Layer{Width: int(l.width.Load()), Height: int(l.height.Load()), Bitrate: br}
	}
	return out
}

// requestKeyFrame asks the publisher for a key frame on layer index, at
// most once per Config.KeyFrameInterval while a request is unanswered;
// once a key frame has arrived after the last request, after a fifth of
// the interval (so a subscriber arriving just after another waits ~100
// ms, not ~500, and a stream of joiners still costs at most 10 key
// frames a second). It reports whether it asked. Callers waiting for a
// key frame call it for every packet that is not one: the rate limit
// turns that into a reminder per interval.
func (pub *publication) requestKeyFrame(index int) bool {
	if index < 0 || index >= len(pub.layers) || pub.kind != webrtc.RTPCodecTypeVideo {
		return false
	}
	l := pub.layers[index].Load()
	if l == nil {
		return false
	}
	s := pub.peer.sfu
	now := s.now()
	last := l.lastPLI.Load()
	gap := int64(s.cfg.KeyFrameInterval)
	if l.lastKey.Load() >= last {
		gap /= 5 // the last request was answered
	}
	if last != 0 && now-last < gap || !l.lastPLI.CompareAndSwap(last, now) {
		return false
	}
	pub.peer.sendRTCP(&rtcp.PictureLossIndication{MediaSSRC: l.ssrc})
	return true
}
