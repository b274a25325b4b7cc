package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// AuditEvent is one row of a tenant's append-only, hash-chained audit log.
//
// Each row's Hash covers its own fields and the Hash of the row before it in
// the same tenant (PrevHash), so that changing, deleting or reordering any
// row breaks every link after it. The chain starts from GenesisHash.
type AuditEvent struct {
	TenantID string
	Seq      int64     // 1, 2, 3, ... per tenant; set by the store
	At       time.Time // set by the store when zero
	Actor    string    // who did it: "user:<id>", "cli", "system:bootstrap", ...
	Action   string    // what happened: "login.ok", "tenant.created", ...
	Target   string    // what it happened to, e.g. "user:<id>"; may be empty
	IP       string    // client address, when there is one
	Detail   map[string]string
	PrevHash string // set by the store
	Hash     string // set by the store
}

// GenesisHash is the PrevHash of the first event of every tenant.
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// AuditLog appends to and reads the audit log.
type AuditLog interface {
	// AppendAudit adds e at the end of its tenant's chain and returns it
	// with Seq, At, PrevHash and Hash filled in.
	AppendAudit(ctx context.Context, e AuditEvent) (AuditEvent, error)
	// AuditEvents returns a tenant's events with Seq > afterSeq in order,
	// at most limit of them.
	AuditEvents(ctx context.Context, tenantID string, afterSeq int64, limit int) ([]AuditEvent, error)
}

// ChainHash computes the hash of e given the hash of the previous event. The
// input is a canonical JSON encoding (fixed field order, sorted detail keys,
// times in UTC milliseconds), so that any implementation computes the same.
func ChainHash(prevHash string, e AuditEvent) string {
	canon := struct {
		Prev   string            `json:"prev"`
		Tenant string            `json:"tenant"`
		Seq    int64             `json:"seq"`
		At     int64             `json:"at"`
		Actor  string            `json:"actor"`
		Action string            `json:"action"`
		Target string            `json:"target"`
		IP     string            `json:"ip"`
		Detail map[string]string `json:"detail"` // encoding/json sorts map keys
	}{prevHash, e.TenantID, e.Seq, e.At.UnixMilli(), e.Actor, e.Action, e.Target, e.IP, e.Detail}
	b, _ := json.Marshal(canon) // cannot fail: only strings and integers
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// VerifyChain checks that events, which must be one tenant's events in Seq
// order starting at Seq 1, form an unbroken chain. It returns the Seq of the
// first event whose link is broken, or 0 when the chain holds.
func VerifyChain(events []AuditEvent) (firstBroken int64) {
	prev := GenesisHash
	for i, e := range events {
		if e.Seq != int64(i+1) || e.PrevHash != prev || ChainHash(prev, e) != e.Hash {
			return int64(i + 1)
		}
		prev = e.Hash
	}
	return 0
}
