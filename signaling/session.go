package signaling

import (
	"encoding/json"
	"sync"
	"time"

	"github.com/lotse-io/lotse/signaling/wire"
)

// session is one participant's signalling session. It outlives a dropped
// WebSocket for the resume window: messages sent meanwhile are numbered and
// kept in a ring buffer, and a resumed connection gets exactly the ones it
// missed, in order.
type session struct {
	id          string
	resumeToken string
	room        *Room
	member      *member

	mu      sync.Mutex // guards the fields below
	seq     uint64     // seq of the last sequenced message
	ring    []sent     // the last len(ring) sequenced messages
	conn    *wsConn    // nil while disconnected
	dropped time.Time  // when conn was lost (zero while connected)
	closed  bool
	// detachCobrowse unhooks the session from the co-browse relay.
	detachCobrowse func()
}

// Send hands a co-browse frame to the current connection (cobrowse.Sink).
// The co-browse protocol has its own sequence numbers and resync, so the
// frame is not kept for resumption; false while disconnected or full.
func (s *session) Send(b []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conn != nil && !s.closed && s.conn.enqueueBinary(b)
}

type sent struct {
	seq  uint64
	at   time.Time
	data []byte
}

func newSession(room *Room, m *member) *session {
	return &session{id: newID(), resumeToken: newSecret(), room: room, member: m}
}

// send numbers msg, keeps it for resumption and queues it on the current
// connection. It never blocks: a connection whose queue is full is closed
// (the client resumes and gets the backlog from the ring).
func (s *session) send(msg wire.Message, ringSize int, keep time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.seq++
	msg.Head().Seq = s.seq
	data, err := json.Marshal(msg)
	msg.Head().Seq = 0
	if err != nil {
		return
	}
	now := time.Now()
	s.pruneLocked(now, ringSize-1, keep)
	s.ring = append(s.ring, sent{s.seq, now, data})
	if s.conn != nil && !s.conn.enqueue(data) {
		s.conn.closeWith(closeSlow, "too slow: resume to catch up")
		s.detachLocked(time.Now())
	}
}

// prune drops what a client can no longer need (see pruneLocked).
func (s *session) prune(now time.Time, keep time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneLocked(now, len(s.ring), keep)
}

// pruneLocked keeps at most most messages, and none older than keep while
// connected: a connected client has had those long since, and a client
// that drops may resume only within keep. Idle sessions so hold nothing.
func (s *session) pruneLocked(now time.Time, most int, keep time.Duration) {
	drop := 0
	for drop < len(s.ring) && (len(s.ring)-drop > most || (s.conn != nil && now.Sub(s.ring[drop].at) > keep)) {
		drop++
	}
	if drop == 0 {
		return
	}
	if drop == len(s.ring) {
		s.ring = nil
		return
	}
	s.ring = append([]sent(nil), s.ring[drop:]...)
}

// attach makes c the session's connection, queues first (the Joined
// message) and then replays what it missed after replayAfter; it reports
// false when the ring no longer holds all of them.
func (s *session) attach(c *wsConn, first []byte, replayAfter uint64, replay bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	if replay {
		if replayAfter > s.seq {
			return false
		}
		if replayAfter < s.seq && (len(s.ring) == 0 || s.ring[0].seq > replayAfter+1) {
			return false
		}
	}
	if s.conn != nil && s.conn != c {
		s.conn.closeWith(closeReplaced, "replaced by a newer connection")
	}
	s.conn = c
	s.dropped = time.Time{}
	if first != nil {
		c.enqueue(first)
	}
	if replay {
		for _, m := range s.ring {
			if m.seq > replayAfter {
				c.enqueue(m.data)
			}
		}
	}
	return true
}

// detach forgets conn if it is still the current one.
func (s *session) detach(c *wsConn, at time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != c {
		return false
	}
	s.detachLocked(at)
	return true
}

func (s *session) detachLocked(at time.Time) {
	s.conn = nil
	s.dropped = at
}

// connected reports whether a connection is attached.
func (s *session) connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conn != nil
}

// droppedSince returns when the connection was lost (zero if connected).
func (s *session) droppedSince() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}

// close ends the session and closes its connection with code and reason.
func (s *session) close(code int, reason string) {
	s.mu.Lock()
	detach := s.detachCobrowse
	s.detachCobrowse = nil
	defer func() {
		if detach != nil {
			detach() // outside s.mu: the relay may call Send while detaching
		}
	}()
	defer s.mu.Unlock()
	s.closed = true
	if s.conn != nil {
		s.conn.closeWith(code, reason)
		s.conn = nil
	}
}
