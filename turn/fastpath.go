package turn

import (
	"encoding/binary"
	"maps"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
)

// The ChannelData fast path (RFC 8656 §12). Media between a UDP client and
// its peer flows as ChannelData once the client has bound a channel; pion
// handles each such packet with several lock-protected lookups, a logger
// call with boxed arguments and an allocation. The relay instead keeps its
// own copy of the channel bindings — maintained from pion's
// OnChannelCreated/OnChannelDeleted events, pion stays the authority — and
// forwards ChannelData in both directions straight from the sockets it
// wraps. Everything else (STUN, Send/Data indications, TCP clients,
// channels it does not know) still goes to pion. The peer guard, the
// bandwidth cap and the counters apply unchanged: the forward direction
// writes through relayPacketConn.WriteTo, and the reverse direction only
// sees packets relayPacketConn.ReadFrom has admitted.

// chanKey names a channel: the client's address on the UDP listener and
// the channel number.
type chanKey struct {
	client netip.AddrPort
	number uint16
}

// chanRoute is where a client's ChannelData goes.
type chanRoute struct {
	relay *relayPacketConn
	peer  netip.AddrPort
}

// peerRoute is how a peer's packets go back to the client.
type peerRoute struct {
	number uint16
	client netip.AddrPort
}

// channels holds the bindings of UDP clients, copy-on-write: readers on
// the data path load a map without locking; the rare changes copy it.
type channels struct {
	mu     sync.Mutex // serialises writers
	routes atomic.Pointer[map[chanKey]chanRoute]

	relaysMu sync.Mutex                    // guards relays
	relays   map[relayKey]*relayPacketConn // live relay sockets by family and port
}

// relayKey identifies a relay socket by what pion reports: the family and
// port of its (advertised) relayed address.
type relayKey struct {
	v6   bool
	port uint16
}

func newChannels() *channels {
	c := &channels{relays: map[relayKey]*relayPacketConn{}}
	m := map[chanKey]chanRoute{}
	c.routes.Store(&m)
	return c
}

func keyOfRelay(a net.Addr) relayKey {
	ap := addrPortOf(a)
	return relayKey{v6: !ap.Addr().Unmap().Is4(), port: ap.Port()}
}

func (c *channels) addRelay(rc *relayPacketConn) {
	c.relaysMu.Lock()
	defer c.relaysMu.Unlock()
	c.relays[keyOfRelay(rc.LocalAddr())] = rc
}

func (c *channels) relay(a net.Addr) *relayPacketConn {
	c.relaysMu.Lock()
	defer c.relaysMu.Unlock()
	return c.relays[keyOfRelay(a)]
}

// removeRelay forgets a closing relay socket and every route through it.
func (c *channels) removeRelay(rc *relayPacketConn) {
	c.relaysMu.Lock()
	if c.relays[keyOfRelay(rc.LocalAddr())] == rc {
		delete(c.relays, keyOfRelay(rc.LocalAddr()))
	}
	c.relaysMu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	m := maps.Clone(*c.routes.Load())
	for k, r := range m {
		if r.relay == rc {
			delete(m, k)
		}
	}
	c.routes.Store(&m)
}

// unmapped returns a's address and port with an IPv4-mapped address
// unmapped, the form the data path compares.
func unmapped(a net.Addr) netip.AddrPort {
	ap := addrPortOf(a)
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// bind records a channel reported by pion for a client of the UDP
// listener.
func (c *channels) bind(client, relayAddr, peer net.Addr, number uint16) {
	rc := c.relay(relayAddr)
	cl, pa := unmapped(client), unmapped(peer)
	if rc == nil || !cl.IsValid() || !pa.IsValid() {
		return // pion keeps handling it
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	m := maps.Clone(*c.routes.Load())
	m[chanKey{cl, number}] = chanRoute{relay: rc, peer: pa}
	c.routes.Store(&m)
	rc.setPeerRoute(pa, &peerRoute{number: number, client: cl})
}

// unbind forgets a channel pion removed (expired, or its allocation ended).
func (c *channels) unbind(client, relayAddr, peer net.Addr, number uint16) {
	cl := unmapped(client)
	c.mu.Lock()
	m := maps.Clone(*c.routes.Load())
	delete(m, chanKey{cl, number})
	c.routes.Store(&m)
	c.mu.Unlock()
	if rc := c.relay(relayAddr); rc != nil {
		rc.setPeerRoute(unmapped(peer), nil)
	}
}

// forward relays a client's ChannelData datagram b from the UDP listener
// to the bound peer. false: not a ChannelData message of a known channel;
// pion gets it.
func (c *channels) forward(b []byte, from netip.AddrPort) bool {
	if len(b) < 4 || b[0]&0xc0 != 0x40 { // channel numbers are 0x4000–0x7FFF
		return false
	}
	n := int(binary.BigEndian.Uint16(b[2:4]))
	if 4+n > len(b) {
		return false
	}
	r, ok := (*c.routes.Load())[chanKey{from, binary.BigEndian.Uint16(b)}]
	if !ok {
		return false
	}
	r.relay.writePeer(b[4:4+n], r.peer) // guarded, capped, counted; errors are the peer's loss
	return true
}

// setPeerRoute installs (or, with nil, removes) the reverse route of one
// peer of this relay socket.
func (rc *relayPacketConn) setPeerRoute(peer netip.AddrPort, r *peerRoute) {
	rc.routesMu.Lock()
	defer rc.routesMu.Unlock()
	m := maps.Clone(*rc.routes.Load())
	if r == nil {
		delete(m, peer)
	} else {
		m[peer] = *r
	}
	rc.routes.Store(&m)
}

// backward sends a peer's admitted packet p to the client as ChannelData
// if a channel is bound to the peer. false: pion handles it (a Data
// indication, or nothing without a permission).
func (rc *relayPacketConn) backward(p []byte, from netip.AddrPort) bool {
	m := *rc.routes.Load()
	if len(m) == 0 || rc.s.udp == nil {
		return false
	}
	r, ok := m[from]
	if !ok {
		return false
	}
	// RFC 8656 §12.5: header, data, padding to a multiple of 4 bytes.
	n := 4 + len(p)
	buf := rc.out[:(n+3)&^3]
	binary.BigEndian.PutUint16(buf, r.number)
	binary.BigEndian.PutUint16(buf[2:], uint16(len(p)))
	copy(buf[4:], p)
	clear(buf[n:])
	rc.s.udp.io.writeTo(buf, r.client) // the client's loss if it fails, as in pion
	return true
}
