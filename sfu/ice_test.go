package sfu_test

import (
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/turn/v5"
	"github.com/pion/webrtc/v4"

	"github.com/lotse-io/lotse/internal/leakcheck"
	"github.com/lotse-io/lotse/sfu"
	"github.com/lotse-io/lotse/sfu/sfuclient"
)

// TestICERestart: media continues over a restart started by either side,
// and a client whose connection fails is told to restart and recovers.
func TestICERestart(t *testing.T) {
	leakcheck.Check(t)
	cfg := testConfig()
	cfg.ICEDisconnectedTimeout = time.Second
	cfg.ICEFailedTimeout = 2 * time.Second
	cfg.ICEKeepalive = 300 * time.Millisecond
	s, reg := newSFU(t, cfg)
	pub := join(t, s, "r", "pub", allGrants, sfuclient.Config{})
	if _, err := pub.client.PublishOpus(sfuclient.AudioOptions{}); err != nil {
		t.Fatal(err)
	}
	nw := newSwitchNet(t)
	sub := join(t, s, "r", "sub", allGrants, sfuclient.Config{Configure: func(se *webrtc.SettingEngine) {
		se.SetNet(nw)
		se.SetICETimeouts(time.Second, 2*time.Second, 300*time.Millisecond)
	}})
	r := remoteOf(t, sub, "pub", sfu.SourceMicrophone)
	flowing := func(t *testing.T, what string) {
		t.Helper()
		before := r.Stats().Probes
		waitFor(t, 20*time.Second, what, func() bool { return r.Stats().Probes > before+25 })
	}
	flowing(t, "audio")

	steps := []struct {
		name string
		do   func(t *testing.T)
	}{
		{"restart by the client", func(t *testing.T) {
			if err := sub.client.RestartICE(); err != nil {
				t.Fatal(err)
			}
		}},
		{"restart by the SFU", func(t *testing.T) {
			if err := sub.peer.RestartICE(); err != nil {
				t.Fatal(err)
			}
		}},
		{"network lost and back", func(t *testing.T) {
			nw.down.Store(true)
			waitFor(t, 20*time.Second, "the SFU to report the failure", func() bool { return sub.client.Restarts() > 0 })
			nw.down.Store(false)
		}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.do(t)
			time.Sleep(200 * time.Millisecond)
			flowing(t, "audio after "+st.name)
		})
	}
	if n := metricSum(t, reg, "lotse_sfu_ice_restarts_total"); n < 3 {
		t.Errorf("ice restarts counted: %v, want >= 3", n)
	}
	if n := metricSum(t, reg, "lotse_sfu_peer_failures_total"); n < 1 {
		t.Errorf("peer failures counted: %v, want >= 1", n)
	}
}

// TestRelayOnly: a client restricted to relay candidates reaches the SFU
// through a TURN server (pion/turn on loopback) that may relay to the
// SFU's media addresses only.
func TestRelayOnly(t *testing.T) {
	leakcheck.Check(t)
	s, _ := newSFU(t, testConfig())
	allowed := map[netip.Addr]bool{}
	for _, a := range s.MediaAddrs() {
		allowed[a.Addr()] = true
	}
	udp, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	const realm, user, pass = "lotse.test", "u", "p"
	key := turn.GenerateAuthKey(user, realm, pass)
	var relayed atomic.Int32
	srv, err := turn.NewServer(turn.ServerConfig{
		Realm: realm,
		AuthHandler: func(ra *turn.RequestAttributes) (string, []byte, bool) {
			return ra.Username, key, ra.Username == user
		},
		PacketConnConfigs: []turn.PacketConnConfig{{
			PacketConn:            udp,
			RelayAddressGenerator: &turn.RelayAddressGeneratorStatic{RelayAddress: net.ParseIP("127.0.0.1"), Address: "127.0.0.1"},
			PermissionHandler: func(_ net.Addr, peer net.IP) bool {
				a, _ := netip.AddrFromSlice(peer)
				relayed.Add(1)
				return allowed[a.Unmap()]
			},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })

	pub := join(t, s, "r", "pub", allGrants, sfuclient.Config{})
	if _, err := pub.client.PublishOpus(sfuclient.AudioOptions{}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var cands []string
	sub, err := dial(t, s, "r", "sub", allGrants, sfuclient.Config{
		RelayOnly:  true,
		ICEServers: []webrtc.ICEServer{{URLs: []string{"turn:" + udp.LocalAddr().String() + "?transport=udp"}, Username: user, Credential: pass}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sub.client.OnCandidate(func(c string) { mu.Lock(); cands = append(cands, c); mu.Unlock() })
	r := remoteOf(t, sub, "pub", sfu.SourceMicrophone)
	waitFor(t, 15*time.Second, "audio through the relay", func() bool { return r.Stats().Probes > 25 })
	mu.Lock()
	defer mu.Unlock()
	for _, c := range cands {
		if !strings.Contains(c, "typ relay") {
			t.Errorf("relay-only client sent candidate %q", c)
		}
	}
	if relayed.Load() == 0 {
		t.Error("the TURN server granted no permission")
	}
}

// TestPublicIPs: behind NAT 1:1 the SFU advertises only the public
// address (here the loopback address standing in for it) in its
// candidates and MediaAddrs.
func TestPublicIPs(t *testing.T) {
	leakcheck.Check(t)
	cfg := testConfig()
	cfg.ListenIP = "" // every interface: the candidates must still carry only the public IP
	cfg.LoopbackCandidates = false
	cfg.PublicIPs = []string{"127.0.0.1"}
	cfg.TCPPort = 0
	s, _ := newSFU(t, cfg)
	for _, a := range s.MediaAddrs() {
		if a.Addr() != netip.MustParseAddr("127.0.0.1") {
			t.Errorf("media address %s is not the public IP", a)
		}
	}
	if len(s.MediaAddrs()) != 2 {
		t.Errorf("media addresses %v, want UDP and TCP", s.MediaAddrs())
	}
	var mu sync.Mutex
	var cands []string
	c, err := dial(t, s, "r", "c", allGrants, sfuclient.Config{}, func(sig sfu.Signal) (sfu.Signal, bool) {
		if sig.Kind == sfu.SignalCandidate {
			mu.Lock()
			cands = append(cands, sig.Candidate.Candidate)
			mu.Unlock()
		}
		return sig, true
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := testContext(t, 10*time.Second)
	defer cancel()
	if err := c.client.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(cands) == 0 {
		t.Fatal("no candidates")
	}
	for _, cand := range cands {
		if f := strings.Fields(cand); len(f) < 6 || f[4] != "127.0.0.1" {
			t.Errorf("candidate %q does not carry the public IP", cand)
		}
	}
}

// TestCloseRoom: closing a room ends every peer in it; other rooms stay.
func TestCloseRoom(t *testing.T) {
	leakcheck.Check(t)
	s, reg := newSFU(t, testConfig())
	a := join(t, s, "one", "a", allGrants, sfuclient.Config{})
	b := join(t, s, "one", "b", allGrants, sfuclient.Config{})
	other := join(t, s, "two", "c", allGrants, sfuclient.Config{})
	if _, err := a.client.PublishOpus(sfuclient.AudioOptions{}); err != nil {
		t.Fatal(err)
	}
	remoteOf(t, b, "a", sfu.SourceMicrophone)
	s.CloseRoom("one")
	if got := metricSum(t, reg, "lotse_sfu_rooms"); got != 1 {
		t.Errorf("rooms = %v after closing one of two", got)
	}
	if got := metricSum(t, reg, "lotse_sfu_participants"); got != 1 {
		t.Errorf("participants = %v, want 1", got)
	}
	if err := a.peer.HandleAnswer("v=0"); err == nil {
		t.Error("closed peer accepted an answer")
	}
	if err := other.peer.RestartICE(); err != nil {
		t.Errorf("peer of the other room: %v", err)
	}
	s.CloseRoom("unknown")
}
