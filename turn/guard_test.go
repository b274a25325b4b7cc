package turn

import (
	"net/netip"
	"testing"
	"time"
)

func TestTurnGuard(t *testing.T) {
	media := []netip.AddrPort{
		netip.MustParseAddrPort("10.20.0.5:7882"),    // the SFU's UDP mux, on a private address
		netip.MustParseAddrPort("203.0.113.10:7882"), // and its public one
		netip.MustParseAddrPort("[2001:db8::10]:7882"),
	}
	cases := []struct {
		name        string
		allow, deny []string
		addr        string
		port        uint16 // 0: permission check (IP only)
		ok          bool
		reason      string
	}{
		{name: "SFU address", addr: "203.0.113.10", ok: true},
		{name: "SFU media port", addr: "203.0.113.10", port: 7882, ok: true},
		{name: "SFU other port", addr: "203.0.113.10", port: 22, reason: reasonPort},
		{name: "SFU private address is allowed", addr: "10.20.0.5", port: 7882, ok: true},
		{name: "SFU private address other port", addr: "10.20.0.5", port: 6379, reason: reasonPort},
		{name: "SFU neighbour", addr: "10.20.0.6", reason: "private"},
		{name: "SFU as mapped IPv6", addr: "::ffff:203.0.113.10", port: 7882, ok: true},
		{name: "SFU as NAT64", addr: "64:ff9b::cb00:710a", port: 7882, ok: true},
		{name: "SFU IPv6", addr: "2001:db8::10", port: 7882, ok: true},
		{name: "public default", addr: "8.8.8.8", reason: reasonNotAllowed},
		{name: "metadata", addr: "169.254.169.254", reason: "link_local"},
		{name: "metadata as NAT64", addr: "64:ff9b::a9fe:a9fe", reason: "link_local"},
		{name: "zone is ignored", addr: "fe80::1%eth0", reason: "link_local"},

		{name: "allow everything keeps special ranges", allow: []string{"0.0.0.0/0", "::/0"}, addr: "10.0.0.1", reason: "private"},
		{name: "allow everything keeps loopback", allow: []string{"0.0.0.0/0"}, addr: "127.0.0.1", port: 80, reason: "loopback"},
		{name: "allow everything keeps mapped loopback", allow: []string{"0.0.0.0/0", "::/0"}, addr: "::ffff:127.0.0.1", reason: "loopback"},
		{name: "allow everything keeps NAT64 metadata", allow: []string{"0.0.0.0/0", "::/0"}, addr: "64:ff9b::a9fe:a9fe", reason: "link_local"},
		{name: "allow everything opens public", allow: []string{"0.0.0.0/0"}, addr: "8.8.8.8", port: 53, ok: true},
		{name: "allow everything opens public NAT64", allow: []string{"0.0.0.0/0"}, addr: "64:ff9b::808:808", ok: true},
		{name: "wider than a special range is not explicit", allow: []string{"192.168.0.0/15"}, addr: "192.168.1.1", reason: "private"},
		{name: "wider than a special range opens the rest", allow: []string{"192.168.0.0/15"}, addr: "192.169.1.1", ok: true},
		{name: "explicit private range", allow: []string{"10.1.0.0/16"}, addr: "10.1.2.3", port: 5000, ok: true},
		{name: "explicit private range, outside", allow: []string{"10.1.0.0/16"}, addr: "10.2.0.1", reason: "private"},
		{name: "explicit whole private range", allow: []string{"10.0.0.0/8"}, addr: "10.99.0.1", ok: true},
		{name: "explicit loopback sink", allow: []string{"127.0.0.2/32"}, addr: "127.0.0.2", port: 4000, ok: true},
		{name: "explicit loopback sink, neighbour", allow: []string{"127.0.0.2/32"}, addr: "127.0.0.1", reason: "loopback"},
		{name: "explicit address without prefix", allow: []string{"127.0.0.2"}, addr: "127.0.0.2", ok: true},
		{name: "ip:port entry, permission", allow: []string{"10.30.0.7:3478"}, addr: "10.30.0.7", ok: true},
		{name: "ip:port entry, right port", allow: []string{"10.30.0.7:3478"}, addr: "10.30.0.7", port: 3478, ok: true},
		{name: "ip:port entry, wrong port", allow: []string{"10.30.0.7:3478"}, addr: "10.30.0.7", port: 22, reason: reasonPort},
		{name: "IPv6 ip:port entry", allow: []string{"[fd00::5]:7882"}, addr: "fd00::5", port: 7882, ok: true},
		{name: "explicit metadata (operator's choice)", allow: []string{"169.254.169.254/32"}, addr: "169.254.169.254", ok: true},
		{name: "mapped allow entry matches plain", allow: []string{"127.0.0.2/32"}, addr: "::ffff:127.0.0.2", ok: true},

		{name: "deny wins over allow", allow: []string{"203.0.113.0/24"}, deny: []string{"203.0.113.128/25"}, addr: "203.0.113.200", reason: reasonOperatorDeny},
		{name: "deny wins over the SFU", deny: []string{"203.0.113.10/32"}, addr: "203.0.113.10", port: 7882, reason: reasonOperatorDeny},
		{name: "deny matches NAT64 form", deny: []string{"198.51.100.0/24"}, allow: []string{"0.0.0.0/0"}, addr: "64:ff9b::c633:6407", reason: reasonOperatorDeny},
		{name: "deny an IPv6 range", deny: []string{"2001:db8::/32"}, addr: "2001:db8::10", reason: reasonOperatorDeny},
		{name: "invalid", addr: "", reason: reasonInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, err := newGuard(tc.allow, tc.deny, func() []netip.AddrPort { return media }, time.Now)
			if err != nil {
				t.Fatal(err)
			}
			var a netip.Addr
			if tc.addr != "" {
				a = netip.MustParseAddr(tc.addr)
			}
			var ok bool
			var reason string
			if tc.port == 0 {
				ok, reason = g.checkIP(a)
			} else {
				ok, reason = g.checkAddrPort(netip.AddrPortFrom(a, tc.port))
			}
			if ok != tc.ok || reason != tc.reason {
				t.Errorf("%s port %d: ok=%v reason=%q, want ok=%v reason=%q", tc.addr, tc.port, ok, reason, tc.ok, tc.reason)
			}
		})
	}
}

// TestTurnGuardMediaRefresh: the packet path uses a snapshot of the SFU's
// addresses and asks again, at most once a second, when a packet is
// refused; permission checks always ask.
func TestTurnGuardMediaRefresh(t *testing.T) {
	now := time.Unix(1000, 0)
	calls := 0
	var media []netip.AddrPort
	g, err := newGuard(nil, nil, func() []netip.AddrPort { calls++; return media }, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	sfu := netip.MustParseAddrPort("203.0.113.10:7882")
	if ok, _ := g.checkAddrPort(sfu); ok {
		t.Fatal("allowed before the SFU had addresses")
	}
	media = []netip.AddrPort{sfu}
	if ok, _ := g.checkAddrPort(sfu); ok || calls != 1 {
		t.Fatalf("refresh within a second: ok=%v calls=%d", ok, calls)
	}
	now = now.Add(2 * time.Second)
	if ok, _ := g.checkAddrPort(sfu); !ok || calls != 2 {
		t.Fatalf("after a second: ok=%v calls=%d", ok, calls)
	}
	for i := 0; i < 100; i++ {
		g.checkAddrPort(sfu)
	}
	if calls != 2 {
		t.Errorf("allowed packets asked the SFU again: %d calls", calls)
	}
	media = nil
	if ok, _ := g.checkIP(sfu.Addr()); ok || calls != 3 {
		t.Errorf("permission check after the SFU dropped the address: ok=%v calls=%d", ok, calls)
	}
}

func TestTurnParseEntries(t *testing.T) {
	for _, s := range []string{"203.0.113.0/24", "10.0.0.1", "2001:db8::/32", "127.0.0.2:4000", "[fd00::1]:7882"} {
		if _, err := parseAllowEntry(s); err != nil {
			t.Errorf("allow %q: %v", s, err)
		}
	}
	for _, s := range []string{"", "bank.example", "10.0.0.0/33", "::ffff:10.0.0.0/104", "10.0.0.1:0", "fe80::1%eth0", "10.0.0.1/8/8", "[::ffff:1.2.3.4]:80"} {
		if _, err := parseAllowEntry(s); err == nil {
			t.Errorf("allow %q accepted", s)
		}
	}
	for _, s := range []string{"10.0.0.1:80", "x"} {
		if _, err := parsePrefix(s); err == nil {
			t.Errorf("deny %q accepted", s)
		}
	}
}

// FuzzTurnGuard: any address and entry list is judged without panicking, and
// the invariants hold: an operator deny always wins, and a special-range
// address is only ever allowed by an SFU address or an entry inside its
// range.
func FuzzTurnGuard(f *testing.F) {
	for _, tc := range denyMatrix {
		f.Add([]byte(netip.MustParseAddr(tc.addr).AsSlice()), uint16(9), "0.0.0.0/0", "198.51.100.0/24")
	}
	f.Add([]byte{127, 0, 0, 2}, uint16(4000), "127.0.0.2/32", "")
	f.Add([]byte{10, 20, 0, 5}, uint16(7882), "10.20.0.5:7882", "10.20.0.0/16")
	f.Fuzz(func(t *testing.T, ip []byte, port uint16, allow, deny string) {
		a, ok := netip.AddrFromSlice(ip)
		if !ok {
			return
		}
		var allows, denies []string
		if _, err := parseAllowEntry(allow); err == nil {
			allows = []string{allow}
		}
		if _, err := parsePrefix(deny); err == nil {
			denies = []string{deny}
		}
		g, err := newGuard(allows, denies, nil, time.Now)
		if err != nil {
			t.Fatal(err)
		}
		okIP, reasonIP := g.checkIP(a)
		okAP, _ := g.checkAddrPort(netip.AddrPortFrom(a, port))
		if okAP && !okIP && port != 0 {
			t.Errorf("%v:%d allowed per packet but not per IP", a, port)
		}
		if okIP && reasonIP != "" {
			t.Errorf("allowed with a reason %q", reasonIP)
		}
		n := normalize(a)
		if len(denies) == 1 {
			p, _ := parsePrefix(deny)
			if (p.Contains(a) || p.Contains(n)) && okIP {
				t.Errorf("%v allowed although denied by %s", a, deny)
			}
		}
		if sp, special := g.specialOf(n); special && okIP {
			e, _ := parseAllowEntry(allow)
			if !(sp.prefix.Bits() <= e.prefix.Bits() && sp.prefix.Contains(e.prefix.Addr())) {
				t.Errorf("%v (%s) allowed by %q, which does not name the range", a, sp.name, allow)
			}
		}
	})
}
