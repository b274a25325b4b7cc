package cobrowse

import (
	"github.com/lotse-io/lotse/internal/leakcheck"

	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"
)

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	_ = c.Write(&m)
	return m.GetCounter().GetValue()
}

// sink collects frames; it refuses them while blocked.
type sink struct {
	mu      sync.Mutex
	frames  [][]byte
	blocked atomic.Bool
}

func (s *sink) Send(b []byte) bool {
	if s.blocked.Load() {
		return false
	}
	s.mu.Lock()
	s.frames = append(s.frames, b)
	s.mu.Unlock()
	return true
}

// decoded returns what arrived so far, chunks joined, as kind + header.
func (s *sink) decoded(t testing.TB) []Frame {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Frame
	r := reassembler{max: 64 << 20}
	for _, b := range s.frames {
		f, err := DecodeFrame(b)
		if err != nil {
			t.Fatalf("relay sent an undecodable frame: %v", err)
		}
		if f.Kind == KindChunk {
			var c Chunk
			_ = f.DecodeHeader(&c)
			whole, err := r.add(c, f.Payload)
			if err != nil {
				t.Fatalf("relay sent bad chunks: %v", err)
			}
			if whole == nil {
				continue
			}
			if f, err = DecodeFrame(whole); err != nil {
				t.Fatal(err)
			}
		}
		out = append(out, f)
	}
	return out
}

func (s *sink) kinds(t testing.TB) string {
	var k []string
	for _, f := range s.decoded(t) {
		k = append(k, string(f.Kind))
	}
	return strings.Join(k, " ")
}

// waitFor polls until cond holds.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) record(_ context.Context, ev Event) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
}

func (r *recorder) kinds() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var k []string
	for _, e := range r.events {
		k = append(k, strings.TrimPrefix(string(e.Kind), "cobrowse."))
	}
	return strings.Join(k, " ")
}

func newTestRelay(t *testing.T, cfg Config) (*Relay, *recorder) {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	r := New(cfg, Deps{Log: zerolog.New(zerolog.NewTestWriter(t)), Record: rec.record})
	t.Cleanup(r.Close)
	return r, rec
}

func snapFrame(epoch, seq uint64, events ...string) []byte {
	return mustEncode(Snapshot{T: KindSnapshot, Epoch: epoch, Seq: seq, Deflate: true}, deflate([]byte("["+strings.Join(events, ",")+"]")))
}

func evFrame(epoch, seq uint64, events ...string) []byte {
	return mustEncode(Events{T: KindEvents, Epoch: epoch, Seq: seq, Deflate: true}, deflate([]byte("["+strings.Join(events, ",")+"]")))
}

var ctx = context.Background()

func TestRelayHoldsAndFansOut(t *testing.T) {
	leakcheck.Check(t)
	r, rec := newTestRelay(t, DefaultConfig())
	cust := &sink{}
	defer r.SetCustomerSink("c", "cust", cust)()
	early := &sink{}
	detachEarly := r.AddViewer("c", "adv1", early)
	defer detachEarly()

	steps := []struct {
		name    string
		frame   []byte
		wantErr error
	}{
		{"snapshot", snapFrame(10, 1, metaEv, fullEv), nil},
		{"events", evFrame(10, 2, inputEv), nil},
		{"duplicate", evFrame(10, 2, inputEv), nil},
		{"gap", evFrame(10, 4, inputEv), ErrOutOfSequence},
		{"old epoch", evFrame(9, 3, inputEv), ErrOutOfSequence},
		{"invalid", evFrame(10, 3, `{"type":3,"timestamp":1,"data":{"source":99}}`), ErrInvalidEvent},
		{"next after invalid is a gap", evFrame(10, 4, inputEv), ErrOutOfSequence},
		{"viewer kind from customer", mustEncode(Pointer{T: KindPointer, X: 1, Y: 1}, nil), ErrNotAllowed},
		{"garbage", []byte("hello, relay"), ErrBadFrame},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			err := r.FromCustomer(ctx, "c", "cust", s.frame)
			if s.wantErr == nil && err != nil || s.wantErr != nil && !errors.Is(err, s.wantErr) {
				t.Fatalf("err %v, want %v", err, s.wantErr)
			}
		})
	}
	waitFor(t, "the early viewer's frames", func() bool { return strings.Count(early.kinds(t), "ev") >= 1 })
	if k := early.kinds(t); k != "hello ctlstate snap ev" {
		t.Fatalf("early viewer got %q", k)
	}
	if got := r.FromCustomer(ctx, "c", "intruder", evFrame(10, 3, inputEv)); !errors.Is(got, ErrNotCustomer) {
		t.Fatalf("frame from another participant: %v", got)
	}

	// A late viewer gets hello, the held snapshot and events at once.
	late := &sink{}
	defer r.AddViewer("c", "adv2", late)()
	waitFor(t, "the late viewer's state", func() bool { return strings.HasPrefix(late.kinds(t), "hello snap ev") })

	// The customer was acked and asked for a snapshot (rate-limited).
	waitFor(t, "acks", func() bool { return strings.Contains(cust.kinds(t), "need") })
	var needs []string
	var lastAck Ack
	for _, f := range cust.decoded(t) {
		switch f.Kind {
		case KindNeedSnapshot:
			var n NeedSnapshot
			_ = f.DecodeHeader(&n)
			needs = append(needs, n.Reason)
		case KindAck:
			_ = f.DecodeHeader(&lastAck)
		}
	}
	// One for the viewer that attached before any snapshot, one for the
	// gap; the invalid frame and the later gap fall in the rate limit.
	if strings.Join(needs, " ") != ReasonViewer+" "+ReasonGap {
		t.Fatalf("snapshot requests %v, want [viewer gap]", needs)
	}
	if lastAck.Epoch != 10 || lastAck.Seq != 2 {
		t.Fatalf("last ack %+v", lastAck)
	}
	if n := counterValue(r.m.invalid.WithLabelValues("source")); n != 1 {
		t.Fatalf("invalid{source} = %v", n)
	}

	// A new page: a new epoch starts with its snapshot.
	if err := r.FromCustomer(ctx, "c", "cust", snapFrame(11, 1, metaEv, fullEv)); err != nil {
		t.Fatal(err)
	}
	if err := r.FromCustomer(ctx, "c", "cust", evFrame(11, 2, scrEv)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the new page at the early viewer", func() bool { return strings.HasSuffix(early.kinds(t), "snap ev") })

	// The customer stops: viewers are told.
	if err := r.FromCustomer(ctx, "c", "cust", mustEncode(Bye{T: KindBye}, nil)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bye", func() bool { return strings.HasSuffix(early.kinds(t), "bye") })
	if k := rec.kinds(); k != "started stopped" {
		t.Fatalf("recorded %q", k)
	}
}

func TestRelayChunkedSnapshot(t *testing.T) {
	leakcheck.Check(t)
	r, _ := newTestRelay(t, DefaultConfig())
	// A page with many nodes: its snapshot is chunked both ways.
	var kids []string
	for i := 0; i < 3000; i++ {
		kids = append(kids, fmt.Sprintf(`{"type":2,"id":%d,"tagName":"p","attributes":{"class":"c%d"},"childNodes":[{"type":3,"id":%d,"textContent":"row %d %x"}]}`, 10+2*i, i, 11+2*i, i, i*7919))
	}
	full := `{"type":2,"timestamp":1,"data":{"node":{"type":0,"id":1,"childNodes":[{"type":2,"id":3,"tagName":"body","attributes":{},"childNodes":[` + strings.Join(kids, ",") + `]}]},"initialOffset":{"top":0,"left":0}}}`
	frame := snapFrame(1, 1, metaEv, full)
	parts := SplitFrame(frame, DataChannelMessageBytes, 1)
	if len(parts) < 2 {
		t.Fatalf("snapshot of %d bytes is not chunked", len(frame))
	}
	v := &sink{}
	defer r.AddViewer("c", "adv", v)()
	for _, p := range parts {
		if err := r.FromCustomer(ctx, "c", "cust", p); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the snapshot", func() bool { return strings.Contains(v.kinds(t), "snap") })
	v.mu.Lock()
	for _, b := range v.frames {
		if len(b) > DataChannelMessageBytes {
			t.Errorf("relay sent %d bytes in one message", len(b))
		}
	}
	v.mu.Unlock()
}

func TestRelaySlowViewerSkipsAhead(t *testing.T) {
	leakcheck.Check(t)
	cfg := DefaultConfig()
	cfg.ViewerQueueFrames = 16
	r, _ := newTestRelay(t, cfg)
	fast, slow := &sink{}, &sink{}
	slow.blocked.Store(true)
	defer r.AddViewer("c", "fast", fast)()
	defer r.AddViewer("c", "slow", slow)()
	if err := r.FromCustomer(ctx, "c", "cust", snapFrame(1, 1, metaEv, fullEv)); err != nil {
		t.Fatal(err)
	}
	const n = 200
	for i := 0; i < n; i++ {
		if err := r.FromCustomer(ctx, "c", "cust", evFrame(1, uint64(2+i), inputEv)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the fast viewer", func() bool { return strings.Count(fast.kinds(t), "ev") == n })
	if resets := counterValue(r.m.viewerResets); resets < 3 {
		t.Fatalf("viewer resets %v: the slow viewer was not reset", resets)
	}
	slow.blocked.Store(false)
	// The slow viewer gets a snapshot and then a gapless run of events.
	lastSeq := func() uint64 {
		fs := slow.decoded(t)
		if len(fs) == 0 || fs[len(fs)-1].Kind != KindEvents {
			return 0
		}
		var h Events
		_ = fs[len(fs)-1].DecodeHeader(&h)
		return h.Seq
	}
	waitFor(t, "the slow viewer to catch up", func() bool { return lastSeq() == n+1 })
	var seq uint64
	for _, f := range slow.decoded(t) {
		switch f.Kind {
		case KindSnapshot:
			var h Snapshot
			_ = f.DecodeHeader(&h)
			seq = h.Seq
		case KindEvents:
			var h Events
			_ = f.DecodeHeader(&h)
			if h.Seq != seq+1 {
				t.Fatalf("slow viewer: event %d after %d", h.Seq, seq)
			}
			seq = h.Seq
		}
	}
	if seq != n+1 {
		t.Fatalf("slow viewer ended at %d, want %d", seq, n+1)
	}
}

func TestRelayLogLimitAsksForSnapshot(t *testing.T) {
	leakcheck.Check(t)
	cfg := DefaultConfig()
	cfg.MaxLogFrames = 10
	r, _ := newTestRelay(t, cfg)
	cust := &sink{}
	defer r.SetCustomerSink("c", "cust", cust)()
	_ = r.FromCustomer(ctx, "c", "cust", snapFrame(1, 1, metaEv, fullEv))
	for i := 0; i < 25; i++ {
		if err := r.FromCustomer(ctx, "c", "cust", evFrame(1, uint64(2+i), inputEv)); err != nil {
			t.Fatal(err)
		}
	}
	if n := counterValue(r.m.snapRequests.WithLabelValues(ReasonLog)); n != 1 {
		t.Fatalf("log snapshot requests %v, want 1 (rate-limited)", n)
	}
	// Past twice the bound the log is dropped: a late viewer waits for the
	// next snapshot instead of getting a partial state.
	late := &sink{}
	defer r.AddViewer("c", "late", late)()
	time.Sleep(20 * time.Millisecond)
	if k := late.kinds(t); strings.Contains(k, "ev") {
		t.Fatalf("late viewer got events without their base: %q", k)
	}
	_ = r.FromCustomer(ctx, "c", "cust", snapFrame(1, 27, metaEv, fullEv))
	waitFor(t, "the fresh snapshot", func() bool { return strings.Contains(late.kinds(t), "snap") })
}

func TestRelayViewerMessages(t *testing.T) {
	leakcheck.Check(t)
	r, _ := newTestRelay(t, DefaultConfig())
	cust := &sink{}
	defer r.SetCustomerSink("c", "cust", cust)()
	_ = r.FromCustomer(ctx, "c", "cust", snapFrame(1, 1, metaEv, fullEv))
	v := &sink{}
	defer r.AddViewer("c", "adv1", v)()
	for _, tc := range []struct {
		name    string
		frame   []byte
		wantErr error
	}{
		{"pointer", mustEncode(Pointer{T: KindPointer, Participant: "someone-else", X: 10, Y: 20}, nil), nil},
		{"highlight", mustEncode(Highlight{T: KindHighlight, X: 1, Y: 2, W: 3, H: 4}, nil), nil},
		{"negative highlight", mustEncode(Highlight{T: KindHighlight, W: -3, H: 4}, nil), ErrBadFrame},
		{"events from a viewer", evFrame(1, 2, inputEv), ErrNotAllowed},
		{"snapshot from a viewer", snapFrame(2, 1, metaEv, fullEv), ErrNotAllowed},
		{"grant from a viewer", mustEncode(Control{T: KindControl, Op: OpGrant, Participant: "adv1"}, nil), ErrNotAllowed},
		{"action without control", mustEncode(Action{T: KindAction, ID: 1, Op: ActClick, Node: 4}, nil), ErrNotAllowed},
		{"unknown action", mustEncode(Action{T: KindAction, ID: 2, Op: "eval", Node: 4}, nil), ErrBadFrame},
		{"huge message", make([]byte, DataChannelMessageBytes+1), ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := r.FromViewer(ctx, "c", "adv1", tc.frame)
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
		})
	}
	if err := r.FromViewer(ctx, "c", "stranger", mustEncode(Pointer{T: KindPointer}, nil)); !errors.Is(err, ErrNotAttached) {
		t.Fatalf("unattached viewer: %v", err)
	}
	waitFor(t, "pointer and highlight at the customer", func() bool {
		k := cust.kinds(t)
		return strings.Contains(k, "ptr") && strings.Contains(k, "hl")
	})
	for _, f := range cust.decoded(t) {
		switch f.Kind {
		case KindPointer:
			var p Pointer
			_ = f.DecodeHeader(&p)
			if p.Participant != "adv1" || p.X != 10 || p.Y != 20 {
				t.Fatalf("pointer at the customer: %+v", p)
			}
		case KindAction, KindEvents, KindSnapshot:
			t.Fatalf("a %s reached the customer", f.Kind)
		case KindControl:
			t.Fatal("a viewer's control frame reached the customer as is")
		}
	}
}

// TestControlStateMachine walks the transitions; each step names who sends
// what and the state and records that follow.
func TestControlStateMachine(t *testing.T) {
	leakcheck.Check(t)
	r, rec := newTestRelay(t, DefaultConfig())
	cust := &sink{}
	defer r.SetCustomerSink("c", "cust", cust)()
	_ = r.FromCustomer(ctx, "c", "cust", snapFrame(1, 1, metaEv, fullEv))
	a, b := &sink{}, &sink{}
	defer r.AddViewer("c", "a", a)()
	detachB := r.AddViewer("c", "b", b)
	act := mustEncode(Action{T: KindAction, ID: 7, Op: ActClick, Node: 4}, nil)
	type step struct {
		name, from string
		frame      []byte
		ok         bool
		state      string
		actionOK   bool // an action from "a" now reaches the customer
	}
	ctl := func(op, p string) []byte { return mustEncode(Control{T: KindControl, Op: op, Participant: p}, nil) }
	steps := []step{
		{"grant before request", "cust", ctl(OpGrant, "a"), false, StateNone, false},
		{"a requests", "a", ctl(OpRequest, ""), true, StateRequested, false},
		{"b requests too", "b", ctl(OpRequest, ""), false, StateRequested, false},
		{"grant to b", "cust", ctl(OpGrant, "b"), false, StateRequested, false},
		{"customer denies", "cust", ctl(OpDeny, "a"), true, StateNone, false},
		{"a asks again", "a", ctl(OpRequest, ""), true, StateRequested, false},
		{"customer grants", "cust", ctl(OpGrant, "a"), true, StateGranted, true},
		{"b cannot release", "b", ctl(OpRelease, ""), false, StateGranted, true},
		{"customer revokes", "cust", ctl(OpRevoke, ""), true, StateNone, false},
		{"a asks once more", "a", ctl(OpRequest, ""), true, StateRequested, false},
		{"granted again", "cust", ctl(OpGrant, "a"), true, StateGranted, true},
		{"a releases", "a", ctl(OpRelease, ""), true, StateNone, false},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			var err error
			if s.from == "cust" {
				err = r.FromCustomer(ctx, "c", "cust", s.frame)
			} else {
				err = r.FromViewer(ctx, "c", s.from, s.frame)
			}
			if (err == nil) != s.ok {
				t.Fatalf("err %v, want ok=%v", err, s.ok)
			}
			c, _ := r.conv("c", false)
			c.mu.Lock()
			state := c.control
			c.mu.Unlock()
			if state != s.state {
				t.Fatalf("state %s, want %s", state, s.state)
			}
			before := strings.Count(cust.kinds(t), "act")
			err = r.FromViewer(ctx, "c", "a", act)
			if (err == nil) != s.actionOK {
				t.Fatalf("action: err %v, want allowed=%v", err, s.actionOK)
			}
			if s.actionOK {
				waitFor(t, "the action at the customer", func() bool { return strings.Count(cust.kinds(t), "act") == before+1 })
			}
		})
	}
	// The holder leaving ends control.
	_ = r.FromViewer(ctx, "c", "b", ctl(OpRequest, ""))
	_ = r.FromCustomer(ctx, "c", "cust", ctl(OpGrant, "b"))
	detachB()
	want := "started control_requested control_denied control_requested control_granted control_revoked " +
		"control_requested control_granted control_released control_requested control_granted control_released"
	if k := rec.kinds(); k != want {
		t.Fatalf("recorded\n%s\nwant\n%s", k, want)
	}
	if !strings.HasSuffix(rec.kinds(), "control_requested control_granted control_released") {
		t.Fatalf("holder leaving: %s", rec.kinds())
	}
}

func TestRelayEnd(t *testing.T) {
	leakcheck.Check(t)
	r, rec := newTestRelay(t, DefaultConfig())
	v := &sink{}
	detach := r.AddViewer("c", "adv", v)
	_ = r.FromCustomer(ctx, "c", "cust", snapFrame(1, 1, metaEv, fullEv))
	r.End("c")
	if !strings.HasSuffix(v.kinds(t), "bye") {
		t.Fatalf("viewer got %q, want a bye last", v.kinds(t))
	}
	detach() // after End: harmless
	if k := rec.kinds(); k != "started stopped" {
		t.Fatalf("recorded %q", k)
	}
	if err := r.FromViewer(ctx, "c", "adv", mustEncode(Pointer{T: KindPointer}, nil)); !errors.Is(err, ErrNotAttached) {
		t.Fatalf("after End: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"defaults", func(*Config) {}, ""},
		{"tiny event limit", func(c *Config) { c.MaxEventBytes = 10 }, "max_event_bytes"},
		{"chunks over WebSocket limit", func(c *Config) { c.ChunkBytes = 1 << 20 }, "chunk_bytes"},
		{"asset timeout", func(c *Config) { c.Assets.Timeout = 0 }, "assets.timeout"},
		{"asset types", func(c *Config) { c.Assets.ContentTypes = []string{"Text/CSS"} }, "content_types"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.change(&c)
			err := c.Validate()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
}

// FuzzRelayFromCustomer feeds arbitrary messages to the relay: it never
// panics, every refused message is an error, and invalid payloads are
// counted.
func FuzzRelayFromCustomer(f *testing.F) {
	for _, tc := range payloadCases {
		f.Add(snapFrame(1, 1, tc.json[1:len(tc.json)-1]))
		f.Add(evFrame(1, 2, tc.json[1:len(tc.json)-1]))
	}
	f.Add([]byte("L\x01\x00\x02{}"))
	f.Add(mustEncode(Chunk{T: KindChunk, ID: 1, Index: 0, Count: 2}, []byte("L\x01")))
	f.Add(mustEncode(Control{T: KindControl, Op: OpRevoke}, nil))
	cfg := DefaultConfig()
	r := New(cfg, Deps{Log: zerolog.Nop()})
	defer r.Close()
	base := snapFrame(1, 1, metaEv, fullEv)
	f.Fuzz(func(t *testing.T, msg []byte) {
		_ = r.FromCustomer(ctx, "fz", "cust", base)
		f, ferr := DecodeFrame(msg)
		var reason string
		if ferr == nil && (f.Kind == KindEvents || f.Kind == KindSnapshot) {
			// The reason is known only afterwards: count every label.
			reason = "*"
		}
		before := map[string]float64{}
		for _, l := range []string{"json", "shape", "type", "source", "size", "deflate", "nodes", "depth"} {
			before[l] = counterValue(r.m.invalid.WithLabelValues(l))
		}
		err := r.FromCustomer(ctx, "fz", "cust", msg)
		var ie *InvalidError
		if errors.As(err, &ie) {
			if reason == "" {
				t.Fatalf("InvalidError for a %s frame", f.Kind)
			}
			if counterValue(r.m.invalid.WithLabelValues(ie.Reason)) != before[ie.Reason]+1 {
				t.Fatalf("invalid event (%s) not counted", ie.Reason)
			}
		}
		r.End("fz")
	})
}
