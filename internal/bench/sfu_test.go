package bench

import (
	"testing"
	"time"
)

func TestParseScenario(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     Scenario
		parts    int
		wantErr  bool
	}{
		{name: "one to ten", in: "1x10", want: Scenario{Publishers: 1, Listeners: 10}, parts: 11},
		{name: "one to fifty", in: " 1x50 ", want: Scenario{Publishers: 1, Listeners: 50}, parts: 51},
		{name: "meeting of six", in: "6x6", want: Scenario{Publishers: 6}, parts: 6},
		{name: "two publishers, four listeners", in: "2x4", want: Scenario{Publishers: 2, Listeners: 4}, parts: 6},
		{name: "meeting of one", in: "1x1", wantErr: true},
		{name: "no x", in: "10", wantErr: true},
		{name: "zero", in: "0x5", wantErr: true},
		{name: "negative", in: "1x-3", wantErr: true},
		{name: "words", in: "axb", wantErr: true},
		{name: "too many", in: "1x100000", wantErr: true},
		{name: "empty", in: "", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseScenario(tc.in)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("ParseScenario(%q) = %+v, want an error", tc.in, got)
				}
				return
			}
			if err != nil || got != tc.want || got.Participants() != tc.parts {
				t.Fatalf("ParseScenario(%q) = %+v (%d participants), %v; want %+v (%d)", tc.in, got, got.Participants(), err, tc.want, tc.parts)
			}
			if again, _ := ParseScenario(got.String()); again != got {
				t.Fatalf("%q → %+v → %q → %+v", tc.in, got, got.String(), again)
			}
		})
	}
}

func TestComputeRates(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    Forwarding
		wall time.Duration
		cpu  time.Duration
		want rates
	}{
		{
			// 10,000 packets of 1,000 bytes in 10 s with 0.2 s of CPU:
			// 1,000 pkt/s, 8 Mbit/s, 20 µs per packet, 2.5 s per Gbit.
			name: "steady video",
			f:    Forwarding{Packets: 10_000, Bytes: 10_000_000, RTPExpected: 10_000, RTPUnique: 10_000},
			wall: 10 * time.Second, cpu: 200 * time.Millisecond,
			want: rates{pps: 1000, mbps: 8, cpuPerPkt: 20 * time.Microsecond, cpuSecPerGbit: 2.5},
		},
		{
			name: "one percent lost",
			f:    Forwarding{Packets: 990, Bytes: 990 * 132, RTPExpected: 1000, RTPUnique: 990},
			wall: time.Second, cpu: 99 * time.Millisecond,
			want: rates{pps: 990, mbps: 990 * 132 * 8 / 1e6, cpuPerPkt: 100 * time.Microsecond, cpuSecPerGbit: 0.099 / (990 * 132 * 8 / 1e9), lossPct: 1},
		},
		{
			// Duplicates (retransmissions) never make loss negative.
			name: "duplicates",
			f:    Forwarding{Packets: 110, Bytes: 1100, RTPExpected: 100, RTPUnique: 100},
			wall: time.Second,
			want: rates{pps: 110, mbps: 1100 * 8 / 1e6},
		},
		{name: "nothing arrived", f: Forwarding{}, wall: time.Second, cpu: time.Second, want: rates{}},
		{name: "no wall time", f: Forwarding{Packets: 5, Bytes: 5}, wall: 0, cpu: time.Second, want: rates{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := computeRates(tc.f, tc.wall, tc.cpu)
			near := func(a, b float64) bool { return a-b < 1e-9*max(1, b) && b-a < 1e-9*max(1, b) }
			if !near(got.pps, tc.want.pps) || !near(got.mbps, tc.want.mbps) || got.cpuPerPkt != tc.want.cpuPerPkt ||
				!near(got.cpuSecPerGbit, tc.want.cpuSecPerGbit) || !near(got.lossPct, tc.want.lossPct) {
				t.Fatalf("computeRates = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestCombineLatencies(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		name string
		in   []trackLatency
		want Latency
	}{
		{name: "none", in: nil, want: Latency{}},
		{name: "tracks without samples are ignored", in: []trackLatency{{weight: 0, p50: ms, p95: ms, p99: ms}}, want: Latency{}},
		{
			name: "one track",
			in:   []trackLatency{{weight: 10, p50: 1 * ms, p95: 2 * ms, p99: 3 * ms}},
			want: Latency{Tracks: 1, P50: 1 * ms, P95: 2 * ms, P99: 3 * ms, WorstP99: 3 * ms, Samples: 10, MeasuredFromProbes: true},
		},
		{
			// Weighted 3:1, the worst p99 is kept apart.
			name: "weighted",
			in:   []trackLatency{{weight: 100, p50: 5 * ms, p95: 6 * ms, p99: 20 * ms}, {weight: 300, p50: 1 * ms, p95: 2 * ms, p99: 4 * ms}},
			want: Latency{Tracks: 2, P50: 2 * ms, P95: 3 * ms, P99: 8 * ms, WorstP99: 20 * ms, Samples: 400, MeasuredFromProbes: true},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := combineLatencies(tc.in); got != tc.want {
				t.Fatalf("combineLatencies = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestSummariseJoins(t *testing.T) {
	ms := time.Millisecond
	var ss []joinSample
	for i := 1; i <= 20; i++ {
		ss = append(ss, joinSample{want: 2, first: time.Duration(i) * ms, all: time.Duration(100*i) * ms})
	}
	ss = append(ss, joinSample{want: 2, failed: true})
	for _, tc := range []struct {
		name string
		in   []joinSample
		want JoinTimes
	}{
		{name: "none", want: JoinTimes{}},
		{name: "all failed", in: ss[20:], want: JoinTimes{Failed: 1}},
		{
			// Percentiles picks index int(p/100·(n−1)): 9 and 18 of 0..19.
			name: "twenty and a failure",
			in:   ss,
			want: JoinTimes{N: 20, Failed: 1, FirstP50: 10 * ms, FirstP95: 19 * ms, AllP50: 1000 * ms, AllP95: 1900 * ms},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := summariseJoins(tc.in); got != tc.want {
				t.Fatalf("summariseJoins = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestWindowForwarding(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	snap := func(ms int, audio bool, pkts uint64) trackSnap {
		return trackSnap{at: at(ms), audio: audio, packets: pkts, bytes: 100 * pkts, rtpExpected: pkts, rtpUnique: pkts}
	}
	for _, tc := range []struct {
		name string
		a, b sfuSample
		want Forwarding
	}{
		{
			// The window is 10 s; track v was read 1 s late the second
			// time (11 s between its readings, 1,100 packets): it counts
			// 1,000 packets, as if read exactly at the window's ends.
			name: "scaled to the window",
			a:    sfuSample{at: at(0), tracks: map[string]trackSnap{"p/a": snap(0, true, 0), "p/v": snap(10, false, 0)}},
			b:    sfuSample{at: at(10_000), tracks: map[string]trackSnap{"p/a": snap(10_000, true, 500), "p/v": snap(11_010, false, 1_100)}},
			want: Forwarding{Packets: 1_500, Bytes: 150_000, AudioPackets: 500, VideoPacks: 1_000, RTPExpected: 1_500, RTPUnique: 1_500},
		},
		{
			name: "tracks in one sample only are left out",
			a:    sfuSample{at: at(0), tracks: map[string]trackSnap{"gone": snap(0, true, 10)}},
			b:    sfuSample{at: at(1_000), tracks: map[string]trackSnap{"new": snap(1_000, true, 50)}},
			want: Forwarding{},
		},
		{
			name: "a counter that went backwards (a new track under the same id) is left out",
			a:    sfuSample{at: at(0), tracks: map[string]trackSnap{"x": snap(0, false, 100)}},
			b:    sfuSample{at: at(1_000), tracks: map[string]trackSnap{"x": snap(1_000, false, 10)}},
			want: Forwarding{},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := windowForwarding(tc.a, tc.b); got != tc.want {
				t.Fatalf("windowForwarding = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestSumMetrics(t *testing.T) {
	text := `# HELP lotse_sfu_forwarded_packets_total Packets forwarded.
# TYPE lotse_sfu_forwarded_packets_total counter
lotse_sfu_forwarded_packets_total{kind="audio"} 100
lotse_sfu_forwarded_packets_total{kind="video"} 2.5e+03
lotse_sfu_forwarded_packets_total_extra 7
lotse_sfu_dropped_packets_total{reason="queue_full"} 3
lotse_sfu_dropped_packets_total{reason="write_error"} 4
go_memstats_heap_inuse_bytes 2.9376512e+07
broken_line_without_value
lotse_sfu_plis_total NaN-ish
`
	for _, tc := range []struct {
		name   string
		series string
		want   float64
		found  bool
	}{
		{name: "summed over labels", series: "lotse_sfu_forwarded_packets_total", want: 2600, found: true},
		{name: "one labelled series", series: `lotse_sfu_dropped_packets_total{reason="write_error"}`, want: 4, found: true},
		{name: "all drops", series: "lotse_sfu_dropped_packets_total", want: 7, found: true},
		{name: "gauge in exponent form", series: "go_memstats_heap_inuse_bytes", want: 29376512, found: true},
		{name: "unparsable value ignored", series: "lotse_sfu_plis_total", found: false},
		{name: "absent", series: "lotse_sfu_nacks_total", found: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := sumMetrics(text, []string{tc.series})[tc.series]
			if ok != tc.found || got != tc.want {
				t.Fatalf("sumMetrics(%s) = %v, %v; want %v, %v", tc.series, got, ok, tc.want, tc.found)
			}
		})
	}
}

func TestSplitUDPDrops(t *testing.T) {
	text := `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  101: 0A0200C0:9C41 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4242 2 0000000000000000 17
  102: 0A0200C0:9C42 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4243 2 0000000000000000 5
  103: 0100007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 99 2 0000000000000000 3
  104: short line
`
	for _, tc := range []struct {
		name   string
		inodes map[string]bool
		want   [2]uint64
	}{
		{name: "server owns one socket", inodes: map[string]bool{"4242": true}, want: [2]uint64{17, 8}},
		{name: "server owns two", inodes: map[string]bool{"4242": true, "99": true}, want: [2]uint64{20, 5}},
		{name: "no server", inodes: nil, want: [2]uint64{0, 25}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := splitUDPDrops(text, tc.inodes); got != tc.want {
				t.Fatalf("splitUDPDrops = %v, want %v", got, tc.want)
			}
		})
	}
}
