package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	pionturn "github.com/pion/turn/v5"

	"github.com/lotse-io/lotse/turn"
)

const turnTestSecret = "cmd-test-secret-0123456789"

// turnProc is a `lotse turn` process.
type turnProc struct {
	cmd       *exec.Cmd
	udp, tcp  string // listener addresses from the "turn listening" log line
	metrics   string // from "metrics listening"
	done      chan struct{}
	mu        sync.Mutex // guards out
	out       strings.Builder
	errOutput strings.Builder
}

func (p *turnProc) stdout() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// startTurn runs `lotse turn` with args and waits until it listens.
func startTurn(t *testing.T, env []string, args ...string) *turnProc {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"turn", "--log-format", "json"}, args...)...)
	cmd.Env = append(cleanEnv(), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &turnProc{cmd: cmd, done: make(chan struct{})}
	cmd.Stderr = &p.errOutput
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stdout)
		var once sync.Once
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.out.WriteString(line + "\n")
			p.mu.Unlock()
			var ev struct{ Message, UDP, TCP, Addr string }
			if json.Unmarshal([]byte(line), &ev) != nil {
				continue
			}
			switch ev.Message {
			case "metrics listening":
				p.metrics = ev.Addr
			case "turn listening":
				p.udp, p.tcp = ev.UDP, ev.TCP
				once.Do(func() { close(ready) })
			}
		}
		cmd.Wait()
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			cmd.Process.Kill()
			<-p.done
		}
	})
	select {
	case <-ready:
	case <-p.done:
		t.Fatalf("lotse turn exited early\nstdout: %s\nstderr: %s", p.stdout(), p.errOutput.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("lotse turn did not listen within 30 s\n%s", p.stdout())
	}
	return p
}

func (p *turnProc) stop(t *testing.T, sig syscall.Signal) (time.Duration, int) {
	t.Helper()
	begin := time.Now()
	p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		t.Fatalf("lotse turn did not exit 15 s after %v", sig)
	}
	return time.Since(begin), p.cmd.ProcessState.ExitCode()
}

func writeTurnSecret(t *testing.T, mode os.FileMode) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "turn-secret")
	if err := os.WriteFile(f, []byte(turnTestSecret+"\n"), mode); err != nil {
		t.Fatal(err)
	}
	os.Chmod(f, mode)
	return f
}

// allocateThrough allocates on the relay at udpAddr with fresh REST
// credentials made from secret.
func allocateThrough(t *testing.T, udpAddr, secret string) (net.PacketConn, error) {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	user, pass := turn.RESTCredentials([]byte(secret), "cmd-test", time.Now().Add(5*time.Minute))
	c, err := pionturn.NewClient(&pionturn.ClientConfig{TURNServerAddr: udpAddr, Username: user, Password: pass, Conn: conn, RTO: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	c.Listen()
	t.Cleanup(c.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	relay, err := c.AllocateWithContext(ctx)
	if err == nil {
		t.Cleanup(func() { relay.Close() })
	}
	return relay, err
}

// TestTurnCommandRelays: `lotse turn` relays for REST credentials minted
// with its secret (from a file or LOTSE_TURN_SECRET), only to its
// allowlist, exports metrics, never prints the secret, and drains on
// SIGTERM with exit status 0.
func TestTurnCommandRelays(t *testing.T) {
	for _, via := range []string{"file", "env"} {
		t.Run(via, func(t *testing.T) {
			args := []string{"--listen", "127.0.0.1:0", "--relay-ports", "0-0", "--allow-peer", "127.0.0.2/32",
				"--metrics-listen", "127.0.0.1:0", "--drain-timeout", "10s"}
			var env []string
			if via == "file" {
				args = append(args, "--auth-secret-file", writeTurnSecret(t, 0o600))
			} else {
				env = []string{"LOTSE_TURN_SECRET=" + turnTestSecret}
			}
			p := startTurn(t, env, args...)

			sink, err := net.ListenPacket("udp4", "127.0.0.2:0")
			if err != nil {
				t.Fatal(err)
			}
			defer sink.Close()
			var got atomic.Int64
			go func() {
				buf := make([]byte, 1500)
				for {
					if _, _, err := sink.ReadFrom(buf); err != nil {
						return
					}
					got.Add(1)
				}
			}()
			relay, err := allocateThrough(t, p.udp, turnTestSecret)
			if err != nil {
				t.Fatalf("allocate: %v", err)
			}
			if _, err := relay.WriteTo([]byte("through lotse turn"), sink.LocalAddr()); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(5 * time.Second)
			for got.Load() == 0 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if got.Load() != 1 {
				t.Fatalf("the allowlisted sink received %d packets", got.Load())
			}
			if _, err := allocateThrough(t, p.udp, "some-other-secret-0123456789"); err == nil {
				t.Error("credentials from another secret were accepted")
			}

			code, body := getBody(t, "http://"+p.metrics+"/metrics")
			for _, want := range []string{`lotse_turn_relayed_packets_total{direction="to_peer"} 1`, "lotse_turn_allocations 1", `lotse_turn_auth_failures_total{reason="bad_integrity"} 1`, "go_goroutines"} {
				if code != 200 || !strings.Contains(body, want) {
					t.Errorf("/metrics lacks %s", want)
				}
			}
			relay.Close() // deallocates, so the drain ends at once
			if d, ec := p.stop(t, syscall.SIGTERM); ec != 0 || d > 10*time.Second {
				t.Fatalf("SIGTERM: exit %d after %v\n%s", ec, d, p.stdout())
			}
			if out := p.stdout() + p.errOutput.String(); strings.Contains(out, turnTestSecret) {
				t.Errorf("the secret appears in the output:\n%s", out)
			}
		})
	}
}

// TestTurnCommandSecondSignal: while a drain waits for allocations, a
// second signal exits at once with status 1.
func TestTurnCommandSecondSignal(t *testing.T) {
	p := startTurn(t, nil, "--listen", "127.0.0.1:0", "--relay-ports", "0-0", "--auth-secret-file", writeTurnSecret(t, 0o600), "--drain-timeout", "60s")
	if _, err := allocateThrough(t, p.udp, turnTestSecret); err != nil {
		t.Fatal(err)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	time.Sleep(300 * time.Millisecond)
	select {
	case <-p.done:
		t.Fatal("exited before the drain timeout with an allocation live")
	default:
	}
	if d, ec := p.stop(t, syscall.SIGTERM); ec != 1 || d > 5*time.Second {
		t.Fatalf("second signal: exit %d after %v, want 1 at once", ec, d)
	}
}

// TestTurnCommandUsageErrors: bad flags and secrets stop the start with
// exit status 2 and one line naming the flag or file.
func TestTurnCommandUsageErrors(t *testing.T) {
	good := writeTurnSecret(t, 0o600)
	open := writeTurnSecret(t, 0o644)
	cases := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"no secret", nil, []string{"--listen", "127.0.0.1:0"}, "--auth-secret-file: required (or set LOTSE_TURN_SECRET)"},
		{"secret readable by others", nil, []string{"--auth-secret-file", open}, open + " is readable or writable by group or others (mode 0644); run chmod 600"},
		{"missing secret file", nil, []string{"--auth-secret-file", good + ".nope"}, "--auth-secret-file: " + good + ".nope: file does not exist"},
		{"short secret", []string{"LOTSE_TURN_SECRET=short"}, []string{"--listen", "127.0.0.1:0"}, "LOTSE_TURN_SECRET: must be at least 16 characters"},
		{"bad allow", nil, []string{"--auth-secret-file", good, "--listen", "127.0.0.1:0", "--allow-peer", "bank.example"}, "--allow-peer: \"bank.example\" is not a CIDR"},
		{"bad deny", nil, []string{"--auth-secret-file", good, "--listen", "127.0.0.1:0", "--deny-peer", "10.0.0.0/40"}, "--deny-peer:"},
		{"bad ports", nil, []string{"--auth-secret-file", good, "--listen", "127.0.0.1:0", "--relay-ports", "5000"}, "--relay-ports: \"5000\" is not MIN-MAX"},
		{"inverted ports", nil, []string{"--auth-secret-file", good, "--listen", "127.0.0.1:0", "--relay-ports", "60000-50000"}, "--relay-ports: 50000 is below relay_port_min 60000"},
		{"all addresses without public ip", nil, []string{"--auth-secret-file", good, "--listen", "0.0.0.0:0"}, "--public-ip: required"},
		{"bad listen", nil, []string{"--auth-secret-file", good, "--listen", "localhost:3478"}, "--listen: host \"localhost\" must be an IP address"},
		{"cert without key", nil, []string{"--auth-secret-file", good, "--listen", "127.0.0.1:0", "--cert-file", good}, "--cert-file: set both cert_file and key_file"},
		{"stray argument", nil, []string{"--auth-secret-file", good, "extra"}, "unexpected argument"},
		{"unknown flag", nil, []string{"--frobnicate"}, "flag provided but not defined"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", tc.env, append([]string{"turn"}, tc.args...)...)
			if code != 2 {
				t.Fatalf("exit %d, want 2\nstdout: %s\nstderr: %s", code, stdout, stderr)
			}
			first := strings.Split(strings.TrimSpace(stderr), "\n")[0]
			if !strings.Contains(first, tc.want) {
				t.Fatalf("stderr %q, want a line containing %q", stderr, tc.want)
			}
			if tc.name != "unknown flag" && strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
				t.Errorf("more than one line on stderr:\n%s", stderr)
			}
		})
	}
}

// TestTurnBenchUsage: `lotse bench turn` refuses bad flags with status 2
// (the measurement itself is run by hand; see BENCHMARKS.md).
func TestTurnBenchUsage(t *testing.T) {
	for _, args := range [][]string{
		{"--servers", "nginx"},
		{"--saturation", "0"},
		{"--saturation", "ten"},
		{"--clients", "9999"},
	} {
		code, _, stderr := runCLI(t, "", nil, append([]string{"bench", "turn"}, args...)...)
		if code != 2 || !strings.Contains(stderr, args[0]) {
			t.Errorf("bench turn %v: exit %d, stderr %q", args, code, stderr)
		}
	}
}
