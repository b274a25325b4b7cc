package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/lotse-io/lotse/internal/buildinfo"
	"github.com/lotse-io/lotse/internal/config"
	"github.com/lotse-io/lotse/internal/logging"
	"github.com/lotse-io/lotse/internal/node"
)

// proceed is the "no exit yet" result of configFlags.load.
const proceed = -1

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, code := newConfigFlags("serve", stderr).load(args, stderr)
	if code != proceed {
		return code
	}
	log, err := logging.New(stdout, cfg.Log.Level, cfg.Log.Format)
	if err != nil {
		fmt.Fprintln(stderr, "lotse:", err)
		return exitUsage
	}
	log.Info().Str("version", buildinfo.Version()).Str("commit", buildinfo.Commit()).
		Str("data_dir", cfg.DataDir).Bool("dev", cfg.Dev).Msg("starting")

	l, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		fmt.Fprintf(stderr, "lotse: listen on %s: %v\n", cfg.Listen, err)
		return exitFail
	}
	if cfg.PublicURLDerived {
		// With port 0 the kernel chose the port; say the real one.
		if _, port, _ := net.SplitHostPort(cfg.Listen); port == "0" {
			_, real, _ := net.SplitHostPort(l.Addr().String())
			p, _ := strconv.Atoi(real)
			cfg.SetListenPort(p)
		}
	}

	// The first SIGINT/SIGTERM drains; a second one exits at once.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		select {
		case s := <-sigs:
			log.Info().Str("signal", s.String()).Msg("shutting down; send again to force")
			cancel()
		case <-ctx.Done():
			return
		}
		if s, ok := <-sigs; ok {
			log.Warn().Str("signal", s.String()).Msg("forced exit")
			os.Exit(exitFail)
		}
	}()

	n, err := node.New(ctx, cfg, node.Deps{Log: log, Out: stdout})
	if err != nil {
		l.Close()
		var ce *config.Error
		if errors.As(err, &ce) {
			fmt.Fprintln(stderr, "lotse:", err)
			return exitUsage
		}
		log.Error().Err(err).Msg("start failed")
		return exitFail
	}
	if err := n.Run(ctx, l); err != nil {
		log.Error().Err(err).Msg("stopped with error")
		return exitFail
	}
	return exitOK
}

func cmdConfigPrint(args []string, stdout, stderr io.Writer) int {
	cfg, code := newConfigFlags("config print", stderr).load(args, stderr)
	if code != proceed {
		return code
	}
	out, err := cfg.Print()
	if err != nil {
		fmt.Fprintln(stderr, "lotse:", err)
		return exitFail
	}
	_, _ = stdout.Write(out)
	return exitOK
}

func cmdVersion(stdout io.Writer) int {
	fmt.Fprintf(stdout, "lotse %s (commit %s, %s)\n", buildinfo.Version(), buildinfo.Commit(), buildinfo.GoVersion())
	return exitOK
}
