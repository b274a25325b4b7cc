package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lotse-io/lotse/store"
)

const convCols = `id, tenant_id, subject, customer_name, state, created_by, owner_id, created_at, started_at, ended_at, end_reason,
	share_token_hash, share_expires_at, share_max_uses, share_uses, share_revoked, code_hash, code_expires_at`

func scanConv(row interface{ Scan(...any) error }) (store.Conversation, error) {
	var c store.Conversation
	var created, started, ended, shareExp, codeExp int64
	err := row.Scan(&c.ID, &c.TenantID, &c.Subject, &c.CustomerName, &c.State, &c.CreatedBy, &c.OwnerID, &created, &started, &ended,
		&c.EndReason, &c.Share.TokenHash, &shareExp, &c.Share.MaxUses, &c.Share.Uses, &c.Share.Revoked, &c.CodeHash, &codeExp)
	if err != nil {
		return store.Conversation{}, err
	}
	c.CreatedAt, c.StartedAt, c.EndedAt = fromMillis(created), optMillis(started), optMillis(ended)
	c.Share.ExpiresAt, c.CodeExpires = optMillis(shareExp), optMillis(codeExp)
	return c, nil
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// CreateConversation stores a new conversation.
func (d *DB) CreateConversation(ctx context.Context, c store.Conversation) error {
	_, err := d.db.ExecContext(ctx, `INSERT INTO conversations (id, tenant_id, subject, customer_name, state, created_by, owner_id, created_at,
		share_token_hash, share_expires_at, share_max_uses, code_hash, code_expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		c.ID, c.TenantID, c.Subject, c.CustomerName, c.State, c.CreatedBy, c.OwnerID, ms(c.CreatedAt),
		c.Share.TokenHash, ms(c.Share.ExpiresAt), c.Share.MaxUses, c.CodeHash, ms(c.CodeExpires))
	if err != nil {
		return fmt.Errorf("create conversation in tenant %s: %w", c.TenantID, mapErr(err))
	}
	return nil
}

// Conversation returns one conversation of a tenant.
func (d *DB) Conversation(ctx context.Context, tenantID, id string) (store.Conversation, error) {
	c, err := scanConv(d.db.QueryRowContext(ctx, `SELECT `+convCols+` FROM conversations WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	if err != nil {
		return store.Conversation{}, fmt.Errorf("conversation %s: %w", id, mapErr(err))
	}
	return c, nil
}

// ConversationByShareHash finds a conversation by the hash of its link token.
func (d *DB) ConversationByShareHash(ctx context.Context, hash string) (store.Conversation, error) {
	if hash == "" {
		return store.Conversation{}, store.ErrNotFound
	}
	c, err := scanConv(d.db.QueryRowContext(ctx, `SELECT `+convCols+` FROM conversations WHERE share_token_hash = $1`, hash))
	if err != nil {
		return store.Conversation{}, fmt.Errorf("conversation by link: %w", mapErr(err))
	}
	return c, nil
}

// ConversationByCodeHash finds the conversation whose code is valid at now.
func (d *DB) ConversationByCodeHash(ctx context.Context, hash string, now time.Time) (store.Conversation, error) {
	if hash == "" {
		return store.Conversation{}, store.ErrNotFound
	}
	c, err := scanConv(d.db.QueryRowContext(ctx, `SELECT `+convCols+` FROM conversations
		WHERE code_hash = $1 AND code_expires_at > $2 AND state <> 'ended' ORDER BY created_at DESC LIMIT 1`, hash, now.UnixMilli()))
	if err != nil {
		return store.Conversation{}, fmt.Errorf("conversation by code: %w", mapErr(err))
	}
	return c, nil
}

// ListConversations lists a tenant's conversations, newest first.
func (d *DB) ListConversations(ctx context.Context, tenantID string, f store.ConversationFilter) ([]store.Conversation, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	to := f.To
	if to.IsZero() {
		to = time.Unix(1<<40, 0)
	}
	cursorAt, cursorID := int64(1<<62), ""
	if at, id, ok := strings.Cut(f.Cursor, "_"); ok {
		fmt.Sscan(at, &cursorAt)
		cursorID = id
	}
	rows, err := d.db.QueryContext(ctx, `SELECT `+convCols+` FROM conversations
		WHERE tenant_id = $1 AND ($2 = '' OR state = $2) AND ($3 = '' OR owner_id = $3)
		AND created_at >= $4 AND created_at < $5
		AND ($7 = '' OR created_at < $6 OR (created_at = $6 AND id < $7))
		ORDER BY created_at DESC, id DESC LIMIT $8`,
		tenantID, f.State, f.OwnerID, ms(f.From), to.UnixMilli(), cursorAt, cursorID, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list conversations of %s: %w", tenantID, err)
	}
	defer rows.Close()
	var out []store.Conversation
	for rows.Next() {
		c, err := scanConv(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Cursor returns the list cursor that continues after c.
func Cursor(c store.Conversation) string { return fmt.Sprintf("%d_%s", c.CreatedAt.UnixMilli(), c.ID) }

// SetConversationState moves a conversation to a new state.
func (d *DB) SetConversationState(ctx context.Context, tenantID, id, state, reason string, at time.Time) error {
	res, err := d.db.ExecContext(ctx, `UPDATE conversations SET state = $1,
		started_at = CASE WHEN $1 = 'active' AND started_at = 0 THEN $2 ELSE started_at END,
		ended_at = CASE WHEN $1 = 'ended' THEN $2 ELSE ended_at END,
		end_reason = CASE WHEN $1 = 'ended' THEN $3 ELSE end_reason END
		WHERE tenant_id = $4 AND id = $5 AND state <> 'ended'`, state, at.UnixMilli(), reason, tenantID, id)
	if err != nil {
		return fmt.Errorf("conversation %s state: %w", id, err)
	}
	return affected(res, "conversation "+id)
}

// UseShareToken counts a use of a valid link.
func (d *DB) UseShareToken(ctx context.Context, tenantID, id string, now time.Time) (bool, error) {
	res, err := d.db.ExecContext(ctx, `UPDATE conversations SET share_uses = share_uses + 1
		WHERE tenant_id = $1 AND id = $2 AND NOT share_revoked AND share_expires_at > $3
		AND share_uses < share_max_uses AND state <> 'ended'`, tenantID, id, now.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("use share link of %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// UseCode invalidates a conversation's code.
func (d *DB) UseCode(ctx context.Context, tenantID, id string) error {
	_, err := d.db.ExecContext(ctx, `UPDATE conversations SET code_expires_at = 0 WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	return err
}

// SetShare replaces the link and code of a conversation.
func (d *DB) SetShare(ctx context.Context, tenantID, id string, l store.ShareLink, codeHash string, codeExpires time.Time) error {
	res, err := d.db.ExecContext(ctx, `UPDATE conversations SET share_token_hash = $1, share_expires_at = $2, share_max_uses = $3,
		share_uses = 0, share_revoked = FALSE, code_hash = $4, code_expires_at = $5 WHERE tenant_id = $6 AND id = $7`,
		l.TokenHash, ms(l.ExpiresAt), l.MaxUses, codeHash, ms(codeExpires), tenantID, id)
	if err != nil {
		return fmt.Errorf("share of %s: %w", id, err)
	}
	return affected(res, "conversation "+id)
}

// RevokeShare revokes the link and code.
func (d *DB) RevokeShare(ctx context.Context, tenantID, id string) error {
	res, err := d.db.ExecContext(ctx, `UPDATE conversations SET share_revoked = TRUE, code_expires_at = 0 WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	if err != nil {
		return fmt.Errorf("revoke share of %s: %w", id, err)
	}
	return affected(res, "conversation "+id)
}

// DeleteConversation erases a conversation and its record.
func (d *DB) DeleteConversation(ctx context.Context, tenantID, id string) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	if err := deleteConvTx(ctx, tx, tenantID, id); err != nil {
		return err
	}
	return tx.Commit()
}

func deleteConvTx(ctx context.Context, tx *sql.Tx, tenantID, id string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM conversation_events WHERE tenant_id = $1 AND conversation_id = $2`, tenantID, id); err != nil {
		return fmt.Errorf("delete conversation %s: %w", id, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM participants WHERE tenant_id = $1 AND conversation_id = $2`, tenantID, id); err != nil {
		return fmt.Errorf("delete conversation %s: %w", id, err)
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM conversations WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	if err != nil {
		return fmt.Errorf("delete conversation %s: %w", id, err)
	}
	return affected(res, "conversation "+id)
}

// DeleteConversationsEndedBefore erases old records of a tenant: ended
// before t, or never ended but created before t (abandoned).
func (d *DB) DeleteConversationsEndedBefore(ctx context.Context, tenantID string, t time.Time) (int, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT id FROM conversations WHERE tenant_id = $1
		AND ((state = 'ended' AND ended_at < $2) OR (state <> 'ended' AND created_at < $2))`, tenantID, t.UnixMilli())
	if err != nil {
		return 0, err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	for _, id := range ids {
		if err := d.DeleteConversation(ctx, tenantID, id); err != nil && !errors.Is(err, store.ErrNotFound) {
			return 0, err
		}
	}
	// Webhook payloads name participants too; they go with the records.
	if _, err := d.db.ExecContext(ctx, `DELETE FROM webhook_deliveries WHERE tenant_id = $1 AND created_at < $2`, tenantID, t.UnixMilli()); err != nil {
		return 0, err
	}
	return len(ids), nil
}

// AddParticipant stores a participant.
func (d *DB) AddParticipant(ctx context.Context, p store.Participant) error {
	if len(p.Consent) == 0 {
		p.Consent = json.RawMessage(`{}`)
	}
	_, err := d.db.ExecContext(ctx, `INSERT INTO participants (id, conversation_id, tenant_id, role, user_id, display_name, state, consent, created_at, admitted_at, rejoin_hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		p.ID, p.ConversationID, p.TenantID, p.Role, p.UserID, p.DisplayName, p.State, string(p.Consent), ms(p.CreatedAt), ms(p.AdmittedAt), p.RejoinHash)
	if err != nil {
		return fmt.Errorf("add participant to %s: %w", p.ConversationID, mapErr(err))
	}
	return nil
}

// UpdateParticipant stores a participant's state, consent and times.
func (d *DB) UpdateParticipant(ctx context.Context, p store.Participant) error {
	if len(p.Consent) == 0 {
		p.Consent = json.RawMessage(`{}`)
	}
	res, err := d.db.ExecContext(ctx, `UPDATE participants SET state = $1, consent = $2, admitted_at = $3, left_at = $4, connected_ms = $5, display_name = $6
		WHERE tenant_id = $7 AND id = $8`,
		p.State, string(p.Consent), ms(p.AdmittedAt), ms(p.LeftAt), p.ConnectedMS, p.DisplayName, p.TenantID, p.ID)
	if err != nil {
		return fmt.Errorf("update participant %s: %w", p.ID, err)
	}
	return affected(res, "participant "+p.ID)
}

// Participants lists a conversation's participants in joining order.
func (d *DB) Participants(ctx context.Context, tenantID, convID string) ([]store.Participant, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT `+partCols+` FROM participants WHERE tenant_id = $1 AND conversation_id = $2 ORDER BY created_at, id`, tenantID, convID)
	if err != nil {
		return nil, fmt.Errorf("participants of %s: %w", convID, err)
	}
	defer rows.Close()
	var out []store.Participant
	for rows.Next() {
		p, err := scanPart(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

const partCols = `id, conversation_id, tenant_id, role, user_id, display_name, state, consent, created_at, admitted_at, left_at, connected_ms, rejoin_hash`

func scanPart(row interface{ Scan(...any) error }) (store.Participant, error) {
	var p store.Participant
	var consent string
	var created, admitted, left int64
	if err := row.Scan(&p.ID, &p.ConversationID, &p.TenantID, &p.Role, &p.UserID, &p.DisplayName, &p.State, &consent,
		&created, &admitted, &left, &p.ConnectedMS, &p.RejoinHash); err != nil {
		return store.Participant{}, err
	}
	p.Consent = json.RawMessage(consent)
	p.CreatedAt, p.AdmittedAt, p.LeftAt = fromMillis(created), optMillis(admitted), optMillis(left)
	return p, nil
}

// ParticipantByRejoinHash finds a customer by their rejoin token's hash.
func (d *DB) ParticipantByRejoinHash(ctx context.Context, hash string) (store.Participant, error) {
	if hash == "" {
		return store.Participant{}, store.ErrNotFound
	}
	p, err := scanPart(d.db.QueryRowContext(ctx, `SELECT `+partCols+` FROM participants WHERE rejoin_hash = $1`, hash))
	if err != nil {
		return store.Participant{}, fmt.Errorf("participant by rejoin token: %w", mapErr(err))
	}
	return p, nil
}

// AppendConvEvent adds an event at the end of a conversation's record.
func (d *DB) AppendConvEvent(ctx context.Context, e store.ConvEvent) (store.ConvEvent, error) {
	if len(e.Data) == 0 {
		e.Data = json.RawMessage(`{}`)
	}
	if e.At.IsZero() {
		e.At = now()
	}
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return e, err
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	if err := tx.QueryRowContext(ctx, `UPDATE conversations SET event_seq = event_seq + 1 WHERE tenant_id = $1 AND id = $2 RETURNING event_seq`,
		e.TenantID, e.ConversationID).Scan(&e.Seq); err != nil {
		return e, fmt.Errorf("event for %s: %w", e.ConversationID, mapErr(err))
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO conversation_events (conversation_id, tenant_id, seq, at, actor, type, data) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		e.ConversationID, e.TenantID, e.Seq, e.At.UnixMilli(), e.Actor, e.Type, string(e.Data)); err != nil {
		return e, fmt.Errorf("event for %s: %w", e.ConversationID, err)
	}
	return e, tx.Commit()
}

// ConvEvents returns a conversation's events after afterSeq, in order.
func (d *DB) ConvEvents(ctx context.Context, tenantID, convID string, afterSeq int64, limit int) ([]store.ConvEvent, error) {
	if limit <= 0 || limit > 100000 {
		limit = 100000
	}
	rows, err := d.db.QueryContext(ctx, `SELECT conversation_id, tenant_id, seq, at, actor, type, data FROM conversation_events
		WHERE tenant_id = $1 AND conversation_id = $2 AND seq > $3 ORDER BY seq LIMIT $4`, tenantID, convID, afterSeq, limit)
	if err != nil {
		return nil, fmt.Errorf("events of %s: %w", convID, err)
	}
	defer rows.Close()
	var out []store.ConvEvent
	for rows.Next() {
		var e store.ConvEvent
		var at int64
		var data string
		if err := rows.Scan(&e.ConversationID, &e.TenantID, &e.Seq, &at, &e.Actor, &e.Type, &data); err != nil {
			return nil, err
		}
		e.At, e.Data = fromMillis(at), json.RawMessage(data)
		out = append(out, e)
	}
	return out, rows.Err()
}
