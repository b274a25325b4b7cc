package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lotse-io/lotse/internal/bench"
	"github.com/lotse-io/lotse/turn"
)

func init() {
	benchmarks["turn"] = benchmark{
		summary: "relayed packets/s and CPU per relayed packet, our relay vs coturn, same turnutils_uclient load",
		run:     benchTurn,
	}
}

// The private network the method prescribes (a veth pair inside
// `unshare -n`, TEST-NET-1 address), and the marker that we are inside.
const (
	benchNetnsAddr = "192.0.2.10"
	benchNetnsEnv  = "LOTSE_BENCH_IN_NETNS"
	benchPayload   = 170 // bytes per message, as in BENCHMARKS-METHOD.md
)

type turnBenchOpts struct {
	addr              string
	fixed             int
	saturation        []int
	warmup, window    time.Duration
	servers           []string
	pinned            bool
	uclient, peer, ts string // tool paths
	self              string
	secret            string
	workdir           string
	stdout, stderr    io.Writer
}

// turnResult is one measured window.
type turnResult struct {
	server    string
	clients   int
	offered   float64 // messages/s the clients sent
	relayed   float64 // relayed packets/s (2 per echoed message)
	loss      float64
	cpu       float64 // server CPU share (1 = one core)
	cpuPerPkt time.Duration
	rss       int64
	exactPPS  float64 // our relay's own counter, for cross-checking (0 for coturn)
	// UDP datagrams/s the kernel dropped for full receive buffers, at the
	// server's sockets, at the echoing peer and at uclient's.
	dropsServer, dropsPeer, dropsClient float64
	windowSecs                          float64
}

func benchTurn(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench turn", flag.ContinueOnError)
	fs.SetOutput(stderr)
	netns := fs.Bool("netns", true, "run inside a private network namespace (unshare -n) on "+benchNetnsAddr+", as the method asks; falls back to 127.0.0.1")
	addr := fs.String("addr", "", "address to bind everything to (default: "+benchNetnsAddr+" in the namespace, else 127.0.0.1)")
	fixed := fs.Int("clients", 10, "clients for the fixed-load measurement (CPU per relayed packet)")
	sat := fs.String("saturation", "60,100", "comma-separated client counts for the saturation measurements")
	warmup := fs.Duration("warmup", 5*time.Second, "warm-up after the first messages (uclient ramps up over a few seconds)")
	window := fs.Duration("window", 5*time.Second, "measurement window per run (the method uses 30s)")
	servers := fs.String("servers", "lotse,coturn", "servers to measure: lotse, coturn")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	o := turnBenchOpts{addr: *addr, fixed: *fixed, warmup: *warmup, window: *window, stdout: stdout, stderr: stderr}
	for _, s := range strings.Split(*sat, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > 500 {
			fmt.Fprintf(stderr, "lotse: --saturation: %q is not a client count from 1 to 500\n", s)
			return exitUsage
		}
		o.saturation = append(o.saturation, n)
	}
	if o.fixed < 1 || o.fixed > 500 {
		fmt.Fprintln(stderr, "lotse: --clients: from 1 to 500")
		return exitUsage
	}
	for _, s := range strings.Split(*servers, ",") {
		if s != "lotse" && s != "coturn" {
			fmt.Fprintf(stderr, "lotse: --servers: %q is not lotse or coturn\n", s)
			return exitUsage
		}
		o.servers = append(o.servers, s)
	}

	// Re-run ourselves inside a private network namespace, so that no
	// packet can leave the machine.
	if *netns && os.Getenv(benchNetnsEnv) == "" && *addr == "" {
		code, ok := benchInNetns(ctx, "turn", args, stdout, stderr)
		if ok {
			return code
		}
		fmt.Fprintln(stdout, "note: unshare -n did not work here; measuring on 127.0.0.1 instead of a private namespace")
	}
	if o.addr == "" {
		o.addr = "127.0.0.1"
		if os.Getenv(benchNetnsEnv) != "" {
			o.addr = benchNetnsAddr
		}
	}

	var err error
	if o.self, err = os.Executable(); err != nil {
		fmt.Fprintln(stderr, "lotse:", err)
		return exitFail
	}
	for _, tool := range []struct {
		name string
		dst  *string
	}{{"turnutils_uclient", &o.uclient}, {"turnutils_peer", &o.peer}, {"turnserver", &o.ts}} {
		p, err := exec.LookPath(tool.name)
		if err != nil && (tool.name != "turnserver" || contains(o.servers, "coturn")) {
			fmt.Fprintf(stderr, "lotse: bench turn needs %s (Debian package coturn)\n", tool.name)
			return exitFail
		}
		*tool.dst = p
	}
	_, err = exec.LookPath("taskset")
	o.pinned = err == nil
	if o.workdir, err = os.MkdirTemp("", "lotse-bench-turn-"); err != nil {
		fmt.Fprintln(stderr, "lotse:", err)
		return exitFail
	}
	defer os.RemoveAll(o.workdir)
	o.secret = "bench-secret-" + strconv.FormatInt(time.Now().UnixNano(), 36)

	results, err := runTurnBench(ctx, &o)
	printTurnResults(stdout, &o, results)
	if err != nil {
		fmt.Fprintln(stderr, "lotse: bench turn:", err)
		return exitFail
	}
	return exitOK
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// benchInNetns runs `lotse bench <plane> args...` again inside `unshare -n`
// with the veth pair of the method. ok is false if the namespace could not
// be made.
func benchInNetns(ctx context.Context, plane string, args []string, stdout, stderr io.Writer) (int, bool) {
	self, err := os.Executable()
	if err != nil {
		return 0, false
	}
	if err := exec.CommandContext(ctx, "unshare", "-n", "true").Run(); err != nil {
		return 0, false
	}
	script := "ip link set lo up && ip link add v0 type veth peer name v1 && ip addr add " + benchNetnsAddr +
		"/24 dev v0 && ip link set v0 up && ip link set v1 up && exec \"$0\" \"$@\""
	cmd := exec.CommandContext(ctx, "unshare", append([]string{"-n", "sh", "-c", script, self, "bench", plane}, args...)...)
	cmd.Env = append(os.Environ(), benchNetnsEnv+"=1")
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return exitOK, true
	case errors.As(err, &ee):
		return ee.ExitCode(), true
	}
	return 0, false
}

// freePort returns a UDP port on addr that was free a moment ago.
func freePort(addr string) (int, error) {
	c, err := net.ListenPacket("udp4", net.JoinHostPort(addr, "0"))
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}

// pinnedCmd runs name on cpu when taskset is there.
func (o *turnBenchOpts) pinnedCmd(ctx context.Context, cpu string, name string, args ...string) *exec.Cmd {
	if o.pinned {
		return exec.CommandContext(ctx, "taskset", append([]string{"-c", cpu, name}, args...)...)
	}
	return exec.CommandContext(ctx, name, args...)
}

// benchServer is a relay under test, running as its own process.
type benchServer struct {
	name       string
	cmd        *exec.Cmd
	port       int
	metricsURL string // ours only
}

// relayPorts is the server's relay port range (as configured below).
func (s *benchServer) relayPorts() (uint16, uint16) {
	if s.name == "lotse" {
		return 50000, 54999
	}
	return 55000, 59999
}

func (s *benchServer) stop() {
	s.cmd.Process.Kill()
	s.cmd.Wait()
}

func (o *turnBenchOpts) startServer(ctx context.Context, name string) (*benchServer, error) {
	port, err := freePort(o.addr)
	if err != nil {
		return nil, err
	}
	s := &benchServer{name: name, port: port}
	listen := net.JoinHostPort(o.addr, strconv.Itoa(port))
	switch name {
	case "lotse":
		secretFile := filepath.Join(o.workdir, "turn-secret")
		if err := os.WriteFile(secretFile, []byte(o.secret), 0o600); err != nil {
			return nil, err
		}
		mport, err := freePort(o.addr)
		if err != nil {
			return nil, err
		}
		s.metricsURL = "http://" + net.JoinHostPort(o.addr, strconv.Itoa(mport)) + "/metrics"
		s.cmd = o.pinnedCmd(ctx, "1", o.self, "turn", "--listen", listen, "--auth-secret-file", secretFile,
			"--relay-ip", o.addr, "--relay-ports", "50000-54999", "--allow-peer", o.addr+"/32",
			"--max-allocations-per-user", "100000", "--max-allocations", "100000", "--bandwidth", "1000000000",
			"--metrics-listen", net.JoinHostPort(o.addr, strconv.Itoa(mport)),
			"--log-level", "warn", "--log-format", "json", "--drain-timeout", "0s")
		s.cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	case "coturn":
		// The equivalent configuration: REST credentials with the same
		// secret and realm, this address only, no TLS/DTLS, a relay range.
		args := []string{"-n", "--listening-ip=" + o.addr, "--listening-port=" + strconv.Itoa(port),
			"--relay-ip=" + o.addr, "--use-auth-secret", "--static-auth-secret=" + o.secret, "--realm=lotse",
			"--no-tls", "--no-dtls", "--no-cli", "--min-port=55000", "--max-port=59999",
			"--pidfile=" + filepath.Join(o.workdir, "turnserver.pid"), "--log-file=stdout", "--simple-log"}
		if o.addr == "127.0.0.1" {
			args = append(args, "--allow-loopback-peers")
		}
		s.cmd = o.pinnedCmd(ctx, "1", o.ts, args...)
	}
	s.cmd.Stdout, s.cmd.Stderr = io.Discard, io.Discard
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	// Ready when it answers a STUN Binding request.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := probeBinding(listen); err == nil {
			return s, nil
		} else if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("%s did not answer on %s: %v", name, listen, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// probeBinding sends one STUN Binding request (RFC 8489); any answer
// means the server is up.
func probeBinding(addr string) error {
	c, err := net.Dial("udp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	req := []byte{0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	if _, err := c.Write(req); err != nil {
		return err
	}
	c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	_, err = c.Read(make([]byte, 512))
	return err
}

func runTurnBench(ctx context.Context, o *turnBenchOpts) ([]turnResult, error) {
	peerPort, err := freePort(o.addr)
	if err != nil {
		return nil, err
	}
	peer := o.pinnedCmd(ctx, "0", o.peer, "-L", o.addr, "-p", strconv.Itoa(peerPort))
	peer.Stdout, peer.Stderr = io.Discard, io.Discard
	if err := peer.Start(); err != nil {
		return nil, err
	}
	defer func() {
		peer.Process.Kill()
		peer.Wait()
	}()
	servers := map[string]*benchServer{}
	defer func() {
		for _, s := range servers {
			s.stop()
		}
	}()
	for _, name := range o.servers {
		s, err := o.startServer(ctx, name)
		if err != nil {
			return nil, err
		}
		servers[name] = s
	}
	var results []turnResult
	for _, clients := range append([]int{o.fixed}, o.saturation...) {
		for _, name := range o.servers {
			fmt.Fprintf(o.stderr, "bench turn: %s, %d clients ...\n", name, clients)
			r, err := o.runLoad(ctx, servers[name], peerPort, clients)
			if err != nil {
				return results, fmt.Errorf("%s with %d clients: %w", name, clients, err)
			}
			results = append(results, r)
		}
	}
	return results, nil
}

// runLoad runs turnutils_uclient with clients clients against s and
// measures one window after the warm-up.
func (o *turnBenchOpts) runLoad(ctx context.Context, s *benchServer, peerPort, clients int) (turnResult, error) {
	r := turnResult{server: s.name, clients: clients}
	ctx, cancel := context.WithTimeout(ctx, o.warmup+o.window+40*time.Second)
	defer cancel()
	user, pass := turn.RESTCredentials([]byte(o.secret), "bench", time.Now().Add(30*time.Minute))
	msgs := int((o.warmup + o.window + 20*time.Second) / time.Millisecond)
	uc := o.pinnedCmd(ctx, "0", o.uclient, "-u", user, "-w", pass, "-e", o.addr, "-r", strconv.Itoa(peerPort),
		"-n", strconv.Itoa(msgs), "-m", strconv.Itoa(clients), "-c", "-l", strconv.Itoa(benchPayload), "-z", "1",
		"-p", strconv.Itoa(s.port), o.addr)
	out, err := uc.StdoutPipe()
	if err != nil {
		return r, err
	}
	uc.Stderr = uc.Stdout
	if err := uc.Start(); err != nil {
		return r, err
	}
	defer func() {
		uc.Process.Kill()
		uc.Wait()
	}()
	type sample struct {
		at    time.Time
		p     bench.UclientProgress
		proc  bench.ProcSample
		exact float64
		drops map[uint16]int64
	}
	var first time.Time
	var start *sample
	var tail []string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		tail = append(tail[max(0, len(tail)-5):], line)
		p, ok := bench.ParseUclientProgress(line)
		if !ok {
			continue
		}
		now := time.Now()
		if p.Sent == 0 {
			continue
		}
		if first.IsZero() {
			first = now
		}
		if now.Sub(first) < o.warmup {
			continue
		}
		proc, err := bench.ReadProc(s.cmd.Process.Pid)
		if err != nil {
			return r, err
		}
		cur := sample{at: now, p: p, proc: proc}
		cur.drops, _ = bench.UDPDropsByPort()
		if s.metricsURL != "" {
			cur.exact = scrapeRelayed(s.metricsURL)
		}
		if start == nil {
			start = &cur
			continue
		}
		if now.Sub(start.at) < o.window {
			continue
		}
		wall := cur.at.Sub(start.at).Seconds()
		sent, recv := float64(cur.p.Sent-start.p.Sent), float64(cur.p.Recv-start.p.Recv)
		r.windowSecs = wall
		r.offered = sent / wall
		r.relayed = 2 * recv / wall
		if sent > 0 {
			r.loss = max(0, 1-recv/sent)
		}
		r.cpu = bench.CPUShare(start.proc, cur.proc)
		if recv > 0 {
			r.cpuPerPkt = time.Duration(float64(cur.proc.CPU-start.proc.CPU) / (2 * recv))
		}
		r.rss = cur.proc.RSSByte
		lo, hi := s.relayPorts()
		for port, d := range cur.drops {
			d -= start.drops[port]
			switch {
			case int(port) == s.port || port >= lo && port <= hi:
				r.dropsServer += float64(d) / wall
			case int(port) == peerPort:
				r.dropsPeer += float64(d) / wall
			default:
				r.dropsClient += float64(d) / wall
			}
		}
		if s.metricsURL != "" {
			r.exactPPS = (cur.exact - start.exact) / wall
		}
		return r, nil
	}
	return r, fmt.Errorf("turnutils_uclient ended before the window was complete:\n%s", strings.Join(tail, "\n"))
}

// scrapeRelayed reads lotse_turn_relayed_packets_total (both directions)
// from our relay's metrics endpoint.
func scrapeRelayed(url string) float64 {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "lotse_turn_relayed_packets_total{") {
			f := strings.Fields(line)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			sum += v
		}
	}
	return sum
}

func printTurnResults(w io.Writer, o *turnBenchOpts, rs []turnResult) {
	where := "127.0.0.1 (loopback, no private namespace)"
	if o.addr == benchNetnsAddr {
		where = benchNetnsAddr + " inside a private network namespace (unshare -n, veth)"
	}
	pin := "server on CPU 1 (taskset -c 1, GOMAXPROCS=1 for lotse), uclient and peer on CPU 0"
	if !o.pinned {
		pin = "no taskset: processes not pinned"
	}
	fmt.Fprintf(w, "lotse bench turn: turnutils_uclient → relay → turnutils_peer (echo) → relay → uclient\n")
	fmt.Fprintf(w, "  %d-byte payloads, 1 message/ms per client; %s\n  %s; window %v after %v warm-up\n\n",
		benchPayload, where, pin, o.window, o.warmup)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "server\tclients\toffered msg/s\trelayed pkt/s\tMbit/s\tloss\tserver CPU\tCPU/relayed pkt\tCPU s/Gbit\tRSS MiB\tcounter pkt/s\tdrops/s server/peer/uclient\t")
	for _, r := range rs {
		mbps := r.relayed * benchPayload * 8 / 1e6
		perGbit := 0.0
		if mbps > 0 {
			perGbit = r.cpu / (mbps / 1000)
		}
		exact := "-"
		if r.exactPPS > 0 {
			exact = fmt.Sprintf("%.0f", r.exactPPS)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%.0f\t%.1f\t%.2f%%\t%.1f%%\t%.2f µs\t%.1f\t%.0f\t%s\t%.0f/%.0f/%.0f\t\n",
			r.server, r.clients, r.offered, r.relayed, mbps, 100*r.loss, 100*r.cpu,
			float64(r.cpuPerPkt)/float64(time.Microsecond), perGbit, float64(r.rss)/(1<<20), exact,
			r.dropsServer, r.dropsPeer, r.dropsClient)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nrelayed pkt/s = 2 × messages echoed back per second (client→peer and peer→client legs);")
	fmt.Fprintln(w, "Mbit/s counts relayed payload; counter pkt/s is our relay's own lotse_turn_relayed_packets_total;")
	fmt.Fprintln(w, "drops/s are UDP receive-buffer overflows (/proc/net/udp) at the server's sockets, the peer's and uclient's.")
	byKey := map[string]turnResult{}
	for _, r := range rs {
		byKey[fmt.Sprintf("%s/%d", r.server, r.clients)] = r
	}
	for _, n := range append([]int{o.fixed}, o.saturation...) {
		l, ok1 := byKey[fmt.Sprintf("lotse/%d", n)]
		c, ok2 := byKey[fmt.Sprintf("coturn/%d", n)]
		if !ok1 || !ok2 || c.relayed == 0 || c.cpuPerPkt == 0 {
			continue
		}
		fmt.Fprintf(w, "ratio lotse/coturn at %d clients: relayed pkt/s %.2f×, CPU per relayed packet %.2f×\n",
			n, l.relayed/c.relayed, float64(l.cpuPerPkt)/float64(c.cpuPerPkt))
	}
}
