package sfu_test

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/lotse-io/lotse/sfu/sfuclient"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkForward measures forwarding end to end on loopback: one
// publisher sends VP8 (about 1,200 packets/s) to 10 subscribers through
// the SFU, all real pion peers in this process. One op is one packet
// written to one subscriber. Besides ns/op (wall time, bounded by the
// publisher's rate) it reports the whole process's CPU time per forwarded
// packet: an upper bound on the SFU's, since the process also encrypts
// for the publisher and decrypts and parses for every subscriber.
//
//	go test -run '^$' -bench BenchmarkForward -benchtime 60000x ./sfu/
func BenchmarkForward(b *testing.B) {
	for _, subs := range []int{1, 10} {
		b.Run(fmt.Sprintf("subscribers=%d", subs), func(b *testing.B) { benchForward(b, subs) })
	}
}

func benchForward(b *testing.B, nsubs int) {
	s, _ := newSFU(b, testConfig())
	pub := join(b, s, "bench", "pub", allGrants, sfuclient.Config{})
	var subs []*conn
	for i := 0; i < nsubs; i++ {
		subs = append(subs, join(b, s, "bench", fmt.Sprintf("s%d", i), allGrants, sfuclient.Config{}))
	}
	tr, err := pub.client.PublishVP8(sfuclient.VideoOptions{Bitrate: 10_000_000, FPS: 100})
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Stop()
	received := func() uint64 {
		var n uint64
		for _, c := range subs {
			for _, r := range c.client.Remotes() {
				n += r.Packets()
			}
		}
		return n
	}
	waitFor(b, 20*time.Second, "media", func() bool { return received() >= uint64(100*nsubs) })
	start, cpu0 := received(), cpuTime()
	b.ResetTimer()
	for received()-start < uint64(b.N) {
		time.Sleep(5 * time.Millisecond)
	}
	b.StopTimer()
	n := received() - start
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(n), "cpu-ns/fwd-pkt")
}
