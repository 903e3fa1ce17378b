-- return_counts: what came back, per mailing and 15-minute slot (as
-- attempt_counts), kept in the transactions that record it: deliveries
-- that hard-bounced or drew a complaint (counted when the report moved
-- them), that soft-bounced (once per delivery, at its first soft report),
-- that were not sent because the address was suppressed, and the
-- unsubscribes the mailing brought. Rates over a period divide these by
-- the successful attempts of attempt_counts, so no page reads deliveries.
CREATE TABLE return_counts (
    mailing_id   BIGINT NOT NULL REFERENCES mailings (id) ON DELETE CASCADE,
    slot         BIGINT NOT NULL,
    owner_id     BIGINT NOT NULL,
    hard         INTEGER NOT NULL DEFAULT 0,
    soft         INTEGER NOT NULL DEFAULT 0,
    complaint    INTEGER NOT NULL DEFAULT 0,
    unsubscribed INTEGER NOT NULL DEFAULT 0,
    suppressed   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (mailing_id, slot)
);
-- Covering: a user's or everyone's figures over a period read the index
-- alone, in order, without a lookup per row.
CREATE INDEX return_counts_owner ON return_counts (owner_id, slot, mailing_id, hard, soft, complaint, unsubscribed, suppressed);
CREATE INDEX return_counts_slot ON return_counts (slot);
-- The messages sent that rates divide by, read the same way from the
-- attempt counters.
CREATE INDEX attempt_counts_owner_sent ON attempt_counts (owner_id, slot, mailing_id, success);

INSERT INTO return_counts (mailing_id, slot, owner_id, hard, soft, complaint, unsubscribed, suppressed)
SELECT mailing_id, slot, min(owner_id), sum(hard), sum(soft), sum(complaint), sum(unsubscribed), sum(suppressed) FROM (
    SELECT r.mailing_id, (floor(extract(epoch FROM d.updated_at) / 900) * 900)::bigint AS slot, r.owner_id,
           CASE WHEN d.status = 'bounced' THEN 1 ELSE 0 END AS hard, 0 AS soft,
           CASE WHEN d.status = 'complained' THEN 1 ELSE 0 END AS complaint, 0 AS unsubscribed,
           CASE WHEN d.status = 'suppressed' THEN 1 ELSE 0 END AS suppressed
    FROM deliveries d JOIN runs r ON r.id = d.run_id
    WHERE d.status IN ('bounced', 'complained', 'suppressed')
    UNION ALL
    SELECT mailing_id, (floor(extract(epoch FROM min(received_at)) / 900) * 900)::bigint, min(owner_id), 0, 1, 0, 0, 0
    FROM delivery_reports WHERE kind = 'soft' AND delivery_id IS NOT NULL AND mailing_id IS NOT NULL
    GROUP BY delivery_id, mailing_id
    UNION ALL
    SELECT s.mailing_id, (floor(extract(epoch FROM s.created_at) / 900) * 900)::bigint, s.owner_id, 0, 0, 0, 1, 0
    FROM suppressions s WHERE s.reason = 'unsubscribed' AND s.mailing_id IS NOT NULL AND s.owner_id IS NOT NULL
) x WHERE mailing_id IN (SELECT id FROM mailings)
GROUP BY mailing_id, slot;
