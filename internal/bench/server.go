package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Server is a `lotse serve` child process started for a benchmark, pinned
// to one CPU when taskset is available (the method's "server on CPU 1").
type Server struct {
	Cmd  *exec.Cmd
	URL  string
	PID  int
	done chan struct{}
}

// StartServer runs the lotse binary exe as `serve` with a temp data dir,
// the given extra args and env, and waits for it to listen.
func StartServer(ctx context.Context, exe, dataDir string, env []string, cpu string, args ...string) (*Server, error) {
	argv := append([]string{exe, "serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--log-format", "json", "--log-level", "warn"}, args...)
	if cpu != "" {
		if ts, err := exec.LookPath("taskset"); err == nil {
			argv = append([]string{ts, "-c", cpu}, argv...)
		}
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Env = append(cmd.Env, "GOMAXPROCS=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &Server{Cmd: cmd, PID: cmd.Process.Pid, done: make(chan struct{})}
	urlc := make(chan string, 1)
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			// The first-run banner names the console URL (the data dir is
			// always fresh here); the "listening" log line does too, at
			// info level.
			line := sc.Text()
			url := ""
			var ev struct{ Message, Console string }
			if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.Message == "listening" {
				url = ev.Console
			} else if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "Console:"); ok {
				url = strings.TrimSpace(rest)
			}
			if url != "" {
				select {
				case urlc <- strings.TrimSuffix(url, "/console"):
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case s.URL = <-urlc:
		return s, nil
	case <-s.done:
		return nil, fmt.Errorf("lotse serve exited before listening")
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		return nil, fmt.Errorf("lotse serve did not listen within 60 s")
	}
}

// Stop ends the server (SIGTERM, then kill after 10 s).
func (s *Server) Stop() {
	_ = s.Cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.Cmd.Process.Kill()
		<-s.done
	}
	_ = s.Cmd.Wait()
}
