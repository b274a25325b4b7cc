package turn

import (
	"github.com/lotse-io/lotse/internal/leakcheck"

	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/stun/v4"
	pionturn "github.com/pion/turn/v5"
	"github.com/rs/zerolog"
)

// tcpPeer is a TCP listener on loopback that counts accepted connections
// and echoes what it reads.
type tcpPeer struct {
	l        net.Listener
	accepted atomic.Int64
	done     chan struct{}
}

func newTCPPeer(t *testing.T, addr string) *tcpPeer {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpPeer{l: l, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			p.accepted.Add(1)
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-p.done
	})
	return p
}

func (p *tcpPeer) addr() *net.TCPAddr { return p.l.Addr().(*net.TCPAddr) }

// TestTurnTCPRelayGuard covers RFC 6062 TCP allocations: a Connect to the
// SFU's media ip:port is relayed; a Connect to another port of the same IP
// is refused before anything is dialled; a Connect to a private address is
// refused at the permission step.
func TestTurnTCPRelayGuard(t *testing.T) {
	leakcheck.Check(t)
	sfu := newTCPPeer(t, "127.0.0.2:0")
	other := newTCPPeer(t, "127.0.0.2:0")
	media := func() []netip.AddrPort { return []netip.AddrPort{sfu.addr().AddrPort()} }
	ts := startServer(t, testConfig(), media)

	conn, err := net.Dial("tcp", ts.tcpAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	user, pass := creds("olivia")
	c, err := pionturn.NewClient(&pionturn.ClientConfig{
		TURNServerAddr: ts.tcpAddr().String(),
		Username:       user,
		Password:       pass,
		Conn:           pionturn.NewSTUNConn(conn),
		LoggerFactory:  pionLogs{zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	defer c.Close()
	alloc, err := c.AllocateTCP()
	if err != nil {
		t.Fatalf("TCP allocation: %v", err)
	}
	defer alloc.Close()

	data, err := alloc.Dial("tcp4", sfu.addr().String())
	if err != nil {
		t.Fatalf("Connect to the SFU: %v", err)
	}
	defer data.Close()
	data.Write([]byte("hello over rfc 6062"))
	buf := make([]byte, 64)
	data.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := io.ReadAtLeast(data, buf, len("hello over rfc 6062"))
	if err != nil || string(buf[:n]) != "hello over rfc 6062" {
		t.Fatalf("echo through the TCP relay: %q, %v", buf[:n], err)
	}

	_, err = alloc.Dial("tcp4", other.addr().String())
	var te *stun.TurnError
	if !errors.As(err, &te) || te.ErrorCodeAttr.Code != stun.CodeConnTimeoutOrFailure {
		t.Errorf("Connect to another port: %v, want 447", err)
	}
	if got := ts.metric(t, "lotse_turn_peer_denials_total", "path", pathTCPConnect, "reason", reasonPort); got != 1 {
		t.Errorf("tcp_connect denials = %v, want 1", got)
	}

	_, err = alloc.Dial("tcp4", "10.0.0.1:80") // refused at CreatePermission, nothing is dialled
	if err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("Connect to 10.0.0.1: %v, want 403 at CreatePermission", err)
	}
	if got := other.accepted.Load(); got != 0 {
		t.Errorf("the other port accepted %d connections", got)
	}

	// Inbound: a connection to the relayed address from the SFU's IP but
	// not from its media port (an ephemeral one) is closed by the guard.
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
	in, err := d.Dial("tcp4", alloc.Addr().String())
	if err != nil {
		t.Fatalf("dial the relayed address: %v", err)
	}
	in.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := in.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("inbound connection from a non-media port: read %v, want EOF", err)
	}
	in.Close()
	if got := ts.metric(t, "lotse_turn_peer_denials_total", "path", pathTCPAccept, "reason", reasonPort); got != 1 {
		t.Errorf("tcp_accept denials = %v, want 1", got)
	}
	if got := sfu.accepted.Load(); got != 1 {
		t.Errorf("the SFU accepted %d connections, want 1", got)
	}
	ts.assertOnlyLoopbackData(t)
}

// writeCert writes a self-signed certificate for 127.0.0.1 and its key.
func writeCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "turn test"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestTurnTLSListener: turns: works with the configured certificate; a
// connection that never finishes its handshake is closed after the
// first-message timeout; max_connections closes the connection beyond it.
func TestTurnTLSListener(t *testing.T) {
	leakcheck.Check(t)
	cfg := testConfig()
	cfg.ListenTLS = "127.0.0.1:0"
	certFile, keyFile, pool := writeCert(t)
	cfg.CertFile, cfg.KeyFile = certFile, keyFile
	cfg.MaxConnections = 2
	ts := startServer(t, cfg, nil, func(s *Server) { s.firstMessage = time.Second })
	_, _, tlsAddr := ts.Addrs()

	list, _ := ts.ICEServers("p", "", time.Now())
	if u := list[0].URLs[2]; u != "turns:127.0.0.1:"+portOf(tlsAddr)+"?transport=tcp" {
		t.Errorf("TLS URL %s", u)
	}

	conn, err := tls.Dial("tcp", tlsAddr.String(), &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	c, err := pionturn.NewClient(&pionturn.ClientConfig{
		TURNServerAddr: tlsAddr.String(),
		Username:       list[0].Username,
		Password:       list[0].Credential,
		Conn:           pionturn.NewSTUNConn(conn),
		LoggerFactory:  pionLogs{zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)},
	})
	if err != nil {
		t.Fatal(err)
	}
	c.Listen()
	relay, err := c.Allocate()
	if err != nil {
		t.Fatalf("allocation over TLS: %v", err)
	}

	// A second connection that says nothing: closed by the timeout.
	idle, err := net.Dial("tcp", tlsAddr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	waitFor(t, "2 open connections", 5*time.Second, func() bool { return ts.metric(t, "lotse_turn_connections") == 2 })
	// A third is over max_connections: closed at once.
	third, err := net.Dial("tcp", tlsAddr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	third.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := third.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("connection beyond max_connections: read %v, want EOF", err)
	}
	if got := ts.metric(t, "lotse_turn_connections_rejected_total"); got != 1 {
		t.Errorf("rejected connections = %v, want 1", got)
	}
	idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := idle.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("silent connection: read %v, want EOF after the first-message timeout", err)
	}
	waitFor(t, "the silent connection to be gone", 5*time.Second, func() bool { return ts.metric(t, "lotse_turn_connections") == 1 })

	relay.Close()
	c.Close()
	conn.Close()
}
