package turn

import (
	"github.com/lotse-io/lotse/internal/leakcheck"

	"net"
	"net/netip"
	"testing"
	"time"
)

// denyCase is one peer address the default guard must refuse.
type denyCase struct {
	addr   string
	as6    bool   // encode an IPv4 address as IPv4-mapped IPv6 on the wire
	v6     bool   // needs an IPv6 allocation
	reason string // the guard's reason
}

// denyMatrix lists every always-denied range (and the default "not an SFU
// address" refusal). Only CreatePermission and ChannelBind are ever sent
// for these: no data goes towards any of them.
var denyMatrix = []denyCase{
	{addr: "127.0.0.1", reason: "loopback"},
	{addr: "127.255.255.254", reason: "loopback"},
	{addr: "::ffff:127.0.0.1", as6: true, reason: "loopback"},
	{addr: "0.0.0.0", reason: "this_network"},
	{addr: "0.1.2.3", reason: "this_network"},
	{addr: "10.0.0.1", reason: "private"},
	{addr: "::ffff:10.1.2.3", as6: true, reason: "private"},
	{addr: "172.16.0.1", reason: "private"},
	{addr: "172.31.255.254", reason: "private"},
	{addr: "192.168.1.1", reason: "private"},
	{addr: "100.64.0.1", reason: "shared"},
	{addr: "100.127.255.254", reason: "shared"},
	{addr: "169.254.169.254", reason: "link_local"},
	{addr: "::ffff:169.254.169.254", as6: true, reason: "link_local"},
	{addr: "192.0.0.1", reason: "ietf_protocol"},
	{addr: "198.18.0.1", reason: "benchmarking"},
	{addr: "198.19.255.254", reason: "benchmarking"},
	{addr: "224.0.0.1", reason: "multicast"},
	{addr: "239.255.255.250", reason: "multicast"},
	{addr: "240.0.0.1", reason: "reserved"},
	{addr: "255.255.255.255", reason: "reserved"},
	{addr: "198.51.100.7", reason: reasonNotAllowed}, // public, not the SFU, not allowlisted
	{addr: "::", v6: true, reason: "unspecified"},
	{addr: "::1", v6: true, reason: "loopback"},
	{addr: "::127.0.0.1", v6: true, reason: "ipv4_compatible"},
	{addr: "fc00::1", v6: true, reason: "private"},
	{addr: "fd12:3456:789a::1", v6: true, reason: "private"},
	{addr: "fe80::1", v6: true, reason: "link_local"},
	{addr: "fec0::1", v6: true, reason: "private"},
	{addr: "ff02::1", v6: true, reason: "multicast"},
	{addr: "64:ff9b::7f00:1", v6: true, reason: "loopback"},          // NAT64 of 127.0.0.1
	{addr: "64:ff9b::a00:1", v6: true, reason: "private"},            // NAT64 of 10.0.0.1
	{addr: "64:ff9b::a9fe:a9fe", v6: true, reason: "link_local"},     // NAT64 of 169.254.169.254
	{addr: "64:ff9b::c612:1", v6: true, reason: "benchmarking"},      // NAT64 of 198.18.0.1
	{addr: "64:ff9b:1::a00:1", v6: true, reason: "nat64_local"},      // RFC 8215
	{addr: "2001:db8::1", v6: true, reason: reasonNotAllowed},        // public, not allowlisted
	{addr: "64:ff9b::c633:6407", v6: true, reason: reasonNotAllowed}, // NAT64 of 198.51.100.7
}

// TestTurnDenyMatrix: with an allowlist naming only the loopback sink
// 127.0.0.2, every address of the matrix is refused for CreatePermission
// and for ChannelBind, and a UDP sink on 127.0.0.1 (loopback, but not
// allowlisted) receives nothing even when the client tries to send to it
// with Send indications and ChannelData.
func TestTurnDenyMatrix(t *testing.T) {
	leakcheck.Check(t)
	cfg := testConfig()
	cfg.AllowPeers = []string{"127.0.0.2/32"}
	ts := startServer(t, cfg, nil)
	allowed := newSink(t, "127.0.0.2:0", false)
	denied := newSink(t, "127.0.0.1:0", false)
	deniedPort := denied.addr().AddrPort().Port()

	user, pass := creds("mallory")
	c4 := newRawClient(t, "udp", ts.udpAddr().String(), user, pass)
	if got := c4.allocate(false); got != 0 {
		t.Fatalf("IPv4 Allocate answered %d", got)
	}
	c6 := newRawClient(t, "udp", ts.udpAddr().String(), user, pass)
	if got := c6.allocate(true); got != 0 {
		t.Fatalf("IPv6 Allocate answered %d", got)
	}

	ch := uint16(0x4000)
	var loopbackChannels []uint16 // ChannelData is only ever sent on these
	for _, tc := range denyMatrix {
		name := tc.addr
		if tc.as6 {
			name += " (as IPv6)"
		}
		t.Run(name, func(t *testing.T) {
			c := c4
			if tc.v6 {
				c = c6
			}
			// Loopback entries use the denied sink's port, so that a
			// wrongly granted permission would show as packets there.
			peer := netip.AddrPortFrom(netip.MustParseAddr(tc.addr), 9)
			if normalize(peer.Addr()).IsLoopback() {
				peer = netip.AddrPortFrom(peer.Addr(), deniedPort)
			}
			if ok, reason := ts.guard.checkIP(peer.Addr()); ok || reason != tc.reason {
				t.Errorf("guard: ok=%v reason=%q, want refused with %q", ok, reason, tc.reason)
			}
			before := ts.metric(t, "lotse_turn_peer_denials_total", "path", pathPermission, "reason", tc.reason)
			if got := c.createPermission(peer, tc.as6); got != 403 {
				t.Errorf("CreatePermission answered %d, want 403 Forbidden", got)
			}
			ch++
			// Only IPv4 loopback on the wire (never a NAT64 form).
			if !tc.v6 && peer.Addr().Unmap().IsLoopback() {
				loopbackChannels = append(loopbackChannels, ch)
			}
			// pion answers a refused ChannelBind with 401 (not 403).
			if got := c.channelBind(ch, peer, tc.as6); got != 401 && got != 403 {
				t.Errorf("ChannelBind answered %d, want a refusal", got)
			}
			if got := ts.metric(t, "lotse_turn_peer_denials_total", "path", pathPermission, "reason", tc.reason); got != before+2 {
				t.Errorf("permission denials %q: %v → %v, want +2", tc.reason, before, got)
			}
		})
	}

	// Try to push data to the denied loopback sink anyway, in every form.
	deniedAP := denied.addr().AddrPort()
	mapped := netip.AddrPortFrom(netip.AddrFrom16(deniedAP.Addr().As16()), deniedPort)
	for i := 0; i < 5; i++ {
		c4.sendIndication(deniedAP, false, []byte("send indication"))
		c4.sendIndication(mapped, true, []byte("send indication, mapped"))
		for _, n := range loopbackChannels {
			c4.channelData(n, []byte("channel data on a refused channel"))
		}
	}

	// Positive control: the allowlisted sink gets the same traffic.
	allowedAP := allowed.addr().AddrPort()
	if got := c4.createPermission(allowedAP, false); got != 0 {
		t.Fatalf("CreatePermission for the allowlisted sink answered %d", got)
	}
	if got := c4.channelBind(0x7000, allowedAP, false); got != 0 {
		t.Fatalf("ChannelBind for the allowlisted sink answered %d", got)
	}
	c4.sendIndication(allowedAP, false, []byte("send indication"))
	c4.channelData(0x7000, []byte("channel data"))
	waitFor(t, "both packets at the allowlisted sink", 5*time.Second, func() bool { return allowed.received.Load() == 2 })
	// The server has handled everything sent before (one read loop, in
	// order); a Binding round trip flushes it.
	if !c4.binding() {
		t.Fatal("binding request failed")
	}
	time.Sleep(50 * time.Millisecond)
	if got := denied.received.Load(); got != 0 {
		t.Errorf("the denied loopback sink received %d packets, want 0", got)
	}
	ts.assertOnlyLoopbackData(t)
}

// TestTurnSendGuardPerPort: TURN permissions are per IP, so the guard also
// judges every packet's ip:port. With the SFU's media address
// 127.0.0.2:A, a permission for 127.0.0.2 is granted, packets to port A
// are relayed, and packets to another port B of the same IP are dropped —
// both as Send indications and as ChannelData — and counted. Packets from
// port B to the relay are dropped too.
func TestTurnSendGuardPerPort(t *testing.T) {
	leakcheck.Check(t)
	sfu := newSink(t, "127.0.0.2:0", true)
	other := newSink(t, "127.0.0.2:0", false)
	media := func() []netip.AddrPort { return []netip.AddrPort{sfu.addr().AddrPort()} }
	ts := startServer(t, testConfig(), media)

	user, pass := creds("niaj")
	c := newRawClient(t, "udp", ts.udpAddr().String(), user, pass)
	if got := c.allocate(false); got != 0 {
		t.Fatal(got)
	}
	sfuAP, otherAP := sfu.addr().AddrPort(), other.addr().AddrPort()
	if got := c.createPermission(sfuAP, false); got != 0 {
		t.Fatalf("CreatePermission for the SFU answered %d", got)
	}
	// The SFU's IP is loopback, yet allowed: the SFU's own addresses are.
	if got := c.channelBind(0x4000, sfuAP, false); got != 0 {
		t.Fatalf("ChannelBind for the SFU answered %d", got)
	}
	// A channel to the other port is bound (same IP, so the permission
	// check passes) but its data must not arrive.
	if got := c.channelBind(0x4001, otherAP, false); got != 0 {
		t.Fatalf("ChannelBind for the other port answered %d", got)
	}
	for i := 0; i < 10; i++ {
		c.sendIndication(sfuAP, false, []byte("to the sfu"))
		c.channelData(0x4000, []byte("to the sfu"))
		c.sendIndication(otherAP, false, []byte("to another port"))
		c.channelData(0x4001, []byte("to another port"))
	}
	waitFor(t, "20 packets at the SFU", 5*time.Second, func() bool { return sfu.received.Load() == 20 })
	// The other socket sends to the relay: dropped on receipt.
	for i := 0; i < 7; i++ {
		if _, err := other.conn.WriteToUDP([]byte("from another port"), net.UDPAddrFromAddrPort(c.relayed)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "7 receive denials", 5*time.Second, func() bool {
		return ts.metric(t, "lotse_turn_peer_denials_total", "path", pathReceive, "reason", reasonPort) == 7
	})
	if !c.binding() {
		t.Fatal("binding request failed")
	}
	time.Sleep(50 * time.Millisecond)
	if got := other.received.Load(); got != 0 {
		t.Errorf("the other port received %d packets, want 0", got)
	}
	if got := ts.metric(t, "lotse_turn_peer_denials_total", "path", pathSend, "reason", reasonPort); got != 20 {
		t.Errorf("send denials (port) = %v, want 20", got)
	}
	for _, dir := range []string{"to_peer", "from_peer"} { // the SFU echoes
		if got := ts.metric(t, "lotse_turn_relayed_packets_total", "direction", dir); got != 20 {
			t.Errorf("relayed %s = %v, want 20", dir, got)
		}
	}
	ts.assertOnlyLoopbackData(t)
}
