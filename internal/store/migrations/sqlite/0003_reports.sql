-- Report counters, kept in the same transactions that write the rows they
-- count (store.RecordOutcomes, store.SweepOrphans), so that reports over
-- millions of attempts read a few hundred rows and never drift.

-- run_counts: the deliveries of a run that reached sent, failed or unknown.
-- Pending and cancelled follow from runs.total (deliveries are never added
-- to or removed from a run after it starts).
CREATE TABLE run_counts (
    run_id  INTEGER PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
    sent    INTEGER NOT NULL DEFAULT 0,
    failed  INTEGER NOT NULL DEFAULT 0,
    unknown INTEGER NOT NULL DEFAULT 0
);

-- attempt_counts: attempts per mailing and 15-minute slot (slot = Unix
-- seconds of the slot's start). Every local midnight of every time zone in
-- use falls on a quarter hour, so days in any zone are whole sets of slots.
CREATE TABLE attempt_counts (
    mailing_id INTEGER NOT NULL REFERENCES mailings (id) ON DELETE CASCADE,
    slot       INTEGER NOT NULL,
    owner_id   INTEGER NOT NULL,
    success    INTEGER NOT NULL DEFAULT 0,
    failure    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (mailing_id, slot)
);
CREATE INDEX attempt_counts_owner ON attempt_counts (owner_id, slot);
CREATE INDEX attempt_counts_slot ON attempt_counts (slot);

CREATE INDEX runs_owner ON runs (owner_id, mailing_id);

INSERT INTO run_counts (run_id, sent, failed, unknown)
SELECT run_id, sum(CASE WHEN status = 'sent' THEN 1 ELSE 0 END), sum(CASE WHEN status = 'failed' THEN 1 ELSE 0 END),
       sum(CASE WHEN status = 'unknown' THEN 1 ELSE 0 END)
FROM deliveries GROUP BY run_id;

INSERT INTO attempt_counts (mailing_id, slot, owner_id, success, failure)
SELECT mailing_id, CAST(strftime('%s', attempted_at) AS INTEGER) / 900 * 900, min(owner_id),
       sum(CASE WHEN success THEN 1 ELSE 0 END), sum(CASE WHEN success THEN 0 ELSE 1 END)
FROM attempts WHERE mailing_id IN (SELECT id FROM mailings)
GROUP BY mailing_id, CAST(strftime('%s', attempted_at) AS INTEGER) / 900 * 900;
