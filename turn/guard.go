package turn

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Denial reasons (the "reason" label of lotse_turn_peer_denials_total).
// The special-range names below are reasons too.
const (
	reasonOperatorDeny = "operator_deny" // a deny_peers entry matched
	reasonNotAllowed   = "not_allowed"   // neither an SFU media address nor on the allowlist
	reasonPort         = "port"          // an SFU media IP, but not one of its media ports
	reasonInvalid      = "invalid"       // not an IP address
)

// specialRange is an address range the relay never reaches unless an
// operator allow entry lies inside it (or it holds an SFU media address).
type specialRange struct {
	prefix netip.Prefix
	name   string
}

// specialRanges returns the always-denied ranges, most specific first where
// they nest. IPv4-mapped IPv6 and NAT64 (64:ff9b::/96) addresses are
// normalised to IPv4 before they are checked, so they need no entries.
func specialRanges() []specialRange {
	list := []struct{ cidr, name string }{
		{"0.0.0.0/8", "this_network"}, // RFC 791; 0.0.0.0 reaches the host itself
		{"10.0.0.0/8", "private"},     // RFC 1918
		{"100.64.0.0/10", "shared"},   // RFC 6598 carrier-grade NAT
		{"127.0.0.0/8", "loopback"},
		{"169.254.0.0/16", "link_local"}, // cloud metadata lives here
		{"172.16.0.0/12", "private"},
		{"192.0.0.0/24", "ietf_protocol"}, // RFC 6890
		{"192.168.0.0/16", "private"},
		{"198.18.0.0/15", "benchmarking"},
		{"224.0.0.0/4", "multicast"},
		{"240.0.0.0/4", "reserved"}, // includes 255.255.255.255 broadcast
		{"::/128", "unspecified"},
		{"::1/128", "loopback"},
		{"::/96", "ipv4_compatible"},      // deprecated IPv4-compatible IPv6
		{"64:ff9b:1::/48", "nat64_local"}, // RFC 8215 local-use NAT64
		{"fc00::/7", "private"},           // unique local
		{"fe80::/10", "link_local"},
		{"fec0::/10", "private"}, // deprecated site-local
		{"ff00::/8", "multicast"},
	}
	out := make([]specialRange, len(list))
	for i, r := range list {
		out[i] = specialRange{netip.MustParsePrefix(r.cidr), r.name}
	}
	return out
}

// specialReasons lists every special-range name (for metric label
// pre-registration).
func specialReasons() []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range specialRanges() {
		if !seen[r.name] {
			seen[r.name] = true
			out = append(out, r.name)
		}
	}
	return out
}

var nat64WKP = netip.MustParsePrefix("64:ff9b::/96") // RFC 6052 well-known prefix

// normalize returns the address the guard judges: IPv4-mapped IPv6
// (::ffff:a.b.c.d) and NAT64 well-known-prefix addresses (64:ff9b::a.b.c.d)
// become the IPv4 address they reach; zones are dropped.
func normalize(a netip.Addr) netip.Addr {
	a = a.WithZone("").Unmap()
	if a.Is6() && nat64WKP.Contains(a) {
		b := a.As16()
		return netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	}
	return a
}

// allowEntry is one operator allow entry: a prefix and optionally a port.
type allowEntry struct {
	prefix netip.Prefix
	port   uint16 // 0: any port
}

// parseAllowEntry parses "CIDR", "IP" or "IP:port" / "[IPv6]:port".
func parseAllowEntry(s string) (allowEntry, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		if ap.Port() == 0 {
			return allowEntry{}, fmt.Errorf("%q: port 0 is not a peer port", s)
		}
		a := ap.Addr()
		if a.Is4In6() || a.Zone() != "" {
			return allowEntry{}, fmt.Errorf("%q: write IPv4 addresses as a.b.c.d, without zones", s)
		}
		return allowEntry{prefix: netip.PrefixFrom(a, a.BitLen()), port: ap.Port()}, nil
	}
	p, err := parsePrefix(s)
	if err != nil {
		return allowEntry{}, err
	}
	return allowEntry{prefix: p}, nil
}

// parsePrefix parses a CIDR or a single address.
func parsePrefix(s string) (netip.Prefix, error) {
	var p netip.Prefix
	if strings.Contains(s, "/") {
		q, err := netip.ParsePrefix(s)
		if err != nil {
			return p, fmt.Errorf("%q is not a CIDR such as 203.0.113.0/24 or an address", s)
		}
		p = q
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return p, fmt.Errorf("%q is not a CIDR such as 203.0.113.0/24 or an address", s)
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if p.Addr().Is4In6() || p.Addr().Zone() != "" {
		return p, fmt.Errorf("%q: write IPv4 ranges as a.b.c.d/n, without zones", s)
	}
	return p.Masked(), nil
}

// mediaSnap is one snapshot of the SFU's media addresses.
type mediaSnap struct {
	at    time.Time
	addrs []netip.AddrPort // normalised
}

func (m *mediaSnap) hasAddrPort(ap netip.AddrPort) bool {
	for _, a := range m.addrs {
		if a == ap {
			return true
		}
	}
	return false
}

func (m *mediaSnap) hasIP(ip netip.Addr) bool {
	for _, a := range m.addrs {
		if a.Addr() == ip {
			return true
		}
	}
	return false
}

// mediaRefresh is how old a media snapshot may get before a failed check
// asks the SFU again.
const mediaRefresh = time.Second

// guard decides which peers the relay may reach. Safe for concurrent use.
type guard struct {
	allow   []allowEntry
	deny    []netip.Prefix
	special []specialRange
	media   func() []netip.AddrPort // may be nil
	now     func() time.Time

	refreshMu sync.Mutex // serialises calls to media
	snap      atomic.Pointer[mediaSnap]
}

func newGuard(allow, deny []string, media func() []netip.AddrPort, now func() time.Time) (*guard, error) {
	g := &guard{special: specialRanges(), media: media, now: now}
	for _, s := range allow {
		e, err := parseAllowEntry(s)
		if err != nil {
			return nil, err
		}
		g.allow = append(g.allow, e)
	}
	for _, s := range deny {
		p, err := parsePrefix(s)
		if err != nil {
			return nil, err
		}
		g.deny = append(g.deny, p)
	}
	g.snap.Store(&mediaSnap{})
	return g, nil
}

// refresh asks the SFU for its media addresses now.
func (g *guard) refresh() *mediaSnap {
	g.refreshMu.Lock()
	defer g.refreshMu.Unlock()
	s := &mediaSnap{at: g.now()}
	if g.media != nil {
		for _, ap := range g.media() {
			if ap.Addr().IsValid() {
				s.addrs = append(s.addrs, netip.AddrPortFrom(normalize(ap.Addr()), ap.Port()))
			}
		}
	}
	g.snap.Store(s)
	return s
}

// specialOf returns the most specific special range holding a, if any.
func (g *guard) specialOf(a netip.Addr) (specialRange, bool) {
	for _, r := range g.special {
		if r.prefix.Contains(a) {
			return r, true
		}
	}
	return specialRange{}, false
}

func (g *guard) denied(orig, n netip.Addr) bool {
	for _, p := range g.deny {
		if p.Contains(orig) || p.Contains(n) {
			return true
		}
	}
	return false
}

// allowed reports whether an operator allow entry admits the (original,
// normalised) address and port (port 0: any, for permission checks). An
// entry admits an address in a special range only when the entry lies
// inside that range, i.e. names it explicitly: 10.1.0.0/16 opens part of
// 10.0.0.0/8, 0.0.0.0/0 opens none of it.
func (g *guard) allowed(orig, n netip.Addr, port uint16, special specialRange, isSpecial bool) bool {
	for _, e := range g.allow {
		if e.port != 0 && port != 0 && e.port != port {
			continue
		}
		if !e.prefix.Contains(orig) && !e.prefix.Contains(n) {
			continue
		}
		if isSpecial && !(special.prefix.Bits() <= e.prefix.Bits() && special.prefix.Contains(e.prefix.Addr())) {
			continue
		}
		return true
	}
	return false
}

// checkIP judges a peer IP for CreatePermission, ChannelBind and Connect
// (TURN permissions are per IP, RFC 8656 §9). It asks the SFU for its
// current media addresses each time: permissions are rare.
func (g *guard) checkIP(ip netip.Addr) (bool, string) {
	return g.check(ip, 0, g.refresh())
}

// checkAddrPort judges one relayed packet's or TCP connection's peer. The
// SFU's media addresses are taken from a snapshot, refreshed when a check
// fails and the snapshot is older than mediaRefresh.
func (g *guard) checkAddrPort(ap netip.AddrPort) (bool, string) {
	s := g.snap.Load()
	ok, reason := g.check(ap.Addr(), ap.Port(), s)
	if !ok && g.media != nil && g.now().Sub(s.at) > mediaRefresh {
		ok, reason = g.check(ap.Addr(), ap.Port(), g.refresh())
	}
	return ok, reason
}

// check judges ip (and port, unless 0) against snapshot s.
func (g *guard) check(orig netip.Addr, port uint16, s *mediaSnap) (bool, string) {
	if !orig.IsValid() {
		return false, reasonInvalid
	}
	orig = orig.WithZone("")
	n := normalize(orig)
	if g.denied(orig, n) {
		return false, reasonOperatorDeny
	}
	if port == 0 && s.hasIP(n) || port != 0 && s.hasAddrPort(netip.AddrPortFrom(n, port)) {
		return true, ""
	}
	sp, isSpecial := g.specialOf(n)
	if g.allowed(orig, n, port, sp, isSpecial) {
		return true, ""
	}
	switch {
	case port != 0 && (s.hasIP(n) || g.allowed(orig, n, 0, sp, isSpecial)):
		return false, reasonPort
	case isSpecial:
		return false, sp.name
	}
	return false, reasonNotAllowed
}

// addrPortOf converts a *net.UDPAddr or *net.TCPAddr without allocating.
func addrPortOf(a net.Addr) netip.AddrPort {
	switch a := a.(type) {
	case *net.UDPAddr:
		return a.AddrPort()
	case *net.TCPAddr:
		return a.AddrPort()
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap
}
