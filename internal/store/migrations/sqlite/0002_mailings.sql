CREATE TABLE recipients (
    id          INTEGER PRIMARY KEY,
    owner_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email       TEXT NOT NULL,
    email_norm  TEXT NOT NULL,
    last_name   TEXT NOT NULL DEFAULT '',
    first_name  TEXT NOT NULL DEFAULT '',
    middle_name TEXT NOT NULL DEFAULT '',
    comment     TEXT NOT NULL DEFAULT '',
    created_at  DATETIME NOT NULL,
    updated_at  DATETIME NOT NULL
);
CREATE UNIQUE INDEX recipients_owner_email ON recipients (owner_id, email_norm);

CREATE TABLE messages (
    id         INTEGER PRIMARY KEY,
    owner_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    subject    TEXT NOT NULL,
    body_text  TEXT NOT NULL,
    body_html  TEXT NOT NULL DEFAULT '',
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
);
CREATE INDEX messages_owner ON messages (owner_id, id);

CREATE TABLE mailings (
    id           INTEGER PRIMARY KEY,
    owner_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL DEFAULT '',
    message_id   INTEGER NOT NULL REFERENCES messages (id),
    status       TEXT NOT NULL DEFAULT 'created' CHECK (status IN ('created', 'running', 'finished')),
    scheduled_at DATETIME,
    start_kind   TEXT NOT NULL DEFAULT '',
    start_trigger TEXT NOT NULL DEFAULT '',
    started_at   DATETIME,
    finished_at  DATETIME,
    disabled_at  DATETIME,
    last_run_id  INTEGER,
    created_at   DATETIME NOT NULL,
    updated_at   DATETIME NOT NULL
);
CREATE INDEX mailings_owner ON mailings (owner_id, id);
CREATE INDEX mailings_message ON mailings (message_id);
CREATE INDEX mailings_due ON mailings (scheduled_at);

CREATE TABLE mailing_recipients (
    mailing_id   INTEGER NOT NULL REFERENCES mailings (id) ON DELETE CASCADE,
    recipient_id INTEGER NOT NULL REFERENCES recipients (id) ON DELETE CASCADE,
    PRIMARY KEY (mailing_id, recipient_id)
);
CREATE INDEX mailing_recipients_recipient ON mailing_recipients (recipient_id);

CREATE TABLE runs (
    id           INTEGER PRIMARY KEY,
    mailing_id   INTEGER NOT NULL REFERENCES mailings (id) ON DELETE CASCADE,
    owner_id     INTEGER NOT NULL,
    number       INTEGER NOT NULL,
    kind         TEXT NOT NULL,
    trigger      TEXT NOT NULL,
    scheduled_at DATETIME,
    started_at   DATETIME NOT NULL,
    finished_at  DATETIME,
    cancelled_at DATETIME,
    subject      TEXT NOT NULL,
    body_text    TEXT NOT NULL,
    body_html    TEXT NOT NULL DEFAULT '',
    total        INTEGER NOT NULL DEFAULT 0,
    UNIQUE (mailing_id, number)
);
CREATE UNIQUE INDEX runs_one_active ON runs (mailing_id) WHERE finished_at IS NULL;

CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY,
    run_id          INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    recipient_id    INTEGER,
    email           TEXT NOT NULL,
    last_name       TEXT NOT NULL DEFAULT '',
    first_name      TEXT NOT NULL DEFAULT '',
    middle_name     TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at DATETIME NOT NULL,
    claimed_by      TEXT,
    last_code       INTEGER NOT NULL DEFAULT 0,
    last_enhanced   TEXT NOT NULL DEFAULT '',
    last_response   TEXT NOT NULL DEFAULT '',
    message_id      TEXT NOT NULL DEFAULT '',
    sent_at         DATETIME,
    updated_at      DATETIME NOT NULL,
    UNIQUE (run_id, recipient_id)
);
CREATE INDEX deliveries_todo ON deliveries (next_attempt_at, id) WHERE status IN ('pending', 'deferred');
CREATE INDEX deliveries_run_status ON deliveries (run_id, status);
CREATE INDEX deliveries_sending ON deliveries (claimed_by) WHERE status = 'sending';

CREATE TABLE attempts (
    id           INTEGER PRIMARY KEY,
    delivery_id  INTEGER NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    run_id       INTEGER NOT NULL,
    mailing_id   INTEGER NOT NULL,
    owner_id     INTEGER NOT NULL,
    email        TEXT NOT NULL,
    attempted_at DATETIME NOT NULL,
    success      BOOLEAN NOT NULL,
    code         INTEGER NOT NULL DEFAULT 0,
    enhanced     TEXT NOT NULL DEFAULT '',
    response     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX attempts_delivery ON attempts (delivery_id, id);
CREATE INDEX attempts_mailing ON attempts (mailing_id, id);
CREATE INDEX attempts_owner_time ON attempts (owner_id, attempted_at);

CREATE TABLE engine_instances (
    id           TEXT PRIMARY KEY,
    host         TEXT NOT NULL DEFAULT '',
    started_at   DATETIME NOT NULL,
    heartbeat_at DATETIME NOT NULL
);
