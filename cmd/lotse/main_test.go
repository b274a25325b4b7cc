package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// binary is the lotse executable built once for this package's tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lotse-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "lotse")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build lotse:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is a `lotse serve` process.
type server struct {
	cmd  *exec.Cmd
	url  string
	done chan struct{}
	err  error // set when done is closed

	mu  sync.Mutex // guards out
	out bytes.Buffer
}

func (s *server) stdout() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

// startServer runs `lotse serve` on a kernel-chosen port with dataDir and
// waits until it logs that it listens.
func startServer(t *testing.T, dataDir string, env []string, args ...string) *server {
	t.Helper()
	if !slices.Contains(args, "--config") {
		// Kernel-chosen ports for the media listeners, so that a developer's
		// running `make run` does not collide with the tests.
		args = append(args, "--config", testConfigFile(t, ""))
	}
	cmd := exec.Command(binary, append([]string{"serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--log-format", "json"}, args...)...)
	cmd.Env = append(cleanEnv(), env...)
	// The server dies with the test binary, even when that is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, done: make(chan struct{})}
	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.out.WriteString(line + "\n")
			s.mu.Unlock()
			var ev struct{ Message, Console string }
			if json.Unmarshal([]byte(line), &ev) == nil && ev.Message == "listening" {
				select {
				case listening <- strings.TrimSuffix(ev.Console, "/console"):
				default:
				}
			}
		}
		s.err = cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			if t.Failed() {
				// A goroutine dump into the log shows where a server that
				// stopped answering hangs.
				_ = cmd.Process.Signal(syscall.SIGQUIT)
				select {
				case <-s.done:
				case <-time.After(5 * time.Second):
				}
			}
			_ = cmd.Process.Kill()
			<-s.done
		}
		if t.Failed() {
			// The server's side of a failed test, next to its screenshots.
			dir := filepath.Join("..", "..", "artifacts", "failed", strings.ReplaceAll(t.Name(), "/", "_"))
			if os.MkdirAll(dir, 0o755) == nil {
				f, err := os.CreateTemp(dir, "server-*.log")
				if err == nil {
					f.WriteString(s.stdout())
					f.Close()
					t.Logf("server log: %s", f.Name())
				}
			}
		}
	})
	select {
	case s.url = <-listening:
	case <-s.done:
		t.Fatalf("lotse serve exited early: %v\n%s", s.err, s.stdout())
	case <-time.After(30 * time.Second):
		t.Fatalf("lotse serve did not listen within 30 s\n%s", s.stdout())
	}
	return s
}

// testConfigFile writes a configuration file of testPortsYAML plus extra
// (more YAML) and returns its path.
func testConfigFile(t *testing.T, extra string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "lotse.yaml")
	if err := os.WriteFile(path, []byte(testPortsYAML+extra), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// testPortsYAML puts the TURN relay on kernel-chosen loopback ports.
const testPortsYAML = "turn:\n  listen_udp: 127.0.0.1:0\n  listen_tcp: 127.0.0.1:0\n  relay_port_min: 0\n  relay_port_max: 0\n" +
	"sfu:\n  listen_ip: 127.0.0.1\n  udp_port: 0\n  tcp_port: 0\n  loopback_candidates: true\ndev_bank_listen: 127.0.0.1:0\n"

// cleanEnv is the test's environment without LOTSE_ variables, so that a
// developer's settings do not leak into the tests.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LOTSE_") {
			out = append(out, kv)
		}
	}
	return out
}

func (s *server) stop(t *testing.T, sig syscall.Signal) (time.Duration, int) {
	t.Helper()
	begin := time.Now()
	if err := s.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		// A goroutine dump into the log (kept as an artifact) says where.
		_ = s.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
		}
		t.Fatalf("lotse serve did not exit 15 s after %v", sig)
	}
	return time.Since(begin), s.cmd.ProcessState.ExitCode()
}

func waitReady(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s/readyz never answered 200", url)
}

func getBody(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServeLifecycle(t *testing.T) {
	dataDir := t.TempDir()
	s := startServer(t, dataDir, nil)
	waitReady(t, s.url)

	if code, body := getBody(t, s.url+"/healthz"); code != 200 || !strings.Contains(body, `"status":"ok"`) {
		t.Errorf("/healthz = %d %s", code, body)
	}
	code, metrics := getBody(t, s.url+"/metrics")
	for _, want := range []string{"go_goroutines", "process_resident_memory_bytes", "lotse_build_info", `lotse_http_requests_total{code="200",method="GET",route="GET /healthz"}`} {
		if code != 200 || !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	out := s.stdout()
	if !strings.Contains(out, "Console:   "+s.url+"/console") || !strings.Contains(out, "admin@demo.local") {
		t.Fatalf("bootstrap message missing:\n%s", out)
	}
	password := ""
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "Password:" {
			password = f[1]
		}
	}
	if len(password) < 20 {
		t.Fatalf("no generated password in the bootstrap message:\n%s", out)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "{") && strings.Contains(line, password) {
			t.Errorf("a log line contains the generated password: %s", line)
		}
	}

	// SIGTERM: readiness fails at once, then a clean exit 0 within 10 s.
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	saw503 := false
	for !saw503 && time.Since(begin) < 900*time.Millisecond { // within the 1 s drain delay
		code, _ := getBody(t, s.url+"/readyz")
		saw503 = code == 503
		time.Sleep(20 * time.Millisecond)
	}
	if !saw503 {
		t.Error("/readyz did not answer 503 after SIGTERM")
	}
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		t.Fatal("no exit within 10 s of SIGTERM")
	}
	if ec := s.cmd.ProcessState.ExitCode(); ec != 0 {
		t.Fatalf("exit code %d after SIGTERM\n%s", ec, s.stdout())
	}
	t.Logf("SIGTERM to exit: %v", time.Since(begin))

	// A second start on the same data directory does not bootstrap again.
	s2 := startServer(t, dataDir, nil)
	waitReady(t, s2.url)
	if out2 := s2.stdout(); strings.Contains(out2, "first run") || strings.Contains(out2, "Password:") {
		t.Fatalf("second start bootstrapped again:\n%s", out2)
	}
	if d, ec := s2.stop(t, syscall.SIGINT); ec != 0 || d > 10*time.Second {
		t.Fatalf("SIGINT: exit %d after %v", ec, d)
	}
}

func TestBootstrapFromEnvironment(t *testing.T) {
	dataDir := t.TempDir()
	const pw = "Env-Given-Password-42"
	s := startServer(t, dataDir, []string{"LOTSE_BOOTSTRAP_ADMIN_PASSWORD=" + pw, "LOTSE_BOOTSTRAP_ADMIN_EMAIL=chef@bank.example"})
	waitReady(t, s.url)
	out := s.stdout()
	if strings.Contains(out, pw) {
		t.Fatal("the configured password was printed")
	}
	if !strings.Contains(out, "chef@bank.example") {
		t.Fatalf("bootstrap message lacks the configured e-mail:\n%s", out)
	}
	s.stop(t, syscall.SIGTERM)

	db, err := sql.Open("sqlite", filepath.Join(dataDir, "lotse.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var hash string
	if err := db.QueryRow(`SELECT password_hash FROM users WHERE email = 'chef@bank.example'`).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Contains(hash, pw) {
		t.Fatalf("stored hash %q is not argon2id with OWASP parameters", hash)
	}
}

func TestSecondSignalForcesExit(t *testing.T) {
	s := startServer(t, t.TempDir(), nil, "--config", testConfigFile(t, "http:\n  drain_delay: 60s\n"))
	waitReady(t, s.url)
	s.cmd.Process.Signal(syscall.SIGTERM)
	time.Sleep(300 * time.Millisecond)
	d, ec := s.stop(t, syscall.SIGTERM)
	if ec != 1 || d > 5*time.Second {
		t.Fatalf("second signal: exit %d after %v, want 1 at once", ec, d)
	}
}

// runCLI runs the binary to completion.
func runCLI(t *testing.T, stdin string, env []string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(cleanEnv(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	_ = cmd.Run()
	return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
}

func TestConfigErrorsExit2(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), mode)
		os.Chmod(p, mode)
		return p
	}
	plain := write("plain", "x", 0o600)
	openKey := write("open.key", "k", 0o644)
	cert := write("cert.pem", "c", 0o644)
	tests := []struct {
		name string
		cfg  string // YAML; "" for none
		env  []string
		args []string
		want string // must appear in the one line on stderr
	}{
		{name: "unknown key", cfg: "listen: 127.0.0.1:1\nlogg:\n  level: info\n", want: "logg (in "},
		{name: "unknown nested key", cfg: "http:\n  read_header: 1s\n", want: "http.read_header"},
		{name: "bad port", args: []string{"--listen", "127.0.0.1:70000"}, want: "listen (from --listen): port \"70000\""},
		{name: "bad port in env", env: []string{"LOTSE_LISTEN=127.0.0.1:-1"}, want: "listen (from LOTSE_LISTEN)"},
		{name: "bad duration", cfg: "http:\n  idle_timeout: soon\n", want: "line 2: invalid duration \"soon\""},
		{name: "unwritable data dir", args: []string{"--data-dir", filepath.Join(plain, "data")}, want: "data_dir (from --data-dir): " + filepath.Join(plain, "data")},
		{name: "secret readable by others", cfg: "tls:\n  cert_file: " + cert + "\n  key_file: " + openKey + "\n", want: "tls.key_file (in "},
		{name: "missing config file", args: []string{"--config", filepath.Join(dir, "nope.yaml")}, want: "nope.yaml: file does not exist"},
		{name: "stray argument", args: []string{"extra"}, want: "unexpected argument"},
		{name: "secret file names the path", cfg: "bootstrap:\n  admin_password_file: " + openKey + "\n", want: openKey + " is readable or writable by group or others (mode 0644); run chmod 600"},
	}
	for _, tc := range tests {
		for _, sub := range []string{"serve", "config print"} {
			t.Run(tc.name+"/"+sub, func(t *testing.T) {
				args := append(strings.Fields(sub), "--data-dir", t.TempDir())
				if tc.cfg != "" {
					args = append(args, "--config", write(strings.ReplaceAll(tc.name, " ", "_")+".yaml", tc.cfg, 0o600))
				}
				args = append(args, tc.args...)
				code, stdout, stderr := runCLI(t, "", tc.env, args...)
				if code != 2 {
					t.Fatalf("exit %d, want 2\nstdout: %s\nstderr: %s", code, stdout, stderr)
				}
				lines := strings.Split(strings.TrimSpace(stderr), "\n")
				if len(lines) != 1 || !strings.Contains(lines[0], tc.want) {
					t.Fatalf("stderr %q, want one line containing %q", stderr, tc.want)
				}
			})
		}
	}
}

func TestConfigPrintAndVersion(t *testing.T) {
	code, out, stderr := runCLI(t, "", []string{"LOTSE_BOOTSTRAP_ADMIN_PASSWORD=Very-Secret-Value-1"}, "config", "print", "--data-dir", t.TempDir(), "--listen", "127.0.0.1:9999")
	if code != 0 || !strings.Contains(out, "listen: 127.0.0.1:9999") || !strings.Contains(out, "[redacted]") || strings.Contains(out, "Very-Secret") {
		t.Fatalf("config print: %d\n%s\n%s", code, out, stderr)
	}
	code, out, _ = runCLI(t, "", nil, "version")
	if code != 0 || !strings.HasPrefix(out, "lotse ") || !strings.Contains(out, "commit") {
		t.Fatalf("version: %d %q", code, out)
	}
	if code, _, _ := runCLI(t, "", nil, "frobnicate"); code != 2 {
		t.Fatalf("unknown command exit %d, want 2", code)
	}
}

func TestTenantAndUserCreate(t *testing.T) {
	dd := t.TempDir()
	if code, out, errOut := runCLI(t, "", nil, "tenant", "create", "--data-dir", dd, "--slug", "musterbank", "--name", "Musterbank AG"); code != 0 || !strings.Contains(out, "created tenant musterbank") {
		t.Fatalf("tenant create: %d %s %s", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, "", nil, "tenant", "create", "--data-dir", dd, "--slug", "musterbank", "--name", "Again"); code != 1 || !strings.Contains(errOut, "already exists") {
		t.Fatalf("duplicate tenant: %d %s", code, errOut)
	}
	if code, _, errOut := runCLI(t, "", nil, "tenant", "create", "--data-dir", dd, "--slug", "Bad Slug", "--name", "x"); code != 2 || !strings.Contains(errOut, "--slug") {
		t.Fatalf("bad slug: %d %s", code, errOut)
	}
	const pw = "Advisor-Password-2026"
	code, out, errOut := runCLI(t, pw+"\n", nil, "user", "create", "--data-dir", dd, "--tenant", "musterbank", "--email", "Anna@Musterbank.de", "--role", "advisor")
	if code != 0 || !strings.Contains(out, "advisor anna@musterbank.de") || strings.Contains(out+errOut, pw) {
		t.Fatalf("user create: %d %s %s", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, "short\n", nil, "user", "create", "--data-dir", dd, "--tenant", "musterbank", "--email", "b@musterbank.de"); code != 2 || !strings.Contains(errOut, "at least 12") {
		t.Fatalf("weak password: %d %s", code, errOut)
	}
	if code, _, errOut := runCLI(t, pw+"\n", nil, "user", "create", "--data-dir", dd, "--tenant", "nosuch", "--email", "b@x.de"); code != 2 || !strings.Contains(errOut, "no tenant") {
		t.Fatalf("unknown tenant: %d %s", code, errOut)
	}

	db, err := sql.Open("sqlite", filepath.Join(dd, "lotse.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var actions []string
	rows, err := db.Query(`SELECT a.action FROM audit_log a JOIN tenants t ON t.id = a.tenant_id WHERE t.slug = 'musterbank' ORDER BY a.seq`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var a string
		rows.Scan(&a)
		actions = append(actions, a)
	}
	rows.Close()
	if strings.Join(actions, ",") != "tenant.created,user.created" {
		t.Fatalf("audit actions %v", actions)
	}
}
