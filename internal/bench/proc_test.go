package bench

import (
	"os"
	"testing"
	"time"
)

func TestReadProcSelf(t *testing.T) {
	a, err := ReadProc(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(300 * time.Millisecond)
	x := 0
	for time.Now().Before(deadline) { // burn CPU so the counters move
		x++
	}
	b, err := ReadProc(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if a.RSSByte <= 0 || b.CPU <= a.CPU {
		t.Fatalf("rss %d, cpu %v → %v (x=%d)", a.RSSByte, a.CPU, b.CPU, x)
	}
	if s := CPUShare(a, b); s <= 0.1 || s > 4 {
		t.Fatalf("CPU share %.2f of a busy loop", s)
	}
}

func TestPercentiles(t *testing.T) {
	var s []time.Duration
	for i := 100; i >= 1; i-- {
		s = append(s, time.Duration(i)*time.Millisecond)
	}
	p := Percentiles(s, 50, 99, 100)
	if p[0] != 50*time.Millisecond || p[1] != 99*time.Millisecond || p[2] != 100*time.Millisecond {
		t.Fatalf("percentiles %v", p)
	}
}
