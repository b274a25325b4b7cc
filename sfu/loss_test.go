package sfu_test

import (
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/lotse-io/lotse/internal/leakcheck"
	"github.com/lotse-io/lotse/sfu"
	"github.com/lotse-io/lotse/sfu/sfuclient"
)

// TestRetransmission: packets lost on either leg are recovered by NACK
// and retransmission (the SFU answers subscribers' NACKs from its buffer
// and NACKs what publishers' packets it misses).
func TestRetransmission(t *testing.T) {
	leakcheck.Check(t)
	tests := []struct {
		name   string
		lossy  string // "pub" or "sub"
		metric string
		reuse  bool // the subscriber's m-section carried an earlier track
	}{
		{"loss towards the subscriber", "sub", "received", false},
		{"loss from the publisher", "pub", "sent", false},
		{"loss towards the subscriber on a reused m-section", "sub", "received", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, reg := newSFU(t, testConfig())
			nw := newSwitchNet(t)
			withNet := sfuclient.Config{Configure: func(se *webrtc.SettingEngine) { se.SetNet(nw) }}
			pubCfg, subCfg := sfuclient.Config{}, sfuclient.Config{}
			if tc.lossy == "pub" {
				pubCfg = withNet
			} else {
				subCfg = withNet
			}
			pub := join(t, s, "r", "pub", allGrants, pubCfg)
			sub := join(t, s, "r", "sub", allGrants, subCfg)
			sections := 0
			if tc.reuse {
				// A first video comes and goes: the second takes over its
				// m-section (as a screen share shared again does).
				first, err := pub.client.PublishVP8(sfuclient.VideoOptions{Bitrate: 300_000})
				if err != nil {
					t.Fatal(err)
				}
				r := remoteOf(t, sub, "pub", sfu.SourceCamera)
				waitFor(t, 10*time.Second, "first video", func() bool { return r.Stats().Probes > 10 })
				sections = sub.client.MediaSections()
				if err := pub.client.Unpublish(first); err != nil {
					t.Fatal(err)
				}
				waitFor(t, 10*time.Second, "first video to end", func() bool { return r.Ended() && trackOf(sub.client, "pub", sfu.SourceCamera) == "" })
			}
			video, err := pub.client.PublishVP8(sfuclient.VideoOptions{Bitrate: 1_000_000})
			if err != nil {
				t.Fatal(err)
			}
			r := remoteOf(t, sub, "pub", sfu.SourceCamera)
			waitFor(t, 10*time.Second, "video", func() bool { return r.Stats().Probes > 50 })
			if m := sub.client.MediaSections(); tc.reuse && m != sections {
				t.Errorf("the second video got a new m-section (%d, before %d): nothing was reused", m, sections)
			}
			if tc.lossy == "pub" {
				nw.lossOut.Store(20) // 5 %
			} else {
				nw.lossIn.Store(20)
			}
			time.Sleep(3 * time.Second)
			nw.lossIn.Store(0)
			nw.lossOut.Store(0)
			video.Stop()
			time.Sleep(time.Second)
			got := ratio(r.Stats(), video.ProbesSent(0))
			nacks := metricSum(t, reg, "lotse_sfu_nacks_total", "direction", tc.metric)
			t.Logf("received %.4f of %d packets; NACKs %s: %v", got, video.ProbesSent(0), tc.metric, nacks)
			if got < 0.99 {
				t.Errorf("received %.4f of the packets despite retransmission, want >= 0.99", got)
			}
			if nacks == 0 {
				t.Errorf("no NACKs %s", tc.metric)
			}
			pub.leave()
			sub.leave()
		})
	}
}

// TestBandwidthEstimation: with send-side estimation on, a subscriber
// behind a bottleneck narrower than the full layer is moved down to a
// layer that fits, each switch at a key frame.
func TestBandwidthEstimation(t *testing.T) {
	leakcheck.Check(t)
	cfg := testConfig()
	cfg.BandwidthEstimation = true
	s, _ := newSFU(t, cfg)
	pub := join(t, s, "r", "pub", allGrants, sfuclient.Config{})
	if _, err := pub.client.PublishVP8(sfuclient.VideoOptions{Simulcast: true, Bitrate: 1_500_000}); err != nil {
		t.Fatal(err)
	}
	nw := newSwitchNet(t)
	sub := join(t, s, "r", "sub", allGrants, sfuclient.Config{Configure: func(se *webrtc.SettingEngine) { se.SetNet(nw) }})
	r := remoteOf(t, sub, "pub", sfu.SourceCamera)
	waitFor(t, 15*time.Second, "the full layer", func() bool { return r.Stats().Layer == 2 })
	nw.rate.Store(400_000)
	waitFor(t, 30*time.Second, "a layer that fits 400 kbit/s", func() bool { return r.Stats().Layer == 0 })
	st := r.Stats()
	t.Logf("switches %d, packets per layer %v", st.Switches, st.LayerPackets)
	if st.SwitchesWithoutKeyFrame != 0 {
		t.Errorf("%d switches without key frame", st.SwitchesWithoutKeyFrame)
	}
}
