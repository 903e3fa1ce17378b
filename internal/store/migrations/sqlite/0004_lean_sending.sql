-- Fewer indexes to keep up while sending: every message changes its
-- delivery twice and adds an attempt row, and each index is one more b-tree
-- write each time.
-- No query reads attempts by owner and time (the reports read the
-- attempt_counts table).
DROP INDEX attempts_owner_time;
-- Deliveries left in sending are found through their unfinished run
-- (deliveries_run_status) instead.
DROP INDEX deliveries_sending;
