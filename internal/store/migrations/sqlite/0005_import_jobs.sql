-- CSV imports of recipients as jobs in the database, so that every instance
-- can preview, run and show an import, and a crashed one is resumed.
--
-- An import job is one upload and what becomes of it:
--   uploading -> uploaded -> queued -> running -> done | failed | cancelled
-- (a running job refused for its invalid rows goes back to uploaded, to be
-- started again with other choices). A user has at most one pending job
-- (uploading, uploaded, queued or running); the bytes of pending jobs are
-- what the upload quota counts, and a finished job's bytes are removed.
CREATE TABLE import_jobs (
    id             INTEGER PRIMARY KEY,
    public_id      TEXT NOT NULL UNIQUE,
    owner_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    state          TEXT NOT NULL CHECK (state IN ('uploading', 'uploaded', 'queued', 'running', 'done', 'failed', 'cancelled')),
    filename       TEXT NOT NULL DEFAULT '',
    size           INTEGER NOT NULL DEFAULT 0,
    options        TEXT NOT NULL DEFAULT '{}',
    phase          TEXT NOT NULL DEFAULT '',
    done_rows      INTEGER NOT NULL DEFAULT 0,
    total_rows     INTEGER NOT NULL DEFAULT 0,
    committed_rows INTEGER NOT NULL DEFAULT 0,
    rows_count     INTEGER NOT NULL DEFAULT 0,
    imported       INTEGER NOT NULL DEFAULT 0,
    updated        INTEGER NOT NULL DEFAULT 0,
    unchanged      INTEGER NOT NULL DEFAULT 0,
    skipped        INTEGER NOT NULL DEFAULT 0,
    duplicates     INTEGER NOT NULL DEFAULT 0,
    invalid        INTEGER NOT NULL DEFAULT 0,
    result         TEXT NOT NULL DEFAULT '',
    error          TEXT NOT NULL DEFAULT '',
    error_line     INTEGER NOT NULL DEFAULT 0,
    worker         TEXT NOT NULL DEFAULT '',
    lease_until    DATETIME,
    attempts       INTEGER NOT NULL DEFAULT 0,
    created_at     DATETIME NOT NULL,
    updated_at     DATETIME NOT NULL,
    started_at     DATETIME,
    finished_at    DATETIME
);
CREATE UNIQUE INDEX import_jobs_pending ON import_jobs (owner_id)
    WHERE state IN ('uploading', 'uploaded', 'queued', 'running');
CREATE INDEX import_jobs_state ON import_jobs (state, updated_at);

-- The uploaded file, in pieces of at most 1 MiB, read back one at a time.
CREATE TABLE import_chunks (
    job_id INTEGER NOT NULL REFERENCES import_jobs (id) ON DELETE CASCADE,
    seq    INTEGER NOT NULL,
    data   BLOB NOT NULL,
    PRIMARY KEY (job_id, seq)
);
