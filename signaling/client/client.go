// Package client is a Go client of Lotse's signalling protocol, for tests
// and `lotse bench`: it dials /api/v1/signal, joins with a join token,
// sends messages and hands out the server's messages in order, tracking the
// sequence number so that a dropped connection can be resumed.
package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/lotse-io/lotse/signaling/wire"
)

// Client is one signalling connection.
type Client struct {
	ws *websocket.Conn

	wmu sync.Mutex // serialises writes

	in    chan wire.Message
	bin   chan []byte // binary (co-browse) frames
	done  chan struct{}
	mmu   sync.Mutex // guards media and pendingMedia
	media func(*wire.Media)
	// pendingMedia holds media messages that arrived before OnMedia (the
	// SFU's first offer can follow Joined at once).
	pendingMedia []*wire.Media
	mu           sync.Mutex // guards the fields below
	seq          uint64
	closeE       *websocket.CloseError
	err          error
}

// ErrClosed means the connection is gone.
var ErrClosed = errors.New("client: connection closed")

// Dial opens a WebSocket to signalURL (ws:// or wss://) with the given
// Origin header.
func Dial(ctx context.Context, signalURL, origin string) (*Client, *http.Response, error) {
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	ws, resp, err := d.DialContext(ctx, signalURL, h)
	if err != nil {
		return nil, resp, err
	}
	c := &Client{ws: ws, in: make(chan wire.Message, 4096), bin: make(chan []byte, 4096), done: make(chan struct{})}
	go c.read()
	return c, resp, nil
}

func (c *Client) read() {
	defer close(c.done)
	defer close(c.in)
	defer close(c.bin)
	for {
		mt, data, err := c.ws.ReadMessage()
		if err != nil {
			c.mu.Lock()
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				c.closeE = ce
			}
			c.err = err
			c.mu.Unlock()
			return
		}
		if mt == websocket.BinaryMessage {
			select {
			case c.bin <- data:
			default: // a test that does not read frames must not stall the reader
			}
			continue
		}
		m, err := wire.DecodeFromServer(data)
		if err != nil {
			c.mu.Lock()
			c.err = fmt.Errorf("client: undecodable server message %q: %w", data, err)
			c.mu.Unlock()
			return
		}
		if s := m.Head().Seq; s > 0 {
			c.mu.Lock()
			c.seq = s
			c.mu.Unlock()
		}
		if mm, ok := m.(*wire.Media); ok {
			c.mmu.Lock()
			h := c.media
			if h == nil && len(c.pendingMedia) < 1024 {
				c.pendingMedia = append(c.pendingMedia, mm)
			}
			c.mmu.Unlock()
			if h != nil {
				h(mm)
			}
			continue
		}
		c.in <- m
	}
}

// Send writes one message.
func (c *Client) Send(m wire.Message) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return c.ws.WriteJSON(m)
}

// SendRaw writes bytes as one text message (for tests of bad input).
func (c *Client) SendRaw(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

// Next returns the next server message.
func (c *Client) Next(ctx context.Context) (wire.Message, error) {
	select {
	case m, ok := <-c.in:
		if !ok {
			return nil, c.Err()
		}
		return m, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// WaitFor returns the first message for which match is true, dropping the
// ones before it.
func (c *Client) WaitFor(ctx context.Context, match func(wire.Message) bool) (wire.Message, error) {
	for {
		m, err := c.Next(ctx)
		if err != nil {
			return nil, err
		}
		if match(m) {
			return m, nil
		}
	}
}

// WaitType waits for a message of type t.
func (c *Client) WaitType(ctx context.Context, t string) (wire.Message, error) {
	return c.WaitFor(ctx, func(m wire.Message) bool { return m.Head().Type == t })
}

// Join sends Join (with resume when r is not nil) and waits for Joined; an
// Error instead is returned as a *wire.ProtocolError.
func (c *Client) Join(ctx context.Context, token string, r *wire.ResumeInfo) (*wire.Joined, error) {
	if err := c.Send(&wire.Join{Header: wire.Header{Type: "join", ID: "join"}, Token: token, Resume: r}); err != nil {
		return nil, err
	}
	for {
		m, err := c.Next(ctx)
		if err != nil {
			return nil, err
		}
		switch v := m.(type) {
		case *wire.Joined:
			return v, nil
		case *wire.Error:
			if v.Code == wire.CodeResumeFailed {
				continue // a fresh Joined follows
			}
			return nil, &wire.ProtocolError{Code: v.Code, Msg: v.Message, Ref: v.Ref}
		}
	}
}

// LastSeq returns the seq of the last sequenced message received.
func (c *Client) LastSeq() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seq
}

// CloseError returns the close frame the server sent, if any.
func (c *Client) CloseError() *websocket.CloseError {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeE
}

// Err returns why the connection ended.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		return ErrClosed
	}
	return c.err
}

// Done is closed when the connection has ended.
func (c *Client) Done() <-chan struct{} { return c.done }

// Drop cuts the TCP connection without a close handshake (a network
// failure, for resume tests).
func (c *Client) Drop() { c.ws.NetConn().Close() }

// Close closes the connection cleanly and waits for the reader.
func (c *Client) Close() {
	c.wmu.Lock()
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	c.wmu.Unlock()
	select {
	case <-c.done:
	case <-time.After(2 * time.Second):
	}
	c.ws.Close()
	<-c.done
}

// OnMedia routes media messages to h (on the reader goroutine) instead of
// the message channel.
func (c *Client) OnMedia(h func(*wire.Media)) {
	c.mmu.Lock()
	defer c.mmu.Unlock()
	for _, m := range c.pendingMedia {
		h(m)
	}
	c.pendingMedia = nil
	c.media = h
}

// Frames returns the channel of binary (co-browse) frames received.
func (c *Client) Frames() <-chan []byte { return c.bin }

// Pending returns the channel of received messages (for draining).
func (c *Client) Pending() <-chan wire.Message { return c.in }

// SendBinary writes one binary (co-browse) frame.
func (c *Client) SendBinary(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return c.ws.WriteMessage(websocket.BinaryMessage, b)
}
