package cobrowse

import (
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const tsProtocol = "../web-sdk/src/cobrowse/protocol.ts"

// tsType is the TypeScript spelling of a Go field type in protocol.ts.
func tsType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int64, reflect.Uint32, reflect.Uint64, reflect.Float64:
		return "number"
	case reflect.Slice:
		return tsType(t.Elem()) + "[]"
	}
	return "?" + t.String()
}

// TestTypeScriptAgrees checks that every header in protocol.ts has the
// fields of its Go type (names, optionality, types), that the kinds and
// the enumerations match, and that the numeric limits agree.
func TestTypeScriptAgrees(t *testing.T) {
	src, err := os.ReadFile(tsProtocol)
	if err != nil {
		t.Fatal(err)
	}
	ts := string(src)
	// String unions defined in protocol.ts stand for Go strings.
	unions := map[string]bool{"ControlOp": true, "ControlStateName": true, "ActionOp": true}

	block := regexp.MustCompile(`(?s)/\*\* go: (\w+) \*/\s*export interface \w+ \{(.*?)\n\}`)
	field := regexp.MustCompile(`^\s*(\w+)(\?)?: ([^;]+);`)
	seen := map[string]bool{}
	for _, m := range block.FindAllStringSubmatch(ts, -1) {
		goName := m[1]
		var typ reflect.Type
		var kind Kind
		for k, mk := range headerTypes {
			if rt := reflect.TypeOf(mk()).Elem(); rt.Name() == goName {
				typ, kind = rt, k
			}
		}
		if typ == nil {
			t.Errorf("protocol.ts: %s has no Go header type", goName)
			continue
		}
		seen[goName] = true
		tsFields := map[string]string{}
		for _, line := range strings.Split(m[2], "\n") {
			if f := field.FindStringSubmatch(line); f != nil {
				tsFields[f[1]] = f[2] + f[3]
			}
		}
		goFields := map[string]string{}
		for i := 0; i < typ.NumField(); i++ {
			sf := typ.Field(i)
			tag := strings.Split(sf.Tag.Get("json"), ",")
			opt := ""
			if len(tag) > 1 && tag[1] == "omitempty" {
				opt = "?"
			}
			ty := tsType(sf.Type)
			if sf.Name == "T" {
				ty = strconv.Quote(string(kind))
			}
			goFields[tag[0]] = opt + ty
		}
		for name, want := range goFields {
			got, ok := tsFields[name]
			if !ok {
				t.Errorf("%s: field %q missing in protocol.ts", goName, name)
				continue
			}
			bare := strings.TrimPrefix(got, "?")
			if unions[bare] {
				got = strings.TrimSuffix(got, bare) + "string"
			}
			if got != want {
				t.Errorf("%s.%s: protocol.ts says %q, Go says %q", goName, name, got, want)
			}
		}
		for name := range tsFields {
			if _, ok := goFields[name]; !ok {
				t.Errorf("%s: protocol.ts has %q, Go does not", goName, name)
			}
		}
	}
	for _, mk := range headerTypes {
		if n := reflect.TypeOf(mk()).Elem().Name(); !seen[n] {
			t.Errorf("Go header %s is not in protocol.ts (a /** go: %s */ interface)", n, n)
		}
	}

	// Enumerations: every value on one side is on the other.
	enum := func(name string) []string {
		m := regexp.MustCompile(`(?s)export const ` + name + ` = \{(.*?)\} as const;`).FindStringSubmatch(ts)
		if m == nil {
			t.Fatalf("protocol.ts: no const %s", name)
		}
		var out []string
		for _, v := range regexp.MustCompile(`:\s*"([^"]*)"`).FindAllStringSubmatch(m[1], -1) {
			out = append(out, v[1])
		}
		sort.Strings(out)
		return out
	}
	var kinds []string
	for k := range headerTypes {
		kinds = append(kinds, string(k))
	}
	sort.Strings(kinds)
	for _, c := range []struct {
		name string
		goV  []string
	}{
		{"Kind", kinds},
		{"ControlOp", sorted(OpRequest, OpRelease, OpGrant, OpDeny, OpRevoke)},
		{"ControlStateName", sorted(StateNone, StateRequested, StateGranted)},
		{"ActionOp", sorted(ActClick, ActType, ActKey, ActScroll)},
		{"ErrCode", sorted(ErrCodeNotGranted, ErrCodeMasked, ErrCodeNotFound, ErrCodeUnsupported)},
		{"Reason", sorted(ReasonGap, ReasonInvalid, ReasonLog, ReasonViewer, ReasonEpoch)},
	} {
		if got := enum(c.name); !reflect.DeepEqual(got, c.goV) {
			t.Errorf("%s: protocol.ts %v, Go %v", c.name, got, c.goV)
		}
	}
	for name, want := range map[string]int{
		"PROTOCOL_VERSION": ProtocolVersion, "MAX_HEADER_BYTES": MaxHeaderBytes,
		"DATA_CHANNEL_MESSAGE_BYTES": DataChannelMessageBytes, "WEBSOCKET_MESSAGE_BYTES": WebSocketMessageBytes,
	} {
		m := regexp.MustCompile(`export const ` + name + ` = (\d+);`).FindStringSubmatch(ts)
		if m == nil || m[1] != strconv.Itoa(want) {
			t.Errorf("%s: protocol.ts %v, Go %d", name, m, want)
		}
	}
}

func sorted(v ...string) []string {
	sort.Strings(v)
	return v
}

func TestFrameRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name    string
		header  any
		payload []byte
	}{
		{"snapshot", Snapshot{T: KindSnapshot, Epoch: 1795800000000, Seq: 1, Deflate: true}, []byte("xyz")},
		{"pointer", Pointer{T: KindPointer, Participant: "adv1", X: 1.5, Y: 2}, nil},
		{"viewers", Viewers{T: KindViewers, Participants: []string{"a", "b"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := EncodeFrame(tc.header, tc.payload)
			if err != nil {
				t.Fatal(err)
			}
			f, err := DecodeFrame(b)
			if err != nil {
				t.Fatal(err)
			}
			got := headerTypes[f.Kind]()
			if err := f.DecodeHeader(got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(reflect.ValueOf(got).Elem().Interface(), tc.header) || string(f.Payload) != string(tc.payload) {
				t.Fatalf("round trip: %+v %q", got, f.Payload)
			}
		})
	}
}

func TestDecodeFrameRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"short", []byte{'L', 1, 0}},
		{"magic", []byte{'X', 1, 0, 2, '{', '}'}},
		{"version", []byte{'L', 2, 0, 2, '{', '}'}},
		{"header past end", []byte{'L', 1, 0, 9, '{', '}'}},
		{"header not json", []byte{'L', 1, 0, 2, 'x', 'x'}},
		{"unknown kind", append([]byte{'L', 1, 0, 10}, `{"t":"zz"}`...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := DecodeFrame(tc.in); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestSplitAndReassemble(t *testing.T) {
	big := make([]byte, 100_000)
	for i := range big {
		big[i] = byte(i * 7)
	}
	frame := mustEncode(Events{T: KindEvents, Epoch: 1, Seq: 2}, big)
	parts := SplitFrame(frame, DataChannelMessageBytes, 9)
	if len(parts) < 7 {
		t.Fatalf("%d parts", len(parts))
	}
	r := reassembler{max: 1 << 20}
	var whole []byte
	for i, p := range parts {
		if len(p) > DataChannelMessageBytes {
			t.Fatalf("part %d has %d bytes", i, len(p))
		}
		f, err := DecodeFrame(p)
		if err != nil || f.Kind != KindChunk {
			t.Fatalf("part %d: %v %s", i, err, f.Kind)
		}
		var c Chunk
		_ = f.DecodeHeader(&c)
		out, err := r.add(c, f.Payload)
		if err != nil {
			t.Fatal(err)
		}
		if out != nil {
			whole = out
		}
	}
	if string(whole) != string(frame) {
		t.Fatal("reassembled frame differs")
	}
	t.Run("out of order", func(t *testing.T) {
		r := reassembler{max: 1 << 20}
		f0, _ := DecodeFrame(parts[0])
		f2, _ := DecodeFrame(parts[2])
		var c0, c2 Chunk
		_ = f0.DecodeHeader(&c0)
		_ = f2.DecodeHeader(&c2)
		if _, err := r.add(c0, f0.Payload); err != nil {
			t.Fatal(err)
		}
		if _, err := r.add(c2, f2.Payload); err == nil {
			t.Fatal("accepted a skipped chunk")
		}
	})
	t.Run("over the limit", func(t *testing.T) {
		r := reassembler{max: 20_000}
		var err error
		for _, p := range parts {
			f, _ := DecodeFrame(p)
			var c Chunk
			_ = f.DecodeHeader(&c)
			if _, err = r.add(c, f.Payload); err != nil {
				break
			}
		}
		if err == nil {
			t.Fatal("accepted a frame over the limit")
		}
	})
}
