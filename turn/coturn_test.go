package turn

import (
	"github.com/lotse-io/lotse/internal/leakcheck"

	"bytes"
	"context"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// needTool returns the path of a coturn tool, skipping the test when it
// is missing (failing it in CI, where .ci/run installs coturn).
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if inCI() {
			t.Fatalf("%s not found; CI must install Debian's coturn package", name)
		}
		t.Skipf("%s not found (apt-get install coturn); skipping", name)
	}
	return p
}

// freeUDPPort returns a port that was free on ip a moment ago.
func freeUDPPort(t *testing.T, ip string) int {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// startProcess runs a long-lived tool until the end of the test.
func startProcess(t *testing.T, name string, args ...string) *bytes.Buffer {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return &out
}

var uclientTotals = regexp.MustCompile(`tot_send_msgs=(\d+), tot_recv_msgs=(\d+)`)

// runUclient runs turnutils_uclient against server and returns the
// messages it sent and got back, and its output.
func runUclient(t *testing.T, server *net.UDPAddr, user, pass string, peerPort int, messages int) (sent, recv int, out string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, needTool(t, "turnutils_uclient"),
		"-u", user, "-w", pass,
		"-e", "127.0.0.2", "-r", strconv.Itoa(peerPort), // the allowlisted loopback peer
		"-n", strconv.Itoa(messages), "-m", "1", "-c", "-l", "170", "-z", "5",
		"-p", strconv.Itoa(server.Port), server.IP.String())
	b, _ := cmd.CombinedOutput()
	out = string(b)
	m := uclientTotals.FindAllStringSubmatch(out, -1)
	if len(m) > 0 {
		sent, _ = strconv.Atoi(m[len(m)-1][1])
		recv, _ = strconv.Atoi(m[len(m)-1][2])
	}
	return sent, recv, out
}

// TestTurnCoturnClient: coturn's own test client, turnutils_uclient, allocates
// on our relay with REST credentials and relays 170-byte messages to
// turnutils_peer on the allowlisted 127.0.0.2 and back; with a password
// made from the wrong secret it is refused.
func TestTurnCoturnClient(t *testing.T) {
	leakcheck.Check(t)
	needTool(t, "turnutils_uclient")
	peerBin := needTool(t, "turnutils_peer")
	cfg := testConfig()
	cfg.AllowPeers = []string{"127.0.0.2/32"}
	ts := startServer(t, cfg, nil)
	peerPort := freeUDPPort(t, "127.0.0.2")
	startProcess(t, peerBin, "-L", "127.0.0.2", "-p", strconv.Itoa(peerPort))

	t.Run("REST credentials", func(t *testing.T) {
		user, pass := creds("uclient")
		sent, recv, out := runUclient(t, ts.udpAddr(), user, pass, peerPort, 50)
		if sent != 50 || recv < 45 {
			t.Fatalf("uclient sent %d and got back %d of 50 messages\n%s", sent, recv, out)
		}
		for _, dir := range []string{"to_peer", "from_peer"} {
			if got := ts.metric(t, "lotse_turn_relayed_packets_total", "direction", dir); got < float64(recv) {
				t.Errorf("relayed %s = %v, want ≥ %d", dir, got, recv)
			}
		}
	})
	t.Run("wrong secret", func(t *testing.T) {
		before := ts.metric(t, "lotse_turn_auth_failures_total", "reason", authIntegrity)
		allocs := ts.AllocationCount() // the first run's allocation lives on until its lifetime ends
		user, _ := creds("uclient")
		_, wrong := RESTCredentials([]byte("not-the-relay-secret-0123"), "uclient", time.Unix(mustExpiry(user), 0))
		sent, recv, out := runUclient(t, ts.udpAddr(), user, wrong, peerPort, 10)
		if recv != 0 || !strings.Contains(out, "Cannot complete Allocation") {
			t.Fatalf("uclient with a wrong password got %d messages back (sent %d)\n%s", recv, sent, out)
		}
		if got := ts.metric(t, "lotse_turn_auth_failures_total", "reason", authIntegrity); got <= before {
			t.Errorf("no integrity failure counted (%v → %v)\n%s", before, got, out)
		}
		if got := ts.AllocationCount(); got != allocs {
			t.Errorf("allocations %d → %d after a refused client", allocs, got)
		}
		t.Logf("uclient with the wrong secret:\n%s", lastLines(out, 4))
	})
}

// TestTurnCoturnAcceptsOurCredentials: coturn with use-auth-secret and the same
// secret and realm accepts the credentials we issue, so an operator can
// swap in coturn for our relay.
func TestTurnCoturnAcceptsOurCredentials(t *testing.T) {
	leakcheck.Check(t)
	bin := needTool(t, "turnserver")
	port := freeUDPPort(t, "127.0.0.1")
	dir := t.TempDir()
	out := startProcess(t, bin, "-n", "--listening-ip=127.0.0.1", "--listening-port="+strconv.Itoa(port),
		"--relay-ip=127.0.0.1", "--use-auth-secret", "--static-auth-secret="+testSecret, "--realm=lotse",
		"--no-tls", "--no-dtls", "--no-cli", "--allow-loopback-peers", "--min-port=40000", "--max-port=40999",
		"--pidfile="+filepath.Join(dir, "turnserver.pid"), "--log-file=stdout", "--simple-log")
	server := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
	peer := newSink(t, "127.0.0.2:0", true)

	user, pass := creds("swap-in")
	var relay net.PacketConn
	deadline := time.Now().Add(10 * time.Second)
	for {
		c := newPionClient(t, server, user, pass)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		r, err := c.AllocateWithContext(ctx)
		cancel()
		if err == nil {
			relay = r
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("coturn refused our credentials: %v\n%s", err, out)
		}
		time.Sleep(100 * time.Millisecond) // coturn may still be starting
	}
	defer relay.Close()
	if _, err := relay.WriteTo([]byte("via coturn"), peer.addr()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the packet relayed by coturn", 5*time.Second, func() bool { return peer.received.Load() == 1 })
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
