package turn

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/transport/v5/reuseport"
	pionturn "github.com/pion/turn/v5"
	"golang.org/x/time/rate"
)

// portTries is how many random ports of the range an allocation tries
// before it gives up with 508 Insufficient Capacity.
const portTries = 32

// tcpConnectTimeout bounds an RFC 6062 Connect's outgoing connection
// attempt (RFC 6062 §5.2 asks for at least 30 s).
const tcpConnectTimeout = 30 * time.Second

// quotas counts live allocations per participant and per node.
type quotas struct {
	perUser, total int

	mu     sync.Mutex // guards the fields below
	byUser map[string]int
	live   int
}

// admits reports whether one more allocation for user fits, and if not,
// why (for pion's QuotaHandler, which answers 486).
func (q *quotas) admits(user string) (bool, string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.fitsLocked(user)
}

// reserve takes one allocation for user if it fits. The relay address
// generator reserves, so that concurrent Allocate requests on several
// listeners cannot pass the QuotaHandler together and exceed the quota.
func (q *quotas) reserve(user string) (bool, string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	ok, why := q.fitsLocked(user)
	if ok {
		q.byUser[user]++
		q.live++
	}
	return ok, why
}

func (q *quotas) fitsLocked(user string) (bool, string) {
	switch {
	case q.byUser[user] >= q.perUser:
		return false, rejectUserQuota
	case q.live >= q.total:
		return false, rejectNodeQuota
	}
	return true, ""
}

func (q *quotas) release(user string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.live--
	if q.byUser[user]--; q.byUser[user] <= 0 {
		delete(q.byUser, user)
	}
}

func (q *quotas) count() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.live
}

// relayGen is the pion RelayAddressGenerator: it binds relay sockets in the
// configured port range, enforces the quotas, and wraps every socket so
// that the peer guard, the bandwidth cap and the metrics see each packet.
type relayGen struct {
	s          *Server
	bind4      netip.Addr // relay sockets bind here
	adv4       netip.Addr // and advertise this
	bind6      netip.Addr // invalid: no IPv6 allocations
	minP, maxP uint16     // 0, 0: kernel-chosen
}

// Validate implements pionturn.RelayAddressGenerator.
func (g *relayGen) Validate() error { return nil }

// family picks the bind and advertised address for network ("udp4",
// "tcp6", ...).
func (g *relayGen) family(network string) (bind, adv netip.Addr, err error) {
	if network[len(network)-1] == '6' {
		if !g.bind6.IsValid() {
			return bind, adv, ErrAddressFamily
		}
		return g.bind6, g.bind6, nil
	}
	return g.bind4, g.adv4, nil
}

// port returns the port for attempt try: the requested one (once, if in
// range), random ones from the range, or 0 (kernel-chosen, once).
func (g *relayGen) port(try int, requested int) (int, bool) {
	if requested != 0 {
		if try > 0 || g.maxP != 0 && (requested < int(g.minP) || requested > int(g.maxP)) {
			return 0, false
		}
		return requested, true
	}
	if g.maxP == 0 {
		return 0, try == 0
	}
	if try >= portTries {
		return 0, false
	}
	return int(g.minP) + rand.IntN(int(g.maxP)-int(g.minP)+1), true
}

func (g *relayGen) reserve(user string) error {
	if ok, reason := g.s.quotas.reserve(user); !ok {
		g.s.metrics.allocsRejected.WithLabelValues(reason).Inc()
		return fmt.Errorf("%w (%s)", ErrQuota, reason)
	}
	return nil
}

// AllocatePacketConn implements pionturn.RelayAddressGenerator for UDP
// allocations.
func (g *relayGen) AllocatePacketConn(conf pionturn.AllocateListenerConfig) (net.PacketConn, net.Addr, error) {
	bind, adv, err := g.family(conf.Network)
	if err != nil {
		g.s.metrics.allocsRejected.WithLabelValues(rejectFamily).Inc()
		return nil, nil, err
	}
	if err := g.reserve(conf.UserID); err != nil {
		return nil, nil, err
	}
	for try := 0; ; try++ {
		port, ok := g.port(try, conf.RequestedPort)
		if !ok {
			break
		}
		uc, err := net.ListenUDP(conf.Network, net.UDPAddrFromAddrPort(netip.AddrPortFrom(bind, uint16(port))))
		if err != nil {
			continue
		}
		la := uc.LocalAddr().(*net.UDPAddr)
		relayed := &net.UDPAddr{IP: adv.AsSlice(), Port: la.Port}
		rc, err := g.s.newRelayPacketConn(uc, conf.UserID)
		if err != nil {
			uc.Close()
			break
		}
		g.s.metrics.allocsCreated.WithLabelValues("udp").Inc()
		return rc, relayed, nil
	}
	g.s.quotas.release(conf.UserID)
	g.s.metrics.allocsRejected.WithLabelValues(rejectNoPort).Inc()
	return nil, nil, ErrNoRelayPort
}

// AllocateListener implements pionturn.RelayAddressGenerator for RFC 6062
// TCP allocations.
func (g *relayGen) AllocateListener(conf pionturn.AllocateListenerConfig) (net.Listener, net.Addr, error) {
	bind, adv, err := g.family(conf.Network)
	if err != nil {
		g.s.metrics.allocsRejected.WithLabelValues(rejectFamily).Inc()
		return nil, nil, err
	}
	if err := g.reserve(conf.UserID); err != nil {
		return nil, nil, err
	}
	// SO_REUSEADDR/SO_REUSEPORT: outgoing Connect connections bind the
	// same relayed address (RFC 6062 §5.2).
	lc := net.ListenConfig{Control: reuseport.Control}
	for try := 0; ; try++ {
		port, ok := g.port(try, conf.RequestedPort)
		if !ok {
			break
		}
		l, err := lc.Listen(context.Background(), conf.Network, netip.AddrPortFrom(bind, uint16(port)).String())
		if err != nil {
			continue
		}
		la := l.Addr().(*net.TCPAddr)
		relayed := &net.TCPAddr{IP: adv.AsSlice(), Port: la.Port}
		g.s.metrics.allocsCreated.WithLabelValues("tcp").Inc()
		return &relayListener{Listener: l, s: g.s, user: conf.UserID, lim: g.s.newLimiter()}, relayed, nil
	}
	g.s.quotas.release(conf.UserID)
	g.s.metrics.allocsRejected.WithLabelValues(rejectNoPort).Inc()
	return nil, nil, ErrNoRelayPort
}

// AllocateConn implements pionturn.RelayAddressGenerator: the outgoing
// connection of an RFC 6062 Connect request. The guard judges the exact
// ip:port before anything is dialled.
func (g *relayGen) AllocateConn(conf pionturn.AllocateConnConfig) (net.Conn, error) {
	ap := addrPortOf(conf.RemoteAddr)
	if h := g.s.peerHook; h != nil {
		h(pathTCPConnect, ap)
	}
	if ok, reason := g.s.guard.checkAddrPort(ap); !ok {
		g.s.metrics.denials.WithLabelValues(pathTCPConnect, reason).Inc()
		return nil, fmt.Errorf("%w: %s", ErrPeerDenied, reason)
	}
	d := net.Dialer{LocalAddr: conf.LocalAddr, Control: reuseport.Control, Timeout: tcpConnectTimeout}
	if la, ok := conf.LocalAddr.(*net.TCPAddr); ok {
		// LocalAddr carries the advertised address; bind the socket's.
		bind, _, err := g.family(conf.Network)
		if err != nil {
			return nil, err
		}
		d.LocalAddr = &net.TCPAddr{IP: bind.AsSlice(), Port: la.Port}
	}
	c, err := d.Dial(conf.Network, ap.String())
	if err != nil {
		return nil, err
	}
	return &relayTCPConn{Conn: c, s: g.s, lim: g.s.newLimiter()}, nil
}

// newLimiter returns the bandwidth cap for one allocation: a token bucket
// of BandwidthPerAllocation bytes per second holding a quarter second's
// worth (at least 64 KiB, so one large packet always fits).
func (s *Server) newLimiter() *rate.Limiter {
	burst := max(int(s.cfg.BandwidthPerAllocation/4), 64<<10)
	return rate.NewLimiter(rate.Limit(s.cfg.BandwidthPerAllocation), burst)
}

// relayPacketConn is a UDP allocation's relay socket. pion reads peers'
// packets from it and writes clients' packets to it; each one passes the
// guard (per ip:port), the allocation's bandwidth cap and the counters.
// Refused packets are dropped silently (as a firewall would) and counted.
type relayPacketConn struct {
	*net.UDPConn
	io    udpIO
	s     *Server
	lim   *rate.Limiter
	user  string
	close sync.Once

	// The fast path's reverse routes (peer → channel and client), and the
	// buffer ChannelData is built in (used by the one reading goroutine).
	routesMu sync.Mutex // serialises writers of routes
	routes   atomic.Pointer[map[netip.AddrPort]peerRoute]
	out      []byte
}

func (s *Server) newRelayPacketConn(uc *net.UDPConn, user string) (*relayPacketConn, error) {
	io, err := newUDPIO(uc, relayBatch)
	if err != nil {
		return nil, err
	}
	_ = uc.SetReadBuffer(1 << 20)
	_ = uc.SetWriteBuffer(1 << 20)
	rc := &relayPacketConn{UDPConn: uc, io: io, s: s, lim: s.newLimiter(), user: user,
		out: make([]byte, 4+batchBufSize+3)}
	m := map[netip.AddrPort]peerRoute{}
	rc.routes.Store(&m)
	s.chans.addRelay(rc)
	return rc, nil
}

// WriteTo relays a client's packet to a peer (pion's path).
func (c *relayPacketConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	return c.writePeer(p, unmapped(addr))
}

// writePeer relays a client's packet to a peer: the guard judges the
// ip:port, the bandwidth cap applies, and refused packets are dropped
// silently (as a firewall would) and counted.
func (c *relayPacketConn) writePeer(p []byte, ap netip.AddrPort) (int, error) {
	if h := c.s.peerHook; h != nil {
		h(pathSend, ap)
	}
	if ok, reason := c.s.guard.checkAddrPort(ap); !ok {
		c.s.metrics.denials.WithLabelValues(pathSend, reason).Inc()
		return len(p), nil
	}
	if !c.lim.AllowN(time.Now(), len(p)) {
		c.s.metrics.dropBandwidth.Inc()
		return len(p), nil
	}
	if err := c.io.writeTo(p, ap); err != nil {
		return 0, err
	}
	c.s.metrics.packetsToPeer.Inc()
	c.s.metrics.bytesToPeer.Add(float64(len(p)))
	return len(p), nil
}

// ReadFrom returns the next packet from an admitted peer for pion; those
// for a bound channel go to the client directly (the fast path).
func (c *relayPacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		b, ap, err := c.io.next()
		if err != nil {
			return 0, nil, err
		}
		if ok, reason := c.s.guard.checkAddrPort(ap); !ok {
			c.s.metrics.denials.WithLabelValues(pathReceive, reason).Inc()
			continue
		}
		if !c.lim.AllowN(time.Now(), len(b)) {
			c.s.metrics.dropBandwidth.Inc()
			continue
		}
		c.s.metrics.packetsFromPeer.Inc()
		c.s.metrics.bytesFromPeer.Add(float64(len(b)))
		if c.backward(b, ap) {
			continue
		}
		return copy(p, b), net.UDPAddrFromAddrPort(ap), nil
	}
}

// Close closes the socket and returns the allocation to the quotas.
func (c *relayPacketConn) Close() error {
	err := c.UDPConn.Close()
	c.close.Do(func() {
		c.s.chans.removeRelay(c)
		c.s.quotas.release(c.user)
	})
	return err
}

// relayListener is a TCP allocation's relayed listener; it admits only
// connections from peers the guard allows.
type relayListener struct {
	net.Listener
	s     *Server
	user  string
	lim   *rate.Limiter
	close sync.Once
}

func (l *relayListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if ok, reason := l.s.guard.checkAddrPort(addrPortOf(c.RemoteAddr())); !ok {
			l.s.metrics.denials.WithLabelValues(pathTCPAccept, reason).Inc()
			c.Close()
			continue
		}
		return &relayTCPConn{Conn: c, s: l.s, lim: l.lim}, nil
	}
}

func (l *relayListener) Close() error {
	err := l.Listener.Close()
	l.close.Do(func() { l.s.quotas.release(l.user) })
	return err
}

// relayTCPConn is a peer data connection of a TCP allocation. Reads (peer
// to client) and writes (client to peer) are counted; reads wait for the
// bandwidth cap, which pushes back on the peer through TCP flow control.
type relayTCPConn struct {
	net.Conn
	s   *Server
	lim *rate.Limiter
}

func (c *relayTCPConn) Read(p []byte) (int, error) {
	if len(p) > c.lim.Burst() {
		p = p[:c.lim.Burst()]
	}
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.s.metrics.packetsFromPeer.Inc()
		c.s.metrics.bytesFromPeer.Add(float64(n))
		if d := c.lim.ReserveN(time.Now(), n).Delay(); d > 0 {
			time.Sleep(d)
		}
	}
	return n, err
}

func (c *relayTCPConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if n > 0 {
		c.s.metrics.packetsToPeer.Inc()
		c.s.metrics.bytesToPeer.Add(float64(n))
	}
	return n, err
}
