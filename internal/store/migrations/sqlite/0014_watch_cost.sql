-- Reading a mailing's state and progress costs the same for ten recipients
-- and a million.
--
-- The number of a mailing's recipients is kept on the mailing by the
-- database, in the transaction that changes the audience: the store's own
-- writes and a deleted recipient leaving every audience it was in (a
-- cascade) alike. Before, each read of a mailing counted its audience.
ALTER TABLE mailings ADD COLUMN recipient_count INTEGER NOT NULL DEFAULT 0;
UPDATE mailings SET recipient_count = (SELECT count(*) FROM mailing_recipients mr WHERE mr.mailing_id = mailings.id);
CREATE TRIGGER mailing_recipients_added AFTER INSERT ON mailing_recipients BEGIN
    UPDATE mailings SET recipient_count = recipient_count + 1 WHERE id = NEW.mailing_id;
END;
CREATE TRIGGER mailing_recipients_removed AFTER DELETE ON mailing_recipients BEGIN
    UPDATE mailings SET recipient_count = recipient_count - 1 WHERE id = OLD.mailing_id;
END;

-- Why a send waits: the run's next deferred delivery and its last failed
-- attempt are each the first entry of a small partial index, instead of
-- every deferred delivery of the run sorted, and every attempt of the
-- mailing read backwards until a failure (all of them when none failed).
-- Only deferred deliveries and failed attempts are written to them.
CREATE INDEX deliveries_run_deferred ON deliveries (run_id, next_attempt_at) WHERE status = 'deferred';
CREATE INDEX attempts_run_failed ON attempts (run_id, id) WHERE success = FALSE;
