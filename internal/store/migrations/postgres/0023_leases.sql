-- Leases: work that one instance at a time does (polling the bounce
-- mailbox), held by the instance named in holder until expires_at, and
-- taken over by another once it has expired (its holder died).
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
