-- run_counts also counts the delivery states that come back from the
-- outside world (see DeliveryStates in lifecycle.go): suppressed before a
-- send, bounced and complained after one. A sent delivery that bounces
-- moves from sent to bounced, so a run's counters still add up to its total.
ALTER TABLE run_counts ADD COLUMN suppressed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE run_counts ADD COLUMN bounced INTEGER NOT NULL DEFAULT 0;
ALTER TABLE run_counts ADD COLUMN complained INTEGER NOT NULL DEFAULT 0;
