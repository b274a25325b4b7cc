package sfuclient

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/lotse-io/lotse/sfu/codec"
)

// RemoteTrack is a track the client receives from the SFU.
type RemoteTrack struct {
	// ID and StreamID come from the a=msid line (sfu.TrackInfo's ID and
	// StreamID).
	ID       string
	StreamID string
	Kind     webrtc.RTPCodecType
	Codec    string
	ssrc     uint32

	mu      sync.Mutex // guards the fields below
	st      TrackStats
	rtpSeq  seqWindow
	probes  seqWindow
	lat     latencies
	extHigh uint64 // highest extended RTP sequence number
	seen    bool
	lastPic uint16 // VP8 picture ID of the newest frame
	havePic bool
	ended   bool
}

// TrackStats is what a client measured on one remote track.
type TrackStats struct {
	// Packets and Bytes count every RTP packet (payload bytes) received,
	// duplicates included.
	Packets, Bytes uint64
	// RTPUnique counts distinct RTP sequence numbers; RTPExpected is the
	// span from the first to the highest seen. Their difference is loss.
	RTPUnique, RTPExpected uint64
	// Probes counts distinct probe sequence numbers (synthetic media);
	// FirstProbe and LastProbe are the lowest and highest seen.
	Probes                uint64
	FirstProbe, LastProbe uint32
	// KeyFrames counts first packets of video key frames.
	KeyFrames uint64
	// FirstIsKeyFrame is true when the first video packet started a key
	// frame (an SFU must never start a subscriber mid-stream).
	FirstIsKeyFrame bool
	// Layer is the simulcast layer of the newest probe (-1: none yet);
	// LayerPackets counts packets per layer.
	Layer        int
	LayerPackets [3]uint64
	// Switches counts layer changes in sequence order;
	// SwitchesWithoutKeyFrame those whose first packet was no key frame.
	Switches, SwitchesWithoutKeyFrame int
	// PictureIDJumps counts VP8 frames whose picture ID does not follow
	// the previous frame's (expected only after loss).
	PictureIDJumps int
	// Width and Height are the size in the newest VP8 key frame header.
	Width, Height int
	// LatencyP50, P95 and P99 are one-way latencies from the probes' send
	// times (same clock on both ends).
	LatencyP50, LatencyP95, LatencyP99 time.Duration
	// First and Last are the arrival times of the first and newest packet.
	First, Last time.Time
}

// Stats returns a snapshot of the track's measurements.
func (r *RemoteTrack) Stats() TrackStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.st
	s.RTPUnique = r.rtpSeq.unique
	s.Probes = r.probes.unique
	s.LatencyP50 = percentile(r.lat.s, 0.50)
	s.LatencyP95 = percentile(r.lat.s, 0.95)
	s.LatencyP99 = percentile(r.lat.s, 0.99)
	return s
}

// Packets returns how many packets arrived (cheaper than Stats).
func (r *RemoteTrack) Packets() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.st.Packets
}

// Ended reports whether the track stopped (its reader saw the end).
func (r *RemoteTrack) Ended() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ended
}

// OnRemoteTrack sets a function called for each new remote track.
func (c *Client) OnRemoteTrack(f func(*RemoteTrack)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.onRemote = f
}

// Remotes returns the tracks received so far that have not ended.
func (c *Client) Remotes() []*RemoteTrack {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*RemoteTrack, 0, len(c.remotes))
	for _, r := range c.remotes {
		if !r.Ended() {
			out = append(out, r)
		}
	}
	return out
}

// Remote returns the remote track with the given id, or nil.
func (c *Client) Remote(id string) *RemoteTrack {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.remotes[id]
}

// WaitRemote waits for a remote track with the given id.
func (c *Client) WaitRemote(ctx context.Context, id string) (*RemoteTrack, error) {
	for {
		if r := c.Remote(id); r != nil && !r.Ended() {
			return r, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func (c *Client) onTrack(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	r := &RemoteTrack{
		ID: t.ID(), StreamID: t.StreamID(), Kind: t.Kind(), Codec: t.Codec().MimeType, ssrc: uint32(t.SSRC()),
		st: TrackStats{Layer: -1},
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.remotes[r.ID] = r
	f := c.onRemote
	c.wg.Add(1)
	c.mu.Unlock()
	if f != nil {
		f(r)
	}
	go func() {
		defer c.wg.Done()
		r.read(t)
	}()
}

func (r *RemoteTrack) read(t *webrtc.TrackRemote) {
	defer func() {
		r.mu.Lock()
		r.ended = true
		r.mu.Unlock()
	}()
	buf := make([]byte, 1500)
	vp8 := strings.EqualFold(r.Codec, webrtc.MimeTypeVP8)
	for {
		n, _, err := t.Read(buf)
		if err != nil {
			return
		}
		var p rtp.Packet
		if p.Unmarshal(buf[:n]) != nil {
			continue
		}
		r.record(&p, vp8, time.Now())
	}
}

// record updates the statistics with one packet.
func (r *RemoteTrack) record(p *rtp.Packet, vp8 bool, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := &r.st
	st.Packets++
	st.Bytes += uint64(len(p.Payload))
	if st.First.IsZero() {
		st.First = now
	}
	st.Last = now
	// Extended sequence number (RFC 3550 A.1): the signed distance from
	// the highest so far.
	var ext uint64
	inOrder := false
	if !r.seen {
		r.seen = true
		ext = 1<<20 + uint64(p.SequenceNumber)
		r.extHigh = ext
		st.RTPExpected = 1
		inOrder = true
	} else {
		d := int64(int16(p.SequenceNumber - uint16(r.extHigh)))
		ext = uint64(int64(r.extHigh) + d)
		if d > 0 {
			st.RTPExpected += uint64(d)
			r.extHigh = ext
			inOrder = true
		}
	}
	r.rtpSeq.add(uint32(ext))

	key := false
	if r.Kind == webrtc.RTPCodecTypeVideo {
		if vp8 {
			d, err := codec.ParseVP8(p.Payload)
			if err == nil && d.KeyFrame {
				key = true
				if d.Width > 0 {
					st.Width, st.Height = d.Width, d.Height
				}
			}
			if err == nil && d.Start && d.PictureIDBytes == 2 && inOrder {
				if r.havePic && d.PictureID != (r.lastPic+1)&0x7fff {
					st.PictureIDJumps++
				}
				r.lastPic, r.havePic = d.PictureID, true
			}
		} else {
			key = codec.IsKeyFrameStart(r.Codec, p.Payload)
		}
		if key {
			st.KeyFrames++
		}
		if st.Packets == 1 {
			st.FirstIsKeyFrame = key
		}
	}
	pr, ok := findProbe(p.Payload)
	if !ok {
		return
	}
	if r.probes.add(pr.seq) {
		if r.probes.unique == 1 || pr.seq < st.FirstProbe {
			st.FirstProbe = pr.seq
		}
		if pr.seq > st.LastProbe {
			st.LastProbe = pr.seq
		}
	}
	r.lat.add(now.Sub(pr.sent))
	if pr.layer < len(st.LayerPackets) {
		st.LayerPackets[pr.layer]++
	}
	if inOrder {
		if st.Layer >= 0 && pr.layer != st.Layer {
			st.Switches++
			if !key {
				st.SwitchesWithoutKeyFrame++
			}
		}
		st.Layer = pr.layer
	}
}
