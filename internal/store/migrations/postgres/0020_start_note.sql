-- Why the last pending start of a mailing did not happen when it came due
-- (empty: it did, or none was refused): 'sender' when its sender address
-- may no longer be used (the domain was forbidden or lost its verification
-- after the start was requested). A new start request clears it.
ALTER TABLE mailings ADD COLUMN start_note TEXT NOT NULL DEFAULT '';
