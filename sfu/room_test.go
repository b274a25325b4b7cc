package sfu_test

import (
	"bytes"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/lotse-io/lotse/internal/leakcheck"
	"github.com/lotse-io/lotse/sfu"
	"github.com/lotse-io/lotse/sfu/sfuclient"
)

func TestJoinLimits(t *testing.T) {
	leakcheck.Check(t)
	cfg := testConfig()
	cfg.MaxRooms = 1
	cfg.MaxParticipantsPerRoom = 2
	s, reg := newSFU(t, cfg)
	nop := sfu.SignalerFunc(func(sfu.Signal) {})
	for _, id := range []string{"a", "b"} {
		p, err := s.Join("r", sfu.Participant{ID: id}, nop)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
	}
	tests := []struct {
		name        string
		room, id    string
		want        error
		closeBefore bool
	}{
		{name: "room full", room: "r", id: "c", want: sfu.ErrRoomFull},
		{name: "too many rooms", room: "other", id: "a", want: sfu.ErrTooManyRooms},
		{name: "empty participant id", room: "r", id: "", want: sfu.ErrBadParticipant},
		{name: "participant id with a space", room: "r", id: "a b", want: sfu.ErrBadParticipant},
		{name: "participant id too long", room: "r", id: string(bytes.Repeat([]byte("x"), 65)), want: sfu.ErrBadParticipant},
		{name: "room id with a newline", room: "r\n", id: "c", want: sfu.ErrBadParticipant},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := s.Join(tc.room, sfu.Participant{ID: tc.id}, nop)
			if !errors.Is(err, tc.want) {
				if p != nil {
					p.Close()
				}
				t.Fatalf("Join = %v, want %v", err, tc.want)
			}
		})
	}
	if got := metricSum(t, reg, "lotse_sfu_rooms"); got != 1 {
		t.Errorf("rooms gauge = %v, want 1", got)
	}
	if got := metricSum(t, reg, "lotse_sfu_participants"); got != 2 {
		t.Errorf("participants gauge = %v, want 2", got)
	}
	t.Run("closed SFU", func(t *testing.T) {
		s.Close()
		if _, err := s.Join("r", sfu.Participant{ID: "z"}, nop); !errors.Is(err, sfu.ErrClosed) {
			t.Fatalf("Join after Close = %v, want ErrClosed", err)
		}
		if got := metricSum(t, reg, "lotse_sfu_rooms") + metricSum(t, reg, "lotse_sfu_participants"); got != 0 {
			t.Errorf("rooms + participants after Close = %v", got)
		}
	})
}

// TestRejoinReplaces: joining again under the same id (a reconnect)
// replaces the old peer and its tracks.
func TestRejoinReplaces(t *testing.T) {
	leakcheck.Check(t)
	s, _ := newSFU(t, testConfig())
	sub := join(t, s, "r", "sub", allGrants, sfuclient.Config{})
	old := join(t, s, "r", "pub", allGrants, sfuclient.Config{})
	if _, err := old.client.PublishOpus(sfuclient.AudioOptions{}); err != nil {
		t.Fatal(err)
	}
	first := remoteOf(t, sub, "pub", sfu.SourceMicrophone)
	neu := join(t, s, "r", "pub", allGrants, sfuclient.Config{})
	if _, err := neu.client.PublishOpus(sfuclient.AudioOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the old track to end and the new one to arrive", func() bool {
		id := trackOf(sub.client, "pub", sfu.SourceMicrophone)
		return first.Ended() && id != "" && id != first.ID && sub.client.Remote(id) != nil
	})
	if err := old.peer.HandleOffer("v=0"); !errors.Is(err, sfu.ErrBadSDP) && !errors.Is(err, sfu.ErrClosed) {
		t.Errorf("replaced peer accepted an offer: %v", err)
	}
}

// TestLeaveEndsGoroutines: everything a participant started ends when it
// leaves, while the others stay.
func TestLeaveEndsGoroutines(t *testing.T) {
	leakcheck.Check(t)
	s, _ := newSFU(t, testConfig())
	sub := join(t, s, "r", "sub", allGrants, sfuclient.Config{})
	// Another participant's audio first: the subscriber's media transport
	// (SRTP sessions) then exists before the baseline is taken.
	other := join(t, s, "r", "other", allGrants, sfuclient.Config{})
	if _, err := other.client.PublishOpus(sfuclient.AudioOptions{}); err != nil {
		t.Fatal(err)
	}
	a := remoteOf(t, sub, "other", sfu.SourceMicrophone)
	waitFor(t, 10*time.Second, "other's audio", func() bool { return a.Stats().Probes > 10 })
	baseline := settledGoroutines()
	bbuf := make([]byte, 1<<20)
	bbuf = bbuf[:runtime.Stack(bbuf, true)]
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("baseline stacks:\n%s", bbuf)
		}
	})

	pub := join(t, s, "r", "pub", allGrants, sfuclient.Config{})
	if _, err := pub.client.PublishVP8(sfuclient.VideoOptions{Simulcast: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := pub.client.PublishOpus(sfuclient.AudioOptions{}); err != nil {
		t.Fatal(err)
	}
	v := remoteOf(t, sub, "pub", sfu.SourceCamera)
	waitFor(t, 10*time.Second, "video", func() bool { return v.Stats().Probes > 20 })
	during := runtime.NumGoroutine()
	pub.leave()
	waitFor(t, 10*time.Second, "pub's tracks to disappear", func() bool {
		return len(sub.client.Tracks()) == 1 && len(sub.client.Remotes()) == 1
	})
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > baseline {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines before pub joined, %d while it published, %d after it left:\n%s",
				baseline, during, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("goroutines: %d before pub joined, %d while it published, %d after", baseline, during, runtime.NumGoroutine())
}

// settledGoroutines waits until the goroutine count stops changing.
func settledGoroutines() int {
	n := runtime.NumGoroutine()
	for i := 0; i < 50; i++ {
		time.Sleep(100 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m == n {
			return n
		}
		n = m
	}
	return n
}

// TestMuteAndSpeakers: mute states and active speakers reach everyone.
func TestMuteAndSpeakers(t *testing.T) {
	leakcheck.Check(t)
	s, _ := newSFU(t, testConfig())
	a := join(t, s, "r", "a", allGrants, sfuclient.Config{})
	b := join(t, s, "r", "b", allGrants, sfuclient.Config{})
	c := join(t, s, "r", "c", allGrants, sfuclient.Config{})
	ta, err := a.client.PublishOpus(sfuclient.AudioOptions{Level: 20})
	if err != nil {
		t.Fatal(err)
	}
	tb, err := b.client.PublishOpus(sfuclient.AudioOptions{Level: 127})
	if err != nil {
		t.Fatal(err)
	}
	speakers := func(cl *sfuclient.Client) []string {
		var ids []string
		for _, s := range cl.Speakers() {
			ids = append(ids, s.ParticipantID)
		}
		return ids
	}
	steps := []struct {
		name  string
		apply func()
		want  string
	}{
		{"a speaks", func() {}, "a"},
		{"b speaks, a is silent", func() { ta.SetLevel(127); tb.SetLevel(15) }, "b"},
		{"nobody speaks", func() { tb.SetLevel(100) }, ""},
		{"muted a is no speaker", func() { a.client.SetMuted(sfu.SourceMicrophone, true); ta.SetLevel(10) }, ""},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.apply()
			for _, cl := range []*conn{a, b, c} {
				waitFor(t, 5*time.Second, cl.id+" to see speakers "+st.want, func() bool {
					got := speakers(cl.client)
					if st.want == "" {
						return len(got) == 0
					}
					return len(got) == 1 && got[0] == st.want
				})
			}
		})
	}
	t.Run("mute state reaches everyone", func(t *testing.T) {
		for _, cl := range []*conn{b, c} {
			waitFor(t, 5*time.Second, cl.id+" to see a muted", func() bool {
				for _, ti := range cl.client.Tracks() {
					if ti.ParticipantID == "a" && ti.Muted {
						return true
					}
				}
				return false
			})
		}
		a.client.SetMuted(sfu.SourceMicrophone, false)
		waitFor(t, 5*time.Second, "c to see a unmuted and speaking", func() bool {
			got := speakers(c.client)
			for _, ti := range c.client.Tracks() {
				if ti.ParticipantID == "a" && ti.Muted {
					return false
				}
			}
			return len(got) == 1 && got[0] == "a"
		})
	})
}

// recorder is a DataHandler that keeps what it gets.
type recorder struct {
	mu  sync.Mutex
	got []string
}

func (r *recorder) HandleData(room, participant string, b []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, room+"/"+participant+": "+string(b))
}

func (r *recorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...)
}

// TestDataChannel: messages on the "lotse" data channel reach the
// DataHandler; SendData reaches the client; limits are enforced.
func TestDataChannel(t *testing.T) {
	leakcheck.Check(t)
	rec := &recorder{}
	cfg := testConfig()
	cfg.MaxDataMessageBytes = 1024
	s, err := sfu.New(cfg, sfu.Deps{Log: testLog(t), Data: rec})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c := join(t, s, "r", "cust", allGrants, sfuclient.Config{})
	ctx, cancel := testContext(t, 10*time.Second)
	defer cancel()
	if err := c.client.WaitData(ctx); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var received []string
	c.client.OnData(func(b []byte) { mu.Lock(); received = append(received, string(b)); mu.Unlock() })

	if err := c.client.SendData([]byte("snapshot 1")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the handler to get the message", func() bool {
		got := rec.all()
		return len(got) == 1 && got[0] == "r/cust: snapshot 1"
	})
	if err := c.peer.SendData([]byte("mutation 2")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the client to get the message", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(received) == 1 && received[0] == "mutation 2"
	})
	if err := c.peer.SendData(make([]byte, 1025)); !errors.Is(err, sfu.ErrDataTooLarge) {
		t.Errorf("SendData(1025 bytes) = %v, want ErrDataTooLarge", err)
	}
}

// TestCodecs: VP8, H.264 and VP9 are forwarded as published.
func TestCodecs(t *testing.T) {
	leakcheck.Check(t)
	s, _ := newSFU(t, testConfig())
	for _, mime := range []string{webrtc.MimeTypeVP8, webrtc.MimeTypeH264, webrtc.MimeTypeVP9} {
		t.Run(mime, func(t *testing.T) {
			room := strings.ReplaceAll(mime, "/", "-")
			pub := join(t, s, room, "pub", allGrants, sfuclient.Config{})
			tr, err := pub.client.PublishVP8(sfuclient.VideoOptions{Codec: mime, Bitrate: 500_000})
			if err != nil {
				t.Fatal(err)
			}
			sub := join(t, s, room, "sub", allGrants, sfuclient.Config{})
			r := remoteOf(t, sub, "pub", sfu.SourceCamera)
			waitFor(t, 10*time.Second, "video", func() bool { return r.Stats().Probes > 100 })
			tr.Stop()
			time.Sleep(300 * time.Millisecond)
			st := r.Stats()
			if r.Codec != mime || !st.FirstIsKeyFrame || ratio(st, tr.ProbesSent(0)) < 0.99 {
				t.Errorf("codec %s, first packet key frame %v, received %.4f", r.Codec, st.FirstIsKeyFrame, ratio(st, tr.ProbesSent(0)))
			}
			pub.leave()
			sub.leave()
		})
	}
}

// TestTransceiverReuse: a screen share started and stopped many times
// reuses the subscriber's m-sections instead of adding one each time.
func TestTransceiverReuse(t *testing.T) {
	leakcheck.Check(t)
	s, _ := newSFU(t, testConfig())
	pub := join(t, s, "r", "pub", allGrants, sfuclient.Config{})
	sub := join(t, s, "r", "sub", allGrants, sfuclient.Config{})
	var sections []int
	for i := 0; i < 4; i++ {
		tr, err := pub.client.PublishVP8(sfuclient.VideoOptions{Source: sfu.SourceScreen, Bitrate: 300_000})
		if err != nil {
			t.Fatal(err)
		}
		r := remoteOf(t, sub, "pub", sfu.SourceScreen)
		waitFor(t, 10*time.Second, "screen share video", func() bool { return r.Stats().Probes > 10 })
		sections = append(sections, sub.client.MediaSections())
		if err := pub.client.Unpublish(tr); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "screen share to end", func() bool { return r.Ended() && trackOf(sub.client, "pub", sfu.SourceScreen) == "" })
	}
	t.Logf("m-sections seen by the subscriber per round: %v", sections)
	if sections[3] != sections[0] {
		t.Errorf("m-sections grew from %d to %d", sections[0], sections[3])
	}
}
