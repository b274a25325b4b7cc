package wire

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"
)

// TypeScript returns web-sdk/src/protocol.gen.ts: one interface per message
// and per shared struct, generated from the Go types, so that the browser
// code and the server cannot disagree. A test compares it with the file in
// the repository.
func TypeScript() string {
	var b strings.Builder
	b.WriteString("// Code generated from signaling/wire by `go test ./signaling/wire -update`. DO NOT EDIT.\n")
	b.WriteString("// The Go types in signaling/wire are the source of truth; docs/protocol.md explains them.\n\n")
	fmt.Fprintf(&b, "export const PROTOCOL_VERSION = %d;\nexport const MAX_MESSAGE_BYTES = %d;\n\n", ProtocolVersion, MaxMessageBytes)
	seen := map[reflect.Type]bool{}
	var shared []reflect.Type
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || t == reflect.TypeOf(time.Time{}) || t == reflect.TypeOf(Header{}) || seen[t] {
			return
		}
		seen[t] = true
		for i := 0; i < t.NumField(); i++ {
			walk(t.Field(i).Type)
		}
		shared = append(shared, t)
	}
	names := TypeNames()
	for _, n := range names {
		t := registry[n].typ
		seen[t] = true
		for i := 0; i < t.NumField(); i++ {
			walk(t.Field(i).Type)
		}
	}
	sort.Slice(shared, func(i, j int) bool { return shared[i].Name() < shared[j].Name() })
	for _, t := range shared {
		fmt.Fprintf(&b, "export interface %s {\n", t.Name())
		writeFields(&b, t)
		b.WriteString("}\n\n")
	}
	var fromClient, fromServer []string
	for _, n := range names {
		e := registry[n]
		fmt.Fprintf(&b, "export interface %sMsg {\n  type: %q;\n  id?: string;\n  seq?: number;\n", tsName(n), n)
		writeFields(&b, e.typ)
		b.WriteString("}\n\n")
		if e.dir&toServer != 0 {
			fromClient = append(fromClient, tsName(n)+"Msg")
		}
		if e.dir&toClient != 0 {
			fromServer = append(fromServer, tsName(n)+"Msg")
		}
	}
	fmt.Fprintf(&b, "/** Messages the client sends. */\nexport type ClientMessage =\n  | %s;\n\n", strings.Join(fromClient, "\n  | "))
	fmt.Fprintf(&b, "/** Messages the server sends. */\nexport type ServerMessage =\n  | %s;\n", strings.Join(fromServer, "\n  | "))
	return b.String()
}

func writeFields(b *strings.Builder, t reflect.Type) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous && f.Type == reflect.TypeOf(Header{}) {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		opt := ""
		if strings.Contains(opts, "omitempty") || f.Type.Kind() == reflect.Pointer {
			opt = "?"
		}
		fmt.Fprintf(b, "  %s%s: %s;\n", name, opt, tsType(f.Type))
	}
}

func tsType(t reflect.Type) string {
	if t == reflect.TypeOf(time.Time{}) {
		return "string /* RFC 3339 */"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return tsType(t.Elem())
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "string /* base64 */"
		}
		return tsType(t.Elem()) + "[]"
	case reflect.Map:
		return "Record<string, " + tsType(t.Elem()) + ">"
	case reflect.Struct:
		return t.Name()
	case reflect.Interface:
		return "unknown"
	}
	return "unknown"
}

// tsName turns "participant_joined" into "ParticipantJoined".
func tsName(s string) string {
	parts := strings.Split(s, "_")
	for i, p := range parts {
		if p != "" {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, "")
}
