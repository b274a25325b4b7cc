// Package sfuclient is a Go client of Lotse's SFU: it joins with one
// pion PeerConnection, publishes generated or recorded VP8 and Opus
// (optionally simulcast), subscribes to everything the SFU offers and
// measures what arrives per track (packets, loss, one-way latency, key
// frames, simulcast layer). Signals travel through an abstract transport:
// the client hands its signals to Transport.Send and is given the SFU's
// through Handle, so tests can connect it to an sfu.Peer in-process and
// the signalling client can carry the same values over the WebSocket.
//
// It negotiates as the polite side of the SFU's offer/answer scheme
// (docs/media.md). Pion cannot roll back a local offer, so the client
// applies its own offer locally only when the SFU's answer arrives: an SFU
// offer that arrives first means the SFU ignored the client's (the
// signalling channel is ordered), and the client answers it and offers
// again. Browsers reach the same result with a rollback.
package sfuclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"github.com/rs/zerolog"

	"github.com/lotse-io/lotse/sfu"
	"github.com/lotse-io/lotse/sfu/internal/pionlog"
)

// Errors of the client.
var (
	// ErrClosed means the client was closed.
	ErrClosed = errors.New("sfuclient: closed")
	// ErrNoDataChannel means the SFU has not opened the data channel (the
	// participant lacks the Data grant, or it is not open yet).
	ErrNoDataChannel = errors.New("sfuclient: data channel not open")
)

// Transport carries the client's signals to the SFU.
type Transport interface {
	Send(sfu.Signal)
}

// TransportFunc adapts a function to a Transport.
type TransportFunc func(sfu.Signal)

// Send calls f(s).
func (f TransportFunc) Send(s sfu.Signal) { f(s) }

// Config configures a client.
type Config struct {
	Log zerolog.Logger
	// ICEServers are the STUN/TURN servers to use (none: host candidates
	// only). Lotse hands its own TURN relay here; never a public server.
	ICEServers []webrtc.ICEServer
	// RelayOnly restricts ICE to relay candidates (through ICEServers).
	RelayOnly bool
	// LoopbackOnly gathers only loopback host candidates, so that tests
	// never send to another address.
	LoopbackOnly bool
	// NetworkTypes limits the candidate types (default UDP4; add TCP4
	// for ICE-TCP).
	NetworkTypes []webrtc.NetworkType
	// Configure, when set, may change the pion setting engine (tests).
	Configure func(*webrtc.SettingEngine)
}

// Client is one participant's media connection.
type Client struct {
	cfg Config
	log zerolog.Logger
	tr  Transport
	pc  *webrtc.PeerConnection

	negMu     sync.Mutex // guards signalling-state changes of pc and the fields below
	needOffer bool
	restart   bool              // the next offer restarts ICE
	sentOffer string            // offer sent, applied locally when its answer arrives
	answered  bool              // the SFU's first offer has been answered
	earlyPubs []sfu.Publication // declared before that: sent right after the answer
	early     []webrtc.ICECandidateInit
	sigMu     sync.Mutex // orders a description before its candidates

	mu         sync.Mutex // guards the fields below
	closed     bool
	tracks     []sfu.TrackInfo
	speakers   []sfu.Speaker
	errs       []string
	remotes    map[string]*RemoteTrack
	pubs       []*LocalTrack
	dc         *webrtc.DataChannel
	onData     func([]byte)
	onRemote   func(*RemoteTrack)
	onCand     func(string)
	restarts   int
	rejoin     bool
	rembCancel context.CancelFunc

	dataOpen  chan struct{}
	connected chan struct{}
	connOnce  sync.Once
	done      chan struct{}
	wg        sync.WaitGroup
	stateNow  atomic.Int32
}

// New creates a client with no media; Publish* add tracks, and the SFU's
// offers add subscriptions.
func New(cfg Config, tr Transport) (*Client, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	for _, e := range []struct {
		uri  string
		kind webrtc.RTPCodecType
	}{
		{sdp.SDESMidURI, webrtc.RTPCodecTypeAudio}, {sdp.AudioLevelURI, webrtc.RTPCodecTypeAudio},
		{sdp.SDESMidURI, webrtc.RTPCodecTypeVideo}, {sdp.SDESRTPStreamIDURI, webrtc.RTPCodecTypeVideo},
	} {
		if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: e.uri}, e.kind); err != nil {
			return nil, err
		}
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		return nil, err
	}
	se := webrtc.SettingEngine{LoggerFactory: pionlog.New(cfg.Log, 10, nil)}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled) // no multicast queries from tests or bench
	nt := cfg.NetworkTypes
	if len(nt) == 0 {
		nt = []webrtc.NetworkType{webrtc.NetworkTypeUDP4}
	}
	se.SetNetworkTypes(nt)
	if cfg.LoopbackOnly {
		se.SetIncludeLoopbackCandidate(true)
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	}
	if cfg.Configure != nil {
		cfg.Configure(&se)
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
	pcfg := webrtc.Configuration{ICEServers: cfg.ICEServers, BundlePolicy: webrtc.BundlePolicyMaxBundle}
	if cfg.RelayOnly {
		pcfg.ICETransportPolicy = webrtc.ICETransportPolicyRelay
	}
	pc, err := api.NewPeerConnection(pcfg)
	if err != nil {
		return nil, err
	}
	c := &Client{
		cfg:       cfg,
		log:       cfg.Log.With().Str("component", "sfuclient").Logger(),
		tr:        tr,
		pc:        pc,
		remotes:   map[string]*RemoteTrack{},
		dataOpen:  make(chan struct{}),
		connected: make(chan struct{}),
		done:      make(chan struct{}),
	}
	pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
		if cand == nil {
			return
		}
		init := cand.ToJSON()
		c.mu.Lock()
		f := c.onCand
		c.mu.Unlock()
		if f != nil {
			f(init.Candidate)
		}
		c.sigMu.Lock()
		defer c.sigMu.Unlock()
		c.tr.Send(sfu.Signal{Kind: sfu.SignalCandidate, Candidate: &init})
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		c.stateNow.Store(int32(s))
		if s == webrtc.PeerConnectionStateConnected {
			c.connOnce.Do(func() { close(c.connected) })
		}
	})
	pc.OnTrack(c.onTrack)
	pc.OnDataChannel(func(d *webrtc.DataChannel) {
		if d.Label() != "lotse" {
			return
		}
		d.OnOpen(func() {
			c.mu.Lock()
			c.dc = d
			c.mu.Unlock()
			close(c.dataOpen)
		})
		d.OnMessage(func(m webrtc.DataChannelMessage) {
			c.mu.Lock()
			f := c.onData
			c.mu.Unlock()
			if f != nil {
				f(m.Data)
			}
		})
	})
	return c, nil
}

// Handle applies a signal from the SFU.
func (c *Client) Handle(s sfu.Signal) error {
	switch s.Kind {
	case sfu.SignalOffer:
		return c.handleOffer(s.SDP)
	case sfu.SignalAnswer:
		return c.handleAnswer(s.SDP)
	case sfu.SignalCandidate:
		if s.Candidate == nil {
			return nil
		}
		return c.addCandidate(*s.Candidate)
	case sfu.SignalTracks:
		c.mu.Lock()
		c.tracks = append([]sfu.TrackInfo(nil), s.Tracks...)
		c.mu.Unlock()
	case sfu.SignalSpeakers:
		c.mu.Lock()
		c.speakers = append([]sfu.Speaker(nil), s.Speakers...)
		c.mu.Unlock()
	case sfu.SignalRestart:
		c.mu.Lock()
		c.restarts++
		if s.Reason == sfu.ReasonRejoin {
			c.rejoin = true
		}
		c.mu.Unlock()
		if s.Reason == sfu.ReasonRejoin {
			return nil // the caller joins again with a new client
		}
		return c.RestartICE()
	case sfu.SignalError:
		c.mu.Lock()
		c.errs = append(c.errs, s.Reason)
		c.mu.Unlock()
	default:
		return fmt.Errorf("sfuclient: unexpected signal %q", s.Kind)
	}
	return nil
}

func (c *Client) handleOffer(offer string) error {
	c.negMu.Lock()
	defer c.negMu.Unlock()
	if c.isClosed() {
		return ErrClosed
	}
	if c.sentOffer != "" {
		// Collision: the SFU's offer overtook no answer, so it ignored
		// ours. Drop ours; offer again after answering.
		c.sentOffer = ""
		c.needOffer = true
	}
	// Pion starts ICE asynchronously after the first description; a
	// renegotiation applied before that would look like an ICE restart.
	if c.pc.CurrentRemoteDescription() != nil {
		deadline := time.Now().Add(5 * time.Second)
		for c.pc.ICEConnectionState() == webrtc.ICEConnectionStateNew && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return fmt.Errorf("apply sfu offer: %w", err)
	}
	c.addEarlyLocked()
	answer, err := c.pc.CreateAnswer(nil)
	if err != nil {
		return err
	}
	c.sigMu.Lock()
	err = c.pc.SetLocalDescription(answer)
	if err == nil {
		c.tr.Send(sfu.Signal{Kind: sfu.SignalAnswer, SDP: answer.SDP})
	}
	c.sigMu.Unlock()
	if err != nil {
		return err
	}
	c.answered = true
	if len(c.earlyPubs) > 0 {
		c.tr.Send(sfu.Signal{Kind: sfu.SignalPublish, Publish: c.earlyPubs})
		c.earlyPubs = nil
	}
	c.startPublishersLocked()
	if c.needOffer {
		return c.offerLocked(false)
	}
	return nil
}

func (c *Client) handleAnswer(answer string) error {
	c.negMu.Lock()
	defer c.negMu.Unlock()
	if c.sentOffer == "" {
		return nil // answer to an offer we dropped
	}
	offer := c.sentOffer
	c.sentOffer = ""
	c.sigMu.Lock()
	err := c.pc.SetLocalDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer})
	c.sigMu.Unlock()
	if err != nil {
		return fmt.Errorf("apply own offer: %w", err)
	}
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		return fmt.Errorf("apply sfu answer: %w", err)
	}
	c.addEarlyLocked()
	c.startPublishersLocked()
	if c.needOffer {
		return c.offerLocked(false)
	}
	return nil
}

// OfferRejected forgets the client's outstanding offer after the SFU
// refused it (the signalling layer reports the error); nothing of it was
// applied.
func (c *Client) OfferRejected() error {
	c.negMu.Lock()
	defer c.negMu.Unlock()
	c.sentOffer = ""
	return nil
}

func (c *Client) addCandidate(cand webrtc.ICECandidateInit) error {
	c.negMu.Lock()
	defer c.negMu.Unlock()
	if c.pc.RemoteDescription() == nil {
		c.early = append(c.early, cand)
		return nil
	}
	return c.pc.AddICECandidate(cand)
}

func (c *Client) addEarlyLocked() {
	for _, cand := range c.early {
		_ = c.pc.AddICECandidate(cand)
	}
	c.early = nil
}

// negotiate offers the client's publications now or after the current
// exchange.
func (c *Client) negotiate(restart bool) error {
	c.negMu.Lock()
	defer c.negMu.Unlock()
	return c.offerLocked(restart)
}

func (c *Client) offerLocked(restart bool) error {
	if c.isClosed() {
		return ErrClosed
	}
	c.restart = c.restart || restart
	// The SFU opens every negotiation with an offer: offering before it
	// is answered would number m-sections the SFU's offer already uses.
	if !c.answered || c.pc.SignalingState() != webrtc.SignalingStateStable || c.sentOffer != "" {
		c.needOffer = true
		return nil
	}
	c.needOffer = false
	offer, err := c.pc.CreateOffer(&webrtc.OfferOptions{ICERestart: c.restart})
	if err != nil {
		return err
	}
	c.restart = false
	c.sentOffer = offer.SDP
	c.tr.Send(sfu.Signal{Kind: sfu.SignalOffer, SDP: offer.SDP})
	return nil
}

// RestartICE offers with fresh ICE credentials (after a network change or
// when the SFU says the connection failed).
func (c *Client) RestartICE() error { return c.negotiate(true) }

// WaitConnected waits until the PeerConnection has connected once.
func (c *Client) WaitConnected(ctx context.Context) error {
	select {
	case <-c.connected:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("sfuclient: not connected (state %s): %w", c.ConnectionState(), ctx.Err())
	}
}

// ConnectionState is the PeerConnection's state.
func (c *Client) ConnectionState() webrtc.PeerConnectionState {
	return webrtc.PeerConnectionState(c.stateNow.Load())
}

// Tracks returns the room's tracks from the SFU's last SignalTracks.
func (c *Client) Tracks() []sfu.TrackInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]sfu.TrackInfo(nil), c.tracks...)
}

// Speakers returns the last active-speaker list.
func (c *Client) Speakers() []sfu.Speaker {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]sfu.Speaker(nil), c.speakers...)
}

// Errors returns the reasons of the SFU's error signals so far.
func (c *Client) Errors() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.errs...)
}

// Restarts counts the restart signals the SFU sent.
func (c *Client) Restarts() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.restarts
}

// MediaSections counts the m-sections of the current remote description
// (the SFU's view of the connection).
func (c *Client) MediaSections() int {
	c.negMu.Lock()
	defer c.negMu.Unlock()
	d := c.pc.CurrentRemoteDescription()
	if d == nil {
		return 0
	}
	return strings.Count(d.SDP, "\nm=")
}

// NeedsRejoin reports whether the SFU said this connection cannot be
// renegotiated any more: the caller must close it and join again.
func (c *Client) NeedsRejoin() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rejoin
}

// RequestVideo tells the SFU the size a remote video is shown at.
func (c *Client) RequestVideo(trackID string, width, height int) {
	c.tr.Send(sfu.Signal{Kind: sfu.SignalVideo, TrackID: trackID, Width: width, Height: height})
}

// SetMuted announces a mute state change of one of the client's sources.
func (c *Client) SetMuted(source sfu.Source, muted bool) {
	c.tr.Send(sfu.Signal{Kind: sfu.SignalMute, Source: source, Muted: muted})
}

// SetReceiveBitrate makes the client report a receive bandwidth estimate
// of bps bit/s to the SFU (RTCP REMB, every 250 ms) until called again;
// 0 stops the reports.
func (c *Client) SetReceiveBitrate(bps int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rembCancel != nil {
		c.rembCancel()
		c.rembCancel = nil
	}
	if bps <= 0 || c.closed {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.rembCancel = cancel
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			var ssrcs []uint32
			for _, r := range c.Remotes() {
				ssrcs = append(ssrcs, r.ssrc)
			}
			if len(ssrcs) > 0 {
				_ = c.pc.WriteRTCP([]rtcp.Packet{&rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: float32(bps), SSRCs: ssrcs}})
			}
			select {
			case <-ctx.Done():
				return
			case <-c.done:
				return
			case <-t.C:
			}
		}
	}()
}

// OnCandidate sets a function that sees each local ICE candidate the
// client sends.
func (c *Client) OnCandidate(f func(string)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.onCand = f
}

// OnData sets the function that receives data-channel messages.
func (c *Client) OnData(f func([]byte)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.onData = f
}

// WaitData waits until the SFU's data channel is open.
func (c *Client) WaitData(ctx context.Context) error {
	select {
	case <-c.dataOpen:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// SendData sends b on the data channel.
func (c *Client) SendData(b []byte) error {
	c.mu.Lock()
	d := c.dc
	c.mu.Unlock()
	if d == nil {
		return ErrNoDataChannel
	}
	return d.Send(b)
}

func (c *Client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// Close stops publishing and receiving and closes the connection; every
// goroutine the client started has ended when it returns.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	if c.rembCancel != nil {
		c.rembCancel()
	}
	c.mu.Unlock()
	close(c.done)
	err := c.pc.GracefulClose()
	c.wg.Wait()
	return err
}
