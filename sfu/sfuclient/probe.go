package sfuclient

import (
	"encoding/binary"
	"sort"
	"time"
)

// A probe is the record a synthetic publisher writes into every RTP
// payload so that subscribers can measure loss and one-way latency (both
// ends on the same clock, as on one machine or in the benchmark's network
// namespace) and tell which simulcast layer they receive:
//
//	"LTS1" | layer (1 byte) | flags (1 byte, bit 0: key frame) |
//	sequence (uint32, per track and layer) | send time (int64, Unix ns)
const (
	probeMagic = "LTS1"
	probeSize  = 18
)

type probe struct {
	layer    int
	keyFrame bool
	seq      uint32
	sent     time.Time
}

func putProbe(b []byte, p probe) {
	copy(b, probeMagic)
	b[4] = byte(p.layer)
	b[5] = 0
	if p.keyFrame {
		b[5] = 1
	}
	binary.BigEndian.PutUint32(b[6:], p.seq)
	binary.BigEndian.PutUint64(b[10:], uint64(p.sent.UnixNano()))
}

// findProbe looks for a probe in the first bytes of a payload (after the
// codec's own header).
func findProbe(b []byte) (probe, bool) {
	for i := 0; i+probeSize <= len(b) && i < 32; i++ {
		if string(b[i:i+4]) == probeMagic {
			return probe{
				layer:    int(b[i+4]),
				keyFrame: b[i+5]&1 != 0,
				seq:      binary.BigEndian.Uint32(b[i+6:]),
				sent:     time.Unix(0, int64(binary.BigEndian.Uint64(b[i+10:]))),
			}, true
		}
	}
	return probe{}, false
}

// seqWindow counts distinct sequence numbers among the last 1<<16 seen,
// so duplicates (retransmissions) are not counted twice.
type seqWindow struct {
	bits    [1 << 10]uint64
	started bool
	highest uint32
	unique  uint64
}

func (w *seqWindow) add(seq uint32) bool {
	const size = 1 << 16
	if !w.started {
		w.started, w.highest = true, seq
	}
	if seq > w.highest {
		// Forget what slides out of the window.
		for s := w.highest + 1; s <= seq && s-w.highest <= size; s++ {
			w.clear(s)
		}
		w.highest = seq
	} else if w.highest-seq >= size {
		return false
	}
	i := seq % size
	if w.bits[i/64]&(1<<(i%64)) != 0 {
		return false
	}
	w.bits[i/64] |= 1 << (i % 64)
	w.unique++
	return true
}

func (w *seqWindow) clear(seq uint32) {
	i := seq % (1 << 16)
	w.bits[i/64] &^= 1 << (i % 64)
}

// latencies keeps the most recent samples for percentiles.
type latencies struct {
	s    []time.Duration
	next int
}

const maxLatencySamples = 20000

func (l *latencies) add(d time.Duration) {
	if len(l.s) < maxLatencySamples {
		l.s = append(l.s, d)
		return
	}
	l.s[l.next] = d
	l.next = (l.next + 1) % maxLatencySamples
}

// percentile returns the q-quantile (0..1) of the samples, 0 without any.
func percentile(samples []time.Duration, q float64) time.Duration {
	if len(samples) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), samples...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(q * float64(len(s)-1))
	return s[i]
}
