package store

import (
	"context"
	"database/sql"
	"time"

	"simplesender"
)

// Import job states (the column import_jobs.state).
const (
	ImportUploading = "uploading" // the file is arriving
	ImportUploaded  = "uploaded"  // the file is here, waiting for the user's choices
	ImportQueued    = "queued"    // waiting for a worker
	ImportRunning   = "running"   // a worker holds its lease
	ImportDone      = "done"
	ImportFailed    = "failed"
	ImportCancelled = "cancelled"
)

// pendingStates is the SQL list of the states whose bytes count against the
// upload quota; a user has at most one job in them (import_jobs_pending).
const pendingStates = "('uploading', 'uploaded', 'queued', 'running')"

// ImportChunkSize is the size of the pieces an upload is stored in; a reader
// holds one at a time.
const ImportChunkSize = 1 << 20

// ImportCounts are an import job's row counts, as app.ImportCounts.
type ImportCounts struct {
	Rows, Imported, Updated, Unchanged, Skipped, Duplicates, Invalid int
}

// ImportProgress is how far a running job has got: the phase and the rows
// handled in it, the rows of the file (known after the check), the rows of
// the write pass whose batches have committed, and the counts so far.
type ImportProgress struct {
	Phase     string
	Done      int
	Total     int
	Committed int
	Counts    ImportCounts
}

// ImportJob is a row of import_jobs.
type ImportJob struct {
	ID       int64
	PublicID string // the random id in URLs
	OwnerID  int64
	State    string
	Filename string
	Size     int64  // bytes of the upload (kept in import_chunks while pending)
	Options  []byte // JSON, the app's
	Progress ImportProgress
	Result   []byte // JSON, the app's; empty until there is one
	// Error is a message key when the job failed or was refused;
	// ErrorLine the line of the file it is about (0: none).
	Error      string
	ErrorLine  int
	Worker     string
	LeaseUntil *time.Time
	Attempts   int
	CreatedAt  time.Time
	UpdatedAt  time.Time
	StartedAt  *time.Time
	FinishedAt *time.Time
}

// Pending reports whether the job still holds its upload: it is arriving,
// waiting or being imported.
func (j *ImportJob) Pending() bool {
	switch j.State {
	case ImportUploading, ImportUploaded, ImportQueued, ImportRunning:
		return true
	}
	return false
}

const importJobColumns = `id, public_id, owner_id, state, filename, size, options, phase, done_rows, total_rows,
	committed_rows, rows_count, imported, updated, unchanged, skipped, duplicates, invalid, result, error, error_line,
	worker, lease_until, attempts, created_at, updated_at, started_at, finished_at`

func scanImportJob(row interface{ Scan(...any) error }) (*ImportJob, error) {
	var j ImportJob
	var opts, result string
	var lease, started, finished sql.NullTime
	p, c := &j.Progress, &j.Progress.Counts
	err := row.Scan(&j.ID, &j.PublicID, &j.OwnerID, &j.State, &j.Filename, &j.Size, &opts, &p.Phase, &p.Done, &p.Total,
		&p.Committed, &c.Rows, &c.Imported, &c.Updated, &c.Unchanged, &c.Skipped, &c.Duplicates, &c.Invalid, &result,
		&j.Error, &j.ErrorLine, &j.Worker, &lease, &j.Attempts, &j.CreatedAt, &j.UpdatedAt, &started, &finished)
	if err != nil {
		return nil, err
	}
	j.Options, j.Result = []byte(opts), []byte(result)
	j.LeaseUntil, j.StartedAt, j.FinishedAt = nullTime(lease), nullTime(started), nullTime(finished)
	j.CreatedAt, j.UpdatedAt = j.CreatedAt.UTC(), j.UpdatedAt.UTC()
	return &j, nil
}

// CreateImportJob stores j (owner, public id, file name) as a new upload
// (state uploading, no bytes yet) and sets its ID and times. Conflict when
// the owner has a pending job already.
func (s *Store) CreateImportJob(ctx context.Context, j *ImportJob) error {
	now := s.Now()
	j.State, j.CreatedAt, j.UpdatedAt = ImportUploading, now, now
	err := s.writeRow(ctx, `INSERT INTO import_jobs (public_id, owner_id, state, filename, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, j.PublicID, j.OwnerID, j.State, j.Filename, now, now).Scan(&j.ID)
	return s.wrap(err, "create import job")
}

// ImportJobByPublicID returns the job with the public id, or NotFound.
func (s *Store) ImportJobByPublicID(ctx context.Context, publicID string) (*ImportJob, error) {
	j, err := scanImportJob(s.queryRow(ctx, "SELECT "+importJobColumns+" FROM import_jobs WHERE public_id = ?", publicID))
	return j, s.wrap(err, "get import job")
}

// PendingImportJob returns the owner's pending job, or NotFound.
func (s *Store) PendingImportJob(ctx context.Context, owner int64) (*ImportJob, error) {
	j, err := scanImportJob(s.queryRow(ctx, "SELECT "+importJobColumns+" FROM import_jobs WHERE owner_id = ? AND state IN "+
		pendingStates, owner))
	return j, s.wrap(err, "get pending import job")
}

// DeleteImportJob removes a job and its bytes; a missing one is no error.
func (s *Store) DeleteImportJob(ctx context.Context, id int64) error {
	_, err := s.exec(ctx, "DELETE FROM import_jobs WHERE id = ?", id)
	return s.wrap(err, "delete import job")
}

// AddImportChunk appends piece seq of an upload (at most ImportChunkSize
// bytes) to the uploading job id, unless the bytes of all pending jobs
// would then pass totalMax. It reports false, and stores nothing, when they
// would. NotFound when the job is no longer uploading (it was replaced or
// cancelled meanwhile). Call it in a transaction (DB.InTx): the size and
// the piece go together. Uploads that arrive at the same moment on
// PostgreSQL may each pass the check and go over totalMax by a piece each.
func (s *Store) AddImportChunk(ctx context.Context, id int64, seq int, data []byte, totalMax int64) (bool, error) {
	n := int64(len(data))
	res, err := s.exec(ctx, `UPDATE import_jobs SET size = size + ?, updated_at = ?
		WHERE id = ? AND state = 'uploading'
		AND (SELECT COALESCE(SUM(size), 0) FROM import_jobs WHERE state IN `+pendingStates+`) + ? <= ?`,
		n, s.Now(), id, n, totalMax)
	if err != nil {
		return false, s.wrap(err, "count upload bytes")
	}
	if k, err := res.RowsAffected(); err != nil || k == 0 {
		var state string
		err := s.queryRow(ctx, "SELECT state FROM import_jobs WHERE id = ?", id).Scan(&state)
		if err == nil && state != ImportUploading {
			err = sql.ErrNoRows
		}
		return false, s.wrap(err, "add to upload")
	}
	_, err = s.exec(ctx, "INSERT INTO import_chunks (job_id, seq, data) VALUES (?, ?, ?)", id, seq, data)
	return err == nil, s.wrap(err, "store upload")
}

// ImportChunk returns piece seq of job id's upload; NotFound when it is
// gone (the job finished, was cancelled or expired).
func (s *Store) ImportChunk(ctx context.Context, id int64, seq int) ([]byte, error) {
	var b []byte
	err := s.queryRow(ctx, "SELECT data FROM import_chunks WHERE job_id = ? AND seq = ?", id, seq).Scan(&b)
	return b, s.wrap(err, "read upload")
}

// FinishImportUpload marks an uploading job uploaded. NotFound when it is no
// longer uploading.
func (s *Store) FinishImportUpload(ctx context.Context, id int64) error {
	res, err := s.exec(ctx, "UPDATE import_jobs SET state = 'uploaded', updated_at = ? WHERE id = ? AND state = 'uploading'",
		s.Now(), id)
	return s.affected(res, err, "finish upload")
}

// QueueImportJob queues an uploaded job with options, clearing what an
// earlier, refused run left. Conflict when it is not waiting for choices
// (already queued, running or finished).
func (s *Store) QueueImportJob(ctx context.Context, id int64, options []byte) error {
	res, err := s.exec(ctx, `UPDATE import_jobs SET state = 'queued', options = ?, phase = '', done_rows = 0,
		total_rows = 0, committed_rows = 0, rows_count = 0, imported = 0, updated = 0, unchanged = 0, skipped = 0,
		duplicates = 0, invalid = 0, result = '', error = '', error_line = 0, attempts = 0, updated_at = ?
		WHERE id = ? AND state = 'uploaded'`, string(options), s.Now(), id)
	if err := s.affected(res, err, "queue import job"); err != nil {
		if simplesender.IsKind(err, simplesender.KindNotFound) {
			return &simplesender.Error{Kind: simplesender.KindConflict, Message: "error.import.not_waiting", Cause: err}
		}
		return err
	}
	return nil
}

// claimable is the condition of a job a worker may take: queued, or running
// under a lease that has run out (its worker died).
const claimable = "(state = 'queued' OR (state = 'running' AND (lease_until IS NULL OR lease_until < ?)))"

// ClaimImportJobs takes up to limit claimable jobs, oldest first, for
// worker until leaseUntil: each becomes running with one more attempt. Two
// workers never get the same job: the claim of each is conditional on its
// state.
func (s *Store) ClaimImportJobs(ctx context.Context, worker string, leaseUntil time.Time, limit int) ([]*ImportJob, error) {
	now := s.Now()
	rows, err := s.queryW(ctx, "SELECT id FROM import_jobs WHERE "+claimable+" ORDER BY id LIMIT ?", now, limit)
	if err != nil {
		return nil, s.wrap(err, "find import jobs")
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, s.wrap(err, "find import jobs")
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, s.wrap(err, "find import jobs")
	}
	var out []*ImportJob
	for _, id := range ids {
		j, err := scanImportJob(s.writeRow(ctx, `UPDATE import_jobs SET state = 'running', worker = ?, lease_until = ?,
			attempts = attempts + 1, started_at = COALESCE(started_at, ?), updated_at = ?
			WHERE id = ? AND `+claimable+" RETURNING "+importJobColumns, worker, leaseUntil, now, now, id, now))
		if err == sql.ErrNoRows {
			continue // another worker was quicker
		}
		if err != nil {
			return out, s.wrap(err, "claim import job")
		}
		out = append(out, j)
	}
	return out, nil
}

// RunImportJobNow makes the uploaded job id running for worker at once,
// with options, without queueing it: the command line imports in its own
// process, and a worker of a server takes the job over only if that
// process dies (its lease runs out). Call it in a transaction (DB.InTx), so
// that no worker sees the job queued. Conflict when the job is not waiting
// for choices.
func (s *Store) RunImportJobNow(ctx context.Context, id int64, options []byte, worker string, leaseUntil time.Time) (*ImportJob, error) {
	if err := s.QueueImportJob(ctx, id, options); err != nil {
		return nil, err
	}
	now := s.Now()
	j, err := scanImportJob(s.writeRow(ctx, `UPDATE import_jobs SET state = 'running', worker = ?, lease_until = ?,
		attempts = 1, started_at = ?, updated_at = ? WHERE id = ? AND state = 'queued' RETURNING `+importJobColumns,
		worker, leaseUntil, now, now, id))
	return j, s.wrap(err, "run import job")
}

// fenced is the condition of every write of a worker to its job: it still
// holds the job. A job cancelled, or taken over after its lease ran out,
// refuses the old worker's writes.
const fenced = "id = ? AND worker = ? AND state = 'running'"

// RenewImportLease extends worker's lease on job id to leaseUntil and
// reports whether the worker still holds the job.
func (s *Store) RenewImportLease(ctx context.Context, id int64, worker string, leaseUntil time.Time) (bool, error) {
	res, err := s.exec(ctx, "UPDATE import_jobs SET lease_until = ? WHERE "+fenced, leaseUntil, id, worker)
	return held(res, err, s, "renew import lease")
}

// SaveImportProgress records how far worker's job id has got, and reports
// whether the worker still holds the job. Called in the transaction that
// writes a batch of rows, it commits the batch and the offset together.
func (s *Store) SaveImportProgress(ctx context.Context, id int64, worker string, p ImportProgress) (bool, error) {
	c := p.Counts
	res, err := s.exec(ctx, `UPDATE import_jobs SET phase = ?, done_rows = ?, total_rows = ?, committed_rows = ?,
		rows_count = ?, imported = ?, updated = ?, unchanged = ?, skipped = ?, duplicates = ?, invalid = ?, updated_at = ?
		WHERE `+fenced, p.Phase, p.Done, p.Total, p.Committed, c.Rows, c.Imported, c.Updated, c.Unchanged, c.Skipped,
		c.Duplicates, c.Invalid, s.Now(), id, worker)
	return held(res, err, s, "save import progress")
}

func held(res sql.Result, err error, s *Store, doing string) (bool, error) {
	if err != nil {
		return false, s.wrap(err, doing)
	}
	n, err := res.RowsAffected()
	return n == 1, s.wrap(err, doing)
}

// ImportEnd is how a worker leaves its job.
type ImportEnd struct {
	State     string // ImportDone, ImportFailed, or ImportUploaded (refused: the file stays to choose again)
	Progress  ImportProgress
	Result    []byte
	Error     string
	ErrorLine int
}

// EndImportJob leaves worker's job id in e.State with its outcome; a
// finished job's bytes are removed at once. It reports whether the worker
// still held the job (false: it was cancelled or taken over, and nothing
// was written). Call it in a transaction (DB.InTx), so that the state and
// the removal of the bytes are seen together.
func (s *Store) EndImportJob(ctx context.Context, id int64, worker string, e ImportEnd) (bool, error) {
	now := s.Now()
	var finished any
	if e.State != ImportUploaded {
		finished = now
	}
	c, p := e.Progress.Counts, e.Progress
	res, err := s.exec(ctx, `UPDATE import_jobs SET state = ?, phase = ?, done_rows = ?, total_rows = ?, committed_rows = ?,
		rows_count = ?, imported = ?, updated = ?, unchanged = ?, skipped = ?, duplicates = ?, invalid = ?, result = ?,
		error = ?, error_line = ?, worker = '', lease_until = NULL, updated_at = ?, finished_at = ? WHERE `+fenced,
		e.State, p.Phase, p.Done, p.Total, p.Committed, c.Rows, c.Imported, c.Updated, c.Unchanged, c.Skipped, c.Duplicates,
		c.Invalid, string(e.Result), e.Error, e.ErrorLine, now, finished, id, worker)
	ok, err := held(res, err, s, "end import job")
	if !ok || err != nil || e.State == ImportUploaded {
		return ok, err
	}
	return true, s.dropImportBytes(ctx, id)
}

func (s *Store) dropImportBytes(ctx context.Context, id int64) error {
	_, err := s.exec(ctx, "DELETE FROM import_chunks WHERE job_id = ?", id)
	return s.wrap(err, "remove upload")
}

// HandBackImportJob returns worker's running job id to the queue (the
// worker stops, as its process shuts down), keeping the committed offset
// so that the next worker resumes there. The attempt does not count.
func (s *Store) HandBackImportJob(ctx context.Context, id int64, worker string) (bool, error) {
	res, err := s.exec(ctx, `UPDATE import_jobs SET state = 'queued', worker = '', lease_until = NULL,
		attempts = attempts - 1, updated_at = ? WHERE `+fenced, s.Now(), id, worker)
	return held(res, err, s, "hand back import job")
}

// CancelImportJob stops job id: an upload that was never started is
// removed; a queued or running one becomes cancelled (a worker stops at its
// next batch; the batches written stay) and its bytes are removed. It
// returns the state the job is left in ("" when removed). Conflict when the
// job has finished. Call it in a transaction (DB.InTx).
func (s *Store) CancelImportJob(ctx context.Context, id int64) (string, error) {
	res, err := s.exec(ctx, "DELETE FROM import_jobs WHERE id = ? AND state IN ('uploading', 'uploaded')", id)
	if gone, err := held(res, err, s, "cancel import"); err != nil || gone {
		return "", err
	}
	now := s.Now()
	res, err = s.exec(ctx, `UPDATE import_jobs SET state = 'cancelled', worker = '', lease_until = NULL, updated_at = ?,
		finished_at = ? WHERE id = ? AND state IN ('queued', 'running')`, now, now, id)
	ok, err := held(res, err, s, "cancel import")
	if err != nil {
		return "", err
	}
	if !ok {
		return "", &simplesender.Error{Kind: simplesender.KindConflict, Message: "error.import.finished"}
	}
	return ImportCancelled, s.dropImportBytes(ctx, id)
}

// ExpireImportJobs removes uploads that have waited since before
// uploadsBefore (with their bytes) and finished jobs older than
// finishedBefore, and returns how many it removed.
func (s *Store) ExpireImportJobs(ctx context.Context, uploadsBefore, finishedBefore time.Time) (int64, error) {
	res, err := s.exec(ctx, `DELETE FROM import_jobs WHERE (state IN ('uploading', 'uploaded') AND updated_at < ?)
		OR (state IN ('done', 'failed', 'cancelled') AND finished_at < ?)`, uploadsBefore, finishedBefore)
	if err != nil {
		return 0, s.wrap(err, "expire import jobs")
	}
	n, _ := res.RowsAffected()
	return n, nil
}
