package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/lotse-io/lotse/internal/bench"
	"github.com/lotse-io/lotse/sfu/sfuclient"
)

func init() {
	benchmarks["sfu"] = benchmark{
		summary: "1→N and N×N rooms through the SFU: forwarded pkt/s, CPU per forwarded packet, latency, loss, join time, RSS",
		run:     benchSFU,
	}
}

type sfuBenchRun struct {
	name string
	res  *bench.SFUResult
}

func benchSFU(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench sfu", flag.ContinueOnError)
	fs.SetOutput(stderr)
	scenarios := fs.String("scenario", "1x10", "comma-separated rooms: 1xN (one publisher, N subscribers) or NxN (a meeting of N, all publish and subscribe), e.g. 1x10,1x50,6x6")
	mediaKind := fs.String("media", "av", "what each publisher sends: av (audio and video), audio or video")
	video := fs.String("video", "synthetic", "synthetic (VP8-shaped packets carrying send time: latency measured) or ivf (the real VP8 640x360 recording looped: no video latency)")
	warmup := fs.Duration("warmup", 5*time.Second, "warm-up after every track reaches every subscriber")
	window := fs.Duration("window", 20*time.Second, "measured steady window (the method uses 30s)")
	late := fs.Int("late", 10, "late joiners after the window, one at a time, for join time")
	runs := fs.Int("runs", 1, "runs per scenario, each with a fresh server")
	url := fs.String("url", "", "benchmark a running server at this URL (default: start one per run, pinned to CPU 1, GOMAXPROCS=1)")
	pid := fs.Int("pid", 0, "the running server's PID, for CPU and RSS (with --url)")
	password := fs.String("password", "Bench-Password-2026", "the demo admin's password (LOTSE_BOOTSTRAP_ADMIN_PASSWORD of the server)")
	netns := fs.Bool("netns", true, "run inside a private network namespace (unshare -n) on "+benchNetnsAddr+", as the method asks; falls back to 127.0.0.1")
	addr := fs.String("addr", "", "address for the server and the clients' candidates (default: "+benchNetnsAddr+" in the namespace, else 127.0.0.1)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	var list []bench.Scenario
	for _, s := range strings.Split(*scenarios, ",") {
		sc, err := bench.ParseScenario(s)
		if err != nil {
			fmt.Fprintln(stderr, "lotse: --scenario:", err)
			return exitUsage
		}
		list = append(list, sc)
	}
	audio, vid := *mediaKind == "av" || *mediaKind == "audio", *mediaKind == "av" || *mediaKind == "video"
	if !audio && !vid {
		fmt.Fprintf(stderr, "lotse: --media: %q is not av, audio or video\n", *mediaKind)
		return exitUsage
	}
	if *video != "synthetic" && *video != "ivf" {
		fmt.Fprintf(stderr, "lotse: --video: %q is not synthetic or ivf\n", *video)
		return exitUsage
	}
	if *window < time.Second || *warmup < 0 || *late < 0 || *late > 1000 || *runs < 1 || *runs > 20 {
		fmt.Fprintln(stderr, "lotse: bench sfu: need --window ≥ 1s, --warmup ≥ 0, --late from 0 to 1000, --runs from 1 to 20")
		return exitUsage
	}
	if *netns && *url == "" && *addr == "" && os.Getenv(benchNetnsEnv) == "" {
		if code, ok := benchInNetns(ctx, "sfu", args, stdout, stderr); ok {
			return code
		}
		fmt.Fprintln(stdout, "note: unshare -n did not work here; measuring on 127.0.0.1 instead of a private namespace")
	}
	ip := *addr
	if ip == "" {
		ip = "127.0.0.1"
		if os.Getenv(benchNetnsEnv) != "" {
			ip = benchNetnsAddr
		}
	}
	candIP := net.ParseIP(ip)
	if candIP == nil {
		fmt.Fprintf(stderr, "lotse: --addr: %q is not an IP address\n", ip)
		return exitUsage
	}
	if cpus := allowedCPUs(); cpus != "0" {
		fmt.Fprintf(stdout, "note: the load generator may run on CPUs %q; pin it to CPU 0 (taskset -c 0 lotse bench sfu ...) so that it does not share the server's core\n", cpus)
	}
	mediaCfg := sfuclient.Config{LoopbackOnly: candIP.IsLoopback()}
	if !candIP.IsLoopback() {
		mediaCfg.Configure = func(se *webrtc.SettingEngine) {
			se.SetIPFilter(func(a net.IP) bool { return a.Equal(candIP) })
		}
	}
	where := "loopback " + ip
	if os.Getenv(benchNetnsEnv) != "" {
		where = "private network namespace, " + ip
	}
	videoDesc := "synthetic VP8 640x360 1.5 Mbit/s 30 fps with probes"
	if *video == "ivf" {
		videoDesc = "real VP8 640x360 ~1.5 Mbit/s (IVF loop)"
	}
	fmt.Fprintf(stdout, "bench sfu: %s; audio %v (Opus 50 pkt/s, 120 B), video %v (%s); warm-up %v, window %v, %d late joiners\n",
		where, audio, vid, videoDesc, *warmup, *window, *late)

	var done []sfuBenchRun
	for _, sc := range list {
		for run := 1; run <= *runs; run++ {
			name := fmt.Sprintf("%s run %d", sc, run)
			fmt.Fprintf(stderr, "%s: %d participants\n", name, sc.Participants())
			o := bench.SFUOptions{URL: *url, Password: *password, Scenario: sc, Audio: audio, Video: vid, RealVideo: *video == "ivf",
				Warmup: *warmup, Window: *window, LateJoiners: *late, ServerPID: *pid, Media: mediaCfg}
			res, err := runSFUBench(ctx, o, ip, stderr)
			if err != nil {
				fmt.Fprintf(stderr, "lotse: bench sfu %s: %v\n", name, err)
				printSFUTable(stdout, done)
				return exitFail
			}
			printSFUResult(stdout, name, res)
			done = append(done, sfuBenchRun{name, res})
		}
	}
	printSFUTable(stdout, done)
	return exitOK
}

// runSFUBench runs one scenario, against o.URL or a fresh server.
func runSFUBench(ctx context.Context, o bench.SFUOptions, ip string, stderr io.Writer) (*bench.SFUResult, error) {
	if o.URL != "" {
		return bench.RunSFU(ctx, o, stderr)
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "lotse-bench-sfu-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	cfg := filepath.Join(dir, "lotse.yaml")
	if err := os.WriteFile(cfg, []byte(sfuBenchYAML(ip, o.Scenario.Participants()+8)), 0o600); err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	srv, err := bench.StartServer(ctx, exe, data, []string{"LOTSE_BOOTSTRAP_ADMIN_PASSWORD=" + o.Password}, "1",
		"--config", cfg, "--listen", net.JoinHostPort(ip, "0"))
	if err != nil {
		return nil, err
	}
	defer srv.Stop()
	o.URL, o.ServerPID = srv.URL, srv.PID
	return bench.RunSFU(ctx, o, stderr)
}

// sfuBenchYAML is the server's configuration: SFU and TURN on kernel-chosen
// ports of ip only, loopback candidates when ip is loopback, and room for
// the scenario's participants.
func sfuBenchYAML(ip string, participants int) string {
	loop := net.ParseIP(ip).IsLoopback()
	return "turn:\n  listen_udp: " + net.JoinHostPort(ip, "0") + "\n  listen_tcp: " + net.JoinHostPort(ip, "0") +
		"\n  relay_port_min: 0\n  relay_port_max: 0\n" +
		"sfu:\n  listen_ip: " + ip + "\n  udp_port: 0\n  tcp_port: 0\n  loopback_candidates: " + strconv.FormatBool(loop) +
		"\n  max_participants_per_room: " + strconv.Itoa(max(16, participants)) + "\n" +
		"dev_bank_listen: " + net.JoinHostPort(ip, "0") + "\n"
}

// allowedCPUs is this process's Cpus_allowed_list ("" when unknown).
func allowedCPUs() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 1, 64) }

func printSFUResult(w io.Writer, name string, r *bench.SFUResult) {
	fmt.Fprintf(w, "\n%s: %d participants, %d published tracks, %d subscriptions, set up in %v\n", name,
		r.Scenario.Participants(), r.Tracks, r.Subscriptions, r.SetupTime.Round(time.Millisecond))
	fmt.Fprintf(w, "  forwarded          %.0f pkt/s (audio %.0f, video %.0f), %.1f Mbit/s (RTP payload + 12-byte header), over %v\n",
		r.PacketsPerSec, float64(r.Fwd.AudioPackets)/r.Window.Seconds(), float64(r.Fwd.VideoPacks)/r.Window.Seconds(), r.Mbps, r.Window.Round(time.Millisecond))
	deliv := "n/a (real video: publisher count not exact)"
	if r.DeliveryPct >= 0 {
		deliv = fmt.Sprintf("%.3f %% of what the publishers sent × subscribers", r.DeliveryPct)
	}
	fmt.Fprintf(w, "  loss               %.3f %% (RTP sequence gaps); delivered %s\n", r.LossPct, deliv)
	fmt.Fprintf(w, "  publishers sent    %.0f pkt/s in all (%d tracks); UDP receive-buffer drops/s: %.1f at the server, %.1f at the clients\n",
		r.SentPerSec, r.Tracks, r.UDPDropsServer, r.UDPDropsClients)
	if r.ServerCPU > 0 || r.RSSMiB > 0 {
		fmt.Fprintf(w, "  server CPU         %.1f %% of one core; %.2f µs per forwarded packet; %.2f CPU-s per forwarded Gbit\n",
			r.ServerCPU*100, float64(r.CPUPerPacket)/1e3, r.CPUSecPerGbit)
		fmt.Fprintf(w, "  server memory      RSS %.1f MiB (%.1f MiB fresh, before sign-in; %.2f MiB per participant); Go heap in use %.1f MiB (%.2f MiB per participant)\n",
			r.RSSMiB, r.BaseRSSMiB, r.RSSPerPartMiB, r.HeapMiB, r.HeapPerPartMiB)
	}
	if c := r.Server; c.Available {
		fmt.Fprintf(w, "  server counters    forwarded %.0f pkt/s; dropped %.1f/s (queue full %.1f, key-frame wait %.1f, write error %.1f); NACKs %.1f/s, PLIs %.1f/s, GC cycles %.1f/s\n",
			c.Forwarded, c.Dropped, c.DroppedQueue, c.DroppedKeyWait, c.DroppedWriteErr, c.NACKs, c.PLIs, c.GCs)
	}
	la, _ := os.ReadFile("/proc/loadavg")
	fmt.Fprintf(w, "  load generator     %.0f %% of one core (machine load average now: %s)\n", r.LoadCPU*100, strings.Join(strings.Fields(string(la))[:min(3, len(strings.Fields(string(la))))], " "))
	for _, l := range []struct {
		kind string
		l    bench.Latency
	}{{"audio", r.Audio}, {"video", r.Video}} {
		if l.l.MeasuredFromProbes {
			fmt.Fprintf(w, "  %s latency      p50 %s  p95 %s  p99 %s ms (worst track p99 %s ms; %d tracks, %d samples)\n", l.kind,
				ms(l.l.P50), ms(l.l.P95), ms(l.l.P99), ms(l.l.WorstP99), l.l.Tracks, l.l.Samples)
		}
	}
	j := r.Join
	fmt.Fprintf(w, "  join (late)        first packet p50 %s p95 %s ms; all %d tracks p50 %s p95 %s ms (%d joins, %d failed)\n",
		ms(j.FirstP50), ms(j.FirstP95), r.Tracks, ms(j.AllP50), ms(j.AllP95), j.N, j.Failed)
	if s := r.SetupJoin; s.N+s.Failed > 0 {
		fmt.Fprintf(w, "  join (during setup) first packet p50 %s p95 %s ms; all live tracks p50 %s p95 %s ms (%d joins, %d failed)\n",
			ms(s.FirstP50), ms(s.FirstP95), ms(s.AllP50), ms(s.AllP95), s.N, s.Failed)
	}
}

// printSFUTable prints the runs as Markdown rows for BENCHMARKS.md.
func printSFUTable(w io.Writer, runs []sfuBenchRun) {
	if len(runs) == 0 {
		return
	}
	fmt.Fprintln(w, "\n| run | fwd pkt/s | Mbit/s | loss | server CPU | µs/fwd pkt | CPU-s/fwd Gbit | audio lat p50/p95/p99 ms | video lat p50/p95/p99 ms | join p50/p95 ms | RSS MiB | RSS/participant MiB |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|")
	lat := func(l bench.Latency) string {
		if !l.MeasuredFromProbes {
			return "–"
		}
		return ms(l.P50) + " / " + ms(l.P95) + " / " + ms(l.P99)
	}
	for _, r := range runs {
		x := r.res
		fmt.Fprintf(w, "| %s | %.0f | %.1f | %.2f %% | %.1f %% | %.1f | %.2f | %s | %s | %s / %s | %.0f | %.2f |\n",
			r.name, x.PacketsPerSec, x.Mbps, x.LossPct, x.ServerCPU*100, float64(x.CPUPerPacket)/1e3, x.CPUSecPerGbit,
			lat(x.Audio), lat(x.Video), ms(x.Join.FirstP50), ms(x.Join.FirstP95), x.RSSMiB, x.RSSPerPartMiB)
	}
}
