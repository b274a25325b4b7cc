package cobrowse

import (
	"bytes"
	"compress/flate"
	"errors"
	"strings"
	"sync"
	"testing"
)

const (
	metaEv  = `{"type":4,"timestamp":1,"data":{"href":"https://bank.example/","width":1280,"height":800}}`
	fullEv  = `{"type":2,"timestamp":1,"data":{"node":{"type":0,"id":1,"childNodes":[{"type":1,"id":2,"name":"html","publicId":"","systemId":""},{"type":2,"id":3,"tagName":"html","attributes":{"lang":"de"},"childNodes":[{"type":2,"id":4,"tagName":"body","attributes":{"class":"x","data-n":3,"hidden":true},"childNodes":[{"type":3,"id":5,"textContent":"hi"},{"type":2,"id":6,"tagName":"input","attributes":{"value":"••••••••"},"childNodes":[]}]}]}]},"initialOffset":{"top":0,"left":0}}}`
	inputEv = `{"type":3,"timestamp":2,"data":{"source":5,"id":6,"text":"a","isChecked":false}}`
	mutEv   = `{"type":3,"timestamp":3,"data":{"source":0,"texts":[{"id":5,"value":"ho"}],"attributes":[{"id":4,"attributes":{"class":"y","style":{"color":"red","width":false}}}],"removes":[{"parentId":4,"id":6}],"adds":[{"parentId":4,"nextId":null,"node":{"type":2,"id":7,"tagName":"p","attributes":{},"childNodes":[]}}]}}`
	moveEv  = `{"type":3,"timestamp":4,"data":{"source":1,"positions":[{"x":1,"y":2,"id":4,"timeOffset":-10}]}}`
	scrEv   = `{"type":3,"timestamp":5,"data":{"source":3,"id":1,"x":0,"y":120}}`
	ruleEv  = `{"type":3,"timestamp":6,"data":{"source":8,"id":9,"adds":[{"rule":"p{color:red}","index":0}]}}`
	clickEv = `{"type":3,"timestamp":7,"data":{"source":2,"type":2,"id":4,"x":3,"y":4}}`
	sizeEv  = `{"type":3,"timestamp":8,"data":{"source":4,"width":800,"height":600}}`
)

var testLimits = limits{maxNodes: 1000, maxDepth: 50}

func deflate(b []byte) []byte {
	var out bytes.Buffer
	w, _ := flate.NewWriter(&out, flate.BestSpeed)
	_, _ = w.Write(b)
	_ = w.Close()
	return out.Bytes()
}

func deep(n int) string {
	return `{"type":2,"timestamp":1,"data":{"node":{"type":0,"id":1,"childNodes":[` + strings.Repeat(`{"type":2,"id":2,"tagName":"div","attributes":{},"childNodes":[`, n) + strings.Repeat(`]}`, n) + `]},"initialOffset":{"top":0,"left":0}}}`
}

type payloadCase struct {
	name     string
	snapshot bool
	json     string
	reason   string // "" = valid
}

var payloadCases = []payloadCase{
	{"snapshot", true, "[" + metaEv + "," + fullEv + "]", ""},
	{"snapshot with sheets", true, "[" + metaEv + "," + fullEv + "," + ruleEv + "]", ""},
	{"events", false, "[" + inputEv + "," + mutEv + "," + moveEv + "," + scrEv + "," + ruleEv + "," + clickEv + "," + sizeEv + "]", ""},
	{"not json", false, `[{"type":3,`, "json"},
	{"not an array", false, `{"type":3}`, "shape"},
	{"empty", false, `[]`, "shape"},
	{"snapshot without meta", true, "[" + fullEv + "]", "type"},
	{"snapshot without full snapshot", true, "[" + metaEv + "]", "shape"},
	{"full snapshot in events", false, "[" + fullEv + "]", "type"},
	{"unknown event type", false, `[{"type":9,"timestamp":1,"data":{}}]`, "type"},
	{"missing timestamp", false, `[{"type":3,"data":{"source":3,"id":1,"x":0,"y":0}}]`, "shape"},
	{"unknown source", false, `[{"type":3,"timestamp":1,"data":{"source":99}}]`, "source"},
	{"canvas", false, `[{"type":3,"timestamp":1,"data":{"source":9,"id":1}}]`, "source"},
	{"input without text", false, `[{"type":3,"timestamp":1,"data":{"source":5,"id":1,"isChecked":false}}]`, "shape"},
	{"mutation without adds", false, `[{"type":3,"timestamp":1,"data":{"source":0,"texts":[],"attributes":[],"removes":[]}}]`, "shape"},
	{"object attribute", false, `[{"type":3,"timestamp":1,"data":{"source":0,"texts":[],"attributes":[{"id":2,"attributes":{"href":{"a":1}}}],"removes":[],"adds":[]}}]`, "shape"},
	{"bad tag", false, `[{"type":3,"timestamp":1,"data":{"source":0,"texts":[],"attributes":[],"removes":[],"adds":[{"parentId":1,"node":{"type":2,"id":3,"tagName":"<script>","attributes":{},"childNodes":[]}}]}}]`, "shape"},
	{"bad attribute name", false, `[{"type":3,"timestamp":1,"data":{"source":0,"texts":[],"attributes":[{"id":2,"attributes":{"a b":"x"}}],"removes":[],"adds":[]}}]`, "shape"},
	{"node id zero", false, `[{"type":3,"timestamp":1,"data":{"source":3,"id":1,"x":0,"y":0}},{"type":3,"timestamp":1,"data":{"source":0,"texts":[{"id":0,"value":"x"}],"attributes":[],"removes":[],"adds":[]}}]`, "shape"},
	{"too deep", true, "[" + metaEv + "," + deep(60) + "]", "depth"},
	{"positions without x", false, `[{"type":3,"timestamp":1,"data":{"source":1,"positions":[{"y":2,"id":1,"timeOffset":0}]}}]`, "shape"},
}

func TestValidatePayload(t *testing.T) {
	for _, tc := range payloadCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := validatePayload([]byte(tc.json), tc.snapshot, testLimits)
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var ie *InvalidError
			if !errors.As(err, &ie) || !errors.Is(err, ErrInvalidEvent) {
				t.Fatalf("err %v, want an InvalidError", err)
			}
			if ie.Reason != tc.reason {
				t.Fatalf("reason %q (%v), want %q", ie.Reason, err, tc.reason)
			}
		})
	}
	t.Run("too many nodes", func(t *testing.T) {
		_, err := validatePayload([]byte("["+metaEv+","+fullEv+"]"), true, limits{maxNodes: 3, maxDepth: 50})
		var ie *InvalidError
		if !errors.As(err, &ie) || ie.Reason != "nodes" {
			t.Fatalf("err %v", err)
		}
	})
}

func TestInflate(t *testing.T) {
	raw := []byte(strings.Repeat("a", 10_000))
	for _, tc := range []struct {
		name     string
		in       []byte
		deflated bool
		limit    int
		ok       bool
	}{
		{"plain", raw, false, 20_000, true},
		{"plain over", raw, false, 9_999, false},
		{"deflated", deflate(raw), true, 20_000, true},
		{"bomb", deflate(bytes.Repeat([]byte{0}, 5<<20)), true, 1 << 20, false},
		{"corrupt", []byte{0xff, 0xfe, 0x00}, true, 1000, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := inflate(tc.in, tc.deflated, tc.limit, &sync.Pool{})
			if tc.ok != (err == nil) {
				t.Fatalf("err %v", err)
			}
			if tc.ok && !bytes.Equal(out, raw) {
				t.Fatal("inflated bytes differ")
			}
		})
	}
}

// FuzzValidatePayload: whatever the bytes, the validator answers with nil
// or an InvalidError, never a panic.
func FuzzValidatePayload(f *testing.F) {
	for _, tc := range payloadCases {
		f.Add([]byte(tc.json), tc.snapshot)
	}
	f.Fuzz(func(t *testing.T, b []byte, snapshot bool) {
		_, err := validatePayload(b, snapshot, testLimits)
		if err != nil && !errors.Is(err, ErrInvalidEvent) {
			t.Fatalf("error is not an InvalidError: %v", err)
		}
	})
}
