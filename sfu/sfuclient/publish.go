package sfuclient

import (
	"bytes"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"

	"github.com/lotse-io/lotse/sfu"
)

// Sample media made with Debian's ffmpeg:
//
//	vp8-640x360.ivf: 1 s of testsrc with noise, 640x360, 30 fps, ~1.5 Mbit/s,
//	  key frames at 0 and 0.5 s (libvpx realtime)
//	opus-sine.ogg: 1 s of a 440 Hz sine, mono Opus 32 kbit/s, 20 ms pages
//
//go:embed media/vp8-640x360.ivf media/opus-sine.ogg
var sampleMedia embed.FS

// SampleVP8 returns the embedded VP8 sample (IVF).
func SampleVP8() []byte { b, _ := sampleMedia.ReadFile("media/vp8-640x360.ivf"); return b }

// SampleOpus returns the embedded Opus sample (Ogg).
func SampleOpus() []byte { b, _ := sampleMedia.ReadFile("media/opus-sine.ogg"); return b }

// LocalTrack is a track the client publishes.
type LocalTrack struct {
	c      *Client
	id     string
	source sfu.Source
	kind   webrtc.RTPCodecType
	tr     *webrtc.RTPTransceiver
	run    func(*LocalTrack)
	layers []*localLayer

	level   atomic.Int32
	sent    atomic.Uint64
	started bool // under c.negMu
	stop    chan struct{}
	once    sync.Once
}

type localLayer struct {
	index         int
	rid           string
	rtp           *webrtc.TrackLocalStaticRTP
	sample        *webrtc.TrackLocalStaticSample
	width, height int
	bitrate       int
	keyWanted     atomic.Bool
	seq           uint16
	ts            uint32
	probeSeq      atomic.Uint32
	picID         uint16
}

// ID returns the track id (the track part of its a=msid).
func (t *LocalTrack) ID() string { return t.id }

// Sent returns how many RTP packets the track has written (all layers).
func (t *LocalTrack) Sent() uint64 { return t.sent.Load() }

// ProbesSent returns how many probe packets layer index has written: the
// subscribers' probe sequence numbers run from 0 to ProbesSent-1.
func (t *LocalTrack) ProbesSent(index int) uint32 {
	if index >= len(t.layers) {
		return 0
	}
	return t.layers[index].probeSeq.Load()
}

// SetLevel sets the RFC 6464 audio level (0 loudest .. 127 silence) that
// a synthetic audio track reports in its header extension.
func (t *LocalTrack) SetLevel(level int) { t.level.Store(int32(level)) }

// AudioOptions configure a synthetic Opus track.
type AudioOptions struct {
	// Source defaults to microphone.
	Source sfu.Source
	// PayloadBytes is the payload size (default 120); each packet carries
	// a probe with its send time.
	PayloadBytes int
	// Level is the audio level reported (default 127: silence).
	Level int
}

// VideoOptions configure a synthetic video track.
type VideoOptions struct {
	// Source defaults to camera.
	Source sfu.Source
	// Codec is webrtc.MimeTypeVP8 (default), MimeTypeH264 or MimeTypeVP9;
	// the payloads carry that codec's headers (key frames marked) and a
	// probe, no picture.
	Codec string
	// Width, Height and Bitrate are those of the full layer (defaults
	// 640x360, 1.5 Mbit/s); simulcast adds h (1/2) and q (1/4) layers at
	// a third and a tenth of the bitrate.
	Width, Height, Bitrate int
	// FPS defaults to 30.
	FPS int
	// Simulcast publishes layers q, h and f.
	Simulcast bool
	// KeyFrameInterval adds periodic key frames (0: only the first and on
	// request).
	KeyFrameInterval time.Duration
}

func newID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "t" + hex.EncodeToString(b[:])
}

// PublishOpus publishes synthetic Opus packets (20 ms, probe-carrying).
func (c *Client) PublishOpus(o AudioOptions) (*LocalTrack, error) {
	if o.Source == "" {
		o.Source = sfu.SourceMicrophone
	}
	if o.PayloadBytes < probeSize+1 {
		o.PayloadBytes = 120
	}
	if o.Level == 0 {
		o.Level = 127
	}
	t := &LocalTrack{c: c, id: newID(), source: o.Source, kind: webrtc.RTPCodecTypeAudio}
	t.level.Store(int32(o.Level))
	tl, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, t.id, c.streamID(o.Source))
	if err != nil {
		return nil, err
	}
	t.layers = []*localLayer{{rtp: tl}}
	size := o.PayloadBytes
	t.run = func(t *LocalTrack) {
		t.runSynthetic(20*time.Millisecond, func(l *localLayer) [][]byte { return opusPayload(l, size) })
	}
	return t, c.publish(t, tl)
}

// PublishVP8 publishes synthetic video: packets shaped like the codec's
// (for VP8 a payload descriptor with picture IDs and key frame headers
// with the frame size) that carry probes instead of pictures.
func (c *Client) PublishVP8(o VideoOptions) (*LocalTrack, error) {
	if o.Codec == "" {
		o.Codec = webrtc.MimeTypeVP8
	}
	if o.Source == "" {
		o.Source = sfu.SourceCamera
	}
	if o.Width == 0 || o.Height == 0 {
		o.Width, o.Height = 640, 360
	}
	if o.Bitrate == 0 {
		o.Bitrate = 1_500_000
	}
	if o.FPS == 0 {
		o.FPS = 30
	}
	t := &LocalTrack{c: c, id: newID(), source: o.Source, kind: webrtc.RTPCodecTypeVideo}
	vp8 := webrtc.RTPCodecCapability{MimeType: o.Codec, ClockRate: 90000}
	specs := []struct {
		rid     string
		div     int
		bitrate int
	}{{"", 1, o.Bitrate}}
	if o.Simulcast {
		specs = []struct {
			rid     string
			div     int
			bitrate int
		}{{"q", 4, o.Bitrate / 10}, {"h", 2, o.Bitrate / 3}, {"f", 1, o.Bitrate}}
	}
	var first *webrtc.TrackLocalStaticRTP
	for i, s := range specs {
		var opts []func(*webrtc.TrackLocalStaticRTP)
		if s.rid != "" {
			opts = append(opts, webrtc.WithRTPStreamID(s.rid))
		}
		tl, err := webrtc.NewTrackLocalStaticRTP(vp8, t.id, c.streamID(o.Source), opts...)
		if err != nil {
			return nil, err
		}
		if first == nil {
			first = tl
		}
		t.layers = append(t.layers, &localLayer{index: i, rid: s.rid, rtp: tl, width: o.Width / s.div, height: o.Height / s.div, bitrate: s.bitrate})
	}
	interval, fps, kfi := time.Second/time.Duration(o.FPS), o.FPS, o.KeyFrameInterval
	var lastKey time.Time
	t.run = func(t *LocalTrack) {
		t.runSynthetic(interval, func(l *localLayer) [][]byte {
			if kfi > 0 && l.index == len(t.layers)-1 && time.Since(lastKey) >= kfi {
				lastKey = time.Now()
				for _, x := range t.layers {
					x.keyWanted.Store(true)
				}
			}
			return videoFrame(l, fps, o.Codec)
		})
	}
	return t, c.publish(t, first)
}

// PublishIVF publishes a VP8 IVF recording in a loop (real VP8; loss is
// measured from RTP sequence numbers). A key-frame request makes it jump
// to the recording's next key frame.
func (c *Client) PublishIVF(ivf []byte, source sfu.Source) (*LocalTrack, error) {
	r, hdr, err := ivfreader.NewWith(bytes.NewReader(ivf))
	if err != nil {
		return nil, fmt.Errorf("ivf: %w", err)
	}
	type frame struct {
		data []byte
		key  bool
	}
	var frames []frame
	for {
		f, _, err := r.ParseNextFrame()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("ivf: %w", err)
		}
		frames = append(frames, frame{f, len(f) > 0 && f[0]&1 == 0})
	}
	if len(frames) == 0 || !frames[0].key {
		return nil, errors.New("ivf: empty or not starting with a key frame")
	}
	if source == "" {
		source = sfu.SourceCamera
	}
	t := &LocalTrack{c: c, id: newID(), source: source, kind: webrtc.RTPCodecTypeVideo}
	tl, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, t.id, c.streamID(source))
	if err != nil {
		return nil, err
	}
	t.layers = []*localLayer{{sample: tl}}
	d := time.Second * time.Duration(hdr.TimebaseNumerator) / time.Duration(max(1, hdr.TimebaseDenominator))
	if d <= 0 || d > time.Second {
		d = time.Second / 30
	}
	t.run = func(t *LocalTrack) {
		i := 0
		t.runTicker(d, func() {
			l := t.layers[0]
			if l.keyWanted.Swap(false) {
				for j := 1; j <= len(frames); j++ {
					if k := (i + j) % len(frames); frames[k].key {
						i = k
						break
					}
				}
			}
			if err := tl.WriteSample(media.Sample{Data: frames[i].data, Duration: d}); err == nil {
				t.sent.Add(uint64(len(frames[i].data)/1100 + 1))
			}
			i = (i + 1) % len(frames)
		})
	}
	return t, c.publish(t, tl)
}

// PublishOgg publishes an Opus Ogg recording (one packet per page) in a
// loop.
func (c *Client) PublishOgg(ogg []byte, source sfu.Source) (*LocalTrack, error) {
	r, _, err := oggreader.NewWith(bytes.NewReader(ogg))
	if err != nil {
		return nil, fmt.Errorf("ogg: %w", err)
	}
	var pkts [][]byte
	for {
		p, _, err := r.ParseNextPage()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("ogg: %w", err)
		}
		if len(p) == 0 || bytes.HasPrefix(p, []byte("OpusTags")) {
			continue
		}
		pkts = append(pkts, p)
	}
	if len(pkts) == 0 {
		return nil, errors.New("ogg: no opus packets")
	}
	if source == "" {
		source = sfu.SourceMicrophone
	}
	t := &LocalTrack{c: c, id: newID(), source: source, kind: webrtc.RTPCodecTypeAudio}
	tl, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, t.id, c.streamID(source))
	if err != nil {
		return nil, err
	}
	t.layers = []*localLayer{{sample: tl}}
	t.run = func(t *LocalTrack) {
		i := 0
		t.runTicker(20*time.Millisecond, func() {
			if err := tl.WriteSample(media.Sample{Data: pkts[i], Duration: 20 * time.Millisecond}); err == nil {
				t.sent.Add(1)
			}
			i = (i + 1) % len(pkts)
		})
	}
	return t, c.publish(t, tl)
}

func (c *Client) streamID(s sfu.Source) string {
	if s == sfu.SourceScreen || s == sfu.SourceScreenAudio {
		return "screen"
	}
	return "camera"
}

// publish adds the track's transceiver (sendonly, simulcast encodings
// added), declares its source and offers.
func (c *Client) publish(t *LocalTrack, first webrtc.TrackLocal) error {
	c.negMu.Lock()
	if c.isClosed() {
		c.negMu.Unlock()
		return ErrClosed
	}
	tr, err := c.pc.AddTransceiverFromTrack(first, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		c.negMu.Unlock()
		return err
	}
	for _, l := range t.layers[1:] {
		if err := tr.Sender().AddEncoding(l.rtp); err != nil {
			c.negMu.Unlock()
			return err
		}
	}
	t.tr = tr
	t.stop = make(chan struct{})
	c.mu.Lock()
	c.pubs = append(c.pubs, t)
	c.mu.Unlock()
	// Before the SFU's first offer there may be no peer to hear it yet
	// (signalling joins it in the background): declare it after answering.
	p := sfu.Publication{TrackID: t.id, Source: t.source}
	if c.answered {
		c.tr.Send(sfu.Signal{Kind: sfu.SignalPublish, Publish: []sfu.Publication{p}})
	} else {
		c.earlyPubs = append(c.earlyPubs, p)
	}
	err = c.offerLocked(false)
	c.negMu.Unlock()
	return err
}

// Unpublish stops a track and renegotiates.
func (c *Client) Unpublish(t *LocalTrack) error {
	t.halt()
	c.negMu.Lock()
	c.mu.Lock()
	for i, x := range c.pubs {
		if x == t {
			c.pubs = append(c.pubs[:i], c.pubs[i+1:]...)
			break
		}
	}
	c.mu.Unlock()
	err := c.pc.RemoveTrack(t.tr.Sender())
	if err == nil {
		err = c.offerLocked(false)
	}
	c.negMu.Unlock()
	return err
}

// Stop stops sending without renegotiating (the track stays published
// but silent).
func (t *LocalTrack) Stop() { t.halt() }

func (t *LocalTrack) halt() {
	t.once.Do(func() { close(t.stop) })
}

// startPublishersLocked starts the generators of tracks whose sender has
// been negotiated (c.negMu held).
func (c *Client) startPublishersLocked() {
	c.mu.Lock()
	pubs := append([]*LocalTrack(nil), c.pubs...)
	c.mu.Unlock()
	for _, t := range pubs {
		if t.started || len(t.tr.Sender().GetParameters().Codecs) == 0 || t.tr.Mid() == "" {
			continue
		}
		t.started = true
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			t.run(t)
		}()
		for _, l := range t.layers {
			c.wg.Add(1)
			go func() {
				defer c.wg.Done()
				t.readRTCP(l)
			}()
		}
	}
}

// readRTCP turns key-frame requests for one layer into key frames.
func (t *LocalTrack) readRTCP(l *localLayer) {
	s := t.tr.Sender()
	for {
		var pkts []rtcp.Packet
		var err error
		if l.rid != "" {
			pkts, _, err = s.ReadSimulcastRTCP(l.rid)
		} else {
			pkts, _, err = s.ReadRTCP()
		}
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				l.keyWanted.Store(true)
			}
		}
	}
}

func (t *LocalTrack) runTicker(d time.Duration, f func()) {
	tk := time.NewTicker(d)
	defer tk.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-t.c.done:
			return
		case <-tk.C:
			f()
		}
	}
}

// runSynthetic writes one frame per layer every interval, each packet
// with mid and rid header extensions (which simulcast needs) and, for
// audio, the audio level.
func (t *LocalTrack) runSynthetic(interval time.Duration, frame func(l *localLayer) [][]byte) {
	params := t.tr.Sender().GetParameters()
	var midID, ridID, levelID uint8
	for _, e := range params.HeaderExtensions {
		switch e.URI {
		case sdp.SDESMidURI:
			midID = uint8(e.ID)
		case sdp.SDESRTPStreamIDURI:
			ridID = uint8(e.ID)
		case sdp.AudioLevelURI:
			levelID = uint8(e.ID)
		}
	}
	mid := []byte(t.tr.Mid())
	for _, l := range t.layers {
		l.keyWanted.Store(true)
	}
	clock := uint32(90000)
	if t.kind == webrtc.RTPCodecTypeAudio {
		clock = 48000
	}
	step := uint32(int64(clock) * int64(interval) / int64(time.Second))
	t.runTicker(interval, func() {
		for _, l := range t.layers {
			payloads := frame(l)
			for i, p := range payloads {
				h := rtp.Header{Version: 2, SequenceNumber: l.seq, Timestamp: l.ts, Marker: i == len(payloads)-1}
				l.seq++
				if midID != 0 {
					_ = h.SetExtension(midID, mid)
				}
				if ridID != 0 && l.rid != "" {
					_ = h.SetExtension(ridID, []byte(l.rid))
				}
				if levelID != 0 {
					_ = h.SetExtension(levelID, []byte{byte(t.level.Load() & 0x7f)})
				}
				if err := l.rtp.WriteRTP(&rtp.Packet{Header: h, Payload: p}); err == nil {
					t.sent.Add(1)
				}
			}
			l.ts += step
		}
	})
}

// opusPayload builds one synthetic audio payload.
func opusPayload(l *localLayer, size int) [][]byte {
	b := make([]byte, size)
	b[0] = 0xf8 // an Opus TOC byte (CELT FB 20 ms), for appearance
	putProbe(b[1:], probe{layer: 0, seq: l.probeSeq.Load(), sent: time.Now()})
	l.probeSeq.Add(1)
	return [][]byte{b}
}

// maxVP8Payload keeps packets below a typical MTU.
const maxVP8Payload = 1100

// videoFrame builds the packets of one synthetic frame of layer l.
func videoFrame(l *localLayer, fps int, mime string) [][]byte {
	key := l.keyWanted.Swap(false)
	size := max(l.bitrate/8/fps, 64)
	var out [][]byte
	pic := l.picID
	l.picID = (l.picID + 1) & 0x7fff
	for off := 0; off < size || off == 0; {
		first := off == 0
		n := min(size-off, maxVP8Payload)
		last := off+n >= size
		var hdr []byte
		switch mime {
		case webrtc.MimeTypeH264:
			// Single NAL unit packets (RFC 6184 §5.6): IDR slices for a
			// key frame, non-IDR slices otherwise.
			hdr = []byte{0x41}
			if key {
				hdr[0] = 0x65
			}
		case webrtc.MimeTypeVP9:
			// Payload descriptor (draft-ietf-payload-vp9 §4.2): I with a
			// 15-bit picture ID, B and E, P for inter frames.
			hdr = []byte{0x80, 0x80 | byte(pic>>8), byte(pic)}
			if !key {
				hdr[0] |= 0x40
			}
			if first {
				hdr[0] |= 0x08
			}
			if last {
				hdr[0] |= 0x04
			}
		default:
			hdr = []byte{0x80, 0x80, 0x80 | byte(pic>>8), byte(pic)} // X, I, M: 15-bit picture ID
			if first {
				hdr[0] |= 0x10 // S: start of partition 0
				if key {
					hdr = append(hdr, 0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a,
						byte(l.width), byte(l.width>>8), byte(l.height), byte(l.height>>8))
				} else {
					hdr = append(hdr, 0x01, 0x00, 0x00)
				}
			}
		}
		b := make([]byte, len(hdr)+probeSize+max(0, n-len(hdr)-probeSize))
		copy(b, hdr)
		putProbe(b[len(hdr):], probe{layer: l.index, keyFrame: key && first, seq: l.probeSeq.Load(), sent: time.Now()})
		l.probeSeq.Add(1)
		out = append(out, b)
		off += max(n, 1)
	}
	return out
}
