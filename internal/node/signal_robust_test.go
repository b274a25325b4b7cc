package node

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/lotse-io/lotse/internal/config"
	sigclient "github.com/lotse-io/lotse/signaling/client"
	"github.com/lotse-io/lotse/signaling/wire"
	"github.com/lotse-io/lotse/store"
)

func TestShareTokensAndCodes(t *testing.T) {
	e := newEnv(t, fastHasher, nil)
	admin := e.mustLogin("demo", "admin@demo.local", adminPassword)

	t.Run("link used beyond its limit", func(t *testing.T) {
		c := admin.createConversation(map[string]any{"share_max_uses": 2})
		tok := shareToken(c.ShareURL)
		for i := 0; i < 2; i++ {
			if _, r := e.exchange(tok, "", "K"); r.status != 200 {
				t.Fatalf("use %d: %d %s", i+1, r.status, r.body)
			}
		}
		if _, r := e.exchange(tok, "", "K"); r.status != 410 || r.code() != "link_used_up" {
			t.Fatalf("third use: %d %s", r.status, r.body)
		}
	})
	t.Run("revoked link and code", func(t *testing.T) {
		c := admin.createConversation(nil)
		if r := admin.do("DELETE", "/api/v1/conversations/"+c.ID+"/share", nil); r.status != 204 {
			t.Fatalf("revoke: %d", r.status)
		}
		if _, r := e.exchange(shareToken(c.ShareURL), "", "K"); r.status != 410 || r.code() != "link_revoked" {
			t.Fatalf("revoked link: %d %s", r.status, r.body)
		}
		if _, r := e.exchange("", c.Code, "K"); r.status != 404 || r.code() != "code_invalid" {
			t.Fatalf("revoked code: %d %s", r.status, r.body)
		}
	})
	t.Run("unknown link and missing consent and name", func(t *testing.T) {
		if _, r := e.exchange("not-a-real-token", "", "K"); r.status != 404 || r.code() != "link_invalid" {
			t.Fatalf("unknown: %d %s", r.status, r.body)
		}
		c := admin.createConversation(nil)
		r := e.anon().do("POST", "/api/v1/join", map[string]any{"token": shareToken(c.ShareURL), "display_name": "K", "consent": map[string]bool{}})
		if r.status != 400 || r.code() != "consent_required" {
			t.Fatalf("no consent: %d %s", r.status, r.body)
		}
		if _, r := e.exchange(shareToken(c.ShareURL), "", strings.Repeat("x", 81)); r.status != 400 || r.code() != "invalid_name" {
			t.Fatalf("long name: %d %s", r.status, r.body)
		}
	})
	t.Run("code works once", func(t *testing.T) {
		c := admin.createConversation(nil)
		if _, r := e.exchange("", c.Code, "Telefonkunde"); r.status != 200 {
			t.Fatalf("code: %d %s", r.status, r.body)
		}
		if _, r := e.exchange("", c.Code, "Zweiter"); r.status != 404 {
			t.Fatalf("code reused: %d", r.status)
		}
	})
	t.Run("expired link and code", func(t *testing.T) {
		c := admin.createConversation(nil)
		e.clock.add(11 * time.Minute)
		if _, r := e.exchange("", c.Code, "K"); r.status != 404 {
			t.Fatalf("code after 11 min: %d", r.status)
		}
		if _, r := e.exchange(shareToken(c.ShareURL), "", "K"); r.status != 200 {
			t.Fatalf("link after 11 min: %d", r.status)
		}
		e.clock.add(24 * time.Hour)
		if _, r := e.exchange(shareToken(c.ShareURL), "", "K"); r.status != 410 || r.code() != "link_expired" {
			t.Fatalf("link after 24 h: %d %s", r.status, r.body)
		}
		// An expired join token cannot open the WebSocket.
	})
	t.Run("foreign origin may not exchange", func(t *testing.T) {
		admin := e.mustLogin("demo", "admin@demo.local", adminPassword) // the clock moved a day
		c := admin.createConversation(nil)
		evil := e.anon()
		evil.origin = "https://evil.example"
		r := evil.do("POST", "/api/v1/join", map[string]any{"token": shareToken(c.ShareURL), "display_name": "K", "consent": map[string]bool{"terms": true}})
		if r.status != 403 {
			t.Fatalf("foreign origin: %d %s", r.status, r.body)
		}
	})
}

func TestCodeGuessingIsHopeless(t *testing.T) {
	e := newEnv(t, fastHasher, nil)
	admin := e.mustLogin("demo", "admin@demo.local", adminPassword)
	real := admin.createConversation(nil).Code
	h := e.n.Handler()
	statuses := map[int]int{}
	for i := 0; i < 10000; i++ {
		guess := fmt.Sprintf("%06d", i)
		if guess == real {
			continue // the guesser does not know it; we only count what it finds
		}
		req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/join", strings.NewReader(`{"code":"`+guess+`","display_name":"x","consent":{"terms":true}}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", e.srv.URL)
		req.RemoteAddr = "203.0.113.7:4000"
		rec := newRecorder()
		h.ServeHTTP(rec, req)
		statuses[rec.Code]++
	}
	if statuses[200] != 0 || statuses[429] < 9900 {
		t.Fatalf("10,000 guesses from one address: %v", statuses)
	}
	// From another address the real code still works (one address's
	// guessing does not lock customers out).
	if _, r := e.exchange("", real, "Echte Kundin"); r.status != 200 {
		t.Fatalf("real code from another address: %d %s", r.status, r.body)
	}
}

func TestWebSocketRobustness(t *testing.T) {
	e := newEnv(t, fastHasher, func(c *config.Config) {
		c.Signaling.RateLimit = 20
		c.Signaling.RateBurst = 20
		c.Signaling.RateStrikes = 30
	})
	admin := e.mustLogin("demo", "admin@demo.local", adminPassword)
	conv := admin.createConversation(nil)
	adv, _ := e.joinWS(admin.staffToken(conv.ID).JoinToken)
	ctx := context.Background()

	t.Run("origin", func(t *testing.T) {
		for _, origin := range []string{"https://evil.example", "-"} {
			h := http.Header{}
			if origin != "-" {
				h.Set("Origin", origin)
			}
			_, resp, err := websocket.DefaultDialer.Dial(e.wsURL(), h)
			if err == nil || resp == nil || resp.StatusCode != 403 {
				t.Fatalf("origin %q: err %v resp %v", origin, err, resp)
			}
		}
	})
	t.Run("oversize frame closes 1009", func(t *testing.T) {
		c := e.dial("")
		c.SendRaw([]byte(`{"type":"ping","id":"` + strings.Repeat("x", 65*1024) + `"}`))
		<-c.Done()
		if ce := c.CloseError(); ce == nil || ce.Code != 1009 {
			t.Fatalf("close %v, err %v", ce, c.Err())
		}
	})
	t.Run("bad messages get errors, connection lives", func(t *testing.T) {
		c := e.dial("")
		for _, tc := range []struct{ in, code string }{
			{`{"type":"chat","text":"before join"}`, wire.CodeJoinFirst},
			{`not json`, wire.CodeBadMessage},
			{`{"type":"launch_missiles"}`, wire.CodeUnknownType},
			{`{"type":"join","token":"forged.token.here"}`, wire.CodeBadToken},
		} {
			c.SendRaw([]byte(tc.in))
			m := wait(t, c, func(m *wire.Error) bool { return true })
			if m.Code != tc.code {
				t.Fatalf("%s: error %s, want %s", tc.in, m.Code, tc.code)
			}
			if tc.code == wire.CodeBadToken {
				<-c.Done()
				if ce := c.CloseError(); ce == nil || ce.Code != 4401 {
					t.Fatalf("bad token close %v", ce)
				}
			}
		}
		// The room is unharmed: the advisor still chats.
		adv.Send(&wire.Chat{Header: wire.Header{Type: "chat", ID: "still"}, Text: "noch da"})
		wait(t, adv, func(m *wire.ChatDelivered) bool { return m.ID == "still" })
		for _, tc := range []struct{ in, code string }{
			{`{"type":"admit","participant_id":"someone-elses"}`, wire.CodeNotFound},
			{`{"type":"chat","text":"x","extra":1}`, wire.CodeBadMessage},
			{`{"type":"joined","session_id":"x"}`, wire.CodeUnknownType},
		} {
			adv.SendRaw([]byte(tc.in))
			if m := wait(t, adv, func(m *wire.Error) bool { return true }); m.Code != tc.code {
				t.Fatalf("%s: %s, want %s", tc.in, m.Code, tc.code)
			}
		}
		adv.Send(&wire.Ping{Header: wire.Header{Type: "ping", ID: "p"}})
		wait(t, adv, func(m *wire.Pong) bool { return m.ID == "p" })
	})
	t.Run("flood is throttled then closed 1008", func(t *testing.T) {
		fc, _ := e.joinWS(admin.staffToken(conv.ID).JoinToken) // replaces adv's connection
		limited := 0
		for i := 0; i < 200; i++ {
			if fc.SendRaw([]byte(`{"type":"ping"}`)) != nil {
				break
			}
		}
		for {
			m, err := fc.Next(ctx)
			if err != nil {
				break
			}
			if em, ok := m.(*wire.Error); ok && em.Code == wire.CodeRateLimited {
				limited++
			}
		}
		if ce := fc.CloseError(); ce == nil || ce.Code != 1008 || limited < 10 {
			t.Fatalf("flood: close %v, %d rate_limited errors, err %v", ce, limited, fc.Err())
		}
	})
}

func TestResumeReplaysExactlyTheMissedMessages(t *testing.T) {
	e := newEnv(t, fastHasher, nil)
	admin := e.mustLogin("demo", "admin@demo.local", adminPassword)
	conv := admin.createConversation(nil)
	adv, _ := e.joinWS(admin.staffToken(conv.ID).JoinToken)
	jr, _ := e.exchange(shareToken(conv.ShareURL), "", "Kundin")
	cust, joined := e.joinWS(jr.JoinToken)
	wait(t, adv, func(m *wire.ParticipantJoined) bool { return true })
	adv.Send(&wire.Admit{Header: wire.Header{Type: "admit"}, ParticipantID: jr.ParticipantID})
	for i := 0; i < 3; i++ {
		adv.Send(&wire.Chat{Header: wire.Header{Type: "chat"}, Text: fmt.Sprintf("before %d", i)})
		wait(t, cust, func(m *wire.ChatDelivered) bool { return m.Message.Text == fmt.Sprintf("before %d", i) })
	}
	last := cust.LastSeq()
	cust.Drop() // network failure: no close handshake
	wait(t, adv, func(m *wire.ParticipantUpdated) bool {
		return m.Participant.ID == jr.ParticipantID && !m.Participant.Connected
	})
	for i := 0; i < 5; i++ {
		adv.Send(&wire.Chat{Header: wire.Header{Type: "chat", ID: fmt.Sprint("m", i)}, Text: fmt.Sprintf("missed %d", i)})
		wait(t, adv, func(m *wire.ChatDelivered) bool { return m.ID == fmt.Sprint("m", i) })
	}
	// The join token is only needed to prove who resumes; a fresh one works.
	jr2 := jr
	c2 := e.dial("")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	j2, err := c2.Join(ctx, jr2.JoinToken, &wire.ResumeInfo{SessionID: joined.SessionID, ResumeToken: joined.ResumeToken, LastSeq: last})
	if err != nil || !j2.Resumed {
		t.Fatalf("resume: %+v %v", j2, err)
	}
	var texts []string
	var seqs []uint64
	for len(texts) < 5 {
		m, err := c2.Next(ctx)
		if err != nil {
			t.Fatalf("after resume: %v (got %v)", err, texts)
		}
		seqs = append(seqs, m.Head().Seq)
		if cm, ok := m.(*wire.ChatDelivered); ok {
			texts = append(texts, cm.Message.Text)
		}
	}
	if strings.Join(texts, "|") != "missed 0|missed 1|missed 2|missed 3|missed 4" {
		t.Fatalf("replayed %v", texts)
	}
	for i, s := range seqs {
		if s != last+uint64(i)+1 {
			t.Fatalf("replayed seqs %v after %d: gap or duplicate", seqs, last)
		}
	}
	// Live messages continue after the replay without duplicates.
	adv.Send(&wire.Chat{Header: wire.Header{Type: "chat"}, Text: "live"})
	m := wait(t, c2, func(m *wire.ChatDelivered) bool { return true })
	if m.Message.Text != "live" || m.Seq != seqs[len(seqs)-1]+1 {
		t.Fatalf("after replay got %q seq %d", m.Message.Text, m.Seq)
	}
	// A wrong resume token does not take over the session.
	c3 := e.dial("")
	j3, err := c3.Join(ctx, jr.JoinToken, &wire.ResumeInfo{SessionID: joined.SessionID, ResumeToken: "wrong", LastSeq: 0})
	if err != nil || j3.Resumed || j3.SessionID == joined.SessionID {
		t.Fatalf("resume with a wrong token: %+v %v", j3, err)
	}
	// The fresh join replaced the resumed connection.
	<-c2.Done()
	if ce := c2.CloseError(); ce == nil || ce.Code != 4001 {
		t.Fatalf("replaced connection closed with %v", ce)
	}
	_ = sigclient.ErrClosed
}

func TestJoinTokenCannotCrossTenants(t *testing.T) {
	e := newEnv(t, fastHasher, nil)
	e.addUser("bank-b", "b@bank-b.example", store.RoleAdmin, "B-Admin-Password-1")
	b := e.mustLogin("bank-b", "b@bank-b.example", "B-Admin-Password-1")
	bConv := b.createConversation(nil)
	bAdv, _ := e.joinWS(b.staffToken(bConv.ID).JoinToken)
	bj, _ := e.exchange(shareToken(bConv.ShareURL), "", "B-Kunde")
	e.joinWS(bj.JoinToken)
	wait(t, bAdv, func(m *wire.ParticipantJoined) bool { return true })

	a := e.mustLogin("demo", "admin@demo.local", adminPassword)
	aConv := a.createConversation(nil)
	aAdv, aJoined := e.joinWS(a.staffToken(aConv.ID).JoinToken)
	if aJoined.Conversation.ID != aConv.ID {
		t.Fatal("joined the wrong conversation")
	}
	// A's advisor tries to admit and remove B's customer.
	for _, m := range []wire.Message{
		&wire.Admit{Header: wire.Header{Type: "admit"}, ParticipantID: bj.ParticipantID},
		&wire.Remove{Header: wire.Header{Type: "remove"}, ParticipantID: bj.ParticipantID},
	} {
		aAdv.Send(m)
		if em := wait(t, aAdv, func(m *wire.Error) bool { return true }); em.Code != wire.CodeNotFound {
			t.Fatalf("cross-tenant %s: %+v", m.Head().Type, em)
		}
	}
	// B's staff token does not open A's conversation: tokens bind both.
	r := a.do("POST", "/api/v1/conversations/"+bConv.ID+"/token", nil)
	if r.status != 404 {
		t.Fatalf("A's staff token for B's conversation: %d", r.status)
	}
	rec, _ := e.n.db.Participants(context.Background(), e.tenant("bank-b").ID, bConv.ID)
	for _, p := range rec {
		if p.ID == bj.ParticipantID && p.State != "waiting" {
			t.Fatalf("B's customer changed to %s", p.State)
		}
	}
}

func TestRetentionExportDelete(t *testing.T) {
	e := newEnv(t, fastHasher, nil)
	admin := e.mustLogin("demo", "admin@demo.local", adminPassword)
	old := admin.createConversation(map[string]any{"subject": "alt"})
	admin.do("POST", "/api/v1/conversations/"+old.ID+"/end", nil)
	e.clock.add(200 * 24 * time.Hour)
	admin = e.mustLogin("demo", "admin@demo.local", adminPassword) // sessions expired meanwhile
	recent := admin.createConversation(map[string]any{"subject": "neu"})
	var s store.TenantSettings
	admin.do("GET", "/api/v1/admin/settings", nil).json(t, &s)
	s.RetentionDays = 90
	if r := admin.do("PUT", "/api/v1/admin/settings", s); r.status != 200 {
		t.Fatalf("settings: %d %s", r.status, r.body)
	}
	n, err := e.n.signal.RunRetention(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("retention deleted %d (%v), want 1", n, err)
	}
	if r := admin.do("GET", "/api/v1/conversations/"+old.ID, nil); r.status != 404 {
		t.Fatalf("old record still there: %d", r.status)
	}
	var events int
	e.n.db.SQL().QueryRow(`SELECT COUNT(*) FROM conversation_events WHERE conversation_id = $1`, old.ID).Scan(&events)
	if events != 0 {
		t.Fatalf("%d events of the deleted record remain", events)
	}
	r := admin.do("GET", "/api/v1/conversations/"+recent.ID+"/export", nil)
	if r.status != 200 || !strings.Contains(r.header.Get("Content-Disposition"), "attachment") || !strings.Contains(string(r.body), `"events"`) {
		t.Fatalf("export: %d %s", r.status, r.body)
	}
	if r := admin.do("DELETE", "/api/v1/conversations/"+recent.ID, nil); r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if r := admin.do("GET", "/api/v1/conversations/"+recent.ID, nil); r.status != 404 {
		t.Fatalf("deleted record still there: %d", r.status)
	}
	acts := e.auditActions("demo")
	for _, want := range []string{"records.retention_deleted", "record.exported(conversation:" + recent.ID, "record.deleted(conversation:" + recent.ID} {
		if !contains(acts, want) {
			t.Errorf("audit lacks %s: %v", want, acts)
		}
	}
	// An advisor may read but not delete records.
	e.addUser("demo", "adv@demo.local", store.RoleAdvisor, "Advisor-Password-9")
	adv := e.mustLogin("demo", "adv@demo.local", "Advisor-Password-9")
	c := adv.createConversation(nil)
	if r := adv.do("DELETE", "/api/v1/conversations/"+c.ID, nil); r.status != 403 {
		t.Fatalf("advisor delete: %d", r.status)
	}
}
