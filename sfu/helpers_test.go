package sfu_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/lotse-io/lotse/sfu"
	"github.com/lotse-io/lotse/sfu/sfuclient"
)

// testConfig is an SFU on loopback with ephemeral ports and short timers.
// Bandwidth estimation is off so that layer choices depend only on what a
// test asks for; the tests that need it turn it on.
func testConfig() sfu.Config {
	c := sfu.DefaultConfig()
	c.ListenIP = "127.0.0.1"
	c.UDPPort = 0
	c.TCPPort = -1
	c.LoopbackCandidates = true
	c.KeyFrameInterval = 100 * time.Millisecond
	c.UpgradeHold = 500 * time.Millisecond
	c.SpeakerInterval = 200 * time.Millisecond
	c.BandwidthEstimation = false
	return c
}

// testLog logs to the test; LOTSE_TEST_DEBUG=1 adds debug lines.
func testLog(t testing.TB) zerolog.Logger {
	level := zerolog.InfoLevel
	if os.Getenv("LOTSE_TEST_DEBUG") != "" {
		level = zerolog.DebugLevel
	}
	return zerolog.New(zerolog.NewTestWriter(t)).Level(level)
}

// newSFU starts an SFU that the test closes at its end.
func newSFU(t testing.TB, cfg sfu.Config) (*sfu.SFU, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	s, err := sfu.New(cfg, sfu.Deps{Log: testLog(t), Registerer: reg, RemoteIPFilter: netip.Addr.IsLoopback})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, reg
}

// queue delivers values in order on its own goroutine, so that neither
// side ever blocks the other (the SFU requires a non-blocking Signaler).
type queue struct {
	mu     sync.Mutex
	cond   *sync.Cond
	items  []sfu.Signal
	closed bool
	done   chan struct{}
}

func newQueue(deliver func(sfu.Signal)) *queue {
	q := &queue{done: make(chan struct{})}
	q.cond = sync.NewCond(&q.mu)
	go func() {
		defer close(q.done)
		for {
			q.mu.Lock()
			for len(q.items) == 0 && !q.closed {
				q.cond.Wait()
			}
			if q.closed {
				q.mu.Unlock()
				return
			}
			s := q.items[0]
			q.items = q.items[1:]
			q.mu.Unlock()
			deliver(s)
		}
	}()
	return q
}

func (q *queue) push(s sfu.Signal) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		q.items = append(q.items, s)
		q.cond.Signal()
	}
}

func (q *queue) close() {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	q.closed = true
	q.cond.Signal()
	q.mu.Unlock()
	<-q.done
}

// conn is a participant: an sfuclient.Client connected in-process to its
// sfu.Peer through two signal queues.
type conn struct {
	t      testing.TB
	id     string
	client *sfuclient.Client
	peer   *sfu.Peer
	ready  chan struct{}

	queues []*queue

	mu        sync.Mutex
	errs      []error // errors the SFU returned for the client's signals
	intercept func(sfu.Signal) (sfu.Signal, bool)
}

var allGrants = sfu.Grants{PublishAudio: true, PublishVideo: true, PublishScreen: true, Subscribe: true, Data: true}

// join connects a participant with the given grants; the test's cleanup
// closes it.
func join(t testing.TB, s *sfu.SFU, room, id string, g sfu.Grants, cfg sfuclient.Config) *conn {
	t.Helper()
	c, err := dial(t, s, room, id, g, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// dial is join with an optional filter of the SFU's signals to the client.
func dial(t testing.TB, s *sfu.SFU, room, id string, g sfu.Grants, cfg sfuclient.Config, intercept func(sfu.Signal) (sfu.Signal, bool)) (*conn, error) {
	t.Helper()
	c := &conn{t: t, id: id, ready: make(chan struct{}), intercept: intercept}
	cfg.Log = testLog(t).With().Str("client", id).Logger()
	cfg.LoopbackOnly = true
	debug := os.Getenv("LOTSE_TEST_DEBUG") != ""
	trace := func(dir string, sig sfu.Signal) {
		if !debug {
			return
		}
		detail := ""
		if i := strings.Index(sig.SDP, "a=ice-ufrag:"); i >= 0 {
			detail = sig.SDP[i+12 : i+12+16]
		}
		if sig.Candidate != nil {
			detail = sig.Candidate.Candidate
		}
		t.Logf("%s %s %s %s", id, dir, sig.Kind, detail)
	}
	toSFU := newQueue(func(sig sfu.Signal) {
		<-c.ready
		trace("->sfu", sig)
		if c.peer == nil {
			return
		}
		if err := sfu.Dispatch(c.peer, sig); err != nil {
			c.mu.Lock()
			c.errs = append(c.errs, err)
			c.mu.Unlock()
			if sig.Kind == sfu.SignalOffer {
				_ = c.client.OfferRejected()
			}
		}
	})
	client, err := sfuclient.New(cfg, sfuclient.TransportFunc(toSFU.push))
	if err != nil {
		toSFU.close()
		return nil, err
	}
	c.client = client
	toClient := newQueue(func(sig sfu.Signal) {
		trace("<-sfu", sig)
		c.mu.Lock()
		f := c.intercept
		c.mu.Unlock()
		if f != nil {
			var ok bool
			if sig, ok = f(sig); !ok {
				return
			}
		}
		if err := client.Handle(sig); err != nil && !errors.Is(err, sfuclient.ErrClosed) {
			t.Logf("%s: handle %s: %v", id, sig.Kind, err)
		}
	})
	peer, err := s.Join(room, sfu.Participant{ID: id, Grants: g}, sfu.SignalerFunc(toClient.push))
	c.peer = peer
	c.queues = []*queue{toSFU, toClient}
	close(c.ready)
	t.Cleanup(c.leave)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// leave closes the participant's peer, client and signal queues.
func (c *conn) leave() {
	if c.peer != nil {
		c.peer.Close()
	}
	c.client.Close()
	for _, q := range c.queues {
		q.close()
	}
}

func (c *conn) errors() []error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]error(nil), c.errs...)
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// trackOf returns the id of the track of participant pid with the given
// source, as the client's SignalTracks list has it.
func trackOf(c *sfuclient.Client, pid string, src sfu.Source) string {
	for _, ti := range c.Tracks() {
		if ti.ParticipantID == pid && ti.Source == src {
			return ti.ID
		}
	}
	return ""
}

// remoteOf waits until the client receives participant pid's source.
func remoteOf(t testing.TB, c *conn, pid string, src sfu.Source) *sfuclient.RemoteTrack {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var id string
	waitFor(t, 15*time.Second, fmt.Sprintf("%s to see %s's %s", c.id, pid, src), func() bool {
		id = trackOf(c.client, pid, src)
		return id != ""
	})
	r, err := c.client.WaitRemote(ctx, id)
	if err != nil {
		t.Fatalf("%s: no remote track %s (%s of %s): %v", c.id, id, src, pid, err)
	}
	return r
}

// ratio is the share of a publisher's probes, from the first one the
// subscriber received up to the last one sent, that arrived.
func ratio(st sfuclient.TrackStats, sent uint32) float64 {
	if sent == 0 || st.Probes == 0 || sent <= st.FirstProbe {
		return 0
	}
	return float64(st.Probes) / float64(sent-st.FirstProbe)
}

func contains(errs []error, target error) bool {
	for _, e := range errs {
		if errors.Is(e, target) {
			return true
		}
	}
	return false
}

// metricSum adds up every series of a metric family.
func metricSum(t testing.TB, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue metric
				}
			}
			switch {
			case m.GetCounter() != nil:
				sum += m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				sum += m.GetGauge().GetValue()
			}
		}
	}
	return sum
}

// switchNet is the client's network with faults to switch on: while
// down, every UDP packet the client sends or receives is dropped (as when
// a laptop loses its Wi-Fi); lossIn and lossOut drop every nth packet
// received or sent; rate (bit/s) makes what the client receives pass a
// bottleneck that queues up to 300 ms and drops the rest.
type switchNet struct {
	transport.Net
	down            atomic.Bool
	lossIn, lossOut atomic.Int32
	rate            atomic.Int64
}

func newSwitchNet(t testing.TB) *switchNet {
	n, err := stdnet.NewNet()
	if err != nil {
		t.Fatal(err)
	}
	return &switchNet{Net: n}
}

func (n *switchNet) ListenUDP(network string, addr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, addr)
	if err != nil {
		return nil, err
	}
	return &switchConn{UDPConn: c, n: n}, nil
}

type switchConn struct {
	transport.UDPConn
	n       *switchNet
	in, out atomic.Int64 // packets seen
	mu      sync.Mutex   // guards next
	next    time.Time    // when the bottleneck is free
}

func (c *switchConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, a, err := c.UDPConn.ReadFrom(b)
		if err != nil {
			return n, a, err
		}
		if c.n.down.Load() {
			continue
		}
		if k := int64(c.n.lossIn.Load()); k > 0 && c.in.Add(1)%k == 0 {
			continue
		}
		if r := c.n.rate.Load(); r > 0 {
			c.mu.Lock()
			now := time.Now()
			if c.next.Before(now) {
				c.next = now
			}
			if c.next.Sub(now) > 300*time.Millisecond {
				c.mu.Unlock()
				continue // the bottleneck's queue is full
			}
			c.next = c.next.Add(time.Duration(int64(n) * 8 * int64(time.Second) / r))
			wait := c.next.Sub(now)
			c.mu.Unlock()
			time.Sleep(wait)
		}
		return n, a, err
	}
}

func (c *switchConn) WriteTo(b []byte, a net.Addr) (int, error) {
	if c.n.down.Load() {
		return len(b), nil
	}
	if k := int64(c.n.lossOut.Load()); k > 0 && c.out.Add(1)%k == 0 {
		return len(b), nil
	}
	return c.UDPConn.WriteTo(b, a)
}

func testContext(_ testing.TB, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
