package turn

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pionturn "github.com/pion/turn/v5"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"
)

const testSecret = "test-secret-0123456789abcdef"

// inCI reports whether missing tools must fail tests instead of skipping.
func inCI() bool { return os.Getenv("CI") == "true" }

// testConfig is a loopback relay: UDP and TCP on 127.0.0.1, kernel-chosen
// ports, relay sockets on 127.0.0.1 (and ::1 for IPv6 allocations).
func testConfig() Config {
	c := DefaultConfig()
	c.Enabled = true
	c.ListenUDP = "127.0.0.1:0"
	c.ListenTCP = "127.0.0.1:0"
	c.ListenTLS = ""
	c.RelayIP = "127.0.0.1"
	c.RelayIPv6 = "::1"
	c.RelayPortMin, c.RelayPortMax = 0, 0
	c.Secret = testSecret
	return c
}

type testServer struct {
	*Server
	reg *prometheus.Registry

	mu    sync.Mutex // guards peers
	peers []string   // every "path addr" the relay was about to reach
}

// startServer starts a relay for the test and closes it at the end.
func startServer(t testing.TB, cfg Config, media func() []netip.AddrPort, opts ...func(*Server)) *testServer {
	t.Helper()
	ts := &testServer{reg: prometheus.NewRegistry()}
	s, err := New(cfg, Deps{Log: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel), Registerer: ts.reg, MediaAddrs: media})
	if err != nil {
		t.Fatal(err)
	}
	s.peerHook = func(path string, ap netip.AddrPort) {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		ts.peers = append(ts.peers, path+" "+ap.String())
	}
	for _, o := range opts {
		o(s)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	ts.Server = s
	return ts
}

// reached returns the peer addresses the relay was about to reach.
func (ts *testServer) reached() []string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]string(nil), ts.peers...)
}

// assertOnlyLoopbackData fails the test if the relay was ever about to
// send data or open a connection to a non-loopback address.
func (ts *testServer) assertOnlyLoopbackData(t *testing.T) {
	t.Helper()
	for _, p := range ts.reached() {
		path, addr, _ := strings.Cut(p, " ")
		if path == pathPermission {
			continue
		}
		ap, err := netip.ParseAddrPort(addr)
		if err != nil || !ap.Addr().Unmap().IsLoopback() { // the wire address, not the NAT64 meaning
			t.Errorf("the relay was about to reach %s (%s): tests must only send to loopback", addr, path)
		}
	}
}

func (ts *testServer) udpAddr() *net.UDPAddr {
	u, _, _ := ts.Addrs()
	return u.(*net.UDPAddr)
}

func (ts *testServer) tcpAddr() *net.TCPAddr {
	_, c, _ := ts.Addrs()
	return c.(*net.TCPAddr)
}

// metric returns the value of the counter or gauge name with labels (a
// missing series counts as 0).
func (ts *testServer) metric(t testing.TB, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := ts.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				if labelValue(m, labels[i]) != labels[i+1] {
					continue next
				}
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// creds returns fresh valid credentials for participant.
func creds(participant string) (string, string) {
	return RESTCredentials([]byte(testSecret), participant, time.Now().Add(10*time.Minute))
}

// pionClient is a pion/turn client over UDP to the test relay.
type pionClient struct {
	*pionturn.Client
	conn net.PacketConn
}

func newPionClient(t testing.TB, server *net.UDPAddr, username, password string) *pionClient {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c, err := pionturn.NewClient(&pionturn.ClientConfig{
		TURNServerAddr: server.String(),
		STUNServerAddr: server.String(),
		Username:       username,
		Password:       password,
		Conn:           conn,
		RTO:            100 * time.Millisecond,
		LoggerFactory:  pionLogs{zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)},
	})
	if err != nil {
		conn.Close()
		t.Fatal(err)
	}
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		conn.Close()
	})
	return &pionClient{Client: c, conn: conn}
}

// allocate allocates a UDP relay and closes it at the end of the test.
func (c *pionClient) allocate(t testing.TB) net.PacketConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	relay, err := c.AllocateWithContext(ctx)
	if err != nil {
		t.Fatalf("allocate: %v", err)
	}
	t.Cleanup(func() { relay.Close() })
	return relay
}

// sink is a UDP socket on loopback that counts what it receives and can
// echo it back.
type sink struct {
	conn     *net.UDPConn
	echo     bool
	received atomic.Int64
	done     chan struct{}

	mu   sync.Mutex // guards last
	last []byte
}

func newSink(t testing.TB, addr string, echo bool) *sink {
	t.Helper()
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr)))
	if err != nil {
		t.Fatal(err)
	}
	s := &sink{conn: conn, echo: echo, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		buf := make([]byte, 2048)
		for {
			n, from, err := conn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			s.received.Add(1)
			s.mu.Lock()
			s.last = bytes.Clone(buf[:n])
			s.mu.Unlock()
			if s.echo {
				conn.WriteToUDP(buf[:n], from)
			}
		}
	}()
	t.Cleanup(func() {
		conn.Close()
		<-s.done
	})
	return s
}

func (s *sink) addr() *net.UDPAddr { return s.conn.LocalAddr().(*net.UDPAddr) }

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
