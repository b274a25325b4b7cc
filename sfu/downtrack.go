package sfu

import (
	"sync/atomic"

	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/lotse-io/lotse/sfu/codec"
)

// binding is what negotiation gave a subscription: where and how to write.
type binding struct {
	id      string
	ssrc    uint32
	pt      uint8
	levelID uint8
	ws      webrtc.TrackLocalWriter
}

// downTrack forwards one publication to one subscriber. It is the
// webrtc.TrackLocal of the subscriber's sending transceiver. The enqueue
// side runs on the publisher's read goroutines; everything else on the
// subscriber's writer goroutine, except the atomics.
type downTrack struct {
	pub *publication
	sub *Peer

	sender      *webrtc.RTPSender
	transceiver *webrtc.RTPTransceiver

	bound   atomic.Pointer[binding]
	target  atomic.Int32 // layer to forward, -1: none
	current atomic.Int32 // layer being forwarded, -1: none (mirror of cur for enqueue)
	needKey atomic.Bool  // dropped packets: wait for the next key frame
	wishW   atomic.Int32 // displayed size the subscriber asked for; -1: no wish
	wishH   atomic.Int32

	// allocator state (allocate, under the subscriber's allocMu)
	bwDownAt int64

	// writer-goroutine state
	cur     int8
	rw      rewriter
	vp8     vp8Munger
	scratch []byte
	level   [1]byte
}

func newDownTrack(pub *publication, sub *Peer) *downTrack {
	dt := &downTrack{pub: pub, sub: sub, cur: -1}
	dt.target.Store(-1)
	dt.current.Store(-1)
	dt.wishW.Store(-1)
	dt.wishH.Store(-1)
	clock := pub.codec.ClockRate
	if clock == 0 {
		clock = 90000
	}
	dt.rw.clock = int64(clock)
	return dt
}

// ID, RID, StreamID and Kind make downTrack a webrtc.TrackLocal: the
// subscriber sees a=msid:<stream id> <track id>.
func (dt *downTrack) ID() string                { return dt.pub.id }
func (dt *downTrack) RID() string               { return "" }
func (dt *downTrack) StreamID() string          { return dt.pub.streamID }
func (dt *downTrack) Kind() webrtc.RTPCodecType { return dt.pub.kind }

// Bind is called by pion when negotiation has completed: it picks the
// publisher's codec among those the subscriber accepted.
func (dt *downTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	c, ok := matchCodec(dt.pub.codec.RTPCodecCapability, ctx.CodecParameters())
	if !ok {
		return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
	}
	b := &binding{id: ctx.ID(), ssrc: uint32(ctx.SSRC()), pt: uint8(c.PayloadType), ws: ctx.WriteStream()}
	for _, e := range ctx.HeaderExtensions() {
		if e.URI == sdp.AudioLevelURI && e.ID > 0 && e.ID < 15 {
			b.levelID = uint8(e.ID)
		}
	}
	dt.bound.Store(b)
	dt.pub.requestKeyFrame(int(dt.target.Load()))
	return c, nil
}

// Unbind is called by pion when the subscription's sender stops.
func (dt *downTrack) Unbind(ctx webrtc.TrackLocalContext) error {
	if b := dt.bound.Load(); b != nil && b.id == ctx.ID() {
		dt.bound.CompareAndSwap(b, nil)
	}
	return nil
}

// enqueue hands pkt to the subscriber's writer without blocking; a full
// queue drops the packet and, for video, everything up to the next key
// frame (which is requested).
func (dt *downTrack) enqueue(pkt *packet) {
	if dt.pub.kind == webrtc.RTPCodecTypeVideo {
		l := int32(pkt.layer)
		if l != dt.current.Load() && l != dt.target.Load() {
			return
		}
		if !dt.sub.enqueueVideo(queued{dt: dt, pkt: pkt}) {
			dt.needKey.Store(true)
			dt.pub.requestKeyFrame(int(l))
		}
		return
	}
	dt.sub.enqueueAudio(queued{dt: dt, pkt: pkt})
}

// write forwards one packet (subscriber's writer goroutine).
func (dt *downTrack) write(pkt *packet, now int64) {
	b := dt.bound.Load()
	if b == nil {
		return
	}
	m := dt.sub.sfu.metrics
	kind := kindAudio
	if dt.pub.kind == webrtc.RTPCodecTypeVideo {
		kind = kindVideo
		if !dt.selectLayer(pkt, now) {
			return
		}
	}
	seq, ts, ok := dt.rw.rewrite(pkt.hdr.SequenceNumber, pkt.hdr.Timestamp, now)
	if !ok {
		return
	}
	hdr := rtp.Header{
		Version:        2,
		Marker:         pkt.hdr.Marker,
		PayloadType:    b.pt,
		SequenceNumber: seq,
		Timestamp:      ts,
		SSRC:           b.ssrc,
		CSRC:           pkt.hdr.CSRC,
	}
	if b.levelID != 0 && pkt.level >= 0 {
		dt.level[0] = byte(pkt.level)
		_ = hdr.SetExtension(b.levelID, dt.level[:])
	}
	payload := pkt.payload
	if dt.pub.isVP8 {
		payload = dt.vp8.rewrite(pkt, payload, &dt.scratch)
	}
	n, err := b.ws.WriteRTP(&hdr, payload)
	if err != nil {
		m.dropWrite.Inc()
		return
	}
	if n == 0 {
		// Pion drops packets silently (0, nil) until the subscriber's
		// SRTP session is up: a late joiner's first key frame can go
		// that way, so video waits for the next one.
		if kind == kindVideo && !dt.needKey.Load() {
			dt.needKey.Store(true)
			dt.pub.requestKeyFrame(int(dt.cur))
		}
		m.dropWrite.Inc()
		return
	}
	m.fwdPackets[kind].Inc()
	m.fwdBytes[kind].Add(float64(len(payload)))
	dt.sub.forwarded.Add(1)
}

// selectLayer decides whether a video packet is forwarded: it follows the
// target layer, switching only at a key frame of the new layer, and after
// drops waits for a key frame of the current one.
func (dt *downTrack) selectLayer(pkt *packet, now int64) bool {
	m := dt.sub.sfu.metrics
	tgt := int8(dt.target.Load())
	if tgt < 0 {
		if dt.cur >= 0 {
			dt.setCur(-1)
			m.switchPause.Inc()
		}
		return false
	}
	if pkt.layer != dt.cur {
		if pkt.layer != tgt {
			return false
		}
		if !pkt.keyFrame {
			dt.pub.requestKeyFrame(int(tgt))
			return false
		}
		switch {
		case dt.cur < 0:
		case tgt > dt.cur:
			m.switchUp.Inc()
		default:
			m.switchDown.Inc()
		}
		dt.rw.switchTo(pkt.hdr.SequenceNumber, pkt.hdr.Timestamp, now)
		if dt.pub.isVP8 {
			dt.vp8.switchTo(pkt)
		}
		dt.setCur(tgt)
		dt.needKey.Store(false)
		return true
	}
	if dt.needKey.Load() {
		if !pkt.keyFrame {
			m.dropKeyWait.Inc()
			dt.pub.requestKeyFrame(int(dt.cur)) // rate-limited
			return false
		}
		dt.needKey.Store(false)
		dt.rw.resync(pkt.hdr.SequenceNumber)
	}
	return true
}

func (dt *downTrack) setCur(l int8) {
	dt.cur = l
	dt.current.Store(int32(l))
}

// setTarget changes the layer to forward and asks for the key frame the
// switch needs.
func (dt *downTrack) setTarget(l int) {
	if old := dt.target.Swap(int32(l)); old != int32(l) && l >= 0 {
		dt.pub.requestKeyFrame(l)
	}
}

// keyFrameRequested forwards a subscriber's PLI or FIR to the publisher
// (false: rate-limited, a key frame is already on its way).
func (dt *downTrack) keyFrameRequested() bool {
	l := dt.current.Load()
	if l < 0 {
		l = dt.target.Load()
	}
	return dt.pub.requestKeyFrame(int(l))
}

// rewriter keeps the sequence numbers and timestamps a subscriber sees
// continuous while the packets' source changes (a simulcast switch) or
// runs of packets are dropped (a slow subscriber), so that the receiver
// sees neither a jump it would NACK nor a stream it would reset.
type rewriter struct {
	clock   int64 // RTP clock rate
	started bool
	seqOff  uint16
	tsOff   uint32
	base    uint16 // input before this sequence number is stale
	lastSeq uint16 // highest output sequence number
	lastTS  uint32
	lastAt  int64 // SFU clock when lastSeq was written
}

// oldestForwarded bounds how far behind the newest packet a late packet
// (a retransmission, reordering) may be and still be forwarded.
const oldestForwarded = 1000

// switchTo makes the packet with input sequence number seq and timestamp
// ts the next one the subscriber sees.
func (r *rewriter) switchTo(seq uint16, ts uint32, now int64) {
	if !r.started {
		r.started = true
		r.base, r.lastSeq, r.lastTS, r.lastAt = seq, seq-1, ts, now
		return
	}
	r.seqOff = seq - (r.lastSeq + 1)
	gap := uint32((now - r.lastAt) * r.clock / 1e9)
	if gap == 0 {
		gap = 1
	}
	r.tsOff = ts - (r.lastTS + gap)
	r.base = seq
}

// resync closes the sequence gap left by dropped packets of the same
// source; its timestamps stay as they are.
func (r *rewriter) resync(seq uint16) {
	if !r.started {
		return
	}
	r.seqOff = seq - (r.lastSeq + 1)
	r.base = seq
}

// rewrite maps an input packet to its output numbers; ok is false for a
// packet from before the last switch point.
func (r *rewriter) rewrite(seq uint16, ts uint32, now int64) (uint16, uint32, bool) {
	if !r.started {
		r.switchTo(seq, ts, now)
	}
	d := int16(seq - r.base)
	if d < 0 {
		return 0, 0, false
	}
	out, ots := seq-r.seqOff, ts-r.tsOff
	if int16(out-r.lastSeq) > 0 {
		r.lastSeq, r.lastTS, r.lastAt = out, ots, now
		if d > oldestForwarded {
			r.base = seq - oldestForwarded
		}
	}
	return out, ots, true
}

// vp8Munger keeps VP8 picture IDs and TL0PICIDX continuous across
// simulcast switches (RFC 7741 §4.2): each layer numbers its pictures
// independently, and a decoder that sees the numbering jump backwards
// would take the new key frame for an old one.
type vp8Munger struct {
	started        bool
	picOff         uint16
	tl0Off         uint8
	lastPic        uint16
	lastTL0        uint8
	havePic, haveT bool
}

func picMask(d codec.VP8) uint16 {
	if d.PictureIDBytes == 1 {
		return 0x7f
	}
	return 0x7fff
}

// newer reports whether picture ID a follows b in a numbering that wraps
// at mask+1.
func newer(a, b, mask uint16) bool {
	d := (a - b) & mask
	return d != 0 && d <= mask/2
}

func (v *vp8Munger) switchTo(pkt *packet) {
	d := pkt.vp8
	if v.started && v.havePic && d.PictureIDBytes > 0 {
		v.picOff = (d.PictureID - (v.lastPic + 1)) & picMask(d)
	} else {
		v.picOff = 0
	}
	if v.started && v.haveT && d.TL0Offset > 0 {
		v.tl0Off = d.TL0PICIDX - (v.lastTL0 + 1)
	} else {
		v.tl0Off = 0
	}
	v.started = true
}

// rewrite returns the payload to send: pkt's own when nothing changes,
// else a copy in scratch with the fields rewritten.
func (v *vp8Munger) rewrite(pkt *packet, payload []byte, scratch *[]byte) []byte {
	d := pkt.vp8
	pic := (d.PictureID - v.picOff) & picMask(d)
	tl0 := d.TL0PICIDX - v.tl0Off
	if d.PictureIDBytes > 0 {
		if mask := picMask(d); !v.havePic || newer(pic, v.lastPic, mask) {
			v.lastPic, v.havePic = pic, true
		}
	}
	if d.TL0Offset > 0 {
		if !v.haveT || int8(tl0-v.lastTL0) > 0 {
			v.lastTL0, v.haveT = tl0, true
		}
	}
	if v.picOff == 0 && v.tl0Off == 0 || d.HeaderSize == 0 {
		return payload
	}
	*scratch = append((*scratch)[:0], payload...)
	b := *scratch
	if d.PictureIDBytes > 0 {
		codec.SetVP8PictureID(b, d, pic)
	}
	codec.SetVP8TL0PICIDX(b, d, tl0)
	return b
}
