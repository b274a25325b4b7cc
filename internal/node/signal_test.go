package node

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lotse-io/lotse/internal/config"
	"github.com/lotse-io/lotse/signaling/wire"
)

type hookReceiver struct {
	mu     sync.Mutex
	events []string
	bad    []string
	secret string
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	sig := r.Header.Get("Lotse-Signature")
	h.mu.Lock()
	defer h.mu.Unlock()
	ts, mac, _ := strings.Cut(strings.TrimPrefix(sig, "t="), ",v1=")
	m := hmac.New(sha256.New, []byte(h.secret))
	m.Write([]byte(ts + "."))
	m.Write(b)
	if hex.EncodeToString(m.Sum(nil)) != mac {
		h.bad = append(h.bad, string(b))
		w.WriteHeader(400)
		return
	}
	var body struct{ Event string }
	json.Unmarshal(b, &body)
	h.events = append(h.events, body.Event)
}

func (h *hookReceiver) got() ([]string, []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.events...), append([]string(nil), h.bad...)
}

// TestConversationJourney goes create → share link → join → waiting →
// admit → chat → leave → end with the Go client on the real server, and
// checks the record and the signed webhooks.
func TestConversationJourney(t *testing.T) {
	e := newEnv(t, fastHasher, func(c *config.Config) { c.Signaling.WebhookAllowPrivate = true })
	admin := e.mustLogin("demo", "admin@demo.local", adminPassword)
	hooks := &hookReceiver{}
	hookSrv := httptest.NewServer(hooks)
	defer hookSrv.Close()
	r := admin.do("PUT", "/api/v1/admin/webhook", map[string]string{"url": hookSrv.URL + "/lotse"})
	var wh struct{ Secret string }
	r.json(t, &wh)
	if r.status != 200 || !strings.HasPrefix(wh.Secret, "whsec_") {
		t.Fatalf("set webhook: %d %s", r.status, r.body)
	}
	hooks.mu.Lock()
	hooks.secret = wh.Secret
	hooks.mu.Unlock()

	conv := admin.createConversation(map[string]any{"subject": "Baufinanzierung", "customer_name": "Frau Kundin"})
	if conv.State != "created" || !strings.HasPrefix(conv.ShareURL, e.srv.URL+"/j/") || len(conv.Code) != 6 {
		t.Fatalf("created %+v", conv)
	}
	adv, advJoined := e.joinWS(admin.staffToken(conv.ID).JoinToken)
	if advJoined.Self.Role != "advisor" || advJoined.Self.State != "admitted" || !advJoined.Self.Connected {
		t.Fatalf("advisor joined as %+v", advJoined.Self)
	}
	if len(advJoined.Participants) != 1 || !advJoined.Participants[0].Connected {
		t.Fatalf("advisor's own entry in the list: %+v", advJoined.Participants)
	}

	jr, res := e.exchange(shareToken(conv.ShareURL), "", "Frau Kundin")
	if res.status != 200 {
		t.Fatalf("exchange: %d %s", res.status, res.body)
	}
	cust, custJoined := e.joinWS(jr.JoinToken)
	if custJoined.Self.State != "waiting" || len(custJoined.Chat) != 0 {
		t.Fatalf("customer joined as %+v", custJoined.Self)
	}
	for _, p := range custJoined.Participants {
		if p.ID != custJoined.Self.ID && p.State != "admitted" {
			t.Fatalf("waiting customer sees %+v", p)
		}
	}
	waiting := wait(t, adv, func(m *wire.ParticipantJoined) bool { return m.Participant.ID == jr.ParticipantID })
	if waiting.Participant.State != "waiting" || !waiting.Participant.Connected || waiting.Participant.Consent == nil || !waiting.Participant.Consent.Cobrowse {
		t.Fatalf("advisor sees %+v", waiting.Participant)
	}
	// A waiting customer cannot chat yet.
	cust.Send(&wire.Chat{Header: wire.Header{Type: "chat", ID: "early"}, Text: "Hallo?"})
	if e := wait(t, cust, func(m *wire.Error) bool { return m.Ref == "early" }); e.Code != wire.CodeNotAdmitted {
		t.Fatalf("early chat: %+v", e)
	}
	adv.Send(&wire.Admit{Header: wire.Header{Type: "admit"}, ParticipantID: jr.ParticipantID})
	wait(t, cust, func(m *wire.ParticipantUpdated) bool {
		return m.Participant.ID == jr.ParticipantID && m.Participant.State == "admitted"
	})
	wait(t, cust, func(m *wire.ParticipantJoined) bool { return m.Participant.Role == "advisor" })

	adv.Send(&wire.Chat{Header: wire.Header{Type: "chat", ID: "a1"}, Text: "Guten Tag, Frau Kundin!"})
	got := wait(t, cust, func(m *wire.ChatDelivered) bool { return true })
	if got.Message.Text != "Guten Tag, Frau Kundin!" || got.Message.From != advJoined.Self.ID {
		t.Fatalf("customer got %+v", got.Message)
	}
	if ack := wait(t, adv, func(m *wire.ChatDelivered) bool { return true }); ack.ID != "a1" {
		t.Fatalf("sender's copy lacks its id: %+v", ack)
	}
	cust.Send(&wire.Typing{Header: wire.Header{Type: "typing"}, Active: true})
	wait(t, adv, func(m *wire.TypingUpdate) bool { return m.ParticipantID == jr.ParticipantID && m.Active })
	cust.Send(&wire.Chat{Header: wire.Header{Type: "chat"}, Text: "Hallo! <script>alert(1)</script>"})
	if m := wait(t, adv, func(m *wire.ChatDelivered) bool { return m.Message.From == jr.ParticipantID }); m.Message.Text != "Hallo! <script>alert(1)</script>" {
		t.Fatalf("advisor got %q", m.Message.Text)
	}
	cust.Send(&wire.Leave{Header: wire.Header{Type: "leave"}})
	wait(t, adv, func(m *wire.ParticipantLeft) bool { return m.ParticipantID == jr.ParticipantID && m.Reason == "left" })
	adv.Send(&wire.End{Header: wire.Header{Type: "end"}})
	if m := wait(t, adv, func(m *wire.ConversationEnded) bool { return true }); m.Reason != "ended_by_advisor" {
		t.Fatalf("end reason %q", m.Reason)
	}
	select {
	case <-adv.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("advisor connection not closed after the end")
	}

	// The record holds every step in order, with the right actors.
	r = admin.do("GET", "/api/v1/conversations/"+conv.ID, nil)
	var rec struct {
		State        string
		Participants []struct {
			ID, Role, State string
			Consent         json.RawMessage
		}
		Events []struct {
			Seq   int64
			Actor string
			Type  string
			Data  json.RawMessage
		}
	}
	r.json(t, &rec)
	var steps []string
	for i, ev := range rec.Events {
		if ev.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d", i, ev.Seq)
		}
		steps = append(steps, ev.Type+" by "+strings.Split(ev.Actor, ":")[0])
	}
	want := []string{
		"conversation.created by user", "participant.joined by participant", "consent.given by participant",
		"participant.joined by participant", "conversation.waiting by system", "participant.admitted by participant",
		"conversation.active by system", "chat by participant", "chat by participant", "participant.left by participant",
		"conversation.end_requested by participant", "conversation.ended by system",
	}
	if strings.Join(steps, "\n") != strings.Join(want, "\n") {
		t.Fatalf("record:\n%s\nwant:\n%s", strings.Join(steps, "\n"), strings.Join(want, "\n"))
	}
	if rec.State != "ended" || len(rec.Participants) != 2 {
		t.Fatalf("record state %s, %d participants", rec.State, len(rec.Participants))
	}
	admittedBy := ""
	for _, ev := range rec.Events {
		if ev.Type == "participant.admitted" {
			admittedBy = ev.Actor
		}
	}
	if admittedBy != "participant:"+advJoined.Self.ID {
		t.Fatalf("admission recorded as by %q", admittedBy)
	}

	// Webhooks arrive signed, in order, for every state change.
	deadline := time.Now().Add(10 * time.Second)
	for {
		evs, bad := hooks.got()
		if len(bad) > 0 {
			t.Fatalf("bad signatures: %v", bad)
		}
		if strings.Join(evs, ",") == "conversation.created,participant.joined,participant.joined,conversation.started,participant.left,conversation.ended" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhooks: %v", evs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	r = admin.do("GET", "/api/v1/admin/webhook/deliveries", nil)
	if !strings.Contains(string(r.body), `"delivered_at"`) {
		t.Fatalf("deliveries not visible: %s", r.body)
	}
}
