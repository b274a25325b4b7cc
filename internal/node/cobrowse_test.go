package node

import (
	"bytes"
	"compress/flate"
	"strings"
	"testing"
	"time"

	"github.com/lotse-io/lotse/cobrowse"
	sigclient "github.com/lotse-io/lotse/signaling/client"
	"github.com/lotse-io/lotse/signaling/wire"
)

func deflated(s string) []byte {
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestSpeed)
	w.Write([]byte(s))
	w.Close()
	return b.Bytes()
}

// nextFrame returns the next binary frame of kind k.
func nextFrame(t *testing.T, c *sigclient.Client, k cobrowse.Kind) cobrowse.Frame {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case b, ok := <-c.Frames():
			if !ok {
				t.Fatalf("connection closed waiting for %s", k)
			}
			f, err := cobrowse.DecodeFrame(b)
			if err == nil && f.Kind == k {
				return f
			}
		case <-deadline:
			t.Fatalf("no %s frame", k)
		}
	}
}

// TestCobrowseOverWebSocket: the consenting customer's frames reach the
// advisor (as viewer) through signalling and the real relay; a customer who
// did not consent, and anyone not admitted, cannot share; the record gets
// the co-browse events.
func TestCobrowseOverWebSocket(t *testing.T) {
	e := newEnv(t, fastHasher, nil)
	admin := e.mustLogin("demo", "admin@demo.local", adminPassword)
	conv := admin.createConversation(nil)
	adv, _ := e.joinWS(admin.staffToken(conv.ID).JoinToken)
	nextFrame(t, adv, cobrowse.KindHello) // the relay greets its viewer

	jr, _ := e.exchange(shareToken(conv.ShareURL), "", "Kundin") // consents to co-browsing
	cust, _ := e.joinWS(jr.JoinToken)
	snap, _ := cobrowse.EncodeFrame(cobrowse.Snapshot{T: cobrowse.KindSnapshot, Epoch: 7, Seq: 1, Deflate: true}, deflated("["+
		`{"type":4,"timestamp":1,"data":{"href":"https://bank.example/","width":1280,"height":800}},`+
		`{"type":2,"timestamp":1,"data":{"node":{"type":0,"id":1,"childNodes":[{"type":2,"id":2,"tagName":"html","attributes":{},"childNodes":[{"type":2,"id":3,"tagName":"body","attributes":{},"childNodes":[{"type":3,"id":4,"textContent":"Kontostand"}]}]}]},"initialOffset":{"top":0,"left":0}}}`+"]"))
	cust.SendBinary(snap) // not admitted yet
	if m := wait(t, cust, func(m *wire.Error) bool { return true }); m.Code != wire.CodeNotAdmitted {
		t.Fatalf("frame before admission: %+v", m)
	}
	wait(t, adv, func(m *wire.ParticipantJoined) bool { return true })
	adv.Send(&wire.Admit{Header: wire.Header{Type: "admit"}, ParticipantID: jr.ParticipantID})
	wait(t, cust, func(m *wire.ParticipantUpdated) bool { return m.Participant.State == "admitted" })
	if err := cust.SendBinary(snap); err != nil {
		t.Fatal(err)
	}
	got := nextFrame(t, adv, cobrowse.KindSnapshot)
	if !bytes.Contains(got.Header, []byte(`"e":7`)) {
		t.Fatalf("advisor got snapshot header %s", got.Header)
	}
	nextFrame(t, cust, cobrowse.KindAck)

	// A customer without the co-browse consent cannot share.
	r := e.anon().do("POST", "/api/v1/join", map[string]any{"token": shareToken(conv.ShareURL), "display_name": "Ohne",
		"consent": map[string]bool{"terms": true, "camera": true}})
	var jr2 joinRes
	r.json(t, &jr2)
	c2, _ := e.joinWS(jr2.JoinToken)
	adv.Send(&wire.Admit{Header: wire.Header{Type: "admit"}, ParticipantID: jr2.ParticipantID})
	wait(t, c2, func(m *wire.ParticipantUpdated) bool {
		return m.Participant.ID == jr2.ParticipantID && m.Participant.State == "admitted"
	})
	c2.SendBinary(snap)
	if m := wait(t, c2, func(m *wire.Error) bool { return true }); m.Code != wire.CodeNotAllowed {
		t.Fatalf("sharing without consent: %+v", m)
	}

	var rec struct{ Events []struct{ Type string } }
	admin.do("GET", "/api/v1/conversations/"+conv.ID, nil).json(t, &rec)
	var types []string
	for _, ev := range rec.Events {
		types = append(types, ev.Type)
	}
	if !strings.Contains(strings.Join(types, ","), "cobrowse.started") {
		t.Fatalf("record lacks cobrowse.started: %v", types)
	}
}
