package sfu

import (
	"errors"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// errRetryJoin means the room closed (or the participant's old peer was
// being replaced) while a join was in flight; Join tries again.
var errRetryJoin = errors.New("sfu: room changed during join, retry")

// room is one conversation's media: its peers and their publications.
type room struct {
	id   string
	sfu  *SFU
	log  zerolog.Logger
	done chan struct{} // closed when the room has finished

	mu      sync.Mutex // guards the fields below
	peers   map[string]*Peer
	pubs    []*publication
	closing bool
	ended   bool

	bcastMu  sync.Mutex // orders track-list broadcasts
	speakers []Speaker  // last broadcast; owned by loop
}

func newRoom(s *SFU, id string) *room {
	return &room{
		id:    id,
		sfu:   s,
		log:   s.log.With().Str("room", id).Logger(),
		done:  make(chan struct{}),
		peers: map[string]*Peer{},
	}
}

// add admits p, subscribes it to the room's tracks and starts its
// negotiation.
func (r *room) add(p *Peer) error {
	r.mu.Lock()
	if r.closing {
		r.mu.Unlock()
		return errRetryJoin
	}
	if old := r.peers[p.id]; old != nil {
		r.mu.Unlock()
		r.log.Info().Str("participant", p.id).Msg("participant rejoined, closing its old peer")
		old.Close()
		return errRetryJoin
	}
	if len(r.peers) >= r.sfu.cfg.MaxParticipantsPerRoom {
		r.mu.Unlock()
		return ErrRoomFull
	}
	r.peers[p.id] = p
	pubs := slices.Clone(r.pubs)
	r.mu.Unlock()
	r.sfu.metrics.participants.Inc()
	r.log.Info().Str("participant", p.id).Msg("participant joined")

	// Under bcastMu, so that a concurrent publication's broadcast cannot
	// overtake this list with an older one.
	r.bcastMu.Lock()
	p.signal(Signal{Kind: SignalTracks, Tracks: r.trackInfos()})
	r.bcastMu.Unlock()
	for _, pub := range pubs {
		p.subscribe(pub)
	}
	p.negotiate()
	return nil
}

// remove takes p out of the room, ends its publications for everyone and
// finishes the room when it was the last peer.
func (r *room) remove(p *Peer) {
	r.mu.Lock()
	if r.peers[p.id] != p {
		r.mu.Unlock()
		return
	}
	delete(r.peers, p.id)
	var gone []*publication
	r.pubs = slices.DeleteFunc(r.pubs, func(pub *publication) bool {
		if pub.peer == p {
			gone = append(gone, pub)
			return true
		}
		return false
	})
	empty := len(r.peers) == 0
	if empty {
		r.closing = true
	}
	r.mu.Unlock()
	r.sfu.metrics.participants.Dec()
	r.log.Info().Str("participant", p.id).Msg("participant left")
	for _, pub := range gone {
		r.endPublication(pub)
	}
	if empty {
		r.finish()
		return
	}
	if len(gone) > 0 {
		r.broadcastTracks()
	}
}

// publish makes pub visible to the room and subscribes everyone allowed.
func (r *room) publish(pub *publication) {
	r.mu.Lock()
	if r.closing || r.peers[pub.peer.id] != pub.peer {
		r.mu.Unlock()
		return
	}
	r.pubs = append(r.pubs, pub)
	subs := make([]*Peer, 0, len(r.peers))
	for _, p := range r.peers {
		if p != pub.peer {
			subs = append(subs, p)
		}
	}
	r.mu.Unlock()
	r.sfu.metrics.tracks.WithLabelValues(pub.kind.String()).Inc()
	if o := r.sfu.tracks; o != nil {
		o.TrackStarted(r.id, pub.info())
	}
	r.broadcastTracks() // before the offers, so clients can map the new m-sections
	for _, p := range subs {
		p.subscribe(pub)
		p.negotiate()
	}
}

// unpublish ends pub for everyone (the publisher stopped sending it).
func (r *room) unpublish(pub *publication) {
	r.mu.Lock()
	found := false
	r.pubs = slices.DeleteFunc(r.pubs, func(x *publication) bool {
		if x == pub {
			found = true
		}
		return x == pub
	})
	r.mu.Unlock()
	if found {
		r.endPublication(pub)
		r.broadcastTracks()
	}
}

// endPublication removes pub's subscriptions from every subscriber.
func (r *room) endPublication(pub *publication) {
	r.sfu.metrics.tracks.WithLabelValues(pub.kind.String()).Dec()
	if o := r.sfu.tracks; o != nil {
		o.TrackEnded(r.id, pub.info())
	}
	for _, dt := range pub.close() {
		dt.sub.unsubscribe(dt)
		dt.sub.negotiate()
	}
}

// trackInfos lists the room's tracks in publication order.
func (r *room) trackInfos() []TrackInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]TrackInfo, 0, len(r.pubs))
	for _, pub := range r.pubs {
		out = append(out, pub.info())
	}
	return out
}

// broadcastTracks sends the track list to every peer.
func (r *room) broadcastTracks() {
	r.bcastMu.Lock()
	defer r.bcastMu.Unlock()
	infos := r.trackInfos()
	for _, p := range r.peerList() {
		p.signal(Signal{Kind: SignalTracks, Tracks: infos})
	}
}

func (r *room) peerList() []*Peer {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*Peer, 0, len(r.peers))
	for _, p := range r.peers {
		out = append(out, p)
	}
	return out
}

func (r *room) publications() []*publication {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.pubs)
}

// publication returns the room's publication with the given track id.
func (r *room) publication(id string) *publication {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, pub := range r.pubs {
		if pub.id == id {
			return pub
		}
	}
	return nil
}

// closeAll closes every peer; the room finishes with the last one.
func (r *room) closeAll() {
	r.mu.Lock()
	r.closing = true
	peers := make([]*Peer, 0, len(r.peers))
	for _, p := range r.peers {
		peers = append(peers, p)
	}
	empty := len(peers) == 0
	r.mu.Unlock()
	if empty {
		r.finish()
		return
	}
	var wg sync.WaitGroup
	for _, p := range peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.Close()
		}()
	}
	wg.Wait()
}

// closeIfEmpty finishes a room without peers and reports whether it did.
func (r *room) closeIfEmpty() bool {
	r.mu.Lock()
	empty := len(r.peers) == 0
	if empty {
		r.closing = true
	}
	r.mu.Unlock()
	if empty {
		r.finish()
	}
	return empty
}

// finish ends the room's loop and forgets the room, once.
func (r *room) finish() {
	r.mu.Lock()
	if r.ended {
		r.mu.Unlock()
		return
	}
	r.ended = true
	r.mu.Unlock()
	close(r.done)
	r.sfu.dropRoom(r)
	r.log.Info().Msg("room closed")
}

// tick is the period of the room's housekeeping: layer measurement and
// allocation, speaker detection.
const tick = 250 * time.Millisecond

// loop measures layers, re-allocates subscribers' layers and detects
// speakers until the room finishes.
func (r *room) loop() {
	defer r.sfu.wg.Done()
	period := min(tick, r.sfu.cfg.SpeakerInterval)
	t := time.NewTicker(period)
	defer t.Stop()
	last := r.sfu.now()
	nextSpeakers := last + int64(r.sfu.cfg.SpeakerInterval)
	for {
		select {
		case <-r.done:
			return
		case <-t.C:
		}
		now := r.sfu.now()
		pubs := r.publications()
		for _, pub := range pubs {
			pub.measure(now - last)
		}
		last = now
		for _, p := range r.peerList() {
			p.allocate(now)
		}
		if now >= nextSpeakers {
			nextSpeakers = now + int64(r.sfu.cfg.SpeakerInterval)
			r.updateSpeakers(pubs)
		}
	}
}

// updateSpeakers computes who spoke in the last interval and broadcasts
// the list when the speakers or their order changed.
func (r *room) updateSpeakers(pubs []*publication) {
	best := map[string]int{}
	for _, pub := range pubs {
		if pub.source != SourceMicrophone {
			continue
		}
		if level, ok := pub.speechLevel(); ok {
			best[pub.peer.id] = max(best[pub.peer.id], level)
		}
	}
	sp := make([]Speaker, 0, len(best))
	for id, l := range best {
		sp = append(sp, Speaker{ParticipantID: id, Level: l})
	}
	sort.Slice(sp, func(i, j int) bool {
		if sp[i].Level != sp[j].Level {
			return sp[i].Level > sp[j].Level
		}
		return sp[i].ParticipantID < sp[j].ParticipantID
	})
	if slices.EqualFunc(sp, r.speakers, func(a, b Speaker) bool { return a.ParticipantID == b.ParticipantID }) {
		return
	}
	r.speakers = sp
	for _, p := range r.peerList() {
		p.signal(Signal{Kind: SignalSpeakers, Speakers: sp})
	}
}
