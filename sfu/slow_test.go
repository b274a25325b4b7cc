package sfu_test

import (
	"io"
	"net"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/lotse-io/lotse/internal/leakcheck"
	"github.com/lotse-io/lotse/sfu"
	"github.com/lotse-io/lotse/sfu/sfuclient"
)

// tcpProxy relays ICE-TCP between a client and the SFU on loopback and can
// stop reading what the SFU sends: the SFU then sees a subscriber whose
// TCP window has closed, the real form of "stopped reading".
type tcpProxy struct {
	t      *testing.T
	ln     net.Listener
	target string

	mu     sync.Mutex
	paused bool
	cond   *sync.Cond
	conns  []net.Conn
	wg     sync.WaitGroup
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{t: t, ln: ln, target: target}
	p.cond = sync.NewCond(&p.mu)
	p.wg.Add(1)
	go p.accept()
	return p
}

func (p *tcpProxy) port() int { return p.ln.Addr().(*net.TCPAddr).Port }

func (p *tcpProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		// A small receive buffer on the proxy's side of the SFU
		// connection makes the SFU's socket fill quickly once the proxy
		// stops reading.
		d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			return rc.Control(func(fd uintptr) {
				_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
			})
		}}
		s, err := d.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		p.wg.Add(2)
		go func() { defer p.wg.Done(); _, _ = io.Copy(s, c); s.Close() }()
		go func() { defer p.wg.Done(); p.copyFromSFU(c, s); c.Close() }()
	}
}

func (p *tcpProxy) copyFromSFU(dst, src net.Conn) {
	buf := make([]byte, 2048)
	for {
		p.mu.Lock()
		for p.paused {
			p.cond.Wait()
		}
		p.mu.Unlock()
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *tcpProxy) pause(on bool) {
	p.mu.Lock()
	p.paused = on
	p.cond.Broadcast()
	p.mu.Unlock()
}

func (p *tcpProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.paused = false
	p.cond.Broadcast()
	p.mu.Unlock()
	p.wg.Wait()
}

// TestSlowSubscriber: a subscriber whose connection stops taking data does
// not reduce what another subscriber of the same tracks receives; the SFU
// drops (and counts) for the slow one only.
func TestSlowSubscriber(t *testing.T) {
	leakcheck.Check(t)
	cfg := testConfig()
	cfg.TCPPort = 0
	s, reg := newSFU(t, cfg)
	var sfuTCP int
	for _, a := range s.MediaAddrs() {
		if a.Port() != 0 {
			sfuTCP = int(a.Port()) // the second address is the TCP port
		}
	}
	proxy := newTCPProxy(t, net.JoinHostPort("127.0.0.1", strconv.Itoa(sfuTCP)))
	t.Cleanup(proxy.close) // runs before the peers close

	pub := join(t, s, "slow", "pub", allGrants, sfuclient.Config{})
	video, err := pub.client.PublishVP8(sfuclient.VideoOptions{Bitrate: 3_000_000})
	if err != nil {
		t.Fatal(err)
	}
	audio, err := pub.client.PublishOpus(sfuclient.AudioOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fast := join(t, s, "slow", "fast", allGrants, sfuclient.Config{})

	// The slow subscriber speaks ICE-TCP only, through the proxy: the
	// SFU's TCP candidates (trickled, and in later offers' SDP) are
	// rewritten to the proxy's port and its UDP candidates withheld.
	tcpCand := regexp.MustCompile(`127\.0\.0\.1 ` + strconv.Itoa(sfuTCP) + ` typ host tcptype passive`)
	rewrite := "127.0.0.1 " + strconv.Itoa(proxy.port()) + " typ host tcptype passive"
	slow, err := dial(t, s, "slow", "slow", allGrants, sfuclient.Config{NetworkTypes: []webrtc.NetworkType{webrtc.NetworkTypeTCP4}},
		func(sig sfu.Signal) (sfu.Signal, bool) {
			switch sig.Kind {
			case sfu.SignalCandidate:
				if !tcpCand.MatchString(sig.Candidate.Candidate) {
					return sig, false
				}
				c := *sig.Candidate
				c.Candidate = tcpCand.ReplaceAllString(c.Candidate, rewrite)
				sig.Candidate = &c
			case sfu.SignalOffer:
				sig.SDP = tcpCand.ReplaceAllString(sig.SDP, rewrite)
			}
			return sig, true
		})
	if err != nil {
		t.Fatal(err)
	}
	fv, fa := remoteOf(t, fast, "pub", sfu.SourceCamera), remoteOf(t, fast, "pub", sfu.SourceMicrophone)
	sv := remoteOf(t, slow, "pub", sfu.SourceCamera)
	waitFor(t, 10*time.Second, "slow subscriber's video over TCP", func() bool { return sv.Stats().Probes > 100 })

	proxy.pause(true)
	waitFor(t, 20*time.Second, "the SFU to drop for the slow subscriber", func() bool { return slow.peer.Stats().Dropped > 200 })
	time.Sleep(2 * time.Second)
	slowBefore := sv.Stats().Probes
	time.Sleep(time.Second)
	video.Stop()
	audio.Stop()
	time.Sleep(500 * time.Millisecond)

	vs, as := fv.Stats(), fa.Stats()
	vr, ar := ratio(vs, video.ProbesSent(0)), ratio(as, audio.ProbesSent(0))
	drops := metricSum(t, reg, "lotse_sfu_dropped_packets_total")
	t.Logf("fast: video %.4f (%d), audio %.4f, latency p99 %v; slow peer dropped %d; slow received %d; drops metric %v",
		vr, vs.Probes, ar, vs.LatencyP99, slow.peer.Stats().Dropped, sv.Stats().Probes, drops)
	if vr < 0.99 || ar < 0.99 {
		t.Errorf("fast subscriber received video %.4f, audio %.4f, want >= 0.99", vr, ar)
	}
	if fast.peer.Stats().Dropped != 0 {
		t.Errorf("the SFU dropped %d packets for the fast subscriber", fast.peer.Stats().Dropped)
	}
	if got := sv.Stats().Probes; got != slowBefore {
		t.Errorf("slow subscriber received %d packets while stalled", got-slowBefore)
	}
	// Leaving must not hang on the stalled connection.
	start := time.Now()
	slow.peer.Close()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("closing the stalled peer took %v", d)
	}
}
