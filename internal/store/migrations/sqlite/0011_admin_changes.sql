-- Admins act on any user's recipients, messages and mailings. The owner sees
-- that an administrator changed an object (who and when, the last time), and
-- the audit log names whose object it was.
ALTER TABLE recipients ADD COLUMN admin_changed_by INTEGER REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE recipients ADD COLUMN admin_changed_at DATETIME;
ALTER TABLE messages ADD COLUMN admin_changed_by INTEGER REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE messages ADD COLUMN admin_changed_at DATETIME;
ALTER TABLE mailings ADD COLUMN admin_changed_by INTEGER REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE mailings ADD COLUMN admin_changed_at DATETIME;
ALTER TABLE audit_events ADD COLUMN owner_id INTEGER REFERENCES users (id) ON DELETE SET NULL;
CREATE INDEX audit_events_owner ON audit_events (owner_id, created_at);
