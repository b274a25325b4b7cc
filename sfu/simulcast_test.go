package sfu_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/lotse-io/lotse/internal/leakcheck"
	"github.com/lotse-io/lotse/sfu"
	"github.com/lotse-io/lotse/sfu/sfuclient"
)

// TestSimulcastLayers: the layer a subscriber receives follows the size it
// asks for and the bandwidth it reports, and every switch starts at a key
// frame of the new layer.
func TestSimulcastLayers(t *testing.T) {
	leakcheck.Check(t)
	s, _ := newSFU(t, testConfig())
	pub := join(t, s, "sim", "pub", allGrants, sfuclient.Config{})
	if _, err := pub.client.PublishVP8(sfuclient.VideoOptions{Simulcast: true, Width: 640, Height: 360, Bitrate: 1_500_000}); err != nil {
		t.Fatal(err)
	}
	sub := join(t, s, "sim", "sub", allGrants, sfuclient.Config{})
	r := remoteOf(t, sub, "pub", sfu.SourceCamera)
	id := trackOf(sub.client, "pub", sfu.SourceCamera)
	if ti := sub.client.Tracks(); len(ti) != 1 || !ti[0].Simulcast {
		t.Fatalf("tracks = %+v, want one simulcast track", ti)
	}

	// waitLayer waits until the newest packets come from layer want and
	// a few dozen of them have arrived since.
	waitLayer := func(t *testing.T, want int) {
		t.Helper()
		var base uint64
		waitFor(t, 15*time.Second, fmt.Sprintf("layer %d", want), func() bool {
			st := r.Stats()
			if st.Layer != want {
				base = st.LayerPackets[want]
				return false
			}
			return st.LayerPackets[want] > base+30
		})
	}
	steps := []struct {
		name   string
		apply  func()
		layer  int
		width  int
		height int
	}{
		{"no wish: full", func() {}, 2, 640, 360},
		{"thumbnail: q", func() { sub.client.RequestVideo(id, 160, 90) }, 0, 160, 90},
		{"half: h", func() { sub.client.RequestVideo(id, 320, 180) }, 1, 320, 180},
		{"full: f", func() { sub.client.RequestVideo(id, 640, 360) }, 2, 640, 360},
		{"bandwidth 300 kbit/s: q", func() { sub.client.SetReceiveBitrate(300_000) }, 0, 160, 90},
		{"bandwidth 800 kbit/s: h", func() { sub.client.SetReceiveBitrate(800_000) }, 1, 320, 180},
		{"bandwidth 10 Mbit/s: f", func() { sub.client.SetReceiveBitrate(10_000_000) }, 2, 640, 360},
		{"no estimate, small size: q", func() { sub.client.SetReceiveBitrate(0); sub.client.RequestVideo(id, 100, 60) }, 0, 160, 90},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.apply()
			waitLayer(t, st.layer)
			got := r.Stats()
			if got.Width != st.width || got.Height != st.height {
				t.Errorf("key frame size %dx%d, want %dx%d", got.Width, got.Height, st.width, st.height)
			}
		})
	}
	t.Run("pause", func(t *testing.T) {
		sub.client.RequestVideo(id, 0, 0)
		time.Sleep(300 * time.Millisecond)
		before := r.Stats().Packets
		time.Sleep(500 * time.Millisecond)
		if after := r.Stats().Packets; after != before {
			t.Errorf("paused track still received %d packets", after-before)
		}
		sub.client.RequestVideo(id, -1, -1)
		waitLayer(t, 2)
	})
	st := r.Stats()
	t.Logf("switches %d, key frames %d, packets per layer %v", st.Switches, st.KeyFrames, st.LayerPackets)
	if st.Switches < len(steps)-1 {
		t.Errorf("only %d layer switches", st.Switches)
	}
	if st.PictureIDJumps != 0 {
		t.Errorf("VP8 picture IDs jumped %d times across switches", st.PictureIDJumps)
	}
	if st.SwitchesWithoutKeyFrame != 0 || !st.FirstIsKeyFrame {
		t.Errorf("%d switches did not start with a key frame (first packet key frame: %v)", st.SwitchesWithoutKeyFrame, st.FirstIsKeyFrame)
	}
}
