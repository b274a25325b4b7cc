package sfu

import (
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/lotse-io/lotse/sfu/simulcast"
)

// estimateMaxAge is how long a bandwidth estimate stays valid without
// fresh feedback from the subscriber.
const estimateMaxAge = 5 * time.Second

// budget is the subscriber's bandwidth estimate in bit/s, 0 when there
// is none: the lower of the send-side estimate (while transport-wide
// feedback arrives) and the client's REMB.
func (p *Peer) budget(now int64) int {
	b := 0
	if p.bwe != nil {
		if at := p.twccAt.Load(); at != 0 && now-at < int64(estimateMaxAge) {
			b = p.bwe.GetTargetBitrate()
		}
	}
	if r := int(p.remb.Load()); r > 0 {
		if at := p.rembAt.Load(); now-at < int64(estimateMaxAge) && (b == 0 || r < b) {
			b = r
		}
	}
	return b
}

func (p *Peer) videoSubscriptions() []*downTrack {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*downTrack, 0, len(p.subs))
	for _, dt := range p.subs {
		if dt.pub.kind == webrtc.RTPCodecTypeVideo {
			out = append(out, dt)
		}
	}
	return out
}

// allocate chooses the layer of every video subscription from the sizes
// the subscriber asked for and its bandwidth estimate. After a drop forced
// by bandwidth it waits Config.UpgradeHold before going up again, so that
// an estimate hovering at a layer boundary does not flip the picture.
func (p *Peer) allocate(now int64) {
	p.allocMu.Lock()
	defer p.allocMu.Unlock()
	dts := p.videoSubscriptions()
	if len(dts) == 0 {
		return
	}
	reqs := make([]simulcast.Request, len(dts))
	for i, dt := range dts {
		reqs[i] = simulcast.Request{
			Layers: dt.pub.layerSnapshot(),
			Width:  int(dt.wishW.Load()),
			Height: int(dt.wishH.Load()),
		}
		if dt.pub.source == SourceScreen {
			reqs[i].Priority = 1
		}
	}
	choice := simulcast.Allocate(reqs, p.budget(now))
	hold := int64(p.sfu.cfg.UpgradeHold)
	for i, dt := range dts {
		r := reqs[i]
		paused := r.Width == 0 && r.Height == 0
		if !dt.pub.simulcast {
			c := 0
			if paused {
				c = -1
			}
			dt.setTarget(c)
			continue
		}
		c, old := choice[i], int(dt.target.Load())
		if c < 0 && !paused {
			continue // no layer is being sent at the moment: keep the target
		}
		if c >= 0 && old >= 0 && c > old && dt.bwDownAt != 0 && now-dt.bwDownAt < hold {
			c = old
		}
		if c >= 0 && c < simulcast.Choose(r.Layers, r.Width, r.Height, 0) && (old < 0 || c < old) {
			dt.bwDownAt = now
		}
		dt.setTarget(c)
	}
}

// initialTarget chooses the first layer of a new video subscription.
func (p *Peer) initialTarget(dt *downTrack) {
	pub := dt.pub
	w, h := int(dt.wishW.Load()), int(dt.wishH.Load())
	switch {
	case pub.kind != webrtc.RTPCodecTypeVideo:
		dt.target.Store(0)
	case w == 0 && h == 0:
		dt.target.Store(-1)
	case !pub.simulcast:
		dt.target.Store(0)
	default:
		c := simulcast.Choose(pub.layerSnapshot(), w, h, p.budget(p.sfu.now()))
		if c < 0 {
			// No layer measured yet: start with the lowest that exists;
			// the next allocation refines it.
			for i := range pub.layers {
				if pub.layers[i].Load() != nil {
					c = i
					break
				}
			}
		}
		dt.target.Store(int32(c))
	}
}
