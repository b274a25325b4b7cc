package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/lotse-io/lotse/internal/bench"
)

func init() {
	benchmarks["signal"] = benchmark{summary: "N participants in M conversations exchanging chat: messages/s, latency, memory per connection", run: benchSignal}
}

func benchSignal(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench signal", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "", "benchmark a running server at this URL (default: start one, pinned to CPU 1)")
	password := fs.String("password", "Bench-Password-2026", "the demo admin's password (LOTSE_BOOTSTRAP_ADMIN_PASSWORD of the server)")
	pid := fs.Int("pid", 0, "the running server's PID, to measure its RSS and CPU (with --url)")
	convs := fs.Int("conversations", 50, "conversations")
	parts := fs.Int("participants", 500, "participants in all, one advisor per conversation")
	rate := fs.Float64("rate", 1, "chat messages per second per participant")
	dur := fs.Duration("duration", 20*time.Second, "length of the chat phase")
	settle := fs.Duration("settle", 35*time.Second, "idle time before each memory sample (longer than the 30 s resume window)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if *convs < 1 || *parts < 2**convs || *rate <= 0 || *dur < time.Second {
		fmt.Fprintln(stderr, "lotse bench signal: need ≥ 2 participants per conversation, rate > 0, duration ≥ 1s")
		return exitUsage
	}
	base, serverPID := *url, *pid
	if base == "" {
		exe, err := os.Executable()
		if err != nil {
			fmt.Fprintln(stderr, "lotse bench signal:", err)
			return exitFail
		}
		dir, err := os.MkdirTemp("", "lotse-bench-")
		if err != nil {
			fmt.Fprintln(stderr, "lotse bench signal:", err)
			return exitFail
		}
		defer os.RemoveAll(dir)
		srv, err := bench.StartServer(ctx, exe, dir, []string{"LOTSE_BOOTSTRAP_ADMIN_PASSWORD=" + *password}, "1")
		if err != nil {
			fmt.Fprintln(stderr, "lotse bench signal:", err)
			return exitFail
		}
		defer srv.Stop()
		base, serverPID = srv.URL, srv.PID
	}
	res, err := bench.RunSignal(ctx, bench.SignalOptions{URL: base, Password: *password, Conversations: *convs, Participants: *parts,
		ChatRate: *rate, Duration: *dur, ServerPID: serverPID, Settle: *settle}, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "lotse bench signal:", err)
		return exitFail
	}
	fmt.Fprintf(stdout, "connections            %d (%d conversations), set up in %v\n", res.Connections, *convs, res.SetupTime.Round(time.Millisecond))
	fmt.Fprintf(stdout, "chat sent              %.0f msg/s (%.1f per participant)\n", res.SentPerSec, *rate)
	fmt.Fprintf(stdout, "chat delivered         %.0f msg/s, lost %d, protocol errors %d, clients disconnected %d\n", res.DeliveredPerSec, res.Lost, res.ProtocolErrors, res.Disconnected)
	fmt.Fprintf(stdout, "delivery latency       p50 %v  p99 %v\n", res.LatencyP50.Round(10*time.Microsecond), res.LatencyP99.Round(10*time.Microsecond))
	if serverPID > 0 {
		fmt.Fprintf(stdout, "server CPU             %.0f %% of one core during the chat phase\n", res.ServerCPU*100)
		fmt.Fprintf(stdout, "server RSS             %.1f MiB with all connections idle; %.1f KiB per added idle connection\n", res.BaselineRSSMiB, res.IdleRSSPerConnKB)
	}
	return exitOK
}
