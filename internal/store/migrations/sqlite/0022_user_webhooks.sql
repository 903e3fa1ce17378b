-- Outgoing webhooks of users: endpoints that receive, as signed JSON
-- batches, what happened to their deliveries (sent, failed, bounced,
-- complained) and their recipients (unsubscribed).
CREATE TABLE webhooks (
    id              INTEGER PRIMARY KEY,
    owner_id        INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    url             TEXT NOT NULL,
    events          TEXT NOT NULL,
    secret          TEXT NOT NULL,
    enabled         BOOLEAN NOT NULL DEFAULT TRUE,
    failing_since   DATETIME,
    disabled_at     DATETIME,
    disabled_reason TEXT NOT NULL DEFAULT '',
    created_at      DATETIME NOT NULL,
    updated_at      DATETIME NOT NULL
);
CREATE INDEX webhooks_owner ON webhooks (owner_id, id);

-- Rare events (bounced, complained, unsubscribed), one row per endpoint
-- that wants it, written where they happen, until a batch takes them.
CREATE TABLE webhook_events (
    id         INTEGER PRIMARY KEY,
    webhook_id INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    created_at DATETIME NOT NULL,
    payload    TEXT NOT NULL
);
CREATE INDEX webhook_events_hook ON webhook_events (webhook_id, id);

-- One request body of up to 100 events, retried until it is delivered or
-- its retries run out. lease_by/lease_until: the instance sending it now.
CREATE TABLE webhook_batches (
    id          INTEGER PRIMARY KEY,
    webhook_id  INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    created_at  DATETIME NOT NULL,
    events      INTEGER NOT NULL,
    body        TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'pending',
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_at     DATETIME NOT NULL,
    lease_by    TEXT,
    lease_until DATETIME,
    finished_at DATETIME
);
CREATE INDEX webhook_batches_due ON webhook_batches (next_at, id) WHERE state = 'pending';
CREATE INDEX webhook_batches_hook ON webhook_batches (webhook_id, id);
CREATE INDEX webhook_batches_finished ON webhook_batches (finished_at) WHERE state <> 'pending';

-- Each request made to an endpoint, kept for a bounded time and number.
CREATE TABLE webhook_log (
    id          INTEGER PRIMARY KEY,
    webhook_id  INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    batch_id    INTEGER,
    at          DATETIME NOT NULL,
    attempt     INTEGER NOT NULL,
    events      INTEGER NOT NULL,
    status      INTEGER NOT NULL DEFAULT 0,
    duration_ms INTEGER NOT NULL DEFAULT 0,
    error       TEXT NOT NULL DEFAULT '',
    response    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX webhook_log_hook ON webhook_log (webhook_id, id);
CREATE INDEX webhook_log_at ON webhook_log (at);

-- How far the dispatcher has read the attempts table (sent and failed
-- deliveries are read from it in batches, never written per delivery).
CREATE TABLE webhook_cursors (
    name     TEXT PRIMARY KEY,
    position INTEGER NOT NULL
);
INSERT INTO webhook_cursors (name, position) SELECT 'attempts', COALESCE(max(id), 0) FROM attempts;
