-- Conversations, their participants and their ordered event record, share
-- links and codes, and webhook deliveries.

CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    subject TEXT NOT NULL DEFAULT '',
    customer_name TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL CHECK (state IN ('created', 'waiting', 'active', 'ended')),
    created_by TEXT NOT NULL,               -- actor: user:<id> or api_key:<id>
    owner_id TEXT NOT NULL DEFAULT '',      -- the advisor responsible (user id), if any
    created_at BIGINT NOT NULL,
    started_at BIGINT NOT NULL DEFAULT 0,   -- first admission
    ended_at BIGINT NOT NULL DEFAULT 0,
    end_reason TEXT NOT NULL DEFAULT '',
    share_token_hash TEXT NOT NULL DEFAULT '',
    share_expires_at BIGINT NOT NULL DEFAULT 0,
    share_max_uses BIGINT NOT NULL DEFAULT 0,
    share_uses BIGINT NOT NULL DEFAULT 0,
    share_revoked BOOLEAN NOT NULL DEFAULT FALSE,
    code_hash TEXT NOT NULL DEFAULT '',     -- HMAC of the 6-digit code
    code_expires_at BIGINT NOT NULL DEFAULT 0,
    event_seq BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX conversations_tenant ON conversations (tenant_id, created_at);
CREATE INDEX conversations_share ON conversations (share_token_hash);
CREATE INDEX conversations_code ON conversations (code_hash);

CREATE TABLE participants (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    role TEXT NOT NULL CHECK (role IN ('advisor', 'customer')),
    user_id TEXT NOT NULL DEFAULT '',
    display_name TEXT NOT NULL,
    state TEXT NOT NULL,
    consent TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    admitted_at BIGINT NOT NULL DEFAULT 0,
    left_at BIGINT NOT NULL DEFAULT 0,
    connected_ms BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX participants_conversation ON participants (conversation_id);

CREATE TABLE conversation_events (
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    seq BIGINT NOT NULL,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,                    -- participant:<id>, user:<id>, api_key:<id>, system
    type TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (conversation_id, seq)
);

CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    event TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    delivered_at BIGINT NOT NULL DEFAULT 0,
    failed BOOLEAN NOT NULL DEFAULT FALSE,
    last_status BIGINT NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (delivered_at, failed, next_attempt_at);
CREATE INDEX webhook_deliveries_tenant ON webhook_deliveries (tenant_id, created_at);

-- The tenant's webhook endpoint and its signing secret (encrypted).
CREATE TABLE webhooks (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants(id),
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
