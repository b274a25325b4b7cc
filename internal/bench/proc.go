// Package bench holds what every `lotse bench` scenario shares: reading a
// server process's CPU time and memory from /proc, and summarising latency
// samples. Scenarios measure as ../shared/BENCHMARKS-METHOD.md describes.
package bench

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ProcSample is a process's CPU time and resident memory at one moment.
type ProcSample struct {
	At      time.Time
	CPU     time.Duration // utime + stime
	RSSByte int64
}

// clockTicks is USER_HZ, which is 100 on every Linux we run on.
const clockTicks = 100

// ReadProc samples /proc/<pid>/stat and /proc/<pid>/status.
func ReadProc(pid int) (ProcSample, error) {
	now := time.Now()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ProcSample{}, err
	}
	// The command name may contain spaces; fields start after the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return ProcSample{}, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+1:])
	// After ')': state(0) ppid(1) ... utime is field 14 of stat, i.e. f[11], stime f[12].
	if len(f) < 13 {
		return ProcSample{}, fmt.Errorf("parse /proc/%d/stat: %d fields", pid, len(f))
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return ProcSample{}, fmt.Errorf("parse /proc/%d/stat times", pid)
	}
	rss, err := readRSS(pid)
	if err != nil {
		return ProcSample{}, err
	}
	return ProcSample{At: now, CPU: time.Duration(ut+st) * time.Second / clockTicks, RSSByte: rss}, nil
}

func readRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) >= 1 {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				return kb * 1024, err
			}
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// CPUShare is the CPU used between two samples divided by the wall time
// between them (1.0 = one core fully busy).
func CPUShare(a, b ProcSample) float64 {
	wall := b.At.Sub(a.At)
	if wall <= 0 {
		return 0
	}
	return float64(b.CPU-a.CPU) / float64(wall)
}

// Percentiles returns the p-th percentiles (0–100) of samples, which it
// sorts in place.
func Percentiles(samples []time.Duration, ps ...float64) []time.Duration {
	out := make([]time.Duration, len(ps))
	if len(samples) == 0 {
		return out
	}
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	for i, p := range ps {
		k := int(p / 100 * float64(len(samples)-1))
		out[i] = samples[k]
	}
	return out
}
