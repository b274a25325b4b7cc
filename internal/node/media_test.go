package node

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lotse-io/lotse/sfu"
	"github.com/lotse-io/lotse/sfu/sfuclient"
	sigclient "github.com/lotse-io/lotse/signaling/client"
	"github.com/lotse-io/lotse/signaling/wire"
)

// member is a participant with signalling and media through the real node.
type mediaMember struct {
	sig   *sigclient.Client
	media *sfuclient.Client
	id    string
}

func (e *env) mediaMember(t *testing.T, token string, relayOnly bool) *mediaMember {
	t.Helper()
	c, joined := e.joinWS(token)
	mc, err := c.ConnectMedia(sfuclient.Config{LoopbackOnly: true, RelayOnly: relayOnly}, joined.ICEServers)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mc.Close() })
	return &mediaMember{sig: c, media: mc, id: joined.Self.ID}
}

// admitCustomer brings a customer in through the share link.
func (e *env) admitCustomer(t *testing.T, adv *sigclient.Client, conv created, name string) (*mediaMember, string) {
	t.Helper()
	jr, r := e.exchange(shareToken(conv.ShareURL), "", name)
	if r.status != 200 {
		t.Fatalf("exchange: %d %s", r.status, r.body)
	}
	m := e.mediaMember(t, jr.JoinToken, false)
	wait(t, adv, func(x *wire.ParticipantJoined) bool { return x.Participant.ID == jr.ParticipantID })
	adv.Send(&wire.Admit{Header: wire.Header{Type: "admit"}, ParticipantID: jr.ParticipantID})
	return m, jr.ParticipantID
}

// waitRemote waits for the publisher's track of source at m. The SFU names
// tracks itself (the id in the room's track list and in a=msid).
func waitRemote(t *testing.T, m *mediaMember, publisher string, src sfu.Source) *sfuclient.RemoteTrack {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	id := ""
	for id == "" && ctx.Err() == nil {
		for _, tr := range m.media.Tracks() {
			if tr.ParticipantID == publisher && tr.Source == src {
				id = tr.ID
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	rt, err := m.media.WaitRemote(ctx, id)
	if err != nil {
		t.Fatalf("%s track of %s never arrived: %v (errors %v)", src, publisher, err, m.media.Errors())
	}
	return rt
}

// TestMediaThroughTheNode: the advisor publishes VP8 and Opus through the
// signalling WebSocket and the SFU; two admitted customers receive ≥ 99 %
// of the packets, a customer admitted later gets the tracks too, and when
// the advisor leaves, the tracks end for everyone.
func TestMediaThroughTheNode(t *testing.T) {
	e := newEnv(t, fastHasher, nil)
	admin := e.mustLogin("demo", "admin@demo.local", adminPassword)
	conv := admin.createConversation(nil)
	adv := e.mediaMember(t, admin.staffToken(conv.ID).JoinToken, false)
	c1, _ := e.admitCustomer(t, adv.sig, conv, "Eins")
	c2, _ := e.admitCustomer(t, adv.sig, conv, "Zwei")

	video, err := adv.media.PublishIVF(sfuclient.SampleVP8(), sfu.SourceCamera)
	if err != nil {
		t.Fatal(err)
	}
	audio, err := adv.media.PublishOgg(sfuclient.SampleOpus(), sfu.SourceMicrophone)
	if err != nil {
		t.Fatal(err)
	}
	var subs []*sfuclient.RemoteTrack
	for _, c := range []*mediaMember{c1, c2} {
		subs = append(subs, waitRemote(t, c, adv.id, sfu.SourceCamera), waitRemote(t, c, adv.id, sfu.SourceMicrophone))
	}
	time.Sleep(2 * time.Second)

	// A customer admitted later gets the live tracks.
	c3, _ := e.admitCustomer(t, adv.sig, conv, "Drei")
	late := waitRemote(t, c3, adv.id, sfu.SourceCamera)
	deadline := time.Now().Add(10 * time.Second)
	for late.Packets() == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if st := late.Stats(); st.Packets == 0 || !st.FirstIsKeyFrame {
		t.Fatalf("late joiner: %d packets, starts with a key frame: %v", st.Packets, st.FirstIsKeyFrame)
	}

	video.Stop()
	audio.Stop()
	time.Sleep(time.Second) // the last packets arrive
	// Every packet sent while subscribed arrives: RTPExpected spans the
	// sequence numbers from the first packet received to the last.
	for i, rt := range subs {
		st := rt.Stats()
		if st.RTPExpected < 100 || float64(st.RTPUnique) < 0.99*float64(st.RTPExpected) {
			t.Errorf("subscriber %d track %s: %d unique of %d expected (publisher sent %d video, %d audio)", i, rt.ID, st.RTPUnique, st.RTPExpected, video.Sent(), audio.Sent())
		}
	}
	tracks := c1.media.Tracks()
	if len(tracks) < 2 {
		t.Fatalf("customer's track list: %+v", tracks)
	}

	// The advisor leaves: its tracks end for everyone.
	adv.sig.Send(&wire.Leave{Header: wire.Header{Type: "leave"}})
	deadline = time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if len(c1.media.Tracks()) == 0 && len(c2.media.Tracks()) == 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n1, n2 := len(c1.media.Tracks()), len(c2.media.Tracks()); n1 != 0 || n2 != 0 {
		t.Fatalf("tracks left after the publisher left: %d, %d", n1, n2)
	}
	// The customers are told that their advisor left.
	for _, c := range []*mediaMember{c1, c2, c3} {
		wait(t, c.sig, func(m *wire.ParticipantLeft) bool { return m.ParticipantID == adv.id && m.Reason == "left" })
	}

	// The record says who shared what, and when it stopped.
	want := []string{"media.started camera " + adv.id, "media.started microphone " + adv.id, "media.stopped camera " + adv.id, "media.stopped microphone " + adv.id}
	deadline = time.Now().Add(5 * time.Second)
	var got []string
	for time.Now().Before(deadline) {
		var rec struct {
			Events []struct {
				Type string
				Data struct {
					ParticipantID string `json:"participant_id"`
					Source        string
				}
			}
		}
		admin.do("GET", "/api/v1/conversations/"+conv.ID, nil).json(t, &rec)
		got = got[:0]
		for _, ev := range rec.Events {
			if strings.HasPrefix(ev.Type, "media.") {
				got = append(got, ev.Type+" "+ev.Data.Source+" "+ev.Data.ParticipantID)
			}
		}
		if len(got) == len(want) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("media events in the record:\n got %q\nwant %q", got, want)
	}
}

// TestMediaThroughTURNOnly: a customer whose network allows nothing but
// our TURN relay (relay-only ICE policy) exchanges media with the SFU
// through it, and the relay reaches only the SFU's media addresses.
func TestMediaThroughTURNOnly(t *testing.T) {
	e := newEnv(t, fastHasher, nil)
	admin := e.mustLogin("demo", "admin@demo.local", adminPassword)
	conv := admin.createConversation(nil)
	adv := e.mediaMember(t, admin.staffToken(conv.ID).JoinToken, false)
	jr, _ := e.exchange(shareToken(conv.ShareURL), "", "Hinter der Firewall")
	cust := e.mediaMember(t, jr.JoinToken, true)
	wait(t, adv.sig, func(x *wire.ParticipantJoined) bool { return x.Participant.ID == jr.ParticipantID })
	adv.sig.Send(&wire.Admit{Header: wire.Header{Type: "admit"}, ParticipantID: jr.ParticipantID})

	up, err := cust.media.PublishVP8(sfuclient.VideoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	down, err := adv.media.PublishOpus(sfuclient.AudioOptions{})
	if err != nil {
		t.Fatal(err)
	}
	atAdvisor := waitRemote(t, adv, jr.ParticipantID, sfu.SourceCamera)
	atCustomer := waitRemote(t, cust, adv.id, sfu.SourceMicrophone)
	deadline := time.Now().Add(10 * time.Second)
	for (atAdvisor.Packets() < 100 || atCustomer.Packets() < 100) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if atAdvisor.Packets() < 100 || atCustomer.Packets() < 100 {
		t.Fatalf("through TURN: advisor got %d video packets, customer %d audio packets", atAdvisor.Packets(), atCustomer.Packets())
	}
	up.Stop()
	down.Stop()
	// The relay counted the relayed traffic.
	mfs, _ := e.n.reg.Gather()
	relayed := 0.0
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "lotse_turn_relayed_packets") {
			for _, m := range mf.GetMetric() {
				relayed += m.GetCounter().GetValue()
			}
		}
	}
	if relayed < 200 {
		t.Fatalf("the TURN relay counted %v relayed packets", relayed)
	}
}
