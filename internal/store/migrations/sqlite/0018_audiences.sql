-- Lists and tags of recipients, and a mailing's audience built from them.
--
-- A user has named lists; a recipient may be on many. Tags are free words
-- on a recipient, kept lower-case. A mailing's audience is its chosen
-- recipients (mailing_recipients, as before) plus the rules of
-- mailing_audience: include a list, or exclude a list or a tag. The rules
-- are resolved into deliveries when a run starts. A later kind (a segment)
-- is one more value of kind with its own reference column.
CREATE TABLE lists (
    id         INTEGER PRIMARY KEY,
    owner_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    name_norm  TEXT NOT NULL,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
);
CREATE UNIQUE INDEX lists_owner_name ON lists (owner_id, name_norm);

CREATE TABLE list_members (
    list_id      INTEGER NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
    recipient_id INTEGER NOT NULL REFERENCES recipients (id) ON DELETE CASCADE,
    PRIMARY KEY (list_id, recipient_id)
);
CREATE INDEX list_members_recipient ON list_members (recipient_id);

CREATE TABLE recipient_tags (
    recipient_id INTEGER NOT NULL REFERENCES recipients (id) ON DELETE CASCADE,
    owner_id     INTEGER NOT NULL,
    tag          TEXT NOT NULL,
    PRIMARY KEY (recipient_id, tag)
);
CREATE INDEX recipient_tags_owner_tag ON recipient_tags (owner_id, tag, recipient_id);

CREATE TABLE mailing_audience (
    mailing_id INTEGER NOT NULL REFERENCES mailings (id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('list', 'tag')),
    exclude    BOOLEAN NOT NULL,
    list_id    INTEGER REFERENCES lists (id) ON DELETE CASCADE,
    tag        TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (mailing_id, position)
);
CREATE INDEX mailing_audience_list ON mailing_audience (list_id);
