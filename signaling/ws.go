package signaling

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"github.com/lotse-io/lotse/internal/web"
	"github.com/lotse-io/lotse/signaling/wire"
	"github.com/lotse-io/lotse/store"
)

// ServeWS is the WebSocket endpoint /api/v1/signal. The page's Origin must
// be Lotse's own or one some tenant allows (a missing Origin is refused with
// 403); after Join, it must be allowed for the token's tenant.
func (s *Service) ServeWS(w http.ResponseWriter, r *http.Request) {
	if _, conns := s.hub.counts(); conns >= s.cfg.MaxConnections {
		web.WriteError(w, r, web.Errorf(http.StatusServiceUnavailable, "busy", "too many connections; try again"))
		return
	}
	origin := r.Header.Get("Origin")
	up := websocket.Upgrader{
		HandshakeTimeout: 10 * time.Second,
		// Reuse the HTTP server's read buffer and share write buffers
		// between connections: an idle connection then holds none.
		ReadBufferSize: 0, WriteBufferSize: 4096, WriteBufferPool: s.writeBuffers,
		CheckOrigin: func(r *http.Request) bool { return s.upgradeOriginOK(r) },
		Error: func(w http.ResponseWriter, r *http.Request, status int, reason error) {
			code := "bad_upgrade"
			if status == http.StatusForbidden {
				code = "origin_not_allowed"
			}
			web.WriteError(w, r, &web.HTTPError{Status: status, Code: code, Msg: http.StatusText(status), Err: reason})
		},
	}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade answered
	}
	c := newWSConn(ws, s.cfg.SendQueue, s.cfg.PingInterval)
	if !s.hub.track(c) {
		close(c.readerDone)
		go c.writeLoop()
		c.reconnect("server restarting", 1000)
		<-c.done
		return
	}
	go c.writeLoop()
	// The reader runs on a goroutine of its own so that this handler's
	// goroutine — with the deep stack of the HTTP server and middleware —
	// ends now instead of living as long as the connection.
	ctx, ip := context.WithoutCancel(r.Context()), web.ClientIP(r.Context()).String()
	go func() {
		defer s.hub.untrack(c)
		s.readLoop(ctx, c, origin, ip)
		c.closeWith(closeNormal, "")
		// Read (and drop) what the client still sends until its close
		// frame or the writer's deadline, so the socket never closes with
		// unread data (which would reset the connection).
		_ = c.ws.SetReadDeadline(time.Now().Add(3 * time.Second))
		for {
			if _, _, err := c.ws.NextReader(); err != nil {
				break
			}
		}
		close(c.readerDone)
		<-c.done
	}()
}

// upgradeOriginOK is the check before the tenant is known.
func (s *Service) upgradeOriginOK(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	if strings.EqualFold(origin, s.pub) {
		return true
	}
	if u, err := url.Parse(origin); err == nil && strings.EqualFold(u.Host, r.Host) {
		return true
	}
	return s.origins.anyTenantAllows(r.Context(), strings.ToLower(origin))
}

// connState is what the read loop knows about its connection.
type connState struct {
	c       *wsConn
	sess    *session
	room    *Room
	origin  string
	ip      string
	limiter *rate.Limiter
	// frames limits co-browse frames, which come far more often than
	// signalling messages (pointer at 20 Hz, DOM batches).
	frames  *rate.Limiter
	strikes []time.Time
}

func (s *Service) readLoop(ctx context.Context, c *wsConn, origin, ip string) {
	st := &connState{c: c, origin: origin, ip: ip, limiter: rate.NewLimiter(rate.Limit(s.cfg.RateLimit), s.cfg.RateBurst),
		frames: rate.NewLimiter(rate.Limit(s.cfg.CobrowseFrameRate), 2*int(s.cfg.CobrowseFrameRate))}
	ws := c.ws
	ws.SetReadLimit(wire.MaxMessageBytes)
	_ = ws.SetReadDeadline(time.Now().Add(s.cfg.JoinTimeout))
	ws.SetPongHandler(func(string) error {
		if st.sess != nil {
			return ws.SetReadDeadline(time.Now().Add(3 * s.cfg.PingInterval))
		}
		return nil
	})
	defer func() {
		if st.sess != nil {
			st.room.dropped(st.sess, c)
		}
	}()
	for {
		mt, data, err := ws.ReadMessage()
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				c.closeWith(closeTooBig, "message larger than 64 KiB")
			} else if st.sess == nil {
				var ne interface{ Timeout() bool }
				if errors.As(err, &ne) && ne.Timeout() {
					c.closeWith(closeJoinTimeout, "send join first")
				}
			}
			return
		}
		if st.sess != nil {
			_ = ws.SetReadDeadline(time.Now().Add(3 * s.cfg.PingInterval))
		}
		if mt == websocket.BinaryMessage && st.sess != nil {
			if !st.frames.Allow() {
				s.sendError(st, wire.Errorf(wire.CodeRateLimited, "too many co-browse frames"))
				continue
			}
			s.metrics.messagesIn.WithLabelValues("cobrowse").Inc()
			if pe := s.cobrowseFrame(ctx, st, data); pe != nil {
				s.sendError(st, pe)
			}
			continue
		}
		if !st.limiter.Allow() {
			s.sendError(st, wire.Errorf(wire.CodeRateLimited, "too many messages; slow down"))
			now := time.Now()
			st.strikes = append(st.strikes, now)
			for len(st.strikes) > 0 && now.Sub(st.strikes[0]) > 10*time.Second {
				st.strikes = st.strikes[1:]
			}
			if len(st.strikes) >= s.cfg.RateStrikes {
				c.closeWith(closePolicy, "message flood")
				return
			}
			continue
		}
		if mt != websocket.TextMessage {
			s.sendError(st, wire.Errorf(wire.CodeBadMessage, "send JSON text messages"))
			continue
		}
		msg, err := wire.Decode(data)
		if err != nil {
			var pe *wire.ProtocolError
			if errors.As(err, &pe) {
				s.metrics.messagesIn.WithLabelValues("invalid").Inc()
				s.sendError(st, pe)
				continue
			}
			return
		}
		s.metrics.messagesIn.WithLabelValues(msg.Head().Type).Inc()
		if stop := s.dispatch(ctx, st, msg); stop {
			return
		}
	}
}

// sendError tells the client what was wrong with a message.
func (s *Service) sendError(st *connState, pe *wire.ProtocolError) {
	s.metrics.messagesErr.WithLabelValues(pe.Code).Inc()
	st.c.send(&wire.Error{Header: wire.Header{Type: "error"}, Code: pe.Code, Message: pe.Msg, Ref: pe.Ref})
}

// dispatch handles one message; it returns true when the connection ends.
func (s *Service) dispatch(ctx context.Context, st *connState, msg wire.Message) bool {
	ref := msg.Head().ID
	fail := func(err error) bool {
		var pe *wire.ProtocolError
		if !errors.As(err, &pe) {
			s.log.Error().Err(err).Str("type", msg.Head().Type).Msg("handle signalling message")
			pe = wire.Errorf(wire.CodeInternal, "the server could not handle this; try again")
		}
		pe.Ref = ref
		s.sendError(st, pe)
		return false
	}
	if j, ok := msg.(*wire.Join); ok {
		if st.sess != nil {
			return fail(wire.Errorf(wire.CodeInvalid, "already joined"))
		}
		return s.join(ctx, st, j)
	}
	if st.sess == nil {
		return fail(wire.Errorf(wire.CodeJoinFirst, "send join first"))
	}
	r, sess := st.room, st.sess
	var err error
	switch m := msg.(type) {
	case *wire.Ping:
		st.c.send(&wire.Pong{Header: wire.Header{Type: "pong", ID: ref}})
	case *wire.Admit:
		err = r.admit(ctx, sess, m.ParticipantID)
	case *wire.Remove:
		err = r.remove(ctx, sess, m.ParticipantID)
	case *wire.Chat:
		err = r.chat(ctx, sess, ref, m.Text)
	case *wire.Typing:
		err = r.typing(sess, m.Active)
	case *wire.UpdateConsent:
		err = r.updateConsent(ctx, sess, m.Consent)
	case *wire.End:
		err = r.end(ctx, sess)
	case *wire.Leave:
		r.leave(ctx, sess)
		return true
	case *wire.Media:
		err = r.media(sess, m)
	default:
		err = wire.Errorf(wire.CodeUnknownType, "message type %q is not handled", msg.Head().Type)
	}
	if err != nil {
		return fail(err)
	}
	return false
}

// join handles the first message: token check, origin check for the
// tenant, then a fresh session or the resumption of a dropped one.
func (s *Service) join(ctx context.Context, st *connState, j *wire.Join) bool {
	refuse := func(code int, pe *wire.ProtocolError) bool {
		pe.Ref = j.ID
		s.sendError(st, pe)
		st.c.closeWith(code, pe.Msg)
		return true
	}
	claims, err := s.tokens.Verify(j.Token)
	if err != nil {
		return refuse(closeBadToken, wire.Errorf(wire.CodeBadToken, "the join token is invalid or expired"))
	}
	t, err := s.st.TenantByID(ctx, claims.Tenant)
	if err != nil {
		return refuse(closeBadToken, wire.Errorf(wire.CodeBadToken, "the join token is invalid or expired"))
	}
	if !s.originAllowed(t, strings.ToLower(st.origin)) && !s.sameHostOrigin(st.origin) {
		return refuse(closeBadOrigin, wire.Errorf(wire.CodeNotAllowed, "this site may not join conversations of this bank"))
	}
	room, err := s.hub.room(ctx, claims.Tenant, claims.Conversation)
	if errors.Is(err, store.ErrNotFound) {
		return refuse(closeBadToken, wire.Errorf(wire.CodeNotFound, "no such conversation"))
	}
	if err != nil {
		return refuse(closeInternal, wire.Errorf(wire.CodeInternal, "the server could not load the conversation"))
	}
	if res := j.Resume; res != nil {
		old := s.hub.session(res.SessionID)
		if old != nil && old.room == room && old.member.rec.ID == claims.Participant && old.resumeToken == res.ResumeToken {
			if room.resume(old, st.c, res.LastSeq, s.iceServers(claims.Participant)) {
				st.sess, st.room = old, room
				_ = st.c.ws.SetReadDeadline(time.Now().Add(3 * s.cfg.PingInterval))
				return false
			}
		}
		s.sendError(st, wire.Errorf(wire.CodeResumeFailed, "cannot resume; joined afresh"))
	}
	sess, err := room.join(ctx, claims, st.c, s.iceServers(claims.Participant))
	if err != nil {
		var pe *wire.ProtocolError
		if errors.As(err, &pe) {
			code := closeNormal
			if pe.Code == wire.CodeEnded {
				code = closeEnded
			}
			return refuse(code, pe)
		}
		s.log.Error().Err(err).Msg("join")
		return refuse(closeInternal, wire.Errorf(wire.CodeInternal, "the server could not join you; try again"))
	}
	st.sess, st.room = sess, room
	_ = st.c.ws.SetReadDeadline(time.Now().Add(3 * s.cfg.PingInterval))
	return false
}

func (s *Service) sameHostOrigin(origin string) bool {
	u, err := url.Parse(origin)
	p, err2 := url.Parse(s.pub)
	return err == nil && err2 == nil && strings.EqualFold(u.Host, p.Host)
}
