package turn

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	pionturn "github.com/pion/turn/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// Deps are what a Server is given rather than builds.
type Deps struct {
	Log        zerolog.Logger
	Registerer prometheus.Registerer // nil: metrics are kept but not exported
	// MediaAddrs returns the SFU's own media addresses (ip:port of its ICE
	// UDP mux and ICE-TCP listener, as advertised in its candidates). By
	// default only these are reachable through the relay. Nil for a
	// standalone relay, which reaches only its allowlist. It is called
	// for every permission request and at most once a second otherwise,
	// and must be fast and safe for concurrent use.
	MediaAddrs func() []netip.AddrPort
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Server is the TURN relay. New configures it, Start opens its listeners,
// Close stops it.
type Server struct {
	cfg     Config
	log     zerolog.Logger
	secret  []byte
	guard   *guard
	quotas  *quotas
	metrics *metrics
	now     func() time.Time
	gen     *relayGen
	chans   *channels

	// firstMessage bounds a client connection's TLS handshake and first
	// read (firstMessageTimeout; tests shorten it).
	firstMessage time.Duration

	// peerHook, if set (tests only), sees every peer address the relay is
	// about to reach, before the guard judges it.
	peerHook func(path string, ap netip.AddrPort)

	draining atomic.Bool
	nconns   atomic.Int64

	mu    sync.Mutex // guards the fields below
	state int        // 0 new, 1 started, 2 closed
	pion  *pionturn.Server
	udp   *serverPacketConn
	// udpLocal is the UDP listener's address, set before pion starts (the
	// fast path only takes channels of clients on it).
	udpLocal netip.AddrPort
	tcp      net.Listener
	tls      net.Listener
	conns    map[*clientConn]struct{}
	connsWG  sync.WaitGroup // one per accepted client connection, until pion closes it
}

// New checks cfg (whether or not cfg.Enabled is set) and builds a Server.
// The shared secret comes from cfg.Secret or cfg.SecretFile; with neither,
// New returns ErrNoSecret (lotse serve then uses LoadOrCreateSecret).
func New(cfg Config, deps Deps) (*Server, error) {
	check := cfg
	check.Enabled = true
	if err := check.Validate(); err != nil {
		return nil, err
	}
	sec := cfg.Secret
	if sec == "" && cfg.SecretFile != "" {
		var err error
		if sec, err = readSecretFile(cfg.SecretFile); err != nil {
			return nil, &ConfigError{Key: "secret_file", Msg: err.Error()}
		}
	}
	if sec == "" {
		return nil, ErrNoSecret
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Registerer == nil {
		deps.Registerer = prometheus.NewRegistry()
	}
	g, err := newGuard(cfg.AllowPeers, cfg.DenyPeers, deps.MediaAddrs, deps.Now)
	if err != nil {
		return nil, err // validated above; unreachable
	}
	s := &Server{
		cfg:    cfg,
		log:    deps.Log.With().Str("component", "turn").Logger(),
		secret: []byte(sec.Reveal()),
		guard:  g,
		quotas: &quotas{perUser: cfg.MaxAllocationsPerUser, total: cfg.MaxAllocations, byUser: map[string]int{}},
		now:    deps.Now,
		conns:  map[*clientConn]struct{}{},
		chans:  newChannels(),

		firstMessage: firstMessageTimeout,
	}
	if s.metrics, err = newMetrics(deps.Registerer,
		func() float64 { return float64(s.quotas.count()) },
		func() float64 { return float64(s.nconns.Load()) }); err != nil {
		return nil, err
	}
	s.gen = &relayGen{s: s, bind4: cfg.relayBindIP(), adv4: cfg.advertisedIP(), minP: cfg.RelayPortMin, maxP: cfg.RelayPortMax}
	if cfg.RelayIPv6 != "" {
		s.gen.bind6 = netip.MustParseAddr(cfg.RelayIPv6)
	}
	return s, nil
}

// Start opens the listeners and starts relaying. Ports 0 let the kernel
// choose; Addrs tells which it chose.
func (s *Server) Start(ctx context.Context) (err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.state {
	case 1:
		return ErrStarted
	case 2:
		return ErrClosed
	}
	var closers []func() error
	defer func() {
		if err != nil {
			for _, c := range closers {
				c()
			}
			s.udp, s.tcp, s.tls = nil, nil, nil
		}
	}()
	var lc net.ListenConfig
	sc := pionturn.ServerConfig{
		Realm:              s.cfg.Realm,
		AuthHandler:        s.authenticate,
		QuotaHandler:       s.admit,
		AllocationLifetime: s.cfg.AllocationLifetime,
		LoggerFactory:      pionLogs{s.log},
		EventHandler: pionturn.EventHandler{
			OnAuth:              s.onAuth,
			OnAllocationCreated: s.onAllocationCreated,
			OnAllocationDeleted: s.onAllocationDeleted,
			OnChannelCreated:    s.onChannelCreated,
			OnChannelDeleted:    s.onChannelDeleted,
		},
	}
	if s.cfg.ListenUDP != "" {
		pc, err := lc.ListenPacket(ctx, "udp", s.cfg.ListenUDP)
		if err != nil {
			return fmt.Errorf("turn: listen udp %s: %w", s.cfg.ListenUDP, err)
		}
		closers = append(closers, pc.Close)
		uc := pc.(*net.UDPConn)
		// Bursts of media from many clients queue here, not in drops.
		_ = uc.SetReadBuffer(4 << 20)
		_ = uc.SetWriteBuffer(4 << 20)
		io, err := newUDPIO(uc, listenerBatch)
		if err != nil {
			return fmt.Errorf("turn: udp %s: %w", s.cfg.ListenUDP, err)
		}
		s.udp = &serverPacketConn{UDPConn: uc, io: io, chans: s.chans, done: make(chan struct{})}
		s.udpLocal = addrPortOf(uc.LocalAddr())
		sc.PacketConnConfigs = append(sc.PacketConnConfigs, pionturn.PacketConnConfig{
			PacketConn: s.udp, RelayAddressGenerator: s.gen, PermissionHandler: s.permit,
		})
	}
	if s.cfg.ListenTCP != "" {
		l, err := lc.Listen(ctx, "tcp", s.cfg.ListenTCP)
		if err != nil {
			return fmt.Errorf("turn: listen tcp %s: %w", s.cfg.ListenTCP, err)
		}
		closers = append(closers, l.Close)
		s.tcp = &clientListener{Listener: l, s: s}
		sc.ListenerConfigs = append(sc.ListenerConfigs, pionturn.ListenerConfig{
			Listener: s.tcp, RelayAddressGenerator: s.gen, PermissionHandler: s.permit,
		})
	}
	if s.cfg.TLSEnabled() {
		cert, err := tls.LoadX509KeyPair(s.cfg.CertFile, s.cfg.KeyFile)
		if err != nil {
			return &ConfigError{Key: "cert_file", Msg: "load certificate: " + err.Error()}
		}
		l, err := lc.Listen(ctx, "tcp", s.cfg.ListenTLS)
		if err != nil {
			return fmt.Errorf("turn: listen tls %s: %w", s.cfg.ListenTLS, err)
		}
		closers = append(closers, l.Close)
		s.tls = &clientListener{Listener: l, s: s, tls: &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}}
		sc.ListenerConfigs = append(sc.ListenerConfigs, pionturn.ListenerConfig{
			Listener: s.tls, RelayAddressGenerator: s.gen, PermissionHandler: s.permit,
		})
	}
	p, err := pionturn.NewServer(sc)
	if err != nil {
		return fmt.Errorf("turn: %w", err)
	}
	s.pion, s.state = p, 1
	udp, tcp, tlsA := s.addrsLocked()
	ev := s.log.Info()
	for _, a := range []struct {
		k string
		v net.Addr
	}{{"udp", udp}, {"tcp", tcp}, {"tls", tlsA}} {
		if a.v != nil {
			ev = ev.Str(a.k, a.v.String())
		}
	}
	ev.Str("relay_ip", s.gen.adv4.String()).Str("realm", s.cfg.Realm).Msg("turn listening")
	return nil
}

// Addrs returns the bound listener addresses (nil for those not running).
func (s *Server) Addrs() (udp, tcp, tls net.Addr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addrsLocked()
}

func (s *Server) addrsLocked() (udp, tcp, tlsA net.Addr) {
	if s.udp != nil {
		udp = s.udp.LocalAddr()
	}
	if s.tcp != nil {
		tcp = s.tcp.Addr()
	}
	if s.tls != nil {
		tlsA = s.tls.Addr()
	}
	return udp, tcp, tlsA
}

// Drain makes the relay refuse new allocations (486) while the existing
// ones go on; AllocationCount tells when they have ended.
func (s *Server) Drain() { s.draining.Store(true) }

// AllocationCount returns the number of live allocations.
func (s *Server) AllocationCount() int { return s.quotas.count() }

// Close stops the relay: it closes the listeners, every client connection
// and every allocation, and waits for the relay's goroutines to end.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.state == 2 {
		s.mu.Unlock()
		return nil
	}
	started := s.state == 1
	s.state = 2
	var conns []*clientConn
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	if !started {
		return nil
	}
	err := s.pion.Close()
	for _, c := range conns {
		c.Conn.Close() // pion's reader then ends and calls c.Close
	}
	if s.udp != nil {
		<-s.udp.done
	}
	s.connsWG.Wait()
	// pion closes the allocations (and so the relay sockets) as its read
	// loops end; wait for that, bounded in case a socket close is stuck.
	for deadline := time.Now().Add(5 * time.Second); s.quotas.count() > 0 && time.Now().Before(deadline); {
		time.Sleep(2 * time.Millisecond)
	}
	s.log.Info().Msg("turn stopped")
	return err
}

// ICEServers returns the ICE servers entry for participantID with fresh
// credentials valid for CredentialTTL from now, and their expiry. The URLs
// name host if given (use a DNS name that the TLS certificate covers),
// else PublicIP, else the relay's bound address; they cover every running
// listener: turn:…?transport=udp, turn:…?transport=tcp and
// turns:…?transport=tcp.
func (s *Server) ICEServers(participantID, host string, now time.Time) ([]ICEServer, time.Time) {
	expiry := now.Add(s.cfg.CredentialTTL).Truncate(time.Second)
	user, pass := RESTCredentials(s.secret, participantID, expiry)
	if host == "" {
		host = s.gen.adv4.String()
	}
	udp, tcp, tlsA := s.Addrs()
	var urls []string
	if udp != nil {
		urls = append(urls, "turn:"+net.JoinHostPort(host, portOf(udp))+"?transport=udp")
	}
	if tcp != nil {
		urls = append(urls, "turn:"+net.JoinHostPort(host, portOf(tcp))+"?transport=tcp")
	}
	if tlsA != nil {
		urls = append(urls, "turns:"+net.JoinHostPort(host, portOf(tlsA))+"?transport=tcp")
	}
	if len(urls) == 0 {
		return nil, expiry
	}
	return []ICEServer{{URLs: urls, Username: user, Credential: pass}}, expiry
}

// ExternalICEServers returns the ICE servers entry for cfg.ExternalURLs
// (relays run elsewhere with the same secret) with credentials for
// participantID valid for cfg.CredentialTTL from now, and their expiry;
// nil without external URLs.
func ExternalICEServers(cfg Config, secret []byte, participantID string, now time.Time) ([]ICEServer, time.Time) {
	expiry := now.Add(cfg.CredentialTTL).Truncate(time.Second)
	if len(cfg.ExternalURLs) == 0 {
		return nil, expiry
	}
	user, pass := RESTCredentials(secret, participantID, expiry)
	return []ICEServer{{URLs: append([]string(nil), cfg.ExternalURLs...), Username: user, Credential: pass}}, expiry
}

func portOf(a net.Addr) string { return strconv.Itoa(int(addrPortOf(a).Port())) }

// authenticate is pion's AuthHandler: it checks the REST username (format,
// realm, expiry, lifetime) and returns the long-term key
// MD5(username:realm:password) (RFC 8489 §9.2.2) with the participant as
// the user id, which the quotas count by.
func (s *Server) authenticate(ra *pionturn.RequestAttributes) (string, []byte, bool) {
	participant, reason := credentialVerdict(ra.Username, ra.Realm, s.cfg.Realm, s.now())
	if reason != "" {
		s.metrics.authFailures.WithLabelValues(reason).Inc()
		return "", nil, false
	}
	return participant, pionturn.GenerateAuthKey(ra.Username, ra.Realm, restPassword(s.secret, ra.Username)), true
}

// onAuth counts the failures authenticate cannot see: a well-formed,
// current username whose MESSAGE-INTEGRITY does not verify.
func (s *Server) onAuth(_, _ net.Addr, _, _, _, _ string, verdict bool) {
	if !verdict {
		s.metrics.authFailures.WithLabelValues(authIntegrity).Inc()
	}
}

// admit is pion's QuotaHandler (RFC 8656 §7.2 step 7: 486 Allocation Quota
// Reached).
func (s *Server) admit(userID, _ string, _ net.Addr) bool {
	reason := rejectDraining
	ok := !s.draining.Load()
	if ok {
		ok, reason = s.quotas.admits(userID)
	}
	if !ok {
		s.metrics.allocsRejected.WithLabelValues(reason).Inc()
	}
	return ok
}

// permit is pion's PermissionHandler for CreatePermission, ChannelBind and
// Connect: TURN permissions are per peer IP (RFC 8656 §9), so it judges
// the IP; the relay sockets judge each packet's ip:port.
func (s *Server) permit(_ net.Addr, peerIP net.IP) bool {
	ip, _ := netip.AddrFromSlice(peerIP)
	if h := s.peerHook; h != nil {
		h(pathPermission, netip.AddrPortFrom(ip, 0))
	}
	ok, reason := s.guard.checkIP(ip)
	if !ok {
		s.metrics.denials.WithLabelValues(pathPermission, reason).Inc()
	}
	return ok
}

func (s *Server) onAllocationCreated(src, _ net.Addr, protocol, userID, _ string, relayAddr net.Addr, _ int) {
	s.log.Debug().Str("participant", userID).Str("client", src.String()).Str("transport", protocol).
		Str("relay", relayAddr.String()).Msg("allocation created")
}

func (s *Server) onAllocationDeleted(src, _ net.Addr, protocol, userID, _ string) {
	s.log.Debug().Str("participant", userID).Str("client", src.String()).Str("transport", protocol).Msg("allocation deleted")
}

// onChannelCreated feeds the ChannelData fast path (fastpath.go) with the
// channels of clients on the UDP listener.
func (s *Server) onChannelCreated(src, dst net.Addr, _, _, _ string, relayAddr, peer net.Addr, number uint16) {
	if s.udpLocal.IsValid() && addrPortOf(dst) == s.udpLocal {
		s.chans.bind(src, relayAddr, peer, number)
	}
}

func (s *Server) onChannelDeleted(src, dst net.Addr, _, _, _ string, relayAddr, peer net.Addr, number uint16) {
	if s.udpLocal.IsValid() && addrPortOf(dst) == s.udpLocal {
		s.chans.unbind(src, relayAddr, peer, number)
	}
}
