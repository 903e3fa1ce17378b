-- What a user's mailing messages carry besides their body: the note of the
-- unsubscribe footer (empty: the default one in the recipient's language)
-- and the sender's postal address (CAN-SPAM). A user without a row has the
-- defaults.
CREATE TABLE sending_settings (
    user_id        BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    footer_text    TEXT NOT NULL DEFAULT '',
    postal_address TEXT NOT NULL DEFAULT '',
    updated_at     TIMESTAMPTZ NOT NULL
);
