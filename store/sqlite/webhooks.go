package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/lotse-io/lotse/store"
)

// SetWebhook sets (or replaces) a tenant's webhook endpoint.
func (d *DB) SetWebhook(ctx context.Context, w store.Webhook) error {
	_, err := d.db.ExecContext(ctx, `INSERT INTO webhooks (tenant_id, url, secret, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (tenant_id) DO UPDATE SET url = excluded.url, secret = excluded.secret, created_at = excluded.created_at`,
		w.TenantID, w.URL, w.Secret, ms(w.CreatedAt))
	if err != nil {
		return fmt.Errorf("set webhook of %s: %w", w.TenantID, err)
	}
	return nil
}

// Webhook returns a tenant's webhook endpoint.
func (d *DB) Webhook(ctx context.Context, tenantID string) (store.Webhook, error) {
	var w store.Webhook
	var created int64
	err := d.db.QueryRowContext(ctx, `SELECT tenant_id, url, secret, created_at FROM webhooks WHERE tenant_id = $1`, tenantID).
		Scan(&w.TenantID, &w.URL, &w.Secret, &created)
	if err != nil {
		return store.Webhook{}, fmt.Errorf("webhook of %s: %w", tenantID, mapErr(err))
	}
	w.CreatedAt = fromMillis(created)
	return w, nil
}

// DeleteWebhook removes a tenant's endpoint.
func (d *DB) DeleteWebhook(ctx context.Context, tenantID string) error {
	_, err := d.db.ExecContext(ctx, `DELETE FROM webhooks WHERE tenant_id = $1`, tenantID)
	return err
}

// EnqueueWebhook stores a delivery to be sent.
func (d *DB) EnqueueWebhook(ctx context.Context, w store.WebhookDelivery) error {
	_, err := d.db.ExecContext(ctx, `INSERT INTO webhook_deliveries (id, tenant_id, event, payload, created_at, next_attempt_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, w.ID, w.TenantID, w.Event, string(w.Payload), ms(w.CreatedAt), ms(w.NextAttemptAt))
	if err != nil {
		return fmt.Errorf("enqueue webhook for %s: %w", w.TenantID, err)
	}
	return nil
}

const deliveryCols = `id, tenant_id, event, payload, created_at, attempts, next_attempt_at, delivered_at, failed, last_status, last_error`

func scanDelivery(row interface{ Scan(...any) error }) (store.WebhookDelivery, error) {
	var w store.WebhookDelivery
	var payload string
	var created, next, delivered int64
	if err := row.Scan(&w.ID, &w.TenantID, &w.Event, &payload, &created, &w.Attempts, &next, &delivered, &w.Failed, &w.LastStatus, &w.LastError); err != nil {
		return w, err
	}
	w.Payload = json.RawMessage(payload)
	w.CreatedAt, w.NextAttemptAt, w.DeliveredAt = fromMillis(created), fromMillis(next), optMillis(delivered)
	return w, nil
}

// DueWebhooks returns deliveries whose next attempt is due.
func (d *DB) DueWebhooks(ctx context.Context, now time.Time, limit int) ([]store.WebhookDelivery, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT `+deliveryCols+` FROM webhook_deliveries
		WHERE delivered_at = 0 AND NOT failed AND next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT $2`, now.UnixMilli(), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.WebhookDelivery
	for rows.Next() {
		w, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// UpdateWebhookDelivery records an attempt.
func (d *DB) UpdateWebhookDelivery(ctx context.Context, w store.WebhookDelivery) error {
	_, err := d.db.ExecContext(ctx, `UPDATE webhook_deliveries SET attempts = $1, next_attempt_at = $2, delivered_at = $3, failed = $4,
		last_status = $5, last_error = $6 WHERE id = $7 AND tenant_id = $8`,
		w.Attempts, ms(w.NextAttemptAt), ms(w.DeliveredAt), w.Failed, w.LastStatus, w.LastError, w.ID, w.TenantID)
	return err
}

// WebhookDeliveries lists a tenant's recent deliveries, newest first.
func (d *DB) WebhookDeliveries(ctx context.Context, tenantID string, limit int) ([]store.WebhookDelivery, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT `+deliveryCols+` FROM webhook_deliveries WHERE tenant_id = $1
		ORDER BY created_at DESC, id DESC LIMIT $2`, tenantID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.WebhookDelivery
	for rows.Next() {
		w, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}
