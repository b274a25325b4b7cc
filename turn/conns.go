package turn

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Client connection timeouts (TCP and TLS listeners).
const (
	// firstMessageTimeout bounds the TLS handshake and the first STUN
	// message of a new connection, so idle connections cannot hold the
	// max_connections slots.
	firstMessageTimeout = 10 * time.Second
	// idleTimeout closes a client connection that has sent nothing for
	// this long. WebRTC sends consent checks every few seconds and
	// refreshes allocations every few minutes.
	idleTimeout = 5 * time.Minute
)

// serverPacketConn is the UDP listener. It tells Close when pion's read
// loop has ended.
type serverPacketConn struct {
	*net.UDPConn
	io    udpIO
	chans *channels
	done  chan struct{}
	once  sync.Once
}

// ReadFrom returns the next datagram for pion; ChannelData on channels the
// fast path knows is relayed here instead.
func (c *serverPacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		b, from, err := c.io.next()
		if err != nil {
			c.once.Do(func() { close(c.done) })
			return 0, nil, err
		}
		if c.chans.forward(b, from) {
			continue
		}
		return copy(p, b), net.UDPAddrFromAddrPort(from), nil
	}
}

// WriteTo sends pion's answers and Data indications to a client.
func (c *serverPacketConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if err := c.io.writeTo(p, unmapped(addr)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// clientListener is a TCP or TLS listener. It caps concurrent client
// connections, survives temporary accept errors (pion's accept loop would
// end on the first one), and hands pion connections that enforce the
// timeouts and do the TLS handshake on first read.
type clientListener struct {
	net.Listener
	s   *Server
	tls *tls.Config // nil for plain TCP
}

func (l *clientListener) Accept() (net.Conn, error) {
	var backoff time.Duration
	for {
		raw, err := l.Listener.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil, err
			}
			// EMFILE and the like: wait and try again, as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		if l.s.nconns.Load() >= int64(l.s.cfg.MaxConnections) {
			l.s.metrics.connsRejected.Inc()
			raw.Close()
			continue
		}
		c := &clientConn{Conn: raw, s: l.s}
		if l.tls != nil {
			c.tls = tls.Server(raw, l.tls)
			c.Conn = c.tls
		}
		if !l.s.track(c) {
			raw.Close()
			return nil, net.ErrClosed
		}
		_ = raw.SetReadDeadline(time.Now().Add(l.s.firstMessage))
		return c, nil
	}
}

// track registers a client connection; false after Close.
func (s *Server) track(c *clientConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == 2 {
		return false
	}
	s.conns[c] = struct{}{}
	s.connsWG.Add(1)
	s.nconns.Add(1)
	return true
}

func (s *Server) untrack(c *clientConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
	s.nconns.Add(-1)
	s.connsWG.Done()
}

// clientConn is one TCP or TLS client connection. It deliberately is not a
// *tls.Conn, so pion does not run the handshake without a deadline; Read
// does it under firstMessageTimeout.
type clientConn struct {
	net.Conn
	s         *Server
	tls       *tls.Conn
	handshook atomic.Bool
	// deadlineAt is when the read deadline was last pushed (Unix ns);
	// reads push it only when a minute has passed, not on every read.
	deadlineAt atomic.Int64
	closeOnce  sync.Once
}

func (c *clientConn) Read(p []byte) (int, error) {
	if c.tls != nil && !c.handshook.Load() {
		ctx, cancel := context.WithTimeout(context.Background(), c.s.firstMessage)
		err := c.tls.HandshakeContext(ctx)
		cancel()
		if err != nil {
			return 0, err
		}
		c.handshook.Store(true)
	}
	n, err := c.Conn.Read(p)
	if n > 0 {
		now := time.Now()
		if last := c.deadlineAt.Load(); now.UnixNano()-last > int64(time.Minute) {
			c.deadlineAt.Store(now.UnixNano())
			_ = c.Conn.SetReadDeadline(now.Add(idleTimeout))
		}
	}
	return n, err
}

// Close is called by pion when it is done with the connection.
func (c *clientConn) Close() error {
	err := c.Conn.Close()
	c.closeOnce.Do(func() { c.s.untrack(c) })
	return err
}
