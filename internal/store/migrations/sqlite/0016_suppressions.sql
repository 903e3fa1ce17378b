-- The suppression list: addresses that must not be mailed, per owner or
-- service-wide (owner_id NULL, added by an admin). Addresses are kept
-- lower-cased; one entry per owner and address (the first one stays).
-- The engine looks each claimed delivery's address up by email.
CREATE TABLE suppressions (
    id         INTEGER PRIMARY KEY,
    owner_id   INTEGER REFERENCES users (id) ON DELETE CASCADE,
    email      TEXT NOT NULL,
    reason     TEXT NOT NULL CHECK (reason IN ('unsubscribed', 'bounced', 'complained', 'manual')),
    note       TEXT NOT NULL DEFAULT '',
    mailing_id INTEGER REFERENCES mailings (id) ON DELETE SET NULL,
    created_at DATETIME NOT NULL,
    created_by INTEGER REFERENCES users (id) ON DELETE SET NULL
);
CREATE UNIQUE INDEX suppressions_email_owner ON suppressions (email, COALESCE(owner_id, 0));
CREATE INDEX suppressions_owner ON suppressions (owner_id, id);
