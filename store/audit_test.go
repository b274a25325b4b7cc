package store

import (
	"testing"
	"time"
)

func chain(n int) []AuditEvent {
	prev := GenesisHash
	var out []AuditEvent
	for i := 1; i <= n; i++ {
		e := AuditEvent{TenantID: "t", Seq: int64(i), At: time.UnixMilli(int64(i) * 1000), Actor: "a", Action: "x",
			Detail: map[string]string{"k": "v"}, PrevHash: prev}
		e.Hash = ChainHash(prev, e)
		prev = e.Hash
		out = append(out, e)
	}
	return out
}

func TestVerifyChain(t *testing.T) {
	tests := []struct {
		name   string
		tamper func([]AuditEvent) []AuditEvent
		want   int64
	}{
		{"intact", func(e []AuditEvent) []AuditEvent { return e }, 0},
		{"field changed", func(e []AuditEvent) []AuditEvent { e[2].Actor = "mallory"; return e }, 3},
		{"detail changed", func(e []AuditEvent) []AuditEvent { e[1].Detail = map[string]string{"k": "w"}; return e }, 2},
		{"row deleted", func(e []AuditEvent) []AuditEvent { return append(e[:1], e[2:]...) }, 2},
		{"rows swapped", func(e []AuditEvent) []AuditEvent { e[1], e[2] = e[2], e[1]; return e }, 2},
		{"hash recomputed without relinking", func(e []AuditEvent) []AuditEvent {
			e[1].Action = "y"
			e[1].Hash = ChainHash(e[1].PrevHash, e[1])
			return e
		}, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := VerifyChain(tc.tamper(chain(5))); got != tc.want {
				t.Errorf("VerifyChain = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	prev := ""
	for i := 0; i < 1000; i++ {
		id := NewID()
		if len(id) != 36 || id[14] != '7' || seen[id] {
			t.Fatalf("bad or repeated id %q", id)
		}
		if id[:8] < prev[:min(8, len(prev))] {
			t.Fatalf("ids not time-ordered: %s after %s", id, prev)
		}
		seen[id], prev = true, id
	}
}
