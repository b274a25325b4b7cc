package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/lotse-io/lotse/store"
)

// AppendAudit adds e at the end of its tenant's hash chain.
func (d *DB) AppendAudit(ctx context.Context, e store.AuditEvent) (store.AuditEvent, error) {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return store.AuditEvent{}, fmt.Errorf("append audit: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	if e, err = appendAudit(ctx, tx, e); err != nil {
		return store.AuditEvent{}, err
	}
	return e, tx.Commit()
}

// appendAudit must run inside a write transaction so that reading the last
// link and writing the next one cannot interleave with another writer.
func appendAudit(ctx context.Context, tx *sql.Tx, e store.AuditEvent) (store.AuditEvent, error) {
	var lastSeq int64
	prev := store.GenesisHash
	err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_log WHERE tenant_id = $1 ORDER BY seq DESC LIMIT 1`, e.TenantID).
		Scan(&lastSeq, &prev)
	if err != nil && err != sql.ErrNoRows {
		return e, fmt.Errorf("append audit for tenant %s: %w", e.TenantID, err)
	}
	e.Seq = lastSeq + 1
	if e.At.IsZero() {
		e.At = now()
	}
	e.At = e.At.UTC().Truncate(1e6)
	e.PrevHash = prev
	e.Hash = store.ChainHash(prev, e)
	detail, err := json.Marshal(e.Detail)
	if err != nil {
		return e, fmt.Errorf("append audit for tenant %s: %w", e.TenantID, err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO audit_log (tenant_id, seq, at, actor, action, target, ip, detail, prev_hash, hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		e.TenantID, e.Seq, millis(e.At), e.Actor, e.Action, e.Target, e.IP, string(detail), e.PrevHash, e.Hash)
	if err != nil {
		return e, fmt.Errorf("append audit for tenant %s: %w", e.TenantID, mapErr(err))
	}
	return e, nil
}

// AuditEvents returns a tenant's audit events after afterSeq, in order.
func (d *DB) AuditEvents(ctx context.Context, tenantID string, afterSeq int64, limit int) ([]store.AuditEvent, error) {
	if limit <= 0 || limit > 10000 {
		limit = 10000
	}
	rows, err := d.db.QueryContext(ctx, `SELECT tenant_id, seq, at, actor, action, target, ip, detail, prev_hash, hash
		FROM audit_log WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, tenantID, afterSeq, limit)
	if err != nil {
		return nil, fmt.Errorf("audit events of tenant %s: %w", tenantID, err)
	}
	defer rows.Close()
	var out []store.AuditEvent
	for rows.Next() {
		var e store.AuditEvent
		var at int64
		var detail string
		if err := rows.Scan(&e.TenantID, &e.Seq, &at, &e.Actor, &e.Action, &e.Target, &e.IP, &detail, &e.PrevHash, &e.Hash); err != nil {
			return nil, fmt.Errorf("audit events of tenant %s: %w", tenantID, err)
		}
		e.At = fromMillis(at)
		if err := json.Unmarshal([]byte(detail), &e.Detail); err != nil {
			return nil, fmt.Errorf("audit event %d of tenant %s: detail: %w", e.Seq, tenantID, err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
