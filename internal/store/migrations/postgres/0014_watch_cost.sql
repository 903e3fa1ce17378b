-- Reading a mailing's state and progress costs the same for ten recipients
-- and a million.
--
-- The number of a mailing's recipients is kept on the mailing by the
-- database, in the transaction that changes the audience: the store's own
-- writes and a deleted recipient leaving every audience it was in (a
-- cascade) alike. Before, each read of a mailing counted its audience. The
-- triggers run once per statement, with the statement's rows, so that adding
-- a million recipients updates each mailing once.
ALTER TABLE mailings ADD COLUMN recipient_count INTEGER NOT NULL DEFAULT 0;
UPDATE mailings m SET recipient_count = c.n
FROM (SELECT mailing_id, count(*) AS n FROM mailing_recipients GROUP BY mailing_id) c WHERE c.mailing_id = m.id;

CREATE FUNCTION mailing_recipients_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE mailings m SET recipient_count = m.recipient_count + c.n
    FROM (SELECT mailing_id, count(*) AS n FROM added GROUP BY mailing_id) c WHERE c.mailing_id = m.id;
    RETURN NULL;
END $$;
CREATE FUNCTION mailing_recipients_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE mailings m SET recipient_count = m.recipient_count - c.n
    FROM (SELECT mailing_id, count(*) AS n FROM removed GROUP BY mailing_id) c WHERE c.mailing_id = m.id;
    RETURN NULL;
END $$;
CREATE TRIGGER mailing_recipients_added AFTER INSERT ON mailing_recipients
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION mailing_recipients_added();
CREATE TRIGGER mailing_recipients_removed AFTER DELETE ON mailing_recipients
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION mailing_recipients_removed();

-- Why a send waits: the run's next deferred delivery and its last failed
-- attempt are each the first entry of a small partial index, instead of
-- every deferred delivery of the run sorted, and every attempt of the
-- mailing read backwards until a failure (all of them when none failed).
-- Only deferred deliveries and failed attempts are written to them.
CREATE INDEX deliveries_run_deferred ON deliveries (run_id, next_attempt_at) WHERE status = 'deferred';
CREATE INDEX attempts_run_failed ON attempts (run_id, id) WHERE success = FALSE;
