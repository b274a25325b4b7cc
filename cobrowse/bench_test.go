package cobrowse_test

import (
	"bytes"
	"compress/flate"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/performance"
	"github.com/chromedp/chromedp"
	"github.com/rs/zerolog"

	"github.com/lotse-io/lotse/cobrowse"
	"github.com/lotse-io/lotse/internal/browsertest"
)

type captureStats struct {
	Frames           float64 `json:"frames"`
	Bytes            float64 `json:"bytes"`
	Events           float64 `json:"events"`
	RawBytes         float64 `json:"rawBytes"`
	Snapshots        float64 `json:"snapshots"`
	SnapshotRawBytes float64 `json:"snapshotRawBytes"`
	SnapshotBytes    float64 `json:"snapshotBytes"`
}

func stats(b testing.TB, p *browsertest.Page) captureStats {
	return js[captureStats](b, p, `window.lotseTest.session.stats()`)
}

// taskTime is the page's main-thread busy time so far (CDP Performance
// metrics: TaskDuration, in seconds).
func taskTime(b testing.TB, p *browsertest.Page) float64 {
	b.Helper()
	res, err := chromedp.Call(p.Ctx, performance.GetMetrics, struct{}{})
	if err != nil {
		b.Fatal(err)
	}
	for _, m := range res.Metrics {
		if m.Name == "TaskDuration" {
			return m.Value
		}
	}
	b.Fatal("no TaskDuration metric")
	return 0
}

// BenchmarkBrowserCobrowse measures the co-browse plane end to end in
// headless Chromium through the real relay: snapshot bytes (raw and on
// the wire), wire bytes per mutation and against rrweb's own packer on the
// same events, mutation → applied latency at 100 and 1,000 mutations/s,
// and the customer page's main-thread time spent on capture. It runs each
// scenario once, whatever b.N: run it with -benchtime 1x.
//
//	go test -run '^$' -bench BrowserCobrowse -benchtime 1x ./cobrowse/
func BenchmarkBrowserCobrowse(b *testing.B) {
	browsertest.Require(b)
	requireHarness(b)
	h := newHarness(b, cobrowse.DefaultConfig())
	br := browsertest.Start(b)
	cust := br.NewPage(b)
	do(b, cust, chromedp.EmulateViewport(1280, 800), chromedp.Navigate(h.bank.URL+"/index.html"))
	waitJS[bool](b, cust, "capture", `!!(window.lotseTest && window.lotseTest.connected)`)
	view := br.NewPage(b)
	do(b, view, chromedp.EmulateViewport(1280, 800), chromedp.Navigate(h.lotse.URL+"/viewer.html?p=adv1"))
	waitJS[bool](b, view, "the page in the viewer", `!!(`+viewerDoc+` && `+viewerDoc+`.getElementById("transfer"))`)

	s := stats(b, cust)
	b.ReportMetric(s.SnapshotRawBytes, "snapshot-raw-B")
	b.ReportMetric(s.SnapshotBytes, "snapshot-wire-B")
	b.Logf("bank page snapshot: %.0f bytes JSON, %.0f bytes on the wire (%.1f×)", s.SnapshotRawBytes, s.SnapshotBytes, s.SnapshotRawBytes/s.SnapshotBytes)

	cells := `["#cell0","#cell1","#cell2","#cell3","#cell4","#cell5","#cell6","#cell7","#cell8","#cell9"]`
	if _, err := chromedp.Call(cust.Ctx, performance.Enable, performance.EnableParams{}); err != nil {
		b.Fatal(err)
	}
	for _, rate := range []int{100, 1000} {
		js[bool](b, view, `(window.lotseViewer.watch(`+cells+`), true)`)
		js[bool](b, cust, `(window.lotseTest.record(true), true)`)
		before := stats(b, cust)
		t0 := taskTime(b, cust)
		res := js[struct {
			Sent  map[string]float64 `json:"sent"`
			Count int                `json:"count"`
		}](b, cust, fmt.Sprintf(`window.lotseTest.mutate(%d, 3000)`, rate))
		t1 := taskTime(b, cust)
		last := fmt.Sprintf("m%d", res.Count-1)
		waitJS[bool](b, view, "the last mutation", `window.lotseViewer.seen.some((s) => s.v === "`+last+`")`)
		after := stats(b, cust)
		seen := js[[]struct {
			V string  `json:"v"`
			T float64 `json:"t"`
		}](b, view, `window.lotseViewer.seen`)
		applied := map[int]float64{}
		for _, e := range seen {
			var i int
			if _, err := fmt.Sscanf(e.V, "m%d", &i); err == nil {
				if _, dup := applied[i]; !dup {
					applied[i] = e.T
				}
			}
		}
		// Cells are independent: mutation i applied when its cell showed i
		// or a later value of the same cell.
		var lat []float64
		for i := 0; i < res.Count; i++ {
			sent, ok := res.Sent[fmt.Sprintf("m%d", i)]
			if !ok {
				continue
			}
			best := -1.0
			for j := i; j < res.Count; j += 10 {
				if at, ok := applied[j]; ok && (best < 0 || at < best) {
					best = at
				}
			}
			if best >= 0 {
				lat = append(lat, best-sent)
			}
		}
		packed := js[struct {
			Packed     float64 `json:"packed"`
			PackedUTF8 float64 `json:"packedUtf8"`
			Events     float64 `json:"events"`
		}](b, cust, `window.lotseTest.packedBytes()`)
		js[bool](b, cust, `(window.lotseTest.record(false), true)`)
		wire := after.Bytes - before.Bytes
		perMut := wire / float64(res.Count)
		p50, p95 := percentile(lat, 50), percentile(lat, 95)
		busy := (t1 - t0) / 3.0 * 1000 // ms of main-thread work per second
		unit := fmt.Sprintf("@%d/s", rate)
		b.ReportMetric(perMut, "wire-B/mutation"+unit)
		b.ReportMetric(p50, "p50-ms"+unit)
		b.ReportMetric(p95, "p95-ms"+unit)
		b.ReportMetric(wire/packed.Packed, "wire/packer"+unit)
		b.ReportMetric(busy, "main-thread-ms/s"+unit)
		b.Logf("%d mutations/s: %d mutations, %d measured; latency p50 %.1f ms p95 %.1f ms; wire %.0f B (%.1f B/mutation, %.0f events); "+
			"rrweb packer %.0f B (%.0f B as JSON text): ours/packer %.2f; page main thread busy %.0f ms/s",
			rate, res.Count, len(lat), p50, p95, wire, perMut, after.Events-before.Events, packed.Packed, packed.PackedUTF8, wire/packed.Packed, busy)
	}

	// Main-thread time without capture, same workload, for comparison.
	bare := br.NewPage(b)
	do(b, bare, chromedp.EmulateViewport(1280, 800), chromedp.Navigate(h.bank.URL+"/index.html?auto=0"))
	waitJS[bool](b, bare, "the page", `!!window.lotseTest`)
	if _, err := chromedp.Call(bare.Ctx, performance.Enable, performance.EnableParams{}); err != nil {
		b.Fatal(err)
	}
	t0 := taskTime(b, bare)
	js[struct{}](b, bare, `window.lotseTest.mutate(1000, 3000).then(() => ({}))`)
	busy := (taskTime(b, bare) - t0) / 3.0 * 1000
	b.ReportMetric(busy, "main-thread-ms/s@1000/s-nocapture")
	b.Logf("1000 mutations/s without capture: page main thread busy %.0f ms/s", busy)

	// The second page's snapshot.
	do(b, cust, chromedp.Navigate(h.bank.URL+"/page2.html"))
	waitJS[bool](b, cust, "capture on page 2", `!!(window.lotseTest && window.lotseTest.session && window.lotseTest.session.stats().snapshotBytes > 0)`)
	s2 := stats(b, cust)
	b.ReportMetric(s2.SnapshotRawBytes, "snapshot2-raw-B")
	b.ReportMetric(s2.SnapshotBytes, "snapshot2-wire-B")
	b.Logf("depot page snapshot: %.0f bytes JSON, %.0f bytes on the wire", s2.SnapshotRawBytes, s2.SnapshotBytes)
}

// BenchmarkRelayEvents measures the relay's cost per customer frame:
// inflate, validate, keep, fan out to two viewers.
func BenchmarkRelayEvents(b *testing.B) {
	r := cobrowse.New(cobrowse.DefaultConfig(), cobrowse.Deps{Log: zerolog.Nop()})
	defer r.Close()
	null := cobrowse.SinkFunc(func([]byte) bool { return true })
	defer r.AddViewer("c", "v1", null)()
	defer r.AddViewer("c", "v2", null)()
	snap := encodeTestFrame(b, cobrowse.Snapshot{T: cobrowse.KindSnapshot, Epoch: 1, Seq: 1, Deflate: true},
		`[{"type":4,"timestamp":1,"data":{"href":"https://b/","width":1,"height":1}},{"type":2,"timestamp":1,"data":{"node":{"type":0,"id":1,"childNodes":[]},"initialOffset":{"top":0,"left":0}}}]`)
	if err := r.FromCustomer(context.Background(), "c", "cust", snap); err != nil {
		b.Fatal(err)
	}
	// A typical batch: ten text mutations and an input.
	var evs []string
	for i := 0; i < 10; i++ {
		evs = append(evs, fmt.Sprintf(`{"type":3,"timestamp":%d,"data":{"source":0,"texts":[{"id":%d,"value":"m%d"}],"attributes":[],"removes":[],"adds":[]}}`, i, 10+i, i))
	}
	evs = append(evs, `{"type":3,"timestamp":11,"data":{"source":5,"id":4,"text":"hello","isChecked":false}}`)
	payload := "[" + strings.Join(evs, ",") + "]"
	frames := make([][]byte, 1024)
	for i := range frames {
		frames[i] = encodeTestFrame(b, cobrowse.Events{T: cobrowse.KindEvents, Epoch: 1, Deflate: true}, payload)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f := frames[i%len(frames)]
		// Re-stamp the sequence number.
		ev := encodeTestFrameRaw(b, cobrowse.Events{T: cobrowse.KindEvents, Epoch: 1, Seq: uint64(i + 2), Deflate: true}, f)
		if err := r.FromCustomer(context.Background(), "c", "cust", ev); err != nil {
			b.Fatal(err)
		}
	}
}

func deflateBytes(p []byte) []byte {
	var out bytes.Buffer
	w, _ := flate.NewWriter(&out, flate.BestSpeed)
	_, _ = w.Write(p)
	_ = w.Close()
	return out.Bytes()
}

func encodeTestFrame(b testing.TB, h any, payload string) []byte {
	b.Helper()
	f, err := cobrowse.EncodeFrame(h, deflateBytes([]byte(payload)))
	if err != nil {
		b.Fatal(err)
	}
	return f
}

// encodeTestFrameRaw builds a frame with header h and the payload of frame.
func encodeTestFrameRaw(b testing.TB, h any, frame []byte) []byte {
	fr, err := cobrowse.DecodeFrame(frame)
	if err != nil {
		b.Fatal(err)
	}
	out, err := cobrowse.EncodeFrame(h, fr.Payload)
	if err != nil {
		b.Fatal(err)
	}
	return out
}
