package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"path"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"simplesender"
	"simplesender/internal/csvio"
	"simplesender/internal/store"
)

// CSV imports as jobs in the database. An upload is stored in the database
// (in pieces of store.ImportChunkSize) as the user's one pending import
// job, so that any instance can preview it, run it and show how it goes;
// the UI, the API and the command line all go through the functions here.
//
//	UploadImport -> PreviewImportJob ... -> StartImport -> (a worker) -> done
//
// Quota: a user has at most one pending job (a new upload replaces a
// waiting one; a queued or running one must end or be cancelled first),
// one file is at most ImportConfig.MaxFile bytes, and the files of all
// pending jobs together at most ImportConfig.MaxTotal. A finished job's
// bytes are removed at once, an upload nobody starts after ImportConfig.TTL,
// and a finished job's row (its result) after the same time.

// ImportConfig bounds uploads and tunes the import workers. Zero fields take
// the defaults.
type ImportConfig struct {
	MaxFile  int64         // bytes of one upload; default DefaultMaxUpload
	MaxTotal int64         // bytes of every pending upload together; default DefaultMaxUploads
	Workers  int           // imports one instance runs at once; default 2
	Lease    time.Duration // a worker holds a job this long without a sign of life; default 30s
	Poll     time.Duration // how often idle workers look for jobs from other instances; default 1s
	Grace    time.Duration // how long a shutdown waits for running imports; default 25s
	TTL      time.Duration // how long an upload waits, and a finished job's result is kept; default 1h
}

// Defaults of ImportConfig.
const (
	DefaultMaxUpload  = 50 << 20
	DefaultMaxUploads = 1 << 30
)

func (c *ImportConfig) fill() {
	if c.MaxFile <= 0 {
		c.MaxFile = DefaultMaxUpload
	}
	if c.MaxTotal <= 0 {
		c.MaxTotal = DefaultMaxUploads
	}
	if c.Workers <= 0 {
		c.Workers = 2
	}
	if c.Lease <= 0 {
		c.Lease = 30 * time.Second
	}
	if c.Poll <= 0 {
		c.Poll = time.Second
	}
	if c.Grace <= 0 {
		c.Grace = 25 * time.Second
	}
	if c.TTL <= 0 {
		c.TTL = time.Hour
	}
}

// ImportState is where an import job is.
type ImportState string

// The states of an import job. A job refused for its invalid rows goes back
// to ImportUploaded, with Error and Result set, to be started again.
const (
	ImportUploading ImportState = store.ImportUploading
	ImportUploaded  ImportState = store.ImportUploaded
	ImportQueued    ImportState = store.ImportQueued
	ImportRunning   ImportState = store.ImportRunning
	ImportDone      ImportState = store.ImportDone
	ImportFailed    ImportState = store.ImportFailed
	ImportCancelled ImportState = store.ImportCancelled
)

// ImportJob is an uploaded CSV file and the import made of it.
type ImportJob struct {
	ID       string // random, 32 hex digits
	OwnerID  int64
	State    ImportState
	Filename string
	Size     int64
	// Options are the choices the import was started with.
	Options  ImportOptions
	Progress ImportProgress
	// Result is set once the job is done, and when it was refused for its
	// invalid rows (they are listed) or failed part way (the counts of the
	// rows written).
	Result *ImportResult
	// Error is the message key of why the job failed or was refused;
	// ErrorLine the line of the file it is about (0: none).
	Error     string
	ErrorLine int
	// Attempts counts the workers that took the job (more than one after a
	// crash).
	Attempts   int
	CreatedAt  time.Time
	StartedAt  *time.Time
	FinishedAt *time.Time
}

// Working reports whether the job is queued or running.
func (j *ImportJob) Working() bool { return j.State == ImportQueued || j.State == ImportRunning }

// Refused reports whether the job was refused for its invalid rows: it
// waits for other choices, its rows listed in Result.
func (j *ImportJob) Refused() bool { return j.State == ImportUploaded && j.Error != "" }

// Err returns why the job failed or was refused as a domain error (nil
// otherwise): Invalid for the file (with the line in a *csvio.Error in the
// chain) or its rows, Internal with a message key for a failure of the
// service, Conflict for a cancelled job.
func (j *ImportJob) Err() error {
	switch {
	case j.State == ImportCancelled:
		return simplesender.E(simplesender.KindConflict, "error.import.cancelled")
	case j.Error == "":
		return nil
	case j.Error == keyImportFailed || j.Error == keyImportCrashed:
		return &simplesender.Error{Kind: simplesender.KindInternal, Message: j.Error}
	}
	return &simplesender.Error{Kind: simplesender.KindInvalid, Message: j.Error, Cause: &csvio.Error{Line: j.ErrorLine, Key: j.Error}}
}

// Message keys of the import jobs' errors.
const (
	keyImportFailed  = "error.import.failed"  // the service failed while importing
	keyImportCrashed = "error.import.crashed" // the workers running it kept dying
)

var (
	errImportBusy     = simplesender.E(simplesender.KindConflict, "error.import.busy")
	errImportTooLarge = simplesender.E(simplesender.KindTooLarge, "error.import.too_large")
	errImportQuota    = simplesender.E(simplesender.KindTooLarge, "error.import.quota")
	errImportGone     = simplesender.E(simplesender.KindNotFound, "import.expired")
)

// IsUploadTooLarge reports whether err refuses an upload for the size of
// the file itself (over ImportConfig.MaxFile), as opposed to the room left
// for uploads (error.import.quota).
func IsUploadTooLarge(err error) bool {
	e := simplesender.AsError(err)
	return e.Kind == simplesender.KindTooLarge && e.Message == errImportTooLarge.Message
}

// ImportLimits returns the largest upload and the room for all uploads
// together, in bytes.
func (a *App) ImportLimits() (maxFile, maxTotal int64) { return a.Imports.MaxFile, a.Imports.MaxTotal }

// jobOptions are the stored choices of a job (ImportOptions without the
// callback).
type jobOptions struct {
	CSV       csvio.Options `json:"csv"`
	Update    bool          `json:"update"`
	ValidOnly bool          `json:"valid_only"`
	DryRun    bool          `json:"dry_run"`
	ListID    int64         `json:"list_id,omitempty"`
}

func encodeOptions(o ImportOptions) []byte {
	b, _ := json.Marshal(jobOptions{CSV: o.CSV, Update: o.Update, ValidOnly: o.ValidOnly, DryRun: o.DryRun, ListID: o.ListID})
	return b
}

// jobResult is the stored part of a result that the job's columns do not
// hold.
type jobResult struct {
	Format        csvio.Format      `json:"format"`
	Committed     bool              `json:"committed"`
	Errors        []ImportRowError  `json:"errors"`
	DuplicateRows []ImportDuplicate `json:"duplicate_rows"`
	Elapsed       time.Duration     `json:"elapsed"`
	// Suppressed and SuppressedRows: see ImportResult.
	Suppressed     int                `json:"suppressed,omitempty"`
	SuppressedRows []ImportSuppressed `json:"suppressed_rows,omitempty"`
}

func countsOf(c store.ImportCounts) ImportCounts {
	return ImportCounts{Rows: c.Rows, Imported: c.Imported, Updated: c.Updated, Unchanged: c.Unchanged, Skipped: c.Skipped,
		Duplicates: c.Duplicates, Invalid: c.Invalid}
}

func storeCounts(c ImportCounts) store.ImportCounts {
	return store.ImportCounts{Rows: c.Rows, Imported: c.Imported, Updated: c.Updated, Unchanged: c.Unchanged, Skipped: c.Skipped,
		Duplicates: c.Duplicates, Invalid: c.Invalid}
}

// jobOf turns a row into an ImportJob.
func jobOf(r *store.ImportJob) *ImportJob {
	j := &ImportJob{ID: r.PublicID, OwnerID: r.OwnerID, State: ImportState(r.State), Filename: r.Filename, Size: r.Size,
		Error: r.Error, ErrorLine: r.ErrorLine, Attempts: r.Attempts, CreatedAt: r.CreatedAt, StartedAt: r.StartedAt,
		FinishedAt: r.FinishedAt}
	var o jobOptions
	if json.Unmarshal(r.Options, &o) == nil {
		j.Options = ImportOptions{CSV: o.CSV, Update: o.Update, ValidOnly: o.ValidOnly, DryRun: o.DryRun, ListID: o.ListID}
	}
	p := r.Progress
	j.Progress = ImportProgress{Phase: ImportPhase(p.Phase), Done: p.Done, Total: p.Total, ImportCounts: countsOf(p.Counts)}
	var res jobResult
	if len(r.Result) > 0 && json.Unmarshal(r.Result, &res) == nil {
		j.Result = &ImportResult{ImportCounts: countsOf(p.Counts), Format: res.Format, Committed: res.Committed,
			Errors: res.Errors, DuplicateRows: res.DuplicateRows, Elapsed: res.Elapsed,
			Suppressed: res.Suppressed, SuppressedRows: res.SuppressedRows}
	}
	return j
}

var importIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// job returns the job with public id that the actor may see: their own
// (the system sees every job). NotFound otherwise, and for an id that
// cannot be one.
func (a *App) job(ctx context.Context, ac *Actor, id string) (*store.ImportJob, error) {
	if ac.anonymous() && !ac.isSystem() {
		return nil, errUnauthenticated
	}
	if !importIDPattern.MatchString(id) {
		return nil, simplesender.E(simplesender.KindNotFound, "error.not_found")
	}
	j, err := a.DB.Store().ImportJobByPublicID(ctx, id)
	if err != nil {
		return nil, err
	}
	if !ac.isSystem() && j.OwnerID != ac.id() {
		return nil, simplesender.E(simplesender.KindNotFound, "error.not_found")
	}
	return j, nil
}

// ImportJob returns the import job id of the actor. Errors: NotFound (no
// such job, another user's, or one removed after ImportConfig.TTL),
// Unauthenticated.
func (a *App) ImportJob(ctx context.Context, ac *Actor, id string) (*ImportJob, error) {
	j, err := a.job(ctx, ac, id)
	if err != nil {
		return nil, err
	}
	return jobOf(j), nil
}

// PendingImport returns the pending import job (uploading, waiting for
// choices, queued or running) of the owner (0: the actor's own list; the
// system names it). Errors: NotFound when there is none, Unauthenticated.
func (a *App) PendingImport(ctx context.Context, ac *Actor, owner int64) (*ImportJob, error) {
	owner, err := a.importOwner(ctx, ac, owner)
	if err != nil {
		return nil, err
	}
	j, err := a.DB.Store().PendingImportJob(ctx, owner)
	if err != nil {
		return nil, err
	}
	return jobOf(j), nil
}

// UploadImport stores a CSV file read from src as the pending import job of
// the owner (0: the actor's own list; the system names it, as for
// ImportRecipients), replacing an upload of theirs that waits for choices.
// The file goes into the database a piece at a time, so memory does not
// grow with it. name is the file's name, for people to recognise it.
//
// Errors (nothing is kept after any):
//   - Conflict "error.import.busy": the owner's import is queued or running.
//   - TooLarge "error.import.too_large": the file is over
//     ImportConfig.MaxFile (not checked for the system: the operator's own
//     file); see IsUploadTooLarge.
//   - TooLarge "error.import.quota": the pending uploads of everyone
//     together would pass ImportConfig.MaxTotal.
//   - NotFound "import.expired": the upload was replaced or cancelled while
//     it arrived.
//   - src's errors as they are (a broken or oversized request body);
//     NotFound, Forbidden, Unauthenticated as ImportRecipients.
func (a *App) UploadImport(ctx context.Context, ac *Actor, owner int64, name string, src io.Reader) (*ImportJob, error) {
	owner, err := a.importOwner(ctx, ac, owner)
	if err != nil {
		return nil, err
	}
	a.expireImports(ctx)
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	j := &store.ImportJob{PublicID: hex.EncodeToString(b), OwnerID: owner, Filename: fileName(name)}
	for try := 0; ; try++ {
		err = a.DB.InTx(ctx, func(s *store.Store) error {
			old, err := s.PendingImportJob(ctx, owner)
			switch {
			case err == nil && (old.State == store.ImportQueued || old.State == store.ImportRunning):
				return errImportBusy
			case err == nil:
				if err := s.DeleteImportJob(ctx, old.ID); err != nil {
					return err
				}
			case !simplesender.IsKind(err, simplesender.KindNotFound):
				return err
			}
			return s.CreateImportJob(ctx, j)
		})
		// Two uploads of one user at the same moment: the later replaces
		// the earlier, as one after the other would.
		if err == nil || !simplesender.IsKind(err, simplesender.KindConflict) || err == errImportBusy || try == 2 {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	if err := a.storeUpload(ctx, j, src, !ac.isSystem()); err != nil {
		_ = a.DB.Store().DeleteImportJob(context.WithoutCancel(ctx), j.ID)
		return nil, err
	}
	r, err := a.DB.Store().ImportJobByPublicID(ctx, j.PublicID)
	if err != nil {
		return nil, err
	}
	return jobOf(r), nil
}

// storeUpload copies src into job j's pieces, within the limits, and marks
// it uploaded.
func (a *App) storeUpload(ctx context.Context, j *store.ImportJob, src io.Reader, limit bool) error {
	buf := make([]byte, store.ImportChunkSize)
	var size int64
	for seq := 0; ; seq++ {
		n, rerr := io.ReadFull(src, buf)
		if n > 0 {
			size += int64(n)
			if limit && size > a.Imports.MaxFile {
				return errImportTooLarge
			}
			var ok bool
			err := a.DB.InTx(ctx, func(s *store.Store) (err error) {
				ok, err = s.AddImportChunk(ctx, j.ID, seq, buf[:n], a.Imports.MaxTotal)
				return err
			})
			switch {
			case simplesender.IsKind(err, simplesender.KindNotFound):
				return errImportGone
			case err != nil:
				return err
			case !ok:
				return errImportQuota
			}
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return rerr
		}
	}
	err := a.DB.Store().FinishImportUpload(ctx, j.ID)
	if simplesender.IsKind(err, simplesender.KindNotFound) {
		return errImportGone
	}
	return err
}

// fileName keeps the last element of an uploaded file's name, without
// control characters, at most 200 characters.
func fileName(name string) string {
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	if name == "." || name == "/" {
		return ""
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, name)
	if utf8.RuneCountInString(name) > 200 {
		name = string([]rune(name)[:200])
	}
	return name
}

// PreviewImportJob is PreviewImport of job id's file. Errors: NotFound
// "import.expired" when the file is gone (the job finished or expired),
// and those of PreviewImport.
func (a *App) PreviewImportJob(ctx context.Context, ac *Actor, id string, o csvio.Options, n int) (*ImportPreview, error) {
	j, err := a.job(ctx, ac, id)
	if err != nil {
		return nil, err
	}
	if !j.Pending() || j.State == store.ImportUploading {
		return nil, errImportGone
	}
	p, err := a.previewFile(ctx, j.OwnerID, newChunkReader(ctx, a.DB, j.ID, j.Size), o, n)
	if errors.Is(err, errChunkGone) {
		return nil, errImportGone
	}
	return p, err
}

// StartImport queues job id's import with the choices o (o.Progress is not
// used: the job's row tells the progress). A worker of any instance runs it;
// ImportJob and WaitImport tell how it goes. The choices are checked on the
// first rows first. Errors: Invalid for choices that do not fit the file
// (as PreviewImport), Conflict "error.import.not_waiting" for a job already
// started or finished, NotFound "import.expired", Unauthenticated,
// Forbidden (a manager's upload from before the promotion).
func (a *App) StartImport(ctx context.Context, ac *Actor, id string, o ImportOptions) (*ImportJob, error) {
	j, err := a.job(ctx, ac, id)
	if err != nil {
		return nil, err
	}
	if err := authorize(ac, ActCreate, j.OwnerID); err != nil {
		return nil, err
	}
	if j.State != store.ImportUploaded {
		if !j.Pending() {
			return nil, errImportGone
		}
		return nil, simplesender.E(simplesender.KindConflict, "error.import.not_waiting")
	}
	if _, err := a.PreviewImportJob(ctx, ac, id, o.CSV, 1); err != nil {
		return nil, err
	}
	if err := a.checkImportList(ctx, j.OwnerID, o); err != nil {
		return nil, err
	}
	if err := a.DB.Store().QueueImportJob(ctx, j.ID, encodeOptions(o)); err != nil {
		return nil, err
	}
	a.wakeImports()
	return a.ImportJob(ctx, ac, id)
}

// CancelImport stops job id: an upload waiting for choices is removed, a
// queued or running import is cancelled (the batches already written stay;
// a worker stops at its next one) and its file removed. It returns the job
// as left, or nil when it was removed. Errors: Conflict
// "error.import.finished" for a finished job, NotFound, Unauthenticated.
func (a *App) CancelImport(ctx context.Context, ac *Actor, id string) (*ImportJob, error) {
	j, err := a.job(ctx, ac, id)
	if err != nil {
		return nil, err
	}
	var state string
	err = a.DB.InTx(ctx, func(s *store.Store) (err error) {
		state, err = s.CancelImportJob(ctx, j.ID)
		return err
	})
	if err != nil || state == "" {
		return nil, err
	}
	return a.ImportJob(ctx, ac, id)
}

// WaitImport returns job id once it is no longer queued or running, or as
// it is after wait (or when ctx ends). Errors: as ImportJob.
func (a *App) WaitImport(ctx context.Context, ac *Actor, id string, wait time.Duration) (*ImportJob, error) {
	deadline := time.Now().Add(wait)
	pause := 20 * time.Millisecond
	for {
		j, err := a.ImportJob(ctx, ac, id)
		if err != nil || !j.Working() || time.Now().After(deadline) {
			return j, err
		}
		t := time.NewTimer(min(pause, time.Until(deadline)))
		select {
		case <-ctx.Done():
			t.Stop()
			return j, nil
		case <-t.C:
		}
		pause = min(pause*2, 250*time.Millisecond)
	}
}

// expireImports removes uploads and results older than ImportConfig.TTL;
// a failure is only logged (the next try will do).
func (a *App) expireImports(ctx context.Context) {
	cutoff := a.Now().Add(-a.Imports.TTL)
	if _, err := a.DB.Store().ExpireImportJobs(ctx, cutoff, cutoff); err != nil && ctx.Err() == nil {
		a.Logger.Warn("expire imports", "err", err)
	}
}
