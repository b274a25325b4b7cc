package sfuclient

import (
	"testing"
	"time"
)

func TestProbeRoundTrip(t *testing.T) {
	b := make([]byte, 40)
	want := probe{layer: 2, keyFrame: true, seq: 123456, sent: time.Unix(0, 1_700_000_000_123_456_789)}
	putProbe(b[7:], want)
	got, ok := findProbe(b)
	if !ok || got.layer != want.layer || got.keyFrame != want.keyFrame || got.seq != want.seq || !got.sent.Equal(want.sent) {
		t.Fatalf("findProbe = %+v, %v; want %+v", got, ok, want)
	}
	if _, ok := findProbe(make([]byte, 40)); ok {
		t.Fatal("found a probe in zeros")
	}
	if _, ok := findProbe(b[:20]); ok {
		t.Fatal("found a truncated probe")
	}
}

func TestSeqWindow(t *testing.T) {
	tests := []struct {
		name string
		seqs []uint32
		want uint64
	}{
		{"in order", []uint32{1, 2, 3}, 3},
		{"duplicates", []uint32{1, 2, 2, 1, 3}, 3},
		{"reordered", []uint32{5, 3, 4, 1}, 4},
		{"jump beyond the window forgets", []uint32{1, 1 << 17, 1}, 2},
		{"too old", []uint32{1 << 17, 1}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var w seqWindow
			for _, s := range tc.seqs {
				w.add(s)
			}
			if w.unique != tc.want {
				t.Fatalf("unique = %d, want %d", w.unique, tc.want)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	var s []time.Duration
	for i := 100; i >= 1; i-- {
		s = append(s, time.Duration(i))
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 50}, {0.99, 99}, {0, 1}, {1, 100}} {
		if got := percentile(s, tc.q); got != tc.want {
			t.Errorf("percentile(%v) = %v, want %v", tc.q, got, tc.want)
		}
	}
	if percentile(nil, 0.5) != 0 {
		t.Error("percentile of nothing")
	}
}
