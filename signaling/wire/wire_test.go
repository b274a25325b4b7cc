package wire

import (
	"errors"
	"flag"
	"os"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite web-sdk/src/protocol.gen.ts")

const tsFile = "../../web-sdk/src/protocol.gen.ts"

// TestTypeScriptAgrees checks that the browser's protocol types are exactly
// the ones generated from these Go types.
func TestTypeScriptAgrees(t *testing.T) {
	want := TypeScript()
	if *update {
		if err := os.WriteFile(tsFile, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(tsFile)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("%s is out of date with signaling/wire: run go test ./signaling/wire -update", tsFile)
	}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name, in string
		code     string // "" = ok
		want     string // Go type name when ok
	}{
		{"join", `{"type":"join","token":"abc"}`, "", "*wire.Join"},
		{"join with resume", `{"type":"join","token":"abc","resume":{"session_id":"s","resume_token":"r","last_seq":7}}`, "", "*wire.Join"},
		{"chat", `{"type":"chat","id":"c1","text":"Guten Tag"}`, "", "*wire.Chat"},
		{"not json", `hello`, CodeBadMessage, ""},
		{"array", `[1]`, CodeBadMessage, ""},
		{"type not string", `{"type":5}`, CodeBadMessage, ""},
		{"unknown type", `{"type":"sudo"}`, CodeUnknownType, ""},
		{"server-only type from client", `{"type":"joined","session_id":"x"}`, CodeUnknownType, ""},
		{"unknown field", `{"type":"chat","text":"x","html":"<b>"}`, CodeBadMessage, ""},
		{"wrong field type", `{"type":"chat","text":5}`, CodeBadMessage, ""},
		{"empty chat", `{"type":"chat","text":""}`, CodeInvalid, ""},
		{"huge chat", `{"type":"chat","text":"` + strings.Repeat("x", 4001) + `"}`, CodeInvalid, ""},
		{"join without token", `{"type":"join"}`, CodeBadToken, ""},
		{"admit without id", `{"type":"admit"}`, CodeInvalid, ""},
		{"long id", `{"type":"ping","id":"` + strings.Repeat("i", 65) + `"}`, CodeInvalid, ""},
		{"two objects", `{"type":"ping"}{"type":"ping"}`, CodeBadMessage, ""},
		{"deep nesting", `{"type":"ping","x":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, CodeBadMessage, ""},
		{"invalid utf8", "{\"type\":\"chat\",\"text\":\"\xff\"}", CodeBadMessage, ""},
		{"media offer", `{"type":"media","kind":"offer","sdp":"v=0"}`, "", "*wire.Media"},
		{"media candidate", `{"type":"media","kind":"candidate","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 5000 typ host","sdpMid":"0","sdpMLineIndex":0}}`, "", "*wire.Media"},
		{"media unknown kind", `{"type":"media","kind":"tracks"}`, CodeInvalid, ""},
		{"media tracks from client", `{"type":"media","kind":"offer","tracks":[{"id":"x","participant_id":"p","source":"camera","kind":"video","stream_id":"s"}]}`, CodeInvalid, ""},
		{"media huge sdp", `{"type":"media","kind":"offer","sdp":"` + strings.Repeat("a", MaxSDPBytes+1) + `"}`, CodeInvalid, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Decode([]byte(tc.in))
			if tc.code == "" {
				if err != nil {
					t.Fatalf("Decode = %v", err)
				}
				if got := typeName(m); got != tc.want {
					t.Fatalf("decoded %s, want %s", got, tc.want)
				}
				return
			}
			var pe *ProtocolError
			if !errors.As(err, &pe) || pe.Code != tc.code {
				t.Fatalf("Decode = %v, want code %s", err, tc.code)
			}
		})
	}
	_, err := Decode([]byte(`{"type":"sudo","id":"abc"}`))
	var pe *ProtocolError
	if !errors.As(err, &pe) || pe.Ref != "abc" {
		t.Fatalf("error does not echo the id: %v", err)
	}
}

func typeName(m Message) string { return reflect.TypeOf(m).String() }

func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"type":"join","token":"t"}`, `{"type":"chat","text":"hi"}`, `{"type":"admit","participant_id":"p"}`,
		`{"type":"x"}`, `{`, `[]`, `{"type":"join","token":"t","resume":{"last_seq":-1}}`, `{"type":"typing","active":"yes"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(data)
		if err != nil {
			var pe *ProtocolError
			if !errors.As(err, &pe) || pe.Code == "" {
				t.Fatalf("Decode(%q) = %T %v, want a *ProtocolError", data, err, err)
			}
			return
		}
		if m.Head().Type == "" {
			t.Fatalf("decoded a message without a type from %q", data)
		}
	})
}
