-- Fewer indexes to keep up while sending: every message changes its
-- delivery twice and adds an attempt row, and each index is one more b-tree
-- write each time.
-- No query reads attempts by owner and time (the reports read the
-- attempt_counts table).
DROP INDEX attempts_owner_time;
-- Deliveries left in sending are found through their unfinished run
-- (deliveries_run_status) instead.
DROP INDEX deliveries_sending;

-- run_counts also counts cancelled deliveries, so that a run's counts and
-- whether it is done follow from its counters and total alone, never from
-- counting its deliveries.
ALTER TABLE run_counts ADD COLUMN cancelled INTEGER NOT NULL DEFAULT 0;
INSERT INTO run_counts (run_id, cancelled)
SELECT run_id, count(*) FROM deliveries WHERE status = 'cancelled' GROUP BY run_id
ON CONFLICT (run_id) DO UPDATE SET cancelled = excluded.cancelled;
