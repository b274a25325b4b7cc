package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/lotse-io/lotse/sfu"
	"github.com/lotse-io/lotse/sfu/sfuclient"
	"github.com/lotse-io/lotse/signaling/client"
	"github.com/lotse-io/lotse/signaling/wire"
)

// Scenario is the shape of one SFU room: Publishers participants publish
// (and subscribe to every other publisher), Listeners participants only
// subscribe.
type Scenario struct {
	Publishers int
	Listeners  int
}

// Participants is everyone in the room.
func (s Scenario) Participants() int { return s.Publishers + s.Listeners }

// String is the scenario's name as ParseScenario reads it.
func (s Scenario) String() string {
	if s.Listeners == 0 {
		return fmt.Sprintf("%dx%d", s.Publishers, s.Publishers)
	}
	return fmt.Sprintf("%dx%d", s.Publishers, s.Listeners)
}

// ParseScenario reads "PxN": "6x6" (P = N) is a meeting of six who all
// publish and all subscribe; "1x10" (P ≠ N) is P publishers and N
// participants who only subscribe.
func ParseScenario(s string) (Scenario, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "x")
	p, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || p < 1 || n < 1 || p > 100 || n > 1000 {
		return Scenario{}, fmt.Errorf("scenario %q: want PxN with 1 ≤ P ≤ 100 publishers and 1 ≤ N ≤ 1000 (6x6: a meeting of six; 1x10: one publisher, ten subscribers)", s)
	}
	if p == n {
		if p < 2 {
			return Scenario{}, fmt.Errorf("scenario %q: a meeting needs at least two participants", s)
		}
		return Scenario{Publishers: p}, nil
	}
	return Scenario{Publishers: p, Listeners: n}, nil
}

// SFUOptions describe one SFU benchmark run against a Lotse server.
type SFUOptions struct {
	URL      string // Lotse's base URL
	Password string // the demo admin's password
	Scenario Scenario
	// Audio and Video choose what each publisher sends: synthetic Opus
	// (50 packets/s, 120-byte payloads carrying send time and sequence
	// number) and VP8 at 640x360, ~1.5 Mbit/s, 30 fps.
	Audio, Video bool
	// RealVideo loops the embedded real VP8 recording (IVF) instead of the
	// synthetic, probe-carrying VP8: realistic frame sizes, but no video
	// latency (loss then comes from RTP sequence numbers only).
	RealVideo bool
	// Warmup runs after every subscriber receives every track; Window is
	// the measured steady state.
	Warmup, Window time.Duration
	// LateJoiners join one after another after the window, each measuring
	// WebSocket connect → first packet of the room's live tracks, then
	// leave.
	LateJoiners int
	ServerPID   int // for CPU and RSS (0: not measured)
	// Media is the clients' candidate policy (LoopbackOnly, or an IP
	// filter set through Configure inside a network namespace). The bench
	// never hands the clients ICE servers: media goes host to host.
	Media sfuclient.Config
}

// Latency summarises one-way latency over subscriber tracks of one kind.
type Latency struct {
	Tracks             int
	P50, P95, P99      time.Duration // packet-weighted means of the tracks' percentiles
	WorstP99           time.Duration // the highest track p99
	Samples            uint64
	MeasuredFromProbes bool
}

// JoinTimes summarises join samples.
type JoinTimes struct {
	N, Failed          int
	FirstP50, FirstP95 time.Duration // connect → first packet of any live track
	AllP50, AllP95     time.Duration // connect → first packet of every live track
}

// Forwarding is the traffic all subscribers received in the window.
type Forwarding struct {
	Packets, Bytes           uint64 // Bytes: RTP payload plus the 12-byte fixed header
	AudioPackets, VideoPacks uint64
	RTPExpected, RTPUnique   uint64
	// Offered is what the publishers sent times the number of their
	// subscribers (synthetic media only; 0 otherwise).
	Offered, OfferedReceived uint64
}

// SFUResult is what one run measured.
type SFUResult struct {
	Scenario      Scenario
	Tracks        int // published
	Subscriptions int // remote tracks across all participants
	SetupTime     time.Duration
	Window        time.Duration
	Fwd           Forwarding
	PacketsPerSec float64
	Mbps          float64
	LossPct       float64 // from RTP sequence gaps
	DeliveryPct   float64 // received / offered (synthetic media; -1 when unknown)
	ServerCPU     float64 // share of one core in the window
	CPUPerPacket  time.Duration
	CPUSecPerGbit float64
	LoadCPU       float64 // the bench process's own CPU share in the window
	Audio, Video  Latency
	Join          JoinTimes // late joiners
	SetupJoin     JoinTimes // participants who joined a room with live tracks during setup
	RSSMiB        float64
	BaseRSSMiB    float64 // the fresh server's, before the sign-in
	RSSPerPartMiB float64
	// HeapMiB and HeapPerPartMiB are the same from the server's Go heap
	// in use (go_memstats_heap_inuse_bytes on /metrics; 0 if unavailable).
	HeapMiB, HeapPerPartMiB float64
	// Server is the server's own SFU counters over the window, per second.
	Server ServerCounters
	// SentPerSec is what the publishers wrote, all tracks together.
	SentPerSec float64
	// UDPDropsServer and UDPDropsClients are datagrams/s the kernel
	// dropped for full receive buffers at the server's sockets and at all
	// other sockets (in the namespace: the bench's clients).
	UDPDropsServer, UDPDropsClients float64
}

// ServerCounters are rates from the server's /metrics.
type ServerCounters struct {
	Available                       bool
	Forwarded, Dropped, NACKs, PLIs float64
	DroppedQueue, DroppedKeyWait    float64
	DroppedWriteErr, GCs            float64
}

// metricNames are the series the bench reads from /metrics (summed over
// their labels; dropped packets also by reason).
func metricNames() []string {
	return []string{
		"go_memstats_heap_inuse_bytes", "go_gc_duration_seconds_count",
		"lotse_sfu_forwarded_packets_total", "lotse_sfu_dropped_packets_total", "lotse_sfu_nacks_total", "lotse_sfu_plis_total",
		`lotse_sfu_dropped_packets_total{reason="queue_full"}`, `lotse_sfu_dropped_packets_total{reason="key_frame_wait"}`,
		`lotse_sfu_dropped_packets_total{reason="write_error"}`,
	}
}

// sumMetrics reads Prometheus text exposition: for each name, the sum of
// the values of every series of that metric (a name with labels, as
// written on the line, selects that series alone).
func sumMetrics(text string, names []string) map[string]float64 {
	out := map[string]float64{}
	for _, line := range strings.Split(text, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		series := line[:i]
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		name, _, _ := strings.Cut(series, "{")
		for _, n := range names {
			if n == series || n == name {
				out[n] += v
			}
		}
	}
	return out
}

// scrape reads the server's /metrics (nil when it cannot).
func (r *sfuRun) scrape() map[string]float64 {
	res, err := r.anon.hc.Get(r.o.URL + "/metrics")
	if err != nil {
		return nil
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 8<<20))
	if err != nil || res.StatusCode != http.StatusOK {
		return nil
	}
	return sumMetrics(string(b), metricNames())
}

type sfuMember struct {
	sig    *client.Client
	media  *sfuclient.Client
	id     string
	tracks []*sfuclient.LocalTrack
	done   chan struct{} // closed when the drain goroutine ended

	mu   sync.Mutex // guards errs
	errs []string   // the server's first error messages
}

func (m *sfuMember) errors() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.errs...)
}

type sfuRun struct {
	o      SFUOptions
	a      *api
	anon   *api
	wsURL  string
	share  string
	adv    *sfuMember
	ctx    context.Context
	live   int // tracks published so far
	joined []*sfuMember
}

// RunSFU sets up the room, measures the steady window, then the late
// joiners. Progress goes to progress.
func RunSFU(ctx context.Context, o SFUOptions, progress io.Writer) (res *SFUResult, err error) {
	if !o.Audio && !o.Video {
		return nil, errors.New("bench sfu: neither audio nor video")
	}
	jar, _ := cookiejar.New(nil)
	r := &sfuRun{o: o, ctx: ctx,
		a:     &api{base: o.URL, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second, Transport: &http.Transport{}}},
		anon:  &api{base: o.URL, hc: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{}}},
		wsURL: "ws" + strings.TrimPrefix(o.URL, "http") + "/api/v1/signal",
	}
	defer r.closeAll()
	res = &SFUResult{Scenario: o.Scenario, DeliveryPct: -1}
	var base ProcSample
	if o.ServerPID > 0 {
		base, _ = ReadProc(o.ServerPID)
		res.BaseRSSMiB = float64(base.RSSByte) / (1 << 20)
	}
	baseMetrics := r.scrape()
	var sess struct {
		CSRFToken string `json:"csrf_token"`
	}
	if err := loginWithCookie(r.a, o.Password, &sess); err != nil {
		return nil, err
	}
	r.a.csrf = sess.CSRFToken
	start := time.Now()
	var conv struct {
		ID       string `json:"id"`
		ShareURL string `json:"share_url"`
	}
	if err := r.a.do("POST", "/api/v1/conversations", map[string]any{"subject": "bench sfu " + o.Scenario.String(), "share_max_uses": 1000}, &conv); err != nil {
		return nil, err
	}
	r.share = conv.ShareURL[strings.LastIndex(conv.ShareURL, "/j/")+3:]
	var tok struct {
		JoinToken string `json:"join_token"`
	}
	if err := r.a.do("POST", "/api/v1/conversations/"+conv.ID+"/token", nil, &tok); err != nil {
		return nil, err
	}
	// The advisor is the first participant and, with P ≥ 1, a publisher.
	adv, _, err := r.dial(tok.JoinToken)
	if err != nil {
		return nil, fmt.Errorf("advisor join: %w", err)
	}
	r.adv = adv
	r.joined = append(r.joined, adv)
	if err := r.publish(adv); err != nil {
		return nil, err
	}
	var setupJoins []joinSample
	for i := 1; i < o.Scenario.Participants(); i++ {
		m, s, err := r.joinCustomer("Kunde " + strconv.Itoa(i))
		if err != nil {
			return nil, err
		}
		if s.want > 0 {
			setupJoins = append(setupJoins, s)
		}
		if i < o.Scenario.Publishers {
			if err := r.publish(m); err != nil {
				return nil, err
			}
		}
		if n := o.Scenario.Participants(); (i+1)%max(1, n/5) == 0 || i+1 == n {
			fmt.Fprintf(progress, "  %d/%d participants joined\n", i+1, n)
		}
	}
	// Every participant receives every track but its own.
	var missing []string
	for i, m := range r.joined {
		want := r.live - len(m.tracks)
		if _, err := waitTracks(ctx, m, want, 20*time.Second); err != nil {
			missing = append(missing, fmt.Sprintf("participant %d of %d (%s): %v; peer connection %s, %d tracks listed, %d m-sections, %d remote tracks, signalling %v, server errors %q",
				i+1, len(r.joined), m.id, err, m.media.ConnectionState(), len(m.media.Tracks()), m.media.MediaSections(), len(m.media.Remotes()), sigState(m.sig), m.errors()))
		}
		res.Subscriptions += want
	}
	if len(missing) > 0 {
		return nil, errors.New(strings.Join(missing, "\n"))
	}
	res.Tracks = r.live
	res.SetupTime = time.Since(start)
	res.SetupJoin = summariseJoins(setupJoins)
	fmt.Fprintf(progress, "  room set up in %v; warming up %v, measuring %v\n", res.SetupTime.Round(time.Millisecond), o.Warmup, o.Window)
	if err := sleepCtx(ctx, o.Warmup); err != nil {
		return nil, err
	}
	s0 := r.sample()
	if err := sleepCtx(ctx, o.Window); err != nil {
		return nil, err
	}
	s1 := r.sample()
	res.Window = s1.at.Sub(s0.at)
	res.Fwd = windowForwarding(s0, s1)
	subsPerTrack := uint64(o.Scenario.Participants() - 1)
	if !o.RealVideo || !o.Video {
		res.Fwd.Offered = (s1.sent - s0.sent) * subsPerTrack
		res.Fwd.OfferedReceived = res.Fwd.Packets
	}
	m := computeRates(res.Fwd, res.Window, s1.proc.CPU-s0.proc.CPU)
	res.PacketsPerSec, res.Mbps, res.CPUPerPacket, res.CPUSecPerGbit, res.LossPct = m.pps, m.mbps, m.cpuPerPkt, m.cpuSecPerGbit, m.lossPct
	if res.Fwd.Offered > 0 {
		res.DeliveryPct = 100 * float64(res.Fwd.OfferedReceived) / float64(res.Fwd.Offered)
	}
	if o.ServerPID > 0 {
		res.ServerCPU = CPUShare(s0.proc, s1.proc)
		res.RSSMiB = float64(s1.proc.RSSByte) / (1 << 20)
		res.RSSPerPartMiB = float64(s1.proc.RSSByte-base.RSSByte) / (1 << 20) / float64(o.Scenario.Participants())
	}
	res.LoadCPU = CPUShare(s0.self, s1.self)
	res.SentPerSec = float64(s1.sent-s0.sent) / res.Window.Seconds()
	res.UDPDropsServer = float64(s1.drops[0]-s0.drops[0]) / res.Window.Seconds()
	res.UDPDropsClients = float64(s1.drops[1]-s0.drops[1]) / res.Window.Seconds()
	if s0.metrics != nil && s1.metrics != nil {
		d := func(n string) float64 { return (s1.metrics[n] - s0.metrics[n]) / res.Window.Seconds() }
		res.Server = ServerCounters{Available: true,
			Forwarded: d("lotse_sfu_forwarded_packets_total"), Dropped: d("lotse_sfu_dropped_packets_total"),
			NACKs: d("lotse_sfu_nacks_total"), PLIs: d("lotse_sfu_plis_total"),
			DroppedQueue: d(`lotse_sfu_dropped_packets_total{reason="queue_full"}`), DroppedKeyWait: d(`lotse_sfu_dropped_packets_total{reason="key_frame_wait"}`),
			DroppedWriteErr: d(`lotse_sfu_dropped_packets_total{reason="write_error"}`), GCs: d("go_gc_duration_seconds_count")}
		if h, ok := s1.metrics["go_memstats_heap_inuse_bytes"]; ok && baseMetrics != nil {
			res.HeapMiB = h / (1 << 20)
			res.HeapPerPartMiB = (h - baseMetrics["go_memstats_heap_inuse_bytes"]) / (1 << 20) / float64(o.Scenario.Participants())
		}
	}
	res.Audio, res.Video = r.latencies()

	// Late joiners: one at a time into the steady room, then gone again.
	var late []joinSample
	for i := 0; i < o.LateJoiners; i++ {
		m, s, err := r.joinCustomer("Spät " + strconv.Itoa(i))
		if err != nil {
			return nil, fmt.Errorf("late joiner %d: %w", i, err)
		}
		late = append(late, s)
		r.leave(m)
	}
	res.Join = summariseJoins(late)
	return res, nil
}

// sigState says whether a signalling connection is still up.
func sigState(c *client.Client) string {
	select {
	case <-c.Done():
		return "closed: " + c.Err().Error()
	default:
		return "open"
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// dial connects one participant: WebSocket, Join, media client (host
// candidates only), and a goroutine that drains its signalling messages
// (a full queue would stall the reader, which also carries the media
// negotiation).
func (r *sfuRun) dial(token string) (*sfuMember, *wire.Joined, error) {
	c, _, err := client.Dial(r.ctx, r.wsURL, r.o.URL)
	if err != nil {
		return nil, nil, err
	}
	jctx, cancel := context.WithTimeout(r.ctx, 20*time.Second)
	defer cancel()
	j, err := c.Join(jctx, token, nil)
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	mc, err := c.ConnectMedia(r.o.Media, nil)
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	m := &sfuMember{sig: c, media: mc, id: j.Self.ID, done: make(chan struct{})}
	go func() {
		defer close(m.done)
		for {
			msg, err := c.Next(context.Background())
			if err != nil {
				return
			}
			if e, ok := msg.(*wire.Error); ok {
				m.mu.Lock()
				if len(m.errs) < 10 {
					m.errs = append(m.errs, e.Code+": "+e.Message)
				}
				m.mu.Unlock()
			}
		}
	}()
	return m, j, nil
}

// joinSample is one join: from the WebSocket dial to the first packet of
// the first and of the last of the want live tracks.
type joinSample struct {
	want       int
	first, all time.Duration
	failed     bool
}

// joinCustomer follows the share link, connects, is admitted at once by
// the advisor, and waits for the room's live tracks.
func (r *sfuRun) joinCustomer(name string) (*sfuMember, joinSample, error) {
	var jr struct {
		JoinToken     string `json:"join_token"`
		ParticipantID string `json:"participant_id"`
	}
	if err := r.anon.do("POST", "/api/v1/join", map[string]any{"token": r.share, "display_name": name,
		"consent": map[string]bool{"terms": true, "camera": true, "microphone": true}}, &jr); err != nil {
		return nil, joinSample{}, err
	}
	want := r.live
	t0 := time.Now()
	m, _, err := r.dial(jr.JoinToken)
	if err != nil {
		return nil, joinSample{}, fmt.Errorf("customer join: %w", err)
	}
	r.joined = append(r.joined, m)
	if err := r.adv.sig.Send(&wire.Admit{Header: wire.Header{Type: "admit"}, ParticipantID: jr.ParticipantID}); err != nil {
		return nil, joinSample{}, err
	}
	s := joinSample{want: want}
	if want == 0 {
		return m, s, nil
	}
	first, err := waitTracks(r.ctx, m, want, 15*time.Second)
	if err != nil {
		s.failed = true
		return m, s, nil
	}
	s.first, s.all = first[0].Sub(t0), first[1].Sub(t0)
	return m, s, nil
}

// waitTracks waits until m has received packets on want remote tracks
// and returns the arrival times of the earliest and the latest first
// packet.
func waitTracks(ctx context.Context, m *sfuMember, want int, timeout time.Duration) ([2]time.Time, error) {
	deadline := time.Now().Add(timeout)
	for {
		var flowing []*sfuclient.RemoteTrack
		for _, rt := range m.media.Remotes() {
			if rt.Packets() > 0 {
				flowing = append(flowing, rt)
			}
		}
		if len(flowing) >= want {
			var out [2]time.Time
			for i, rt := range flowing {
				f := rt.Stats().First
				if i == 0 || f.Before(out[0]) {
					out[0] = f
				}
				if f.After(out[1]) {
					out[1] = f
				}
			}
			return out, nil
		}
		if time.Now().After(deadline) {
			return [2]time.Time{}, fmt.Errorf("%d of %d tracks flowing after %v (sfu errors %v)", len(flowing), want, timeout, m.media.Errors())
		}
		if err := sleepCtx(ctx, 5*time.Millisecond); err != nil {
			return [2]time.Time{}, err
		}
	}
}

// publish starts m's audio and video.
func (r *sfuRun) publish(m *sfuMember) error {
	if r.o.Audio {
		t, err := m.media.PublishOpus(sfuclient.AudioOptions{})
		if err != nil {
			return fmt.Errorf("publish audio: %w", err)
		}
		m.tracks = append(m.tracks, t)
	}
	if r.o.Video {
		var t *sfuclient.LocalTrack
		var err error
		if r.o.RealVideo {
			t, err = m.media.PublishIVF(sfuclient.SampleVP8(), sfu.SourceCamera)
		} else {
			t, err = m.media.PublishVP8(sfuclient.VideoOptions{})
		}
		if err != nil {
			return fmt.Errorf("publish video: %w", err)
		}
		m.tracks = append(m.tracks, t)
	}
	r.live += len(m.tracks)
	return nil
}

// leave says goodbye and closes m's connections.
func (r *sfuRun) leave(m *sfuMember) {
	_ = m.sig.Send(&wire.Leave{Header: wire.Header{Type: "leave"}})
	_ = m.media.Close()
	m.sig.Close()
	<-m.done
	for i, x := range r.joined {
		if x == m {
			r.joined = append(r.joined[:i], r.joined[i+1:]...)
			break
		}
	}
}

func (r *sfuRun) closeAll() {
	var wg sync.WaitGroup
	for _, m := range r.joined {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = m.media.Close()
			m.sig.Close()
			<-m.done
		}()
	}
	wg.Wait()
	r.joined = nil
	r.a.hc.CloseIdleConnections()
	r.anon.hc.CloseIdleConnections()
}

// sfuSample is the counters at one moment: the server's and our own
// /proc, what the publishers sent, and each subscriber track's counters
// with the moment they were read (reading all tracks takes a while).
type sfuSample struct {
	at         time.Time
	proc, self ProcSample
	sent       uint64 // packets the publishers wrote (synthetic media: exact)
	tracks     map[string]trackSnap
	metrics    map[string]float64 // the server's, read last
	// drops are /proc/net/udp's receive-buffer drops at the server's
	// sockets [0] and at every other socket [1].
	drops [2]uint64
}

// trackSnap is one subscriber track's counters at one moment.
type trackSnap struct {
	at                     time.Time
	audio                  bool
	packets, bytes         uint64
	rtpExpected, rtpUnique uint64
}

func (r *sfuRun) sample() sfuSample {
	s := sfuSample{tracks: map[string]trackSnap{}}
	if r.o.ServerPID > 0 {
		s.proc, _ = ReadProc(r.o.ServerPID)
	}
	s.self, _ = ReadProc(os.Getpid())
	s.drops = udpDrops(r.o.ServerPID)
	s.at = time.Now()
	for _, m := range r.joined {
		for _, t := range m.tracks {
			s.sent += t.Sent()
		}
	}
	for _, m := range r.joined {
		for _, rt := range m.media.Remotes() {
			st := rt.Stats()
			s.tracks[m.id+"/"+rt.ID] = trackSnap{at: time.Now(), audio: rt.Kind == webrtc.RTPCodecTypeAudio,
				packets: st.Packets, bytes: st.Bytes + 12*st.Packets, rtpExpected: st.RTPExpected, rtpUnique: st.RTPUnique}
		}
	}
	s.metrics = r.scrape()
	return s
}

// windowForwarding sums what the subscriber tracks present in both
// samples received between them, each track's counts scaled from the
// interval between its own two readings to the window a.at..b.at.
func windowForwarding(a, b sfuSample) Forwarding {
	var f Forwarding
	win := b.at.Sub(a.at)
	var pk, by, au, vi, ex, un float64
	for id, y := range b.tracks {
		x, ok := a.tracks[id]
		d := y.at.Sub(x.at)
		if !ok || d <= 0 || y.packets < x.packets {
			continue
		}
		k := float64(win) / float64(d)
		p := float64(y.packets-x.packets) * k
		pk += p
		by += float64(y.bytes-x.bytes) * k
		if y.audio {
			au += p
		} else {
			vi += p
		}
		ex += float64(y.rtpExpected-x.rtpExpected) * k
		un += float64(y.rtpUnique-x.rtpUnique) * k
	}
	f.Packets, f.Bytes, f.AudioPackets, f.VideoPacks = uint64(pk+0.5), uint64(by+0.5), uint64(au+0.5), uint64(vi+0.5)
	f.RTPExpected, f.RTPUnique = uint64(ex+0.5), uint64(un+0.5)
	return f
}

// latencies summarises the subscribers' probe latencies by kind.
func (r *sfuRun) latencies() (audio, video Latency) {
	var a, v []trackLatency
	for _, m := range r.joined {
		for _, rt := range m.media.Remotes() {
			st := rt.Stats()
			if st.Probes == 0 {
				continue
			}
			tl := trackLatency{weight: st.Probes, p50: st.LatencyP50, p95: st.LatencyP95, p99: st.LatencyP99}
			if rt.Kind == webrtc.RTPCodecTypeAudio {
				a = append(a, tl)
			} else {
				v = append(v, tl)
			}
		}
	}
	return combineLatencies(a), combineLatencies(v)
}

// trackLatency is one track's latency percentiles and its sample count.
type trackLatency struct {
	weight        uint64
	p50, p95, p99 time.Duration
}

// combineLatencies averages the tracks' percentiles weighted by their
// samples (the tracks of one kind carry the same load, so this is close to
// the pooled percentile) and keeps the worst p99.
func combineLatencies(ts []trackLatency) Latency {
	var l Latency
	var w uint64
	var s50, s95, s99 float64
	for _, t := range ts {
		if t.weight == 0 {
			continue
		}
		l.Tracks++
		w += t.weight
		s50 += float64(t.p50) * float64(t.weight)
		s95 += float64(t.p95) * float64(t.weight)
		s99 += float64(t.p99) * float64(t.weight)
		l.WorstP99 = max(l.WorstP99, t.p99)
	}
	if w == 0 {
		return l
	}
	l.Samples, l.MeasuredFromProbes = w, true
	l.P50 = time.Duration(s50 / float64(w))
	l.P95 = time.Duration(s95 / float64(w))
	l.P99 = time.Duration(s99 / float64(w))
	return l
}

// rates is the arithmetic of one window.
type rates struct {
	pps, mbps     float64
	cpuPerPkt     time.Duration
	cpuSecPerGbit float64
	lossPct       float64
}

// computeRates turns a window's forwarding counters and the server's CPU
// time in it into rates: packets/s and Mbit/s received by all subscribers,
// CPU time per forwarded packet, CPU seconds per forwarded Gbit, and loss
// from RTP sequence gaps.
func computeRates(f Forwarding, wall, cpu time.Duration) rates {
	var r rates
	if wall <= 0 {
		return r
	}
	r.pps = float64(f.Packets) / wall.Seconds()
	r.mbps = float64(f.Bytes) * 8 / wall.Seconds() / 1e6
	if f.Packets > 0 {
		r.cpuPerPkt = cpu / time.Duration(f.Packets)
	}
	if f.Bytes > 0 {
		r.cpuSecPerGbit = cpu.Seconds() / (float64(f.Bytes) * 8 / 1e9)
	}
	if f.RTPExpected > 0 && f.RTPExpected > f.RTPUnique {
		r.lossPct = 100 * float64(f.RTPExpected-f.RTPUnique) / float64(f.RTPExpected)
	}
	return r
}

func summariseJoins(ss []joinSample) JoinTimes {
	var j JoinTimes
	var first, all []time.Duration
	for _, s := range ss {
		if s.failed {
			j.Failed++
			continue
		}
		first = append(first, s.first)
		all = append(all, s.all)
	}
	j.N = len(first)
	p := Percentiles(first, 50, 95)
	j.FirstP50, j.FirstP95 = p[0], p[1]
	p = Percentiles(all, 50, 95)
	j.AllP50, j.AllP95 = p[0], p[1]
	return j
}

// udpDrops sums the receive-buffer drops of /proc/net/udp{,6} (this
// network namespace's sockets) at the sockets of process pid and at all
// others.
func udpDrops(pid int) [2]uint64 {
	inodes := map[string]bool{}
	if pid > 0 {
		dir := fmt.Sprintf("/proc/%d/fd", pid)
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if l, err := os.Readlink(dir + "/" + e.Name()); err == nil {
				if in, ok := strings.CutPrefix(l, "socket:["); ok {
					inodes[strings.TrimSuffix(in, "]")] = true
				}
			}
		}
	}
	var out [2]uint64
	for _, f := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		d := splitUDPDrops(string(b), inodes)
		out[0] += d[0]
		out[1] += d[1]
	}
	return out
}

// splitUDPDrops reads /proc/net/udp: the drops column (the last) summed
// for sockets whose inode (the tenth column) is in inodes, and for the
// rest.
func splitUDPDrops(text string, inodes map[string]bool) [2]uint64 {
	var out [2]uint64
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) < 13 || !strings.HasSuffix(f[0], ":") {
			continue // the header, or a short line
		}
		n, err := strconv.ParseUint(f[len(f)-1], 10, 64)
		if err != nil {
			continue
		}
		if inodes[f[9]] {
			out[0] += n
		} else {
			out[1] += n
		}
	}
	return out
}
