-- Custom fields of recipients.
--
-- A user defines fields (text, number, date, yes/no); each recipient of the
-- user may have one value of each. value is the canonical text (a number
-- as a decimal, a date as YYYY-MM-DD, yes/no as true/false); num holds
-- numbers and dates (days since 1970-01-01) as sortable numbers, for
-- segments that compare them.
CREATE TABLE fields (
    id         INTEGER PRIMARY KEY,
    owner_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key        TEXT NOT NULL,
    name       TEXT NOT NULL,
    type       TEXT NOT NULL CHECK (type IN ('text', 'number', 'date', 'bool')),
    position   INTEGER NOT NULL,
    created_at DATETIME NOT NULL
);
CREATE UNIQUE INDEX fields_owner_key ON fields (owner_id, key);

CREATE TABLE recipient_values (
    recipient_id INTEGER NOT NULL REFERENCES recipients (id) ON DELETE CASCADE,
    field_id     INTEGER NOT NULL REFERENCES fields (id) ON DELETE CASCADE,
    value        TEXT NOT NULL,
    num          REAL,
    PRIMARY KEY (recipient_id, field_id)
);
CREATE INDEX recipient_values_field_value ON recipient_values (field_id, value);
CREATE INDEX recipient_values_field_num ON recipient_values (field_id, num);
