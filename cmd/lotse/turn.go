package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lotse-io/lotse/internal/buildinfo"
	"github.com/lotse-io/lotse/internal/config"
	"github.com/lotse-io/lotse/internal/logging"
	"github.com/lotse-io/lotse/internal/secret"
	"github.com/lotse-io/lotse/turn"
)

func init() {
	commands["turn"] = command{
		usage: "turn           run only the TURN relay (DMZ): lotse turn --listen ADDR --auth-secret-file FILE",
		run:   cmdTurn,
	}
}

// turnFlagOf maps turn.ConfigError keys to the flags that set them.
var turnFlagOf = map[string]string{
	"listen_udp": "--listen", "listen_tcp": "--listen", "listen_tls": "--tls-listen",
	"cert_file": "--cert-file", "key_file": "--key-file", "realm": "--realm",
	"public_ip": "--public-ip", "relay_ip": "--relay-ip", "relay_ipv6": "--relay-ipv6",
	"relay_port_min": "--relay-ports", "relay_port_max": "--relay-ports",
	"secret": "LOTSE_TURN_SECRET", "secret_file": "--auth-secret-file",
	"max_allocations_per_user": "--max-allocations-per-user", "max_allocations": "--max-allocations",
	"max_connections": "--max-connections", "bandwidth_per_allocation": "--bandwidth",
	"allocation_lifetime": "--allocation-lifetime", "allow_peers": "--allow-peer", "deny_peers": "--deny-peer",
}

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

const turnUsage = `Usage: lotse turn --listen ADDR --auth-secret-file FILE [flags]

Runs only the TURN relay, for a DMZ host: same credentials (REST scheme,
shared secret with lotse serve), listeners and peer guard as the relay
embedded in lotse serve. The shared secret comes from --auth-secret-file
(mode 0600) or LOTSE_TURN_SECRET. See docs/turn.md.

Flags:
`

func cmdTurn(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	cfg := turn.DefaultConfig()
	cfg.Enabled = true
	fs := flag.NewFlagSet("turn", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, turnUsage)
		fs.PrintDefaults()
	}
	listen := fs.String("listen", "0.0.0.0:3478", "UDP and TCP listen address ip:port (port 0: any free port)")
	fs.StringVar(&cfg.ListenTLS, "tls-listen", cfg.ListenTLS, "TLS (turns:) listen address, used with --cert-file and --key-file")
	fs.StringVar(&cfg.CertFile, "cert-file", "", "TLS certificate chain (PEM)")
	fs.StringVar(&cfg.KeyFile, "key-file", "", "TLS private key (PEM, mode 0600)")
	secretFile := fs.String("auth-secret-file", "", "file with the shared secret (mode 0600); or set LOTSE_TURN_SECRET")
	fs.StringVar(&cfg.Realm, "realm", cfg.Realm, "credential realm")
	fs.StringVar(&cfg.PublicIP, "public-ip", "", "IPv4 address clients reach the relay at (needed when it binds 0.0.0.0 or sits behind 1:1 NAT)")
	fs.StringVar(&cfg.RelayIP, "relay-ip", "", "IPv4 address relay sockets bind to (default: the --listen host)")
	fs.StringVar(&cfg.RelayIPv6, "relay-ipv6", "", "IPv6 address for IPv6 relay allocations (default: none)")
	ports := fs.String("relay-ports", fmt.Sprintf("%d-%d", cfg.RelayPortMin, cfg.RelayPortMax), "relay port range MIN-MAX (0-0: kernel-chosen)")
	var allow, deny listFlag
	fs.Var(&allow, "allow-peer", "peer the relay may reach, e.g. the SFU's media address: CIDR, IP or ip:port (repeatable); loopback, private and other special ranges only if the entry lies inside them")
	fs.Var(&deny, "deny-peer", "CIDR or IP the relay never reaches (repeatable; wins over --allow-peer)")
	fs.IntVar(&cfg.MaxAllocationsPerUser, "max-allocations-per-user", cfg.MaxAllocationsPerUser, "live allocations per participant (the next gets 486)")
	fs.IntVar(&cfg.MaxAllocations, "max-allocations", cfg.MaxAllocations, "live allocations of this relay")
	fs.IntVar(&cfg.MaxConnections, "max-connections", cfg.MaxConnections, "concurrent TCP and TLS client connections")
	fs.Int64Var(&cfg.BandwidthPerAllocation, "bandwidth", cfg.BandwidthPerAllocation, "bytes per second one allocation may relay")
	fs.DurationVar(&cfg.AllocationLifetime, "allocation-lifetime", cfg.AllocationLifetime, "default allocation lifetime (1m to 1h)")
	metricsListen := fs.String("metrics-listen", "", "serve /metrics and /healthz on this address (e.g. 127.0.0.1:9478)")
	drain := fs.Duration("drain-timeout", 5*time.Second, "after SIGTERM, how long existing allocations may go on")
	logLevel := fs.String("log-level", "info", "trace, debug, info, warn or error")
	logFormat := fs.String("log-format", "auto", "auto, json or console")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "lotse: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	usageErr := func(flag, msg string) int {
		fmt.Fprintf(stderr, "lotse: %s: %s\n", flag, msg)
		return exitUsage
	}
	cfg.ListenUDP, cfg.ListenTCP = *listen, *listen
	if cfg.CertFile == "" {
		cfg.ListenTLS = ""
	}
	lo, hi, ok := strings.Cut(*ports, "-")
	pmin, err1 := strconv.ParseUint(lo, 10, 16)
	pmax, err2 := strconv.ParseUint(hi, 10, 16)
	if !ok || err1 != nil || err2 != nil {
		return usageErr("--relay-ports", fmt.Sprintf("%q is not MIN-MAX, e.g. 49152-65535", *ports))
	}
	cfg.RelayPortMin, cfg.RelayPortMax = uint16(pmin), uint16(pmax)
	cfg.AllowPeers, cfg.DenyPeers = allow, deny
	switch {
	case *secretFile != "":
		s, err := secret.ReadFile(*secretFile)
		if err != nil {
			return usageErr("--auth-secret-file", err.Error())
		}
		cfg.Secret = s
	case os.Getenv("LOTSE_TURN_SECRET") != "":
		cfg.Secret = config.Secret(os.Getenv("LOTSE_TURN_SECRET"))
	default:
		return usageErr("--auth-secret-file", "required (or set LOTSE_TURN_SECRET)")
	}
	if err := cfg.Validate(); err != nil {
		var ce *turn.ConfigError
		if errors.As(err, &ce) {
			key, _, _ := strings.Cut(ce.Key, "[")
			if f, ok := turnFlagOf[key]; ok {
				if key == "secret" && *secretFile != "" {
					f = "--auth-secret-file"
				}
				return usageErr(f, ce.Msg)
			}
		}
		fmt.Fprintln(stderr, "lotse:", err)
		return exitUsage
	}
	if *drain < 0 {
		return usageErr("--drain-timeout", "must not be negative")
	}

	log, err := logging.New(stdout, *logLevel, *logFormat)
	if err != nil {
		return usageErr("--log-level", err.Error())
	}
	log.Info().Str("version", buildinfo.Version()).Str("commit", buildinfo.Commit()).Msg("starting turn relay")

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	srv, err := turn.New(cfg, turn.Deps{Log: log, Registerer: reg})
	if err != nil {
		fmt.Fprintln(stderr, "lotse:", err)
		return exitUsage
	}

	var metricsSrv *http.Server
	metricsDone := make(chan error, 1)
	if *metricsListen != "" {
		l, err := net.Listen("tcp", *metricsListen)
		if err != nil {
			fmt.Fprintf(stderr, "lotse: --metrics-listen: %v\n", err)
			return exitFail
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
		mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"status":"ok"}`)
		})
		metricsSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() { metricsDone <- metricsSrv.Serve(l) }()
		log.Info().Str("addr", l.Addr().String()).Msg("metrics listening")
	}

	if err := srv.Start(ctx); err != nil {
		if metricsSrv != nil {
			metricsSrv.Close()
			<-metricsDone
		}
		log.Error().Err(err).Msg("start failed")
		var ce *turn.ConfigError
		if errors.As(err, &ce) {
			return exitUsage
		}
		return exitFail
	}

	// The first SIGINT/SIGTERM drains; a second one exits at once.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	select {
	case s := <-sigs:
		log.Info().Str("signal", s.String()).Dur("drain_timeout", *drain).Msg("shutting down; send again to force")
	case <-ctx.Done():
	}
	srv.Drain()
	deadline := time.NewTimer(*drain)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for srv.AllocationCount() > 0 {
		select {
		case s := <-sigs:
			log.Warn().Str("signal", s.String()).Msg("forced exit")
			return exitFail
		case <-deadline.C:
			log.Info().Int("allocations", srv.AllocationCount()).Msg("drain timeout; closing the remaining allocations")
		case <-tick.C:
			continue
		}
		break
	}
	closed := make(chan error, 1)
	go func() { closed <- srv.Close() }()
	select {
	case err = <-closed:
	case s := <-sigs:
		log.Warn().Str("signal", s.String()).Msg("forced exit")
		return exitFail
	}
	if metricsSrv != nil {
		metricsSrv.Close()
		<-metricsDone
	}
	if err != nil {
		log.Error().Err(err).Msg("stopped with error")
		return exitFail
	}
	return exitOK
}
