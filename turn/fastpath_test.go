package turn

import (
	"github.com/lotse-io/lotse/internal/leakcheck"

	"bytes"
	"testing"
	"time"

	"github.com/pion/stun/v4"
)

// TestTurnChannelFastPath: once a UDP client binds a channel, ChannelData is
// relayed both ways by the fast path (the routes exist and carry the
// packets, with the right channel number back), and the routes disappear
// with the allocation.
func TestTurnChannelFastPath(t *testing.T) {
	leakcheck.Check(t)
	cfg := testConfig()
	cfg.AllowPeers = []string{"127.0.0.2/32"}
	ts := startServer(t, cfg, nil)
	peer := newSink(t, "127.0.0.2:0", true)
	user, pass := creds("fast")
	c := newRawClient(t, "udp", ts.udpAddr().String(), user, pass)
	if got := c.allocate(false); got != 0 {
		t.Fatal(got)
	}
	if got := c.channelBind(0x4abc, peer.addr().AddrPort(), false); got != 0 {
		t.Fatal(got)
	}
	routes := *ts.chans.routes.Load()
	if len(routes) != 1 {
		t.Fatalf("%d fast-path routes after ChannelBind, want 1", len(routes))
	}
	for k, r := range routes {
		if k.number != 0x4abc || r.peer != peer.addr().AddrPort() || r.relay == nil {
			t.Errorf("route %+v → %v", k, r.peer)
		}
		if rev := *r.relay.routes.Load(); len(rev) != 1 {
			t.Errorf("%d reverse routes, want 1", len(rev))
		}
	}
	for _, size := range []int{1, 3, 4, 170, 1200} {
		msg := bytes.Repeat([]byte{byte(size)}, size)
		c.channelData(0x4abc, msg)
		ch, got, ok := c.readChannelData(5 * time.Second)
		if !ok || ch != 0x4abc || !bytes.Equal(got, msg) {
			t.Fatalf("%d bytes: echo on channel %#x: %d bytes, ok=%v", size, ch, len(got), ok)
		}
	}
	// A malformed ChannelData (length beyond the datagram) is not relayed.
	c.conn.Write([]byte{0x4a, 0xbc, 0x00, 0x10, 1, 2})
	if !c.binding() {
		t.Fatal("binding failed")
	}
	if got := peer.received.Load(); got != 5 {
		t.Errorf("peer received %d packets, want 5", got)
	}
	if got := c.request(stun.MethodRefresh, func([stun.TransactionIDSize]byte) []stun.Setter {
		return []stun.Setter{stun.RawAttribute{Type: stun.AttrLifetime, Value: []byte{0, 0, 0, 0}}}
	}); got != 0 {
		t.Fatalf("Refresh(0): %d", got)
	}
	waitFor(t, "routes to go", 5*time.Second, func() bool {
		ts.chans.relaysMu.Lock()
		defer ts.chans.relaysMu.Unlock()
		return len(*ts.chans.routes.Load()) == 0 && len(ts.chans.relays) == 0
	})
}
