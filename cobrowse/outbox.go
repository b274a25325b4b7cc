package cobrowse

import (
	"sync"
	"time"
)

// Sink takes frames for one participant's transport (its data channel or
// WebSocket). Send must not block: it returns false when the frame cannot
// be taken now (the transport's own buffer is full) or ever (closed). The
// relay keeps the frame and tries again a little later, so a Sink should
// buffer modestly and say false rather than wait.
type Sink interface {
	Send(msg []byte) bool
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(msg []byte) bool

// Send calls f.
func (f SinkFunc) Send(msg []byte) bool { return f(msg) }

// outbox is a bounded queue in front of one Sink, drained by a goroutine of
// its own, so that a slow participant never holds up the sender of a frame
// (the customer, or other viewers).
type outbox struct {
	sink      Sink
	maxFrames int
	maxBytes  int
	onSent    func(n int)

	wake chan struct{}
	stop chan struct{}
	done chan struct{}

	mu     sync.Mutex // guards the fields below
	q      []qitem
	bytes  int
	closed bool
}

type qitem struct {
	b   []byte
	key string // frames with the same non-empty key replace each other while queued
}

func newOutbox(sink Sink, maxFrames, maxBytes int, onSent func(n int)) *outbox {
	o := &outbox{
		sink: sink, maxFrames: maxFrames, maxBytes: maxBytes, onSent: onSent,
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
	go o.run()
	return o
}

// push queues frames; it reports false, queuing none of them, when they
// would take the queue past its bounds.
func (o *outbox) push(key string, frames ...[]byte) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return true // the participant is gone; nothing to do
	}
	if key != "" && len(frames) == 1 {
		for i := range o.q {
			if o.q[i].key == key {
				o.bytes += len(frames[0]) - len(o.q[i].b)
				o.q[i].b = frames[0]
				return true
			}
		}
	}
	n := 0
	for _, f := range frames {
		n += len(f)
	}
	if len(o.q)+len(frames) > o.maxFrames || o.bytes+n > o.maxBytes {
		return false
	}
	for _, f := range frames {
		o.q = append(o.q, qitem{b: f, key: key})
	}
	o.bytes += n
	o.signal()
	return true
}

// reset drops everything queued and queues frames instead, whatever their
// size (they are the held state, shared with every viewer, so they cost no
// extra memory).
func (o *outbox) reset(frames [][]byte) (dropped int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return 0
	}
	dropped = len(o.q)
	clear(o.q)
	o.q = o.q[:0]
	o.bytes = 0
	for _, f := range frames {
		o.q = append(o.q, qitem{b: f})
		o.bytes += len(f)
	}
	o.signal()
	return dropped
}

func (o *outbox) signal() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// close stops the writer and waits for it.
func (o *outbox) close() {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		<-o.done
		return
	}
	o.closed = true
	o.q = nil
	o.mu.Unlock()
	close(o.stop)
	<-o.done
}

func (o *outbox) pop() ([]byte, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.q) == 0 || o.closed {
		return nil, false
	}
	it := o.q[0]
	o.q[0] = qitem{}
	o.q = o.q[1:]
	o.bytes -= len(it.b)
	if len(o.q) == 0 {
		o.q = nil // let the backing array go
	}
	return it.b, true
}

func (o *outbox) run() {
	defer close(o.done)
	for {
		select {
		case <-o.stop:
			return
		case <-o.wake:
		}
		for {
			b, ok := o.pop()
			if !ok {
				break
			}
			// The sink is full: wait a little and try again. The queue
			// meanwhile bounds what piles up behind.
			backoff := time.Millisecond
			for !o.sink.Send(b) {
				t := time.NewTimer(backoff)
				select {
				case <-o.stop:
					t.Stop()
					return
				case <-t.C:
				}
				backoff = min(backoff*2, 100*time.Millisecond)
			}
			if o.onSent != nil {
				o.onSent(len(b))
			}
		}
	}
}
