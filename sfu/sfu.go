package sfu

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/lotse-io/lotse/sfu/internal/pionlog"
)

// pionLogsPerSecond bounds the WebRTC library's log lines.
const pionLogsPerSecond = 10

// Deps are what an SFU is given rather than builds.
type Deps struct {
	Log zerolog.Logger
	// Registerer receives the SFU's metrics; nil keeps them private.
	Registerer prometheus.Registerer
	// Data receives data-channel messages; nil drops them.
	Data DataHandler
	// RemoteIPFilter, when set, decides which client addresses the SFU
	// may send ICE checks to (candidates it refuses are ignored). Tests
	// confine traffic to loopback with it; a deployment could keep
	// clients from pointing the SFU at internal addresses.
	RemoteIPFilter func(netip.Addr) bool
	// Tracks, when set, hears when a publication starts and ends (the
	// conversation record keeps who shared camera, microphone, screen).
	Tracks TrackObserver
}

// TrackObserver hears of publications. It is called synchronously from
// the SFU and must not block or call back into it.
type TrackObserver interface {
	TrackStarted(roomID string, t TrackInfo)
	TrackEnded(roomID string, t TrackInfo)
}

func (d Deps) remoteIPFilter() func(net.IP) bool {
	if d.RemoteIPFilter == nil {
		return nil
	}
	return func(ip net.IP) bool {
		a, ok := netip.AddrFromSlice(ip)
		return ok && d.RemoteIPFilter(a.Unmap())
	}
}

// SFU is one node's media server: the shared UDP and TCP media ports and
// the rooms on them.
type SFU struct {
	cfg      Config
	log      zerolog.Logger
	data     DataHandler
	tracks   TrackObserver
	metrics  *metrics
	pionLog  *pionlog.Factory
	settings webrtc.SettingEngine
	udpMux   ice.UDPMux
	tcpMux   ice.TCPMux
	addrs    []netip.AddrPort
	epoch    time.Time

	mu     sync.Mutex // guards rooms and closed
	rooms  map[string]*room
	closed bool
	wg     sync.WaitGroup // room loops
}

// New opens the media ports and returns an SFU without rooms. Close
// releases the ports.
func New(cfg Config, deps Deps) (*SFU, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	reg := deps.Registerer
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("sfu metrics: %w", err)
	}
	s := &SFU{
		cfg:     cfg,
		log:     deps.Log.With().Str("component", "sfu").Logger(),
		data:    deps.Data,
		tracks:  deps.Tracks,
		metrics: m,
		rooms:   map[string]*room{},
		epoch:   time.Now(),
	}
	s.pionLog = pionlog.New(s.log, pionLogsPerSecond, m.pionLogsDropped.Inc)
	if err := reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "lotse_sfu_subscriptions",
		Help: "Tracks being forwarded to subscribers (one per subscriber and track).",
	}, s.countSubscriptions)); err != nil {
		return nil, fmt.Errorf("sfu metrics: %w", err)
	}

	var ip net.IP
	if cfg.ListenIP != "" {
		ip = net.ParseIP(cfg.ListenIP)
	}
	v4, v6 := families(cfg)
	family := ""
	switch {
	case v4 && !v6:
		family = "4"
	case v6 && !v4:
		family = "6"
	}
	udp, err := net.ListenUDP("udp"+family, &net.UDPAddr{IP: ip, Port: cfg.UDPPort})
	if err != nil {
		return nil, fmt.Errorf("sfu: listen udp %s: %w", net.JoinHostPort(cfg.ListenIP, strconv.Itoa(cfg.UDPPort)), err)
	}
	s.udpMux = ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: udp, Logger: s.pionLog.NewLogger("udpmux")})
	var networks []webrtc.NetworkType
	if v4 {
		networks = append(networks, webrtc.NetworkTypeUDP4)
	}
	if v6 {
		networks = append(networks, webrtc.NetworkTypeUDP6)
	}
	tcpPort := 0
	if cfg.TCPPort >= 0 {
		ln, err := net.ListenTCP("tcp"+family, &net.TCPAddr{IP: ip, Port: cfg.TCPPort})
		if err != nil {
			s.udpMux.Close()
			return nil, fmt.Errorf("sfu: listen tcp %s: %w", net.JoinHostPort(cfg.ListenIP, strconv.Itoa(cfg.TCPPort)), err)
		}
		tcpPort = ln.Addr().(*net.TCPAddr).Port
		// No write buffer in the mux: a write to a subscriber whose TCP
		// window is closed blocks that subscriber's own writer, whose
		// bounded queue then drops to the next key frame. A mux buffer
		// would instead queue seconds of stale media and drop at random.
		s.tcpMux = ice.NewTCPMuxDefault(ice.TCPMuxParams{
			Listener:                     sendBufferListener{ln},
			Logger:                       s.pionLog.NewLogger("tcpmux"),
			ReadBufferSize:               64,
			FirstStunBindTimeout:         10 * time.Second,
			AliveDurationForConnFromStun: 30 * time.Second,
		})
		if v4 {
			networks = append(networks, webrtc.NetworkTypeTCP4)
		}
		if v6 {
			networks = append(networks, webrtc.NetworkTypeTCP6)
		}
	}
	udpPort := udp.LocalAddr().(*net.UDPAddr).Port
	s.addrs = mediaAddrs(cfg, udpPort, tcpPort)

	se := webrtc.SettingEngine{LoggerFactory: s.pionLog}
	se.SetICEUDPMux(s.udpMux)
	if s.tcpMux != nil {
		se.SetICETCPMux(s.tcpMux)
	}
	se.SetNetworkTypes(networks)
	se.SetIncludeLoopbackCandidate(cfg.LoopbackCandidates)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.DisableActiveTCP(true)
	se.SetSRTPProtectionProfiles(dtls.SRTP_AEAD_AES_128_GCM, dtls.SRTP_AEAD_AES_256_GCM, dtls.SRTP_AES128_CM_HMAC_SHA1_80)
	if f := deps.remoteIPFilter(); f != nil {
		se.SetRemoteIPFilter(f)
	}
	se.SetICETimeouts(cfg.ICEDisconnectedTimeout, cfg.ICEFailedTimeout, cfg.ICEKeepalive)
	se.SetSCTPMaxMessageSize(uint32(cfg.MaxDataMessageBytes))
	if len(cfg.PublicIPs) > 0 {
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External:        cfg.PublicIPs,
			AsCandidateType: webrtc.ICECandidateTypeHost,
			Mode:            webrtc.ICEAddressRewriteReplace,
		}); err != nil {
			s.closeMuxes()
			return nil, fmt.Errorf("sfu: public ips: %w", err)
		}
	}
	s.settings = se
	s.log.Info().Int("udp_port", udpPort).Int("tcp_port", tcpPort).Strs("public_ips", cfg.PublicIPs).Msg("media ports open")
	return s, nil
}

// tcpSendBuffer bounds the kernel's send buffer of each ICE-TCP
// connection. Left to autotuning it grows to megabytes, which for a
// receiver that stops reading means seconds of stale media queued before
// the subscriber's own queue notices; a bounded buffer makes the SFU drop
// to the next key frame instead. 256 KiB still covers the bandwidth-delay
// product of a 5 Mbit/s stream over a 200 ms round trip twice.
const tcpSendBuffer = 256 << 10

// sendBufferListener sets tcpSendBuffer on every accepted connection.
type sendBufferListener struct{ *net.TCPListener }

func (l sendBufferListener) Accept() (net.Conn, error) {
	c, err := l.AcceptTCP()
	if err != nil {
		return nil, err
	}
	_ = c.SetWriteBuffer(tcpSendBuffer)
	return c, nil
}

// families returns the IP versions the SFU offers candidates for: those
// of the public IPs when set (so that no unmapped private address of the
// other family is advertised), else that of the listen IP, else both.
func families(cfg Config) (v4, v6 bool) {
	ips := cfg.PublicIPs
	if len(ips) == 0 && cfg.ListenIP != "" && !netip.MustParseAddr(cfg.ListenIP).IsUnspecified() {
		ips = []string{cfg.ListenIP}
	}
	if len(ips) == 0 {
		return true, true
	}
	for _, s := range ips {
		if a := netip.MustParseAddr(s).Unmap(); a.Is4() {
			v4 = true
		} else {
			v6 = true
		}
	}
	return v4, v6
}

// mediaAddrs lists the addresses clients are told to send media to.
func mediaAddrs(cfg Config, udpPort, tcpPort int) []netip.AddrPort {
	var ips []netip.Addr
	switch {
	case len(cfg.PublicIPs) > 0:
		for _, s := range cfg.PublicIPs {
			ips = append(ips, netip.MustParseAddr(s)) // validated
		}
	case cfg.ListenIP != "" && !netip.MustParseAddr(cfg.ListenIP).IsUnspecified():
		ips = append(ips, netip.MustParseAddr(cfg.ListenIP))
	default:
		addrs, _ := net.InterfaceAddrs()
		for _, a := range addrs {
			p, err := netip.ParsePrefix(a.String())
			if err != nil {
				continue
			}
			ip := p.Addr().Unmap()
			if ip.IsLinkLocalUnicast() || ip.IsMulticast() || (ip.IsLoopback() && !cfg.LoopbackCandidates) || ip.IsUnspecified() {
				continue
			}
			ips = append(ips, ip)
		}
	}
	var out []netip.AddrPort
	for _, ip := range ips {
		out = append(out, netip.AddrPortFrom(ip, uint16(udpPort)))
		if tcpPort > 0 {
			out = append(out, netip.AddrPortFrom(ip, uint16(tcpPort)))
		}
	}
	return out
}

// MediaAddrs returns the addresses (UDP port and, when enabled, TCP port)
// that this node's ICE candidates advertise: the TURN relay should permit
// relaying to these and nothing else.
func (s *SFU) MediaAddrs() []netip.AddrPort {
	return append([]netip.AddrPort(nil), s.addrs...)
}

// Join adds a participant to a room, creating the room on first join, and
// returns its peer. The SFU starts negotiating at once through out (an
// offer when it has something to send: the data channel, the room's
// tracks), possibly before Join returns. A participant already in the room
// under the same id is closed and replaced (a reconnect).
func (s *SFU) Join(roomID string, part Participant, out Signaler) (*Peer, error) {
	if !validID(roomID, 128) || !validID(part.ID, 64) {
		return nil, fmt.Errorf("join room: %w", ErrBadParticipant)
	}
	for attempt := 0; ; attempt++ {
		r, err := s.room(roomID)
		if err != nil {
			return nil, fmt.Errorf("join room %s: %w", roomID, err)
		}
		p, err := newPeer(s, r, part, out)
		if err != nil {
			s.releaseRoomIfEmpty(r)
			return nil, fmt.Errorf("join room %s as %s: %w", roomID, part.ID, err)
		}
		err = r.add(p)
		if err == nil {
			return p, nil
		}
		p.discard()
		if !errors.Is(err, errRetryJoin) || attempt > 3 {
			s.releaseRoomIfEmpty(r)
			return nil, fmt.Errorf("join room %s as %s: %w", roomID, part.ID, err)
		}
	}
}

// room returns the open room with id, creating it.
func (s *SFU) room(id string) (*room, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if r := s.rooms[id]; r != nil {
		return r, nil
	}
	if len(s.rooms) >= s.cfg.MaxRooms {
		return nil, ErrTooManyRooms
	}
	r := newRoom(s, id)
	s.rooms[id] = r
	s.metrics.rooms.Inc()
	s.wg.Add(1)
	go r.loop()
	return r, nil
}

// dropRoom forgets a room that has closed.
func (s *SFU) dropRoom(r *room) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rooms[r.id] == r {
		delete(s.rooms, r.id)
		s.metrics.rooms.Dec()
	}
}

// releaseRoomIfEmpty closes a room that a failed join created.
func (s *SFU) releaseRoomIfEmpty(r *room) {
	if r.closeIfEmpty() {
		s.dropRoom(r)
	}
}

// CloseRoom closes every peer of a room (the conversation ended); the
// room disappears with its last peer. Unknown rooms are ignored.
func (s *SFU) CloseRoom(roomID string) {
	s.mu.Lock()
	r := s.rooms[roomID]
	s.mu.Unlock()
	if r != nil {
		r.closeAll()
	}
}

// Close closes every room and the media ports and waits for the SFU's
// goroutines. It is the node's shutdown hook.
func (s *SFU) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	rooms := make([]*room, 0, len(s.rooms))
	for _, r := range s.rooms {
		rooms = append(rooms, r)
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, r := range rooms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.closeAll()
		}()
	}
	wg.Wait()
	s.wg.Wait()
	s.closeMuxes()
	s.log.Info().Msg("media ports closed")
	return nil
}

func (s *SFU) closeMuxes() {
	if s.tcpMux != nil {
		// pion's TCP mux closes its listener first and then waits for its
		// connections' goroutines — forever for a connection it no longer
		// tracks (seen with Chromium's ICE-TCP). The port is free by then:
		// a shutdown does not wait for it beyond muxCloseWait.
		done := make(chan struct{})
		go func() {
			s.tcpMux.Close()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(muxCloseWait):
			s.log.Warn().Msg("ICE-TCP mux still closing, not waiting any longer")
		}
	}
	s.udpMux.Close()
}

// muxCloseWait bounds how long Close waits for the ICE-TCP mux.
const muxCloseWait = 3 * time.Second

// countSubscriptions counts subscriptions when metrics are scraped.
func (s *SFU) countSubscriptions() float64 {
	s.mu.Lock()
	rooms := make([]*room, 0, len(s.rooms))
	for _, r := range s.rooms {
		rooms = append(rooms, r)
	}
	s.mu.Unlock()
	n := 0
	for _, r := range rooms {
		for _, p := range r.peerList() {
			p.mu.Lock()
			n += len(p.subs)
			p.mu.Unlock()
		}
	}
	return float64(n)
}

// now is the SFU's monotonic clock in nanoseconds.
func (s *SFU) now() int64 { return int64(time.Since(s.epoch)) }

// validID accepts ids that are safe inside SDP tokens and logs.
func validID(id string, maxLen int) bool {
	if id == "" || len(id) > maxLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}
