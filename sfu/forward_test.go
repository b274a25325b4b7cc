package sfu_test

import (
	"testing"
	"time"

	"github.com/lotse-io/lotse/internal/leakcheck"
	"github.com/lotse-io/lotse/sfu"
	"github.com/lotse-io/lotse/sfu/sfuclient"
)

// TestForwarding: a publisher sends VP8 and Opus; two subscribers receive
// at least 99 % of the packets; a participant joining later gets the
// tracks; when the publisher leaves, its tracks disappear for everyone and
// its goroutines end.
func TestForwarding(t *testing.T) {
	leakcheck.Check(t)
	s, reg := newSFU(t, testConfig())
	pub := join(t, s, "room1", "pub", allGrants, sfuclient.Config{})
	video, err := pub.client.PublishVP8(sfuclient.VideoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	audio, err := pub.client.PublishOpus(sfuclient.AudioOptions{})
	if err != nil {
		t.Fatal(err)
	}
	subs := []*conn{
		join(t, s, "room1", "sub1", allGrants, sfuclient.Config{}),
		join(t, s, "room1", "sub2", allGrants, sfuclient.Config{}),
	}
	type recv struct{ v, a *sfuclient.RemoteTrack }
	var got []recv
	for _, c := range subs {
		got = append(got, recv{remoteOf(t, c, "pub", sfu.SourceCamera), remoteOf(t, c, "pub", sfu.SourceMicrophone)})
	}
	time.Sleep(3 * time.Second)

	t.Run("metrics", func(t *testing.T) {
		for _, m := range []struct {
			name   string
			labels []string
			want   float64
		}{
			{"lotse_sfu_rooms", nil, 1},
			{"lotse_sfu_participants", nil, 3},
			{"lotse_sfu_tracks", []string{"kind", "video"}, 1},
			{"lotse_sfu_tracks", []string{"kind", "audio"}, 1},
			{"lotse_sfu_subscriptions", nil, 4},
		} {
			if got := metricSum(t, reg, m.name, m.labels...); got != m.want {
				t.Errorf("%s%v = %v, want %v", m.name, m.labels, got, m.want)
			}
		}
		if got := metricSum(t, reg, "lotse_sfu_forwarded_packets_total", "kind", "video"); got < 500 {
			t.Errorf("forwarded video packets = %v", got)
		}
		if got := metricSum(t, reg, "lotse_sfu_dropped_packets_total", "reason", "queue_full"); got != 0 {
			t.Errorf("queue drops = %v", got)
		}
	})

	t.Run("late joiner gets the tracks", func(t *testing.T) {
		late := join(t, s, "room1", "late", allGrants, sfuclient.Config{})
		v := remoteOf(t, late, "pub", sfu.SourceCamera)
		a := remoteOf(t, late, "pub", sfu.SourceMicrophone)
		waitFor(t, 10*time.Second, "late joiner's media", func() bool {
			return v.Stats().Probes > 30 && a.Stats().Probes > 30
		})
		if !v.Stats().FirstIsKeyFrame {
			t.Error("late joiner's video did not start with a key frame")
		}
	})

	video.Stop()
	audio.Stop()
	time.Sleep(500 * time.Millisecond)
	t.Run("subscribers receive at least 99 percent", func(t *testing.T) {
		for i, r := range got {
			vs, as := r.v.Stats(), r.a.Stats()
			vr, ar := ratio(vs, video.ProbesSent(0)), ratio(as, audio.ProbesSent(0))
			t.Logf("sub%d: video %d/%d (%.4f) latency p50 %v p99 %v; audio %d/%d (%.4f) latency p50 %v p99 %v",
				i+1, vs.Probes, video.ProbesSent(0)-vs.FirstProbe, vr, vs.LatencyP50, vs.LatencyP99,
				as.Probes, audio.ProbesSent(0)-as.FirstProbe, ar, as.LatencyP50, as.LatencyP99)
			if vr < 0.99 || ar < 0.99 {
				t.Errorf("sub%d received video %.4f, audio %.4f of the packets, want >= 0.99", i+1, vr, ar)
			}
			if vs.Probes < 500 {
				t.Errorf("sub%d received only %d video packets", i+1, vs.Probes)
			}
			if !vs.FirstIsKeyFrame {
				t.Errorf("sub%d video did not start with a key frame", i+1)
			}
		}
	})

	t.Run("leaving publisher's tracks disappear", func(t *testing.T) {
		pub.leave()
		for _, c := range subs {
			waitFor(t, 10*time.Second, c.id+" to drop pub's tracks", func() bool {
				return trackOf(c.client, "pub", sfu.SourceCamera) == "" && trackOf(c.client, "pub", sfu.SourceMicrophone) == "" &&
					len(c.client.Remotes()) == 0
			})
		}
		if got := metricSum(t, reg, "lotse_sfu_subscriptions") + metricSum(t, reg, "lotse_sfu_tracks"); got != 0 {
			t.Errorf("subscriptions + tracks after the publisher left = %v", got)
		}
	})
}

// TestRecordedMedia: real VP8 and Opus (the embedded samples, looped) pass
// through unchanged in content and without loss.
func TestRecordedMedia(t *testing.T) {
	leakcheck.Check(t)
	s, _ := newSFU(t, testConfig())
	pub := join(t, s, "rec", "pub", allGrants, sfuclient.Config{})
	video, err := pub.client.PublishIVF(sfuclient.SampleVP8(), sfu.SourceCamera)
	if err != nil {
		t.Fatal(err)
	}
	audio, err := pub.client.PublishOgg(sfuclient.SampleOpus(), sfu.SourceMicrophone)
	if err != nil {
		t.Fatal(err)
	}
	sub := join(t, s, "rec", "sub", allGrants, sfuclient.Config{})
	v := remoteOf(t, sub, "pub", sfu.SourceCamera)
	a := remoteOf(t, sub, "pub", sfu.SourceMicrophone)
	waitFor(t, 15*time.Second, "two seconds of media", func() bool {
		return v.Stats().KeyFrames >= 3 && a.Stats().Packets >= 100
	})
	video.Stop()
	audio.Stop()
	time.Sleep(300 * time.Millisecond)
	for _, r := range []*sfuclient.RemoteTrack{v, a} {
		st := r.Stats()
		t.Logf("%s: %d packets, %d of %d sequence numbers, %d key frames, %dx%d", r.Codec, st.Packets, st.RTPUnique, st.RTPExpected, st.KeyFrames, st.Width, st.Height)
		if st.RTPUnique*100 < st.RTPExpected*99 {
			t.Errorf("%s: received %d of %d packets", r.Codec, st.RTPUnique, st.RTPExpected)
		}
	}
	if st := v.Stats(); !st.FirstIsKeyFrame || st.Width != 640 || st.Height != 360 {
		t.Errorf("video: first packet key frame %v, size %dx%d, want a 640x360 key frame first", st.FirstIsKeyFrame, st.Width, st.Height)
	}
}

// TestKeyFrameForJoiner: a subscriber that joins shortly after another
// gets its key frame without waiting out the full key-frame interval,
// because the earlier request was already answered; the publisher sends
// key frames only when asked.
func TestKeyFrameForJoiner(t *testing.T) {
	leakcheck.Check(t)
	cfg := testConfig()
	cfg.KeyFrameInterval = 20 * time.Second // a fifth: 4 s
	s, reg := newSFU(t, cfg)
	pub := join(t, s, "r", "pub", allGrants, sfuclient.Config{})
	if _, err := pub.client.PublishVP8(sfuclient.VideoOptions{Bitrate: 300_000}); err != nil {
		t.Fatal(err)
	}
	a := join(t, s, "r", "a", allGrants, sfuclient.Config{})
	ra := remoteOf(t, a, "pub", sfu.SourceCamera)
	waitFor(t, 10*time.Second, "a's video", func() bool { return ra.Stats().Probes > 0 })
	time.Sleep(4500 * time.Millisecond) // past a fifth of the interval, well within it
	plis := metricSum(t, reg, "lotse_sfu_plis_total")
	start := time.Now()
	b := join(t, s, "r", "b", allGrants, sfuclient.Config{})
	remoteOf(t, b, "pub", sfu.SourceCamera) // returns at b's first video packet
	// With the full interval b would wait until 20 s after a's request.
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("b's first video came after %v: its key-frame request waited for the full interval", d)
	} else {
		t.Logf("b's first video after %v", d)
	}
	if got := metricSum(t, reg, "lotse_sfu_plis_total"); got <= plis {
		t.Errorf("no key-frame request for b (PLIs %v, before %v)", got, plis)
	}
}
