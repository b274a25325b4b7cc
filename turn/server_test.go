package turn

import (
	"github.com/lotse-io/lotse/internal/leakcheck"

	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pion/stun/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// TestTurnRelayRoundTrip allocates through the pion/turn client, opens a
// permission for an allowlisted loopback sink, and relays both ways.
func TestTurnRelayRoundTrip(t *testing.T) {
	leakcheck.Check(t)
	cfg := testConfig()
	cfg.AllowPeers = []string{"127.0.0.2/32"}
	ts := startServer(t, cfg, nil)
	peer := newSink(t, "127.0.0.2:0", true)

	user, pass := creds("alice")
	c := newPionClient(t, ts.udpAddr(), user, pass)
	relay := c.allocate(t)
	if got := relay.LocalAddr().(*net.UDPAddr).IP.String(); got != "127.0.0.1" {
		t.Errorf("relayed address %s, want 127.0.0.1", got)
	}
	if err := c.CreatePermission(peer.addr()); err != nil {
		t.Fatalf("create permission for %v: %v", peer.addr(), err)
	}
	// Several packets: the pion client sends the first ones as Send
	// indications and switches to ChannelData once its ChannelBind is
	// done, so both data paths are covered.
	buf := make([]byte, 1500)
	for i := 0; i < 20; i++ {
		msg := fmt.Appendf(nil, "media packet %d", i)
		if _, err := relay.WriteTo(msg, peer.addr()); err != nil {
			t.Fatal(err)
		}
		relay.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, from, err := relay.ReadFrom(buf)
		if err != nil {
			t.Fatalf("packet %d: no echo through the relay: %v", i, err)
		}
		if !bytes.Equal(buf[:n], msg) || from.String() != peer.addr().String() {
			t.Fatalf("packet %d: got %q from %v", i, buf[:n], from)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := peer.received.Load(); got != 20 {
		t.Errorf("peer received %d packets, want 20", got)
	}
	for _, dir := range []string{"to_peer", "from_peer"} {
		if got := ts.metric(t, "lotse_turn_relayed_packets_total", "direction", dir); got != 20 {
			t.Errorf("relayed packets %s = %v, want 20", dir, got)
		}
	}
	if got := ts.metric(t, "lotse_turn_allocations"); got != 1 {
		t.Errorf("lotse_turn_allocations = %v, want 1", got)
	}
	ts.assertOnlyLoopbackData(t)
}

// TestTurnAuthRefused: expired, tampered, missing, malformed, too long-lived and
// wrong-realm credentials get 401 and allocate nothing.
func TestTurnAuthRefused(t *testing.T) {
	leakcheck.Check(t)
	ts := startServer(t, testConfig(), nil)
	now := time.Now()
	okUser, okPass := creds("bob")
	expUser, expPass := RESTCredentials([]byte(testSecret), "bob", now.Add(-time.Second))
	longUser, longPass := RESTCredentials([]byte(testSecret), "bob", now.Add(2*time.Hour))
	_, otherSecretPass := RESTCredentials([]byte("another-secret-0123456789"), "bob", time.Unix(mustExpiry(okUser), 0))
	tamperedUser := strings.Replace(okUser, ":bob", ":mallory", 1) // same password, other participant

	cases := []struct {
		name, user, pass string
		mutate           func(*rawClient)
		reason           string
	}{
		{name: "expired", user: expUser, pass: expPass, reason: authExpired},
		{name: "tampered username", user: tamperedUser, pass: okPass, reason: authIntegrity},
		{name: "wrong secret", user: okUser, pass: otherSecretPass, reason: authIntegrity},
		{name: "wrong password", user: okUser, pass: okPass, mutate: func(c *rawClient) { c.tamperedPassword = "guess" }, reason: authIntegrity},
		{name: "missing username", user: "", pass: "", reason: authMalformed},
		{name: "plain username", user: "bob", pass: okPass, reason: authMalformed},
		{name: "too long-lived", user: longUser, pass: longPass, reason: authTooLong},
		{name: "wrong realm", user: okUser, pass: okPass, mutate: func(c *rawClient) { c.realmOverride = "evil" }, reason: authRealm},
		{name: "no integrity", user: okUser, pass: okPass, mutate: func(c *rawClient) { c.skipIntegrity = true }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var before float64
			if tc.reason != "" {
				before = ts.metric(t, "lotse_turn_auth_failures_total", "reason", tc.reason)
			}
			c := newRawClient(t, "udp", ts.udpAddr().String(), tc.user, tc.pass)
			if tc.mutate != nil {
				tc.mutate(c)
			}
			if got := c.allocate(false); got != 401 {
				t.Fatalf("Allocate answered %d, want 401", got)
			}
			if tc.reason != "" {
				if got := ts.metric(t, "lotse_turn_auth_failures_total", "reason", tc.reason); got != before+1 {
					t.Errorf("auth failures %s: %v → %v, want +1", tc.reason, before, got)
				}
			}
		})
	}
	// The pion/turn client, the one WebRTC uses, fails the same way.
	for _, tc := range cases[:3] {
		t.Run("pion client/"+tc.name, func(t *testing.T) {
			c := newPionClient(t, ts.udpAddr(), tc.user, tc.pass)
			if _, err := c.Allocate(); err == nil || !strings.Contains(err.Error(), "401") {
				t.Fatalf("Allocate: %v, want a 401 error", err)
			}
		})
	}
	if got := ts.AllocationCount(); got != 0 {
		t.Errorf("%d allocations after refused requests", got)
	}
	// Control: the valid credentials work on the same server.
	if got := newRawClient(t, "udp", ts.udpAddr().String(), okUser, okPass).allocate(false); got != 0 {
		t.Fatalf("valid credentials: Allocate answered %d", got)
	}
}

func mustExpiry(user string) int64 {
	_, exp, ok := parseRESTUsername(user)
	if !ok {
		panic("bad test username " + user)
	}
	return exp.Unix()
}

// TestTurnQuotas: the 11th allocation of a participant gets 486; other
// participants are unaffected; a freed slot can be used again; the node
// total applies across participants.
func TestTurnQuotas(t *testing.T) {
	leakcheck.Check(t)
	cfg := testConfig()
	cfg.MaxAllocations = 13
	ts := startServer(t, cfg, nil)
	user, pass := creds("carol")
	var clients []*rawClient
	for i := 1; i <= 10; i++ {
		c := newRawClient(t, "udp", ts.udpAddr().String(), user, pass)
		if got := c.allocate(false); got != 0 {
			t.Fatalf("allocation %d answered %d", i, got)
		}
		clients = append(clients, c)
	}
	// A new credential for the same participant does not reset the count.
	user2, pass2 := RESTCredentials([]byte(testSecret), "carol", time.Now().Add(20*time.Minute))
	for _, cr := range [][2]string{{user, pass}, {user2, pass2}} {
		if got := newRawClient(t, "udp", ts.udpAddr().String(), cr[0], cr[1]).allocate(false); got != 486 {
			t.Fatalf("11th allocation answered %d, want 486", got)
		}
	}
	if got := ts.metric(t, "lotse_turn_allocations_rejected_total", "reason", rejectUserQuota); got != 2 {
		t.Errorf("user quota rejections = %v, want 2", got)
	}
	// Free one (Refresh with LIFETIME 0, RFC 8656 §7.3) and take it again.
	if got := clients[0].request(stun.MethodRefresh, func([stun.TransactionIDSize]byte) []stun.Setter {
		return []stun.Setter{stun.RawAttribute{Type: stun.AttrLifetime, Value: []byte{0, 0, 0, 0}}}
	}); got != 0 {
		t.Fatalf("Refresh(0) answered %d", got)
	}
	waitFor(t, "the freed allocation", 5*time.Second, func() bool { return ts.AllocationCount() == 9 })
	if got := newRawClient(t, "udp", ts.udpAddr().String(), user, pass).allocate(false); got != 0 {
		t.Fatalf("allocation after freeing one answered %d", got)
	}
	// Node total: 10 + 3 = 13, then 486 for anyone.
	for _, p := range []string{"dave", "erin", "frank"} {
		u, pw := creds(p)
		if got := newRawClient(t, "udp", ts.udpAddr().String(), u, pw).allocate(false); got != 0 {
			t.Fatalf("%s answered %d", p, got)
		}
	}
	u, pw := creds("grace")
	if got := newRawClient(t, "udp", ts.udpAddr().String(), u, pw).allocate(false); got != 486 {
		t.Fatalf("allocation beyond max_allocations answered %d, want 486", got)
	}
	if got := ts.metric(t, "lotse_turn_allocations_rejected_total", "reason", rejectNodeQuota); got != 1 {
		t.Errorf("node quota rejections = %v, want 1", got)
	}
	if got := ts.metric(t, "lotse_turn_allocations"); got != 13 {
		t.Errorf("lotse_turn_allocations = %v, want 13", got)
	}
}

// TestTurnDrain: a draining relay refuses new allocations with 486 and keeps
// relaying for the existing ones.
func TestTurnDrain(t *testing.T) {
	leakcheck.Check(t)
	cfg := testConfig()
	cfg.AllowPeers = []string{"127.0.0.2/32"}
	ts := startServer(t, cfg, nil)
	peer := newSink(t, "127.0.0.2:0", false)
	user, pass := creds("heidi")
	c := newPionClient(t, ts.udpAddr(), user, pass)
	relay := c.allocate(t)
	if err := c.CreatePermission(peer.addr()); err != nil {
		t.Fatal(err)
	}
	ts.Drain()
	if got := newRawClient(t, "udp", ts.udpAddr().String(), user, pass).allocate(false); got != 486 {
		t.Fatalf("Allocate while draining answered %d, want 486", got)
	}
	relay.WriteTo([]byte("still relayed"), peer.addr())
	waitFor(t, "the packet at the peer", 5*time.Second, func() bool { return peer.received.Load() == 1 })
}

// TestTurnBandwidthCap: an allocation relays at most its token bucket's worth;
// the rest is dropped and counted.
func TestTurnBandwidthCap(t *testing.T) {
	leakcheck.Check(t)
	cfg := testConfig()
	cfg.AllowPeers = []string{"127.0.0.2/32"}
	cfg.BandwidthPerAllocation = 16_000 // bucket: 64 KiB burst, then 16 kB/s
	ts := startServer(t, cfg, nil)
	peer := newSink(t, "127.0.0.2:0", false)
	user, pass := creds("ivan")
	c := newRawClient(t, "udp", ts.udpAddr().String(), user, pass)
	if got := c.allocate(false); got != 0 {
		t.Fatal(got)
	}
	pa := peer.addr().AddrPort()
	if got := c.channelBind(0x4000, pa, false); got != 0 {
		t.Fatal(got)
	}
	payload := make([]byte, 1000)
	const sent = 200 // 200 kB in well under a second
	begin := time.Now()
	for i := 0; i < sent; i++ {
		c.channelData(0x4000, payload)
		if i%20 == 19 {
			time.Sleep(time.Millisecond) // stay below the socket buffers
		}
	}
	elapsed := time.Since(begin)
	waitFor(t, "drops to be counted", 5*time.Second, func() bool {
		return ts.metric(t, "lotse_turn_dropped_packets_total", "reason", "bandwidth") > 0
	})
	time.Sleep(100 * time.Millisecond)
	got := peer.received.Load()
	allowed := int64(64<<10)/1000 + int64((elapsed+100*time.Millisecond).Seconds()*16) + 2
	if got > allowed || got < 50 {
		t.Errorf("peer received %d of %d packets of 1000 B in %v; the cap allows about %d", got, sent, elapsed, allowed)
	}
	if d := ts.metric(t, "lotse_turn_dropped_packets_total", "reason", "bandwidth"); int64(d)+got != sent {
		t.Errorf("received %d + dropped %v != sent %d", got, d, sent)
	}
}

// TestTurnICEServers: the URLs cover every listener and the credentials verify
// under the REST scheme.
func TestTurnICEServers(t *testing.T) {
	leakcheck.Check(t)
	ts := startServer(t, testConfig(), nil)
	now := time.Unix(1_900_000_000, 0)
	list, expiry := ts.ICEServers("p-42", "turn.example-bank.de", now)
	if len(list) != 1 {
		t.Fatalf("got %d servers", len(list))
	}
	s := list[0]
	want := []string{
		fmt.Sprintf("turn:turn.example-bank.de:%d?transport=udp", ts.udpAddr().Port),
		fmt.Sprintf("turn:turn.example-bank.de:%d?transport=tcp", ts.tcpAddr().Port),
	}
	if strings.Join(s.URLs, " ") != strings.Join(want, " ") {
		t.Errorf("URLs %v, want %v", s.URLs, want)
	}
	if !expiry.Equal(now.Add(10 * time.Minute)) {
		t.Errorf("expiry %v, want now+10m", expiry)
	}
	if s.Username != "1900000600:p-42" {
		t.Errorf("username %q", s.Username)
	}
	mac := hmac.New(sha1.New, []byte(testSecret))
	mac.Write([]byte(s.Username))
	if s.Credential != base64.StdEncoding.EncodeToString(mac.Sum(nil)) {
		t.Errorf("credential is not base64(HMAC-SHA1(secret, username))")
	}
	list, _ = ts.ICEServers("p-42", "", now)
	if u := list[0].URLs[0]; !strings.HasPrefix(u, "turn:127.0.0.1:") {
		t.Errorf("without a host the URL names the relay address: %s", u)
	}
	// And the credentials actually work.
	live, _ := ts.ICEServers("p-43", "", time.Now())
	c := newPionClient(t, ts.udpAddr(), live[0].Username, live[0].Credential)
	c.allocate(t)
}

// TestTurnTCPAndIPv6Allocations: allocations over the TCP listener, and IPv6
// relay addresses (RFC 6156), work end to end.
func TestTurnTCPAndIPv6Allocations(t *testing.T) {
	leakcheck.Check(t)
	cfg := testConfig()
	cfg.AllowPeers = []string{"127.0.0.2/32", "::1/128"}
	ts := startServer(t, cfg, nil)
	user, pass := creds("judy")

	peer4 := newSink(t, "127.0.0.2:0", false)
	c := newRawClient(t, "tcp", ts.tcpAddr().String(), user, pass)
	if got := c.allocate(false); got != 0 {
		t.Fatalf("Allocate over TCP answered %d", got)
	}
	if got := c.channelBind(0x4001, peer4.addr().AddrPort(), false); got != 0 {
		t.Fatalf("ChannelBind over TCP answered %d", got)
	}
	c.channelData(0x4001, []byte("over tcp"))
	waitFor(t, "the packet from the TCP client", 5*time.Second, func() bool { return peer4.received.Load() == 1 })

	peer6 := newSink(t, "[::1]:0", false)
	c6 := newRawClient(t, "udp", ts.udpAddr().String(), user, pass)
	if got := c6.allocate(true); got != 0 {
		t.Fatalf("IPv6 Allocate answered %d", got)
	}
	if got := c6.createPermission(peer6.addr().AddrPort(), true); got != 0 {
		t.Fatalf("CreatePermission [::1] answered %d", got)
	}
	c6.sendIndication(peer6.addr().AddrPort(), true, []byte("over ipv6"))
	waitFor(t, "the packet to [::1]", 5*time.Second, func() bool { return peer6.received.Load() == 1 })
	ts.assertOnlyLoopbackData(t)
}

// TestTurnStartErrors: a busy port fails Start with an error; Start twice and
// Start after Close are refused.
func TestTurnStartErrors(t *testing.T) {
	leakcheck.Check(t)
	ts := startServer(t, testConfig(), nil)
	if err := ts.Start(t.Context()); err != ErrStarted {
		t.Errorf("second Start: %v", err)
	}
	cfg := testConfig()
	cfg.ListenUDP = ts.udpAddr().String()
	s, err := New(cfg, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err == nil || !strings.Contains(err.Error(), "listen udp") {
		t.Errorf("Start on a busy port: %v", err)
	}
	s.Close()
	if err := s.Start(t.Context()); err != ErrClosed {
		t.Errorf("Start after Close: %v", err)
	}
	if _, err := New(Config{}, Deps{}); err == nil {
		t.Error("New accepted an empty configuration")
	}
	reg := prometheus.NewRegistry()
	if _, err := New(testConfig(), Deps{Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	if _, err := New(testConfig(), Deps{Registerer: reg}); err == nil || !strings.Contains(err.Error(), "register metrics") {
		t.Errorf("a second relay on the same registry: %v", err)
	}
	noSecret := testConfig()
	noSecret.Secret = ""
	if _, err := New(noSecret, Deps{}); err != ErrNoSecret {
		t.Errorf("New without a secret: %v", err)
	}
}
