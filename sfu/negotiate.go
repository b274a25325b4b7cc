package sfu

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// Limits on what a client may send during negotiation.
const (
	// maxSDPBytes bounds an offer or answer.
	maxSDPBytes = 128 << 10
	// maxEarlyCandidates bounds the candidates buffered before the remote
	// description.
	maxEarlyCandidates = 64
	// maxCandidateBytes bounds one candidate line.
	maxCandidateBytes = 512
)

// offeredMedia is what the SFU reads from one m-section of a client offer.
type offeredMedia struct {
	mid     string
	kind    webrtc.RTPCodecType
	sending bool // the client sends on it (sendrecv or sendonly)
	trackID string
	rids    []string
}

// parseOffer reads the m-sections of a client offer. It rejects what the
// SFU will not negotiate: unparsable SDP, media other than audio, video
// and the data channel, m-sections without mid, rids other than q/h/f.
func parseOffer(s string) ([]offeredMedia, error) {
	if len(s) > maxSDPBytes {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrBadSDP, maxSDPBytes)
	}
	var d sdp.SessionDescription
	if err := d.UnmarshalString(s); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSDP, err)
	}
	if err := validateDescription(&d); err != nil {
		return nil, err
	}
	out := make([]offeredMedia, 0, len(d.MediaDescriptions))
	for _, md := range d.MediaDescriptions {
		var om offeredMedia
		switch md.MediaName.Media {
		case "audio":
			om.kind = webrtc.RTPCodecTypeAudio
		case "video":
			om.kind = webrtc.RTPCodecTypeVideo
		case "application":
		default:
			return nil, fmt.Errorf("%w: media %.16q", ErrBadSDP, md.MediaName.Media)
		}
		mid, ok := md.Attribute("mid")
		if !ok || mid == "" || len(mid) > 64 {
			return nil, fmt.Errorf("%w: m-section without valid mid", ErrBadSDP)
		}
		om.mid = mid
		if om.kind == 0 {
			out = append(out, om)
			continue
		}
		om.sending = md.MediaName.Port.Value != 0
		for _, a := range md.Attributes {
			switch a.Key {
			case "recvonly", "inactive":
				om.sending = false
			case "msid":
				if _, track, ok := strings.Cut(a.Value, " "); ok {
					om.trackID = track
				}
			case "rid":
				id, dir, _ := strings.Cut(a.Value, " ")
				if dir == "send" || strings.HasPrefix(dir, "send ") {
					if om.kind != webrtc.RTPCodecTypeVideo || !validRID(id) || len(om.rids) >= 3 {
						return nil, fmt.Errorf("%w: simulcast rid %.16q (use q, h, f)", ErrBadSDP, id)
					}
					om.rids = append(om.rids, id)
				}
			}
		}
		out = append(out, om)
	}
	return out, nil
}

// validateDescription checks what pion would otherwise find wrong only
// after it has moved to the new signalling state, which it cannot roll
// back: ICE credentials, the DTLS fingerprint, mids, payload types and
// header extensions must be present and well-formed.
func validateDescription(d *sdp.SessionDescription) error {
	if len(d.MediaDescriptions) == 0 {
		return fmt.Errorf("%w: no m-section", ErrBadSDP)
	}
	sessUfrag, _ := d.Attribute("ice-ufrag")
	sessPwd, _ := d.Attribute("ice-pwd")
	sessFP, _ := d.Attribute("fingerprint")
	for _, md := range d.MediaDescriptions {
		ufrag, pwd, fp := sessUfrag, sessPwd, sessFP
		if v, ok := md.Attribute("ice-ufrag"); ok {
			ufrag = v
		}
		if v, ok := md.Attribute("ice-pwd"); ok {
			pwd = v
		}
		if v, ok := md.Attribute("fingerprint"); ok {
			fp = v
		}
		if mid, ok := md.Attribute("mid"); !ok || mid == "" || len(mid) > 64 {
			return fmt.Errorf("%w: m-section without valid mid", ErrBadSDP)
		}
		if md.MediaName.Port.Value == 0 {
			continue // rejected or stopped m-section
		}
		// RFC 8839 §5.4: ufrag 4..256, pwd 22..256 ice-chars.
		if len(ufrag) < 4 || len(ufrag) > 256 || len(pwd) < 22 || len(pwd) > 256 {
			return fmt.Errorf("%w: missing or malformed ICE credentials", ErrBadSDP)
		}
		if !validFingerprint(fp) {
			return fmt.Errorf("%w: missing or malformed DTLS fingerprint", ErrBadSDP)
		}
		if md.MediaName.Media != "audio" && md.MediaName.Media != "video" {
			continue
		}
		codecs := (&sdp.SessionDescription{MediaDescriptions: []*sdp.MediaDescription{md}}).GetCodecMap()
		for _, f := range md.MediaName.Formats {
			pt, err := strconv.ParseUint(f, 10, 8)
			if err != nil {
				return fmt.Errorf("%w: payload type %.8q", ErrBadSDP, f)
			}
			if _, ok := codecs[uint8(pt)]; !ok && pt != 0 {
				return fmt.Errorf("%w: payload type %d without rtpmap", ErrBadSDP, pt)
			}
		}
		for _, a := range md.Attributes {
			if a.Key == "extmap" {
				var e sdp.ExtMap
				if err := e.Unmarshal("extmap:" + a.Value); err != nil {
					return fmt.Errorf("%w: extmap: %v", ErrBadSDP, err)
				}
			}
		}
	}
	return nil
}

// validFingerprint accepts "<hash> <hex pairs separated by colons>"
// (RFC 8122 §5).
func validFingerprint(v string) bool {
	algo, hexs, ok := strings.Cut(v, " ")
	if !ok {
		return false
	}
	switch strings.ToLower(algo) {
	case "sha-1", "sha-224", "sha-256", "sha-384", "sha-512":
	default:
		return false
	}
	parts := strings.Split(hexs, ":")
	if len(parts) < 20 || len(parts) > 64 {
		return false
	}
	for _, p := range parts {
		if len(p) != 2 || strings.Trim(p, "0123456789abcdefABCDEF") != "" {
			return false
		}
	}
	return true
}

func validRID(id string) bool { return id == "q" || id == "h" || id == "f" }

// checkOfferLocked applies the grants and limits to a parsed offer
// (p.mu held).
func (p *Peer) checkOfferLocked(media []offeredMedia) error {
	n := 0
	for _, om := range media {
		if om.kind == 0 || !om.sending {
			continue
		}
		n++
		src := p.sourceLocked(om.mid, om.trackID, om.kind)
		if src.kind() != om.kind {
			return fmt.Errorf("%w: %s declared for a %s m-section", ErrNotAllowed, src, om.kind)
		}
		if !p.grants.allows(src) {
			return fmt.Errorf("%w: publishing %s", ErrNotAllowed, src)
		}
	}
	if n > p.sfu.cfg.MaxTracksPerParticipant {
		return fmt.Errorf("%w: %d > %d", ErrTooManyTracks, n, p.sfu.cfg.MaxTracksPerParticipant)
	}
	return nil
}

// HandleOffer applies a client offer (its publications, or a
// renegotiation) and sends the answer. An offer that the grants forbid or
// that cannot be parsed is refused with an error and changes nothing: the
// client rolls it back. While the SFU's own offer is outstanding the
// client's offer is ignored (the SFU is the impolite side of perfect
// negotiation; the polite client rolls back when it receives the SFU's
// offer and offers again after answering it).
func (p *Peer) HandleOffer(offer string) error {
	media, err := parseOffer(offer)
	if err != nil {
		p.sfu.metrics.offersRejected.WithLabelValues("bad_sdp").Inc()
		return fmt.Errorf("offer from %s: %w", p.id, err)
	}
	p.mu.Lock()
	err = p.checkOfferLocked(media)
	p.mu.Unlock()
	if err != nil {
		reason := "grants"
		if errors.Is(err, ErrTooManyTracks) {
			reason = "too_many_tracks"
		}
		p.sfu.metrics.offersRejected.WithLabelValues(reason).Inc()
		return fmt.Errorf("offer from %s: %w", p.id, err)
	}

	p.negMu.Lock()
	defer p.negMu.Unlock()
	if p.isClosed.Load() {
		return fmt.Errorf("offer from %s: %w", p.id, ErrClosed)
	}
	if p.pc.SignalingState() == webrtc.SignalingStateHaveLocalOffer {
		p.sfu.metrics.glare.Inc()
		p.log.Debug().Msg("offer collision: ignoring the client's offer")
		return nil
	}
	waitICEStarted(p.pc)
	iceRestart := p.pc.RemoteDescription() != nil && iceCredentialsChanged(p.pc.RemoteDescription().SDP, offer)
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		p.sfu.metrics.offersRejected.WithLabelValues("bad_sdp").Inc()
		if p.pc.SignalingState() != webrtc.SignalingStateStable {
			p.unusable("offer half applied")
		}
		return fmt.Errorf("offer from %s: %w: %v", p.id, ErrBadSDP, err)
	}
	if iceRestart {
		p.sfu.metrics.iceRestarts.WithLabelValues("client").Inc()
	}
	p.mu.Lock()
	p.offered = make(map[string]offeredMedia, len(media))
	for _, om := range media {
		p.offered[om.mid] = om
	}
	p.mu.Unlock()
	p.addEarlyCandidatesLocked()
	answer, err := p.pc.CreateAnswer(nil)
	if err != nil {
		return fmt.Errorf("answer %s: %w", p.id, err)
	}
	p.sigMu.Lock()
	err = p.pc.SetLocalDescription(answer)
	if err == nil {
		p.signal(Signal{Kind: SignalAnswer, SDP: answer.SDP})
	}
	p.sigMu.Unlock()
	if err != nil {
		return fmt.Errorf("answer %s: %w", p.id, err)
	}
	if p.needOffer {
		p.offerLocked()
	}
	return nil
}

// HandleAnswer applies the client's answer to the SFU's offer. A bad
// answer is refused with an error and the offer stays outstanding: the
// client may answer again (or rejoin).
func (p *Peer) HandleAnswer(answer string) error {
	if len(answer) > maxSDPBytes {
		return fmt.Errorf("answer from %s: %w: larger than %d bytes", p.id, ErrBadSDP, maxSDPBytes)
	}
	p.negMu.Lock()
	defer p.negMu.Unlock()
	if p.isClosed.Load() {
		return fmt.Errorf("answer from %s: %w", p.id, ErrClosed)
	}
	if p.pc.SignalingState() != webrtc.SignalingStateHaveLocalOffer {
		return fmt.Errorf("answer from %s: %w", p.id, ErrUnexpectedAnswer)
	}
	var d sdp.SessionDescription
	if err := d.UnmarshalString(answer); err != nil {
		return fmt.Errorf("answer from %s: %w: %v", p.id, ErrBadSDP, err)
	}
	if err := validateDescription(&d); err != nil {
		return fmt.Errorf("answer from %s: %w", p.id, err)
	}
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		if p.pc.SignalingState() != webrtc.SignalingStateHaveLocalOffer {
			p.unusable("answer half applied")
		}
		return fmt.Errorf("answer from %s: %w: %v", p.id, ErrBadSDP, err)
	}
	p.free = append(p.free, p.inOffer...)
	p.inOffer = nil
	p.addEarlyCandidatesLocked()
	if p.needOffer {
		p.offerLocked()
	}
	return nil
}

// unusable tells the client that its connection cannot be negotiated any
// further (pion cannot roll back a description it failed to apply): the
// client must join again, which replaces this peer.
func (p *Peer) unusable(why string) {
	p.log.Warn().Str("reason", why).Msg("peer connection unusable, client told to rejoin")
	p.signal(Signal{Kind: SignalRestart, Reason: ReasonRejoin})
}

// AddCandidate adds a trickled ICE candidate of the client. Candidates
// that arrive before the first remote description are buffered.
func (p *Peer) AddCandidate(c webrtc.ICECandidateInit) error {
	if len(c.Candidate) > maxCandidateBytes || c.SDPMid != nil && len(*c.SDPMid) > 64 ||
		c.UsernameFragment != nil && len(*c.UsernameFragment) > 256 {
		return fmt.Errorf("candidate from %s: %w: too long", p.id, ErrBadCandidate)
	}
	// An mDNS name (browsers hide host addresses behind them) cannot be
	// resolved by the SFU, which sends no multicast queries: ignore it;
	// the client's other candidates and peer-reflexive discovery remain.
	if f := strings.Fields(c.Candidate); len(f) > 4 && strings.HasSuffix(strings.ToLower(f[4]), ".local") {
		return nil
	}
	p.negMu.Lock()
	defer p.negMu.Unlock()
	if p.isClosed.Load() {
		return fmt.Errorf("candidate from %s: %w", p.id, ErrClosed)
	}
	if p.pc.RemoteDescription() == nil {
		if len(p.early) >= maxEarlyCandidates {
			return fmt.Errorf("candidate from %s: %w", p.id, ErrTooManyCandidates)
		}
		p.early = append(p.early, c)
		return nil
	}
	if err := p.pc.AddICECandidate(c); err != nil {
		return fmt.Errorf("candidate from %s: %w: %v", p.id, ErrBadCandidate, err)
	}
	return nil
}

func (p *Peer) addEarlyCandidatesLocked() {
	for _, c := range p.early {
		if err := p.pc.AddICECandidate(c); err != nil {
			p.log.Debug().Err(err).Msg("early candidate refused")
		}
	}
	p.early = nil
}

// RestartICE makes the SFU offer with fresh ICE credentials (at once, or
// after the outstanding negotiation).
func (p *Peer) RestartICE() error {
	p.negMu.Lock()
	defer p.negMu.Unlock()
	if p.isClosed.Load() {
		return fmt.Errorf("restart ice of %s: %w", p.id, ErrClosed)
	}
	p.restartICE = true
	p.sfu.metrics.iceRestarts.WithLabelValues("sfu").Inc()
	p.offerLocked()
	return nil
}

// negotiate sends an offer when subscriptions changed.
func (p *Peer) negotiate() {
	p.negMu.Lock()
	defer p.negMu.Unlock()
	if p.isClosed.Load() {
		return
	}
	p.offerLocked()
}

// offerLocked sends the SFU's offer now if the signalling state allows,
// else marks it due after the current exchange.
func (p *Peer) offerLocked() {
	if p.pc.SignalingState() != webrtc.SignalingStateStable {
		p.needOffer = true
		return
	}
	p.needOffer = false
	offer, err := p.pc.CreateOffer(&webrtc.OfferOptions{ICERestart: p.restartICE})
	if err != nil {
		p.log.Warn().Err(err).Msg("create offer")
		return
	}
	p.sigMu.Lock()
	err = p.pc.SetLocalDescription(offer)
	if err == nil {
		p.signal(Signal{Kind: SignalOffer, SDP: offer.SDP})
	}
	p.sigMu.Unlock()
	if err != nil {
		p.log.Warn().Err(err).Msg("set local offer")
		return
	}
	p.restartICE = false
	p.inOffer = append(p.inOffer, p.releasing...)
	p.releasing = nil
	p.offerSeq++
	seq := p.offerSeq
	if p.answerWait != nil {
		p.answerWait.Stop()
	}
	p.answerWait = time.AfterFunc(p.sfu.cfg.AnswerTimeout, func() { p.answerOverdue(seq) })
}

// answerOverdue tells the client to rejoin when the SFU's offer seq is
// still unanswered: the offer or its answer was lost, or the client
// cannot apply it. Nothing else would move the negotiation on.
func (p *Peer) answerOverdue(seq uint64) {
	p.negMu.Lock()
	defer p.negMu.Unlock()
	if p.isClosed.Load() || p.offerSeq != seq || p.pc.SignalingState() != webrtc.SignalingStateHaveLocalOffer {
		return
	}
	p.sfu.metrics.answerTimeouts.Inc()
	p.unusable("offer not answered in time")
}

// iceStartWait bounds waitICEStarted.
const iceStartWait = 5 * time.Second

// waitICEStarted waits, after a first negotiation, until pion has started
// the ICE agent. Pion starts it asynchronously after the first remote
// description and, until then, takes the remote credentials of any
// renegotiating offer for changed ones and restarts ICE, which leaves the
// two sides with different credentials. Offers that follow the first
// exchange closely (a client publishing right after joining) would hit it.
func waitICEStarted(pc *webrtc.PeerConnection) {
	if pc.CurrentRemoteDescription() == nil {
		return
	}
	deadline := time.Now().Add(iceStartWait)
	for pc.ICEConnectionState() == webrtc.ICEConnectionStateNew && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
}

// iceCredentialsChanged reports whether an offer carries a new ICE ufrag
// (the client restarts ICE).
func iceCredentialsChanged(old, offer string) bool {
	return firstUfrag(old) != firstUfrag(offer)
}

func firstUfrag(s string) string {
	const key = "a=ice-ufrag:"
	i := strings.Index(s, key)
	if i < 0 {
		return ""
	}
	s = s[i+len(key):]
	if j := strings.IndexAny(s, "\r\n"); j >= 0 {
		s = s[:j]
	}
	return s
}
