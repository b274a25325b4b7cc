package sfu

import (
	"fmt"

	"github.com/pion/webrtc/v4"
)

// onData hands a data-channel message to the DataHandler.
func (p *Peer) onData(msg webrtc.DataChannelMessage) {
	m := p.sfu.metrics
	switch {
	case len(msg.Data) > p.sfu.cfg.MaxDataMessageBytes:
		m.dataDropped.WithLabelValues("too_large").Inc()
	case p.sfu.data == nil:
		m.dataDropped.WithLabelValues("no_handler").Inc()
	default:
		m.dataIn.Inc()
		p.sfu.data.HandleData(p.room.id, p.id, msg.Data)
	}
}

// SendData sends b to the participant on its reliable, ordered data
// channel "lotse". It fails without blocking when the channel is not open,
// b is too large or too much is already waiting to be sent.
func (p *Peer) SendData(b []byte) error {
	m := p.sfu.metrics
	switch {
	case !p.grants.Data || p.dc == nil:
		return fmt.Errorf("send data to %s: %w", p.id, ErrNotAllowed)
	case len(b) > p.sfu.cfg.MaxDataMessageBytes:
		m.dataDropped.WithLabelValues("too_large").Inc()
		return fmt.Errorf("send data to %s: %w", p.id, ErrDataTooLarge)
	case p.dc.ReadyState() != webrtc.DataChannelStateOpen:
		m.dataDropped.WithLabelValues("not_open").Inc()
		return fmt.Errorf("send data to %s: %w", p.id, ErrDataNotOpen)
	case int(p.dc.BufferedAmount())+len(b) > p.sfu.cfg.MaxDataBufferedBytes:
		m.dataDropped.WithLabelValues("backpressure").Inc()
		return fmt.Errorf("send data to %s: %w", p.id, ErrDataBackpressure)
	}
	if err := p.dc.Send(b); err != nil {
		return fmt.Errorf("send data to %s: %w", p.id, err)
	}
	m.dataOut.Inc()
	return nil
}

// SetSources declares the sources of tracks the client is about to offer
// (by mid or by the track id of their a=msid). Declare before the offer:
// a declaration is checked against the grants when the offer arrives and
// when the track starts.
func (p *Peer) SetSources(pubs []Publication) error {
	if len(pubs) > p.sfu.cfg.MaxTracksPerParticipant {
		return fmt.Errorf("declare sources of %s: %w", p.id, ErrTooManyTracks)
	}
	for _, d := range pubs {
		if !d.Source.valid() || d.Mid == "" && d.TrackID == "" || len(d.Mid) > 64 || len(d.TrackID) > 128 {
			return fmt.Errorf("declare sources of %s: %w: bad publication", p.id, ErrBadSignal)
		}
		if !p.grants.allows(d.Source) {
			return fmt.Errorf("declare source %s of %s: %w", d.Source, p.id, ErrNotAllowed)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.declared)+2*len(pubs) > 4*p.sfu.cfg.MaxTracksPerParticipant {
		clear(p.declared) // bounded: old declarations go first
	}
	for _, d := range pubs {
		if d.Mid != "" {
			p.declared[d.Mid] = d.Source
		}
		if d.TrackID != "" {
			p.declared[d.TrackID] = d.Source
		}
	}
	return nil
}

// SetMuted records that the client muted or unmuted a source and tells
// the room (SignalTracks).
func (p *Peer) SetMuted(source Source, muted bool) error {
	if !source.valid() {
		return fmt.Errorf("mute %s: %w: source %.32q", p.id, ErrBadSignal, string(source))
	}
	p.mu.Lock()
	p.muted[source] = muted
	changed := false
	for _, pub := range p.pubs {
		if pub.source == source && pub.muted.Swap(muted) != muted {
			changed = true
		}
	}
	p.mu.Unlock()
	if changed {
		p.room.broadcastTracks()
	}
	return nil
}

// RequestVideo tells the SFU at which size the participant displays a
// video track: the SFU forwards the smallest simulcast layer that fills
// it (bandwidth permitting). 0×0 pauses the track; negative sizes mean no
// preference (the best layer the bandwidth allows).
func (p *Peer) RequestVideo(trackID string, width, height int) error {
	if width > 16384 || height > 16384 {
		return fmt.Errorf("request video %s: %w: size %dx%d", trackID, ErrBadSignal, width, height)
	}
	if width < 0 || height < 0 {
		width, height = -1, -1
	}
	pub := p.room.publication(trackID)
	if pub == nil || pub.kind != webrtc.RTPCodecTypeVideo {
		return fmt.Errorf("request video %.64q: %w", trackID, ErrUnknownTrack)
	}
	p.mu.Lock()
	p.wishes[trackID] = [2]int{width, height}
	dt := p.subs[trackID]
	p.mu.Unlock()
	if dt != nil {
		dt.wishW.Store(int32(width))
		dt.wishH.Store(int32(height))
		p.allocate(p.sfu.now())
	}
	return nil
}
