-- What comes back after sending: returned messages (bounces, complaints,
-- auto-replies) and provider webhook events, kept raw until processed and
-- for a while after, and the reports read from them, each shown on its
-- delivery (or to admins when it matched none).
CREATE TABLE inbound_messages (
    id            INTEGER PRIMARY KEY,
    source        TEXT NOT NULL,
    received_at   DATETIME NOT NULL,
    remote        TEXT NOT NULL DEFAULT '',
    envelope_from TEXT NOT NULL DEFAULT '',
    envelope_to   TEXT NOT NULL DEFAULT '',
    event_id      TEXT,
    raw           BLOB,
    processed_at  DATETIME,
    error         TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX inbound_messages_event ON inbound_messages (source, event_id) WHERE event_id IS NOT NULL;
CREATE INDEX inbound_messages_todo ON inbound_messages (id) WHERE processed_at IS NULL;
CREATE INDEX inbound_messages_raw ON inbound_messages (received_at) WHERE raw IS NOT NULL;

CREATE TABLE delivery_reports (
    id           INTEGER PRIMARY KEY,
    inbound_id   INTEGER REFERENCES inbound_messages (id) ON DELETE SET NULL,
    received_at  DATETIME NOT NULL,
    source       TEXT NOT NULL,
    kind         TEXT NOT NULL,
    delivery_id  INTEGER REFERENCES deliveries (id) ON DELETE SET NULL,
    owner_id     INTEGER REFERENCES users (id) ON DELETE CASCADE,
    mailing_id   INTEGER,
    email        TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL DEFAULT '',
    diagnostic   TEXT NOT NULL DEFAULT '',
    applied      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX delivery_reports_delivery ON delivery_reports (delivery_id) WHERE delivery_id IS NOT NULL;
CREATE INDEX delivery_reports_owner ON delivery_reports (owner_id, received_at);
CREATE INDEX delivery_reports_soft ON delivery_reports (owner_id, email, received_at) WHERE kind = 'soft';
CREATE INDEX delivery_reports_unmatched ON delivery_reports (received_at) WHERE owner_id IS NULL;
