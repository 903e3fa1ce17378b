-- Segments: a user's saved filters over their recipients, and segments in
-- a mailing's audience.
--
-- A segment's definition is its JSON (simplesender.SegmentDefinition),
-- compiled to one parameterized condition whenever it is read, so it
-- always matches the recipients as they are. mailing_audience takes one
-- more kind, 'segment', naming segment_id; SQLite cannot change a CHECK,
-- so the table is rebuilt.
CREATE TABLE segments (
    id         INTEGER PRIMARY KEY,
    owner_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    name_norm  TEXT NOT NULL,
    definition TEXT NOT NULL,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
);
CREATE UNIQUE INDEX segments_owner_name ON segments (owner_id, name_norm);

CREATE TABLE mailing_audience_old AS SELECT * FROM mailing_audience;
DROP TABLE mailing_audience;
CREATE TABLE mailing_audience (
    mailing_id INTEGER NOT NULL REFERENCES mailings (id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('list', 'tag', 'segment')),
    exclude    BOOLEAN NOT NULL,
    list_id    INTEGER REFERENCES lists (id) ON DELETE CASCADE,
    tag        TEXT NOT NULL DEFAULT '',
    segment_id INTEGER REFERENCES segments (id) ON DELETE CASCADE,
    PRIMARY KEY (mailing_id, position)
);
INSERT INTO mailing_audience (mailing_id, position, kind, exclude, list_id, tag)
    SELECT mailing_id, position, kind, exclude, list_id, tag FROM mailing_audience_old;
DROP TABLE mailing_audience_old;
CREATE INDEX mailing_audience_list ON mailing_audience (list_id);
CREATE INDEX mailing_audience_segment ON mailing_audience (segment_id);
