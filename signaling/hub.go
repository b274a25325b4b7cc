package signaling

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/lotse-io/lotse/store"
)

// Hub holds the live rooms of this node and the sessions that can be
// resumed. A room lives while anyone is in it (or within the resume window)
// and ends after the empty timeout.
type Hub struct {
	cfg Config
	svc *Service
	log zerolog.Logger

	mu       sync.Mutex // guards the fields below; never held while locking a room
	rooms    map[string]*Room
	byConv   map[string]*Room // the same rooms by conversation id (ids are unique across tenants)
	sessions map[string]*session
	conns    map[*wsConn]struct{}
	draining bool
}

func newHub(cfg Config, svc *Service, log zerolog.Logger) *Hub {
	return &Hub{cfg: cfg, svc: svc, log: log, rooms: map[string]*Room{}, byConv: map[string]*Room{}, sessions: map[string]*session{}, conns: map[*wsConn]struct{}{}}
}

func roomKey(tenantID, convID string) string { return tenantID + "/" + convID }

// room returns the live room of a conversation, loading it on first use.
func (h *Hub) room(ctx context.Context, tenantID, convID string) (*Room, error) {
	h.mu.Lock()
	r := h.rooms[roomKey(tenantID, convID)]
	h.mu.Unlock()
	if r != nil {
		return r, nil
	}
	conv, err := h.svc.st.Conversation(ctx, tenantID, convID)
	if err != nil {
		return nil, err
	}
	parts, err := h.svc.st.Participants(ctx, tenantID, convID)
	if err != nil {
		return nil, err
	}
	nr := &Room{hub: h, tenantID: tenantID, convID: convID, conv: conv, members: map[string]*member{}, ended: conv.State == "ended"}
	for _, p := range parts {
		nr.members[p.ID] = &member{rec: p}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if r := h.rooms[roomKey(tenantID, convID)]; r != nil {
		return r, nil // another join loaded it first
	}
	h.rooms[roomKey(tenantID, convID)] = nr
	h.byConv[convID] = nr
	return nr, nil
}

// liveRoom returns the room if it is loaded.
func (h *Hub) liveRoom(tenantID, convID string) *Room {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.rooms[roomKey(tenantID, convID)]
}

// roomByConv returns the live room of a conversation id, if loaded.
func (h *Hub) roomByConv(convID string) *Room {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.byConv[convID]
}

func (h *Hub) removeRoom(r *Room) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.rooms[roomKey(r.tenantID, r.convID)] == r {
		delete(h.rooms, roomKey(r.tenantID, r.convID))
		delete(h.byConv, r.convID)
	}
}

func (h *Hub) remember(s *session) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sessions[s.id] = s
}

func (h *Hub) forget(s *session) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.sessions, s.id)
}

func (h *Hub) session(id string) *session {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.sessions[id]
}

// track registers a connection for shutdown; false while draining.
func (h *Hub) track(c *wsConn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.draining {
		return false
	}
	h.conns[c] = struct{}{}
	return true
}

func (h *Hub) untrack(c *wsConn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.conns, c)
}

// counts returns the numbers of rooms and connections.
func (h *Hub) counts() (rooms, conns int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.rooms), len(h.conns)
}

// run sweeps the rooms every second until ctx ends.
func (h *Hub) run(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			h.mu.Lock()
			rooms := make([]*Room, 0, len(h.rooms))
			for _, r := range h.rooms {
				rooms = append(rooms, r)
			}
			h.mu.Unlock()
			for _, r := range rooms {
				r.sweep(ctx, now)
			}
		}
	}
}

// shutdown tells every connected client to reconnect (to this node after a
// restart, or to another) and closes the connections with 1012. Rooms stay
// open in the database.
func (h *Hub) shutdown(ctx context.Context) {
	h.mu.Lock()
	h.draining = true
	conns := make([]*wsConn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		c.reconnect("server restarting", 1000)
	}
	// Wait (bounded) for the writers to flush their close frames.
	for _, c := range conns {
		select {
		case <-c.done:
		case <-ctx.Done():
			return
		}
	}
}

func newID() string {
	return store.NewID()
}

func newSecret() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
