package signaling

import (
	"encoding/json"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/lotse-io/lotse/signaling/wire"
)

// WebSocket close codes (RFC 6455 §7.4; 4000–4999 are ours).
const (
	closeNormal      = websocket.CloseNormalClosure     // 1000: left, removed, conversation ended
	closePolicy      = websocket.ClosePolicyViolation   // 1008: sustained flooding
	closeTooBig      = websocket.CloseMessageTooBig     // 1009: a message over 64 KiB
	closeRestart     = websocket.CloseServiceRestart    // 1012: node shutting down; reconnect
	closeReplaced    = 4001                             // the participant connected again elsewhere
	closeSlow        = 4002                             // could not keep up; resume to catch up
	closeJoinTimeout = 4008                             // no join message in time
	closeBadToken    = 4401                             // join token invalid or expired
	closeBadOrigin   = 4403                             // page origin not allowed for this tenant
	closeEnded       = 4410                             // the conversation is over
	closeProtocol    = websocket.CloseProtocolError     // 1002
	closeInternal    = websocket.CloseInternalServerErr // 1011
)

// wsConn is one WebSocket. Only its writer goroutine writes data frames;
// everyone else queues with enqueue (never blocking) or asks for a close.
type wsConn struct {
	ws           *websocket.Conn
	limit        int           // most frames that may wait in out
	wake         chan struct{} // nudges the writer (capacity 1)
	ctrl         chan closeReq
	done         chan struct{} // closed when the writer has finished
	readerDone   chan struct{} // closed when the reader has finished
	pingInterval time.Duration

	closeOnce sync.Once
	mu        sync.Mutex // guards the fields below
	out       []frame    // frames waiting; grows only while a client lags, so idle connections hold nothing
	closing   bool
}

// frame is one queued WebSocket message: JSON signalling as text, co-browse
// protocol frames as binary.
type frame struct {
	binary bool
	data   []byte
}

type closeReq struct {
	code   int
	reason string
}

func newWSConn(ws *websocket.Conn, queue int, ping time.Duration) *wsConn {
	return &wsConn{ws: ws, limit: queue, wake: make(chan struct{}, 1), ctrl: make(chan closeReq, 1), done: make(chan struct{}),
		readerDone: make(chan struct{}), pingInterval: ping}
}

// enqueue queues a data frame; false when the queue is full or the
// connection is closing.
func (c *wsConn) enqueue(data []byte) bool { return c.enqueueFrame(frame{data: data}) }

// enqueueBinary queues a binary (co-browse) frame.
func (c *wsConn) enqueueBinary(data []byte) bool {
	return c.enqueueFrame(frame{binary: true, data: data})
}

func (c *wsConn) enqueueFrame(f frame) bool {
	c.mu.Lock()
	if c.closing || len(c.out) >= c.limit {
		c.mu.Unlock()
		return false
	}
	c.out = append(c.out, f)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return true
}

// take returns the frames waiting and empties the queue.
func (c *wsConn) take() []frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.out
	c.out = nil
	return out
}

// send marshals and queues an unsequenced message.
func (c *wsConn) send(m wire.Message) bool {
	b, err := json.Marshal(m)
	return err == nil && c.enqueue(b)
}

// closeWith flushes what is queued, then sends a close frame with code and
// reason and closes the connection. Later calls do nothing.
func (c *wsConn) closeWith(code int, reason string) {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closing = true
		c.mu.Unlock()
		c.ctrl <- closeReq{code, reason}
	})
}

// reconnect tells the client to come back later and closes with 1012.
func (c *wsConn) reconnect(reason string, afterMS int) {
	c.send(&wire.Reconnect{Header: wire.Header{Type: "reconnect"}, Reason: reason, AfterMS: afterMS})
	c.closeWith(closeRestart, reason)
}

const writeWait = 10 * time.Second

// writeLoop writes queued frames and pings until a close is requested or a
// write fails; then it closes the socket.
func (c *wsConn) writeLoop() {
	defer close(c.done)
	defer c.ws.Close()
	ping := time.NewTicker(c.pingInterval)
	defer ping.Stop()
	flush := func() bool {
		for _, f := range c.take() {
			if !c.write(f) {
				return false
			}
		}
		return true
	}
	for {
		select {
		case <-c.wake:
			if !flush() {
				return
			}
		case <-ping.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)); err != nil {
				return
			}
		case req := <-c.ctrl:
			if !flush() {
				return
			}
			if len(req.reason) > 120 {
				req.reason = req.reason[:120]
			}
			_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(req.code, req.reason), time.Now().Add(writeWait))
			// The closing handshake (RFC 6455 §7.1.1): let the reader take
			// in what the client still sends, up to its close frame, before
			// the socket closes — closing with unread data would reset the
			// connection and lose our close frame on the client's side.
			_ = c.ws.SetReadDeadline(time.Now().Add(time.Second))
			select {
			case <-c.readerDone:
			case <-time.After(2 * time.Second):
			}
			return
		}
	}
}

func (c *wsConn) write(f frame) bool {
	_ = c.ws.SetWriteDeadline(time.Now().Add(writeWait))
	mt := websocket.TextMessage
	if f.binary {
		mt = websocket.BinaryMessage
	}
	return c.ws.WriteMessage(mt, f.data) == nil
}
