package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"simplesender"
	"simplesender/internal/csvio"
	"simplesender/internal/store"
)

// The import workers: every instance runs RunImports, which claims queued
// jobs (and jobs whose worker died) with a lease, renews the lease while
// it imports, and commits the job's offset with each batch of rows, so
// that a job taken over after a crash resumes after the last batch
// written. A job is never left running: it ends done, failed or
// cancelled, goes back to the queue when its instance shuts down, or is
// taken over when its lease runs out; after maxImportAttempts workers it
// fails with a message.

// maxImportAttempts is how many workers may take a job before it fails.
const maxImportAttempts = 3

var (
	// errLeaseLost stops a worker whose job was cancelled or taken over.
	errLeaseLost = errors.New("import job: lease lost")
	// errShutdown stops a worker whose instance shuts down.
	errShutdown = errors.New("import job: shutting down")
	// errChunkGone is a piece of an upload that is no longer there.
	errChunkGone = errors.New("import job: the file is gone")
)

// importState is the instance's part in the import jobs.
type importState struct {
	worker string        // this instance in leases: host and a random id
	wake   chan struct{} // a job was queued here
	// hook, set by tests, sees every progress report of a job this
	// instance runs once it is recorded, in the importing goroutine.
	hook func(ctx context.Context, p ImportProgress)
}

func newImportState() importState {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return importState{worker: fmt.Sprintf("%.40s-%s", host, hex.EncodeToString(b)), wake: make(chan struct{}, 1)}
}

// wakeImports tells this instance's workers that a job is queued.
func (a *App) wakeImports() {
	select {
	case a.imports.wake <- struct{}{}:
	default:
	}
}

// RunImports works import jobs until ctx ends: up to ImportConfig.Workers
// at once, queued here or on any other instance, or left by an instance
// that died. Once ctx ends it takes no new job and waits up to
// ImportConfig.Grace for the running ones; those still running then go
// back to the queue (their written batches stay), for another instance or
// the next start to resume. It also removes expired uploads and results.
func (a *App) RunImports(ctx context.Context) {
	cfg := a.Imports
	jobCtx, stop := context.WithCancelCause(context.WithoutCancel(ctx))
	defer stop(nil)
	var wg sync.WaitGroup
	running := 0
	ended := make(chan struct{}, cfg.Workers)
	tick := time.NewTicker(cfg.Poll)
	defer tick.Stop()
	var lastExpiry time.Time
	for ctx.Err() == nil {
		if time.Since(lastExpiry) > time.Minute {
			a.expireImports(ctx)
			lastExpiry = time.Now()
		}
		if free := cfg.Workers - running; free > 0 {
			jobs, err := a.DB.Store().ClaimImportJobs(ctx, a.imports.worker, a.Now().Add(cfg.Lease), free)
			if err != nil && ctx.Err() == nil {
				a.Logger.Error("claim import jobs", "err", err)
			}
			for _, j := range jobs {
				running++
				wg.Add(1)
				go func() {
					defer wg.Done()
					a.runJob(jobCtx, j, nil)
					ended <- struct{}{}
				}()
			}
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		case <-a.imports.wake:
		case <-ended:
			running--
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(cfg.Grace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		stop(errShutdown)
		<-done
	}
}

// RunImport imports job id, uploaded by UploadImport, in the calling
// goroutine with the choices o, and returns the job as it ended; o.Progress
// sees the import go. It is the command line's way: the job is visible to
// every instance while it runs, and should this process die, a server's
// worker takes it over when its lease runs out. When ctx ends first the
// import is cancelled (the batches written stay). Errors: as StartImport;
// the import's own outcome is in the job (Err).
func (a *App) RunImport(ctx context.Context, ac *Actor, id string, o ImportOptions) (*ImportJob, error) {
	j, err := a.job(ctx, ac, id)
	if err != nil {
		return nil, err
	}
	if err := authorize(ac, ActCreate, j.OwnerID); err != nil {
		return nil, err
	}
	if _, err := a.PreviewImportJob(ctx, ac, id, o.CSV, 1); err != nil {
		return nil, err
	}
	if err := a.checkImportList(ctx, j.OwnerID, o); err != nil {
		return nil, err
	}
	err = a.DB.InTx(ctx, func(s *store.Store) (err error) {
		j, err = s.RunImportJobNow(ctx, j.ID, encodeOptions(o), a.imports.worker, a.Now().Add(a.Imports.Lease))
		return err
	})
	if err != nil {
		return nil, err
	}
	a.runJob(ctx, j, o.Progress)
	return a.ImportJob(context.WithoutCancel(ctx), ac, id)
}

// runJob imports job j, which this instance has just claimed, and leaves
// it in its next state. progress, when set, sees the import go.
func (a *App) runJob(parent context.Context, j *store.ImportJob, progress func(ImportProgress)) {
	log := a.Logger.With("import", j.PublicID, "owner", j.OwnerID)
	end := func(e store.ImportEnd) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), 10*time.Second)
		defer cancel()
		err := a.DB.InTx(ctx, func(s *store.Store) error {
			_, err := s.EndImportJob(ctx, j.ID, a.imports.worker, e)
			return err
		})
		if err != nil {
			log.Error("end import job", "state", e.State, "err", err)
		}
	}
	if j.Attempts > maxImportAttempts {
		log.Error("import job given up: its workers kept stopping", "attempts", j.Attempts-1)
		end(store.ImportEnd{State: store.ImportFailed, Progress: j.Progress, Error: keyImportCrashed})
		return
	}
	var jo jobOptions
	if err := json.Unmarshal(j.Options, &jo); err != nil {
		log.Error("import job options", "err", err)
		end(store.ImportEnd{State: store.ImportFailed, Progress: j.Progress, Error: keyImportFailed})
		return
	}
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	go a.keepLease(ctx, cancel, j.ID, log)

	o := ImportOptions{CSV: jo.CSV, Update: jo.Update, ValidOnly: jo.ValidOnly, DryRun: jo.DryRun, ListID: jo.ListID}
	o.Progress = a.jobProgress(ctx, cancel, j, o.DryRun, progress)
	resume := &importResume{at: j.Progress.Committed, counts: countsOf(j.Progress.Counts),
		commit: func(s *store.Store, done int, c ImportCounts) error {
			held, err := s.SaveImportProgress(ctx, j.ID, a.imports.worker, store.ImportProgress{Phase: string(ImportWriting),
				Done: done, Total: c.Rows, Committed: done, Counts: storeCounts(c)})
			if err == nil && !held {
				err = errLeaseLost
			}
			return err
		}}
	if j.Progress.Committed > 0 {
		log.Info("resuming import", "after_rows", j.Progress.Committed, "attempt", j.Attempts)
	}
	res, err := a.importFile(ctx, j.OwnerID, newChunkReader(ctx, a.DB, j.ID, j.Size), o, resume)

	cause := context.Cause(ctx)
	switch {
	case errors.Is(cause, errLeaseLost) || errors.Is(err, errLeaseLost) || errors.Is(err, errChunkGone):
		return // cancelled (its file removed), or another worker has it: theirs to write
	case errors.Is(cause, errShutdown):
		hctx, hcancel := context.WithTimeout(context.WithoutCancel(parent), 10*time.Second)
		defer hcancel()
		if _, err := a.DB.Store().HandBackImportJob(hctx, j.ID, a.imports.worker); err != nil {
			log.Error("hand back import job", "err", err)
		} else {
			log.Info("import job handed back for shutdown")
		}
		return
	}
	e := importEnd(j, res, err, parent.Err() != nil)
	if e.Error == keyImportFailed {
		log.Error("import failed", "err", err)
	}
	end(e)
}

// importEnd is the state a job's import leaves it in: done; uploaded again
// when refused for its invalid rows; cancelled when the caller (the command
// line) gave up; failed, with the message key, otherwise.
func importEnd(j *store.ImportJob, res *ImportResult, err error, interrupted bool) store.ImportEnd {
	e := store.ImportEnd{State: store.ImportDone}
	if res != nil {
		e.Progress = store.ImportProgress{Phase: string(ImportWriting), Done: res.Rows, Total: res.Rows, Counts: storeCounts(res.ImportCounts)}
		e.Result, _ = json.Marshal(jobResult{Format: res.Format, Committed: res.Committed, Errors: res.Errors,
			DuplicateRows: res.DuplicateRows, Elapsed: res.Elapsed, Suppressed: res.Suppressed, SuppressedRows: res.SuppressedRows})
	}
	var ce *csvio.Error
	switch {
	case err == nil:
	case err == errInvalidRows:
		e.State, e.Error = store.ImportUploaded, errInvalidRows.Message
	case interrupted:
		e.State = store.ImportCancelled
	case errors.As(err, &ce):
		e.State, e.Error, e.ErrorLine = store.ImportFailed, ce.Key, ce.Line
	case simplesender.IsKind(err, simplesender.KindInvalid):
		e.State, e.Error = store.ImportFailed, simplesender.AsError(err).Message
	default:
		e.State, e.Error = store.ImportFailed, keyImportFailed
	}
	if e.State == store.ImportFailed && res == nil {
		e.Progress = j.Progress // what earlier workers committed
	}
	return e
}

// jobProgress returns the Progress of a job's import: it records the check
// phase, and the write phase of a dry run (whose batches commit nothing),
// at most every half second; a real write records itself with each batch.
func (a *App) jobProgress(ctx context.Context, cancel context.CancelCauseFunc, j *store.ImportJob, dry bool,
	also func(ImportProgress)) func(ImportProgress) {
	var last time.Time
	return func(p ImportProgress) {
		if also != nil {
			also(p)
		}
		if (p.Phase == ImportChecking || dry) && time.Since(last) >= 500*time.Millisecond {
			last = time.Now()
			// The check counts the rows; the counts of the batches an
			// earlier worker committed stay until this one commits its own.
			c := j.Progress.Counts
			c.Rows, c.Invalid = p.Rows, p.Invalid
			if p.Phase == ImportWriting {
				c = storeCounts(p.ImportCounts) // a dry run, which commits nothing
			}
			held, err := a.DB.Store().SaveImportProgress(ctx, j.ID, a.imports.worker, store.ImportProgress{Phase: string(p.Phase),
				Done: p.Done, Total: p.Total, Committed: j.Progress.Committed, Counts: c})
			if err == nil && !held {
				cancel(errLeaseLost)
			}
		}
		if a.imports.hook != nil {
			a.imports.hook(ctx, p)
		}
	}
}

// keepLease renews the lease on job id every third of ImportConfig.Lease
// until ctx ends; it cancels the job when the lease is lost (the job was
// cancelled or taken over) or has run out without a renewal.
func (a *App) keepLease(ctx context.Context, cancel context.CancelCauseFunc, id int64, log *slog.Logger) {
	lease := a.Imports.Lease
	t := time.NewTicker(lease / 3)
	defer t.Stop()
	until := time.Now().Add(lease)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		held, err := a.DB.Store().RenewImportLease(ctx, id, a.imports.worker, a.Now().Add(lease))
		switch {
		case err == nil && held:
			until = time.Now().Add(lease)
		case err == nil:
			cancel(errLeaseLost)
			return
		case ctx.Err() == nil:
			log.Warn("renew import lease", "err", err)
			if time.Now().After(until) {
				cancel(errLeaseLost) // another worker may have it by now
				return
			}
		}
	}
}

// chunkReader reads an upload from its pieces in the database, one piece
// in memory at a time; it seeks (an import reads the file twice).
type chunkReader struct {
	ctx  context.Context
	db   *store.DB
	id   int64
	size int64
	off  int64
	seq  int // the piece in buf; -1 for none
	buf  []byte
}

func newChunkReader(ctx context.Context, db *store.DB, id, size int64) *chunkReader {
	return &chunkReader{ctx: ctx, db: db, id: id, size: size, seq: -1}
}

// Read implements io.Reader.
func (r *chunkReader) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	seq := int(r.off / store.ImportChunkSize)
	if seq != r.seq {
		b, err := r.db.Store().ImportChunk(r.ctx, r.id, seq)
		if simplesender.IsKind(err, simplesender.KindNotFound) {
			return 0, errChunkGone
		}
		if err != nil {
			return 0, err
		}
		r.buf, r.seq = b, seq
	}
	at := int(r.off - int64(seq)*store.ImportChunkSize)
	if at >= len(r.buf) {
		return 0, io.ErrUnexpectedEOF // a piece shorter than the size says
	}
	n := copy(p, r.buf[at:])
	r.off += int64(n)
	return n, nil
}

// Seek implements io.Seeker.
func (r *chunkReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.off
	case io.SeekEnd:
		offset += r.size
	default:
		return r.off, errors.New("chunk reader: bad whence")
	}
	if offset < 0 {
		return r.off, errors.New("chunk reader: negative position")
	}
	r.off = offset
	return offset, nil
}
