-- Sender identities, the domains their owners verified, the DKIM keys of
-- those domains, and the admins' rules for domains anyone may send from.
--
-- A mailing may name an identity (identity_id; NULL: its owner's default,
-- or the service's address when the owner has none). A run fixes the From
-- and Reply-To it sends with, as it fixes the message: editing the
-- identity later does not change a run that has started.
CREATE TABLE sender_identities (
    id          INTEGER PRIMARY KEY,
    owner_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        TEXT NOT NULL DEFAULT '',
    email       TEXT NOT NULL,
    reply_to    TEXT NOT NULL DEFAULT '',
    is_default  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  DATETIME NOT NULL,
    updated_at  DATETIME NOT NULL
);
CREATE INDEX sender_identities_owner ON sender_identities (owner_id, id);
CREATE UNIQUE INDEX sender_identities_default ON sender_identities (owner_id) WHERE is_default;

CREATE TABLE sender_domains (
    id          INTEGER PRIMARY KEY,
    owner_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    domain      TEXT NOT NULL,
    verified_at DATETIME,
    created_at  DATETIME NOT NULL,
    UNIQUE (owner_id, domain)
);
CREATE INDEX sender_domains_domain ON sender_domains (domain);

-- state: next (published first, not yet signing), active (signing),
-- retired (no longer signing, its record kept until removed).
CREATE TABLE dkim_keys (
    id          INTEGER PRIMARY KEY,
    domain_id   INTEGER NOT NULL REFERENCES sender_domains (id) ON DELETE CASCADE,
    selector    TEXT NOT NULL,
    algorithm   TEXT NOT NULL CHECK (algorithm IN ('rsa', 'ed25519')),
    private_key TEXT NOT NULL,
    public_key  TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('next', 'active', 'retired')),
    created_at  DATETIME NOT NULL,
    UNIQUE (domain_id, selector)
);

CREATE TABLE domain_rules (
    domain      TEXT PRIMARY KEY,
    allowed     BOOLEAN NOT NULL,
    changed_by  INTEGER REFERENCES users (id) ON DELETE SET NULL,
    changed_at  DATETIME NOT NULL
);

ALTER TABLE mailings ADD COLUMN identity_id INTEGER REFERENCES sender_identities (id) ON DELETE SET NULL;
ALTER TABLE runs ADD COLUMN from_name TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN from_email TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN reply_to TEXT NOT NULL DEFAULT '';
