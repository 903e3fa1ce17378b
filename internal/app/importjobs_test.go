package app_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/app/apptest"
	"simplesender/internal/store/storetest"
)

// instance is another app on the same database, as a second server would
// be: its own connections, its own import worker (unless cfg.Workers < 0).
func instance(t *testing.T, dbURL string, cfg app.ImportConfig, hook func(context.Context, app.ImportProgress)) *app.App {
	t.Helper()
	db := storetest.Open(t, dbURL)
	work := cfg.Workers >= 0
	cfg.Workers = max(cfg.Workers, 0)
	if cfg.Poll == 0 {
		cfg.Poll = 20 * time.Millisecond
	}
	a := app.New(app.Deps{DB: db, Logger: slog.New(slog.DiscardHandler), Imports: cfg})
	if hook != nil {
		app.SetImportHook(a, hook)
	}
	if work {
		ctx, stop := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { a.RunImports(ctx); close(done) }()
		t.Cleanup(func() { stop(); <-done })
	}
	return a
}

// listFile is a CSV file of n rows; row 3 repeats row 2's address and row
// n-100 is invalid, so that an import has a duplicate and an invalid row on
// either side of its first batch.
func listFile(n int) string {
	var b strings.Builder
	b.WriteString("email,first_name\n")
	for i := range n {
		switch {
		case i == 2:
			b.WriteString("user0001@example.com,again\n")
		case i == n-100:
			b.WriteString("not an address,x\n")
		default:
			fmt.Fprintf(&b, "user%04d@example.com,N%d\n", i, i)
		}
	}
	return b.String()
}

// pauser is a hook that stops an import once its first batch is written
// (or, with phase ImportChecking, once the check has counted rows), until
// released (or until the import's context ends, when untilCancel).
type pauser struct {
	once        sync.Once
	phase       app.ImportPhase
	reached     chan struct{}
	release     chan struct{}
	untilCancel bool
}

func newPauser() *pauser {
	return &pauser{phase: app.ImportWriting, reached: make(chan struct{}), release: make(chan struct{})}
}

func (p *pauser) hook(ctx context.Context, pr app.ImportProgress) {
	if pr.Phase != p.phase || pr.Done == 0 {
		return
	}
	p.once.Do(func() {
		close(p.reached)
		if p.untilCancel {
			<-ctx.Done()
			return
		}
		<-p.release
	})
}

func (p *pauser) wait(t *testing.T) {
	t.Helper()
	select {
	case <-p.reached:
	case <-time.After(20 * time.Second):
		t.Fatal("the import never wrote its first batch")
	}
}

// eachWithoutWorker runs fn on every engine with an app whose own import
// worker is off: the instances that the test starts do the imports.
func eachWithoutWorker(t *testing.T, fn func(t *testing.T, env *apptest.Env)) {
	t.Helper()
	apptest.Each(t, fn, apptest.Options{NoImportWorker: true})
}

// startPaused uploads listFile(1200) as im through a, starts importing
// its valid rows, and returns the job once p holds the import.
func (im *importer) startPaused(a *app.App, p *pauser) *app.ImportJob {
	t := im.t
	t.Helper()
	job, err := a.UploadImport(ctx, im.ac, 0, "list.csv", strings.NewReader(listFile(1200)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.StartImport(ctx, im.ac, job.ID, app.ImportOptions{ValidOnly: true}); err != nil {
		t.Fatal(err)
	}
	p.wait(t)
	return job
}

// runWorker runs the import worker of a until shutdown; stopped is closed
// once RunImports has returned.
func runWorker(a *app.App) (shutdown func(), stopped chan struct{}) {
	runCtx, shutdown := context.WithCancel(context.Background())
	stopped = make(chan struct{})
	go func() { a.RunImports(runCtx); close(stopped) }()
	return shutdown, stopped
}

// waitState waits until job id of ac is in state, seen through a.
func waitState(t *testing.T, a *app.App, ac *app.Actor, id string, state app.ImportState) *app.ImportJob {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		j, err := a.ImportJob(ctx, ac, id)
		if err != nil {
			t.Fatal(err)
		}
		if j.State == state {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s is %s (%s), want %s", id, j.State, j.Error, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// chunkBytes sums the stored bytes of the uploads.
func chunkBytes(t *testing.T, env *apptest.Env) int64 {
	t.Helper()
	var n int64
	if err := env.DB.Writer().QueryRow("SELECT COALESCE(SUM(LENGTH(data)), 0) FROM import_chunks").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestUploadQuota(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		env := apptest.New(t, dbURL, apptest.Options{NoImportWorker: true, Deps: func(d *app.Deps) {
			d.Imports.MaxFile, d.Imports.MaxTotal = 2<<20+1000, 3<<20
		}})
		ann := newImporter(t, env, "ann@example.com")
		bob := newImporter(t, env, "bob@example.com")
		upload := func(im *importer, content string) (*app.ImportJob, error) {
			return env.App.UploadImport(ctx, im.ac, 0, "list.csv", strings.NewReader(content))
		}
		big := "email\n" + strings.Repeat("someone@example.com\n", (2<<20)/20) // 2 MiB and a little

		// A second upload replaces the first, and the first's bytes go.
		first, err := upload(ann, "email\nfirst@example.com\n")
		if err != nil {
			t.Fatal(err)
		}
		second, err := upload(ann, big)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := env.App.ImportJob(ctx, ann.ac, first.ID); !simplesender.IsKind(err, simplesender.KindNotFound) {
			t.Errorf("the replaced upload: %v, want NotFound", err)
		}
		if n := chunkBytes(t, env); n != int64(len(big)) || second.Size != n || second.State != app.ImportUploaded {
			t.Errorf("%d bytes stored, job %+v; want only the second upload's %d", n, second, len(big))
		}

		// Another user's upload that would pass the total is refused with
		// its own message, and nothing of it stays.
		_, err = upload(bob, big)
		if e := simplesender.AsError(err); e.Kind != simplesender.KindTooLarge || e.Message != "error.import.quota" || app.IsUploadTooLarge(err) {
			t.Fatalf("over the total: %v, want TooLarge error.import.quota", err)
		}
		if _, err := env.App.PendingImport(ctx, bob.ac, 0); !simplesender.IsKind(err, simplesender.KindNotFound) {
			t.Errorf("bob's refused upload is pending: %v", err)
		}
		if n := chunkBytes(t, env); n != int64(len(big)) {
			t.Errorf("%d bytes stored after the refused upload, want %d", n, len(big))
		}

		// Cancel removes the upload, and the room is there again.
		if j, err := env.App.CancelImport(ctx, ann.ac, second.ID); err != nil || j != nil {
			t.Fatalf("cancel: %+v, %v", j, err)
		}
		if n := chunkBytes(t, env); n != 0 {
			t.Errorf("%d bytes stored after the cancel", n)
		}
		// A file over the limit of one file.
		_, err = upload(bob, big+strings.Repeat("x", 2000))
		if !app.IsUploadTooLarge(err) {
			t.Fatalf("over the file limit: %v, want error.import.too_large", err)
		}
		if n := chunkBytes(t, env); n != 0 {
			t.Errorf("%d bytes stored after a file over the limit", n)
		}
		bobs, err := upload(bob, big)
		if err != nil {
			t.Fatalf("upload after the cancel: %v", err)
		}
		// Another user cannot see, start or cancel it.
		if _, err := env.App.CancelImport(ctx, ann.ac, bobs.ID); !simplesender.IsKind(err, simplesender.KindNotFound) {
			t.Errorf("ann cancels bob's upload: %v", err)
		}
		if _, err := env.App.StartImport(ctx, ann.ac, bobs.ID, app.ImportOptions{}); !simplesender.IsKind(err, simplesender.KindNotFound) {
			t.Errorf("ann starts bob's upload: %v", err)
		}

		// A queued import is not replaced by a new upload; cancelling it
		// drops its bytes but keeps it, cancelled, to be seen.
		if _, err := env.App.StartImport(ctx, bob.ac, bobs.ID, app.ImportOptions{ValidOnly: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := upload(bob, "email\nx@example.com\n"); !simplesender.IsKind(err, simplesender.KindConflict) {
			t.Errorf("upload beside a queued import: %v, want Conflict", err)
		}
		j, err := env.App.CancelImport(ctx, bob.ac, bobs.ID)
		if err != nil || j.State != app.ImportCancelled {
			t.Fatalf("cancel a queued import: %+v, %v", j, err)
		}
		if n := chunkBytes(t, env); n != 0 {
			t.Errorf("%d bytes stored after cancelling the queued import", n)
		}

		// An upload nobody starts expires after an hour.
		old, err := upload(ann, "email\nold@example.com\n")
		if err != nil {
			t.Fatal(err)
		}
		env.DB.SetClock(func() time.Time { return time.Now().Add(61 * time.Minute) })
		defer env.DB.SetClock(time.Now)
		if _, err := upload(bob, "email\nnew@example.com\n"); err != nil {
			t.Fatal(err)
		}
		if _, err := env.App.ImportJob(ctx, ann.ac, old.ID); !simplesender.IsKind(err, simplesender.KindNotFound) {
			t.Errorf("an upload of an hour ago: %v, want it gone", err)
		}
	})
}

// TestImportSeenFromAnotherInstance runs an import on one instance and
// follows it from another on the same database.
func TestImportSeenFromAnotherInstance(t *testing.T) {
	t.Parallel()
	eachWithoutWorker(t, func(t *testing.T, env *apptest.Env) {
		ann := newImporter(t, env, "ann@example.com")
		p := newPauser()
		one := instance(t, env.URL, app.ImportConfig{}, p.hook)
		two := instance(t, env.URL, app.ImportConfig{Workers: -1}, nil)

		job, err := one.UploadImport(ctx, ann.ac, 0, "list.csv", strings.NewReader(listFile(1200)))
		if err != nil {
			t.Fatal(err)
		}
		pv, err := two.PreviewImportJob(ctx, ann.ac, job.ID, app.ImportOptions{}.CSV, 3)
		if err != nil || len(pv.Rows) != 3 || pv.Rows[0].Recipient.Email != "user0000@example.com" {
			t.Fatalf("preview on the other instance: %+v, %v", pv, err)
		}
		if _, err := one.StartImport(ctx, ann.ac, job.ID, app.ImportOptions{ValidOnly: true}); err != nil {
			t.Fatal(err)
		}
		p.wait(t)
		mid, err := two.ImportJob(ctx, ann.ac, job.ID)
		if err != nil {
			t.Fatal(err)
		}
		if mid.State != app.ImportRunning || mid.Progress.Phase != app.ImportWriting || mid.Progress.Imported != 500 ||
			mid.Progress.Total != 1200 || mid.Progress.Done < 500 {
			t.Errorf("progress seen from the other instance: %s %+v", mid.State, mid.Progress)
		}
		close(p.release)
		done := waitState(t, two, ann.ac, job.ID, app.ImportDone)
		r := done.Result
		if r == nil || r.Imported != 1198 || r.Duplicates != 1 || r.Invalid != 1 || len(r.Errors) != 1 || r.Errors[0].Line != 1102 ||
			len(r.DuplicateRows) != 1 || r.DuplicateRows[0].Line != 4 || !r.Committed || r.Format.Separator != ',' {
			t.Fatalf("result seen from the other instance: %+v", r)
		}
		if n := chunkBytes(t, env); n != 0 {
			t.Errorf("a finished import keeps %d bytes", n)
		}
		if got := len(ann.list()); got != 1198 {
			t.Errorf("%d recipients, want 1198", got)
		}
	})
}

// TestImportResumesAfterItsWorkerDies kills an instance half way through an
// import (its database connections go, as in a crash), and then the
// instance that took the job over while it checked the file again: a third
// takes the job over once the lease runs out and carries on after the
// batch the first one wrote, so nothing is counted twice or lost.
func TestImportResumesAfterItsWorkerDies(t *testing.T) {
	t.Parallel()
	eachWithoutWorker(t, func(t *testing.T, env *apptest.Env) {
		ann := newImporter(t, env, "ann@example.com")
		p := newPauser()
		doomed := instance(t, env.URL, app.ImportConfig{Lease: 300 * time.Millisecond}, p.hook)
		job := ann.startPaused(env.App, p)
		doomed.DB.Close() // the crash: nothing more reaches the database from it
		close(p.release)
		if j, _ := env.App.ImportJob(ctx, ann.ac, job.ID); j.State != app.ImportRunning {
			t.Fatalf("before the takeover the job is %s", j.State)
		}

		p2 := newPauser()
		p2.phase = app.ImportChecking
		second := instance(t, env.URL, app.ImportConfig{Lease: 300 * time.Millisecond}, p2.hook)
		p2.wait(t)
		if j, _ := env.App.ImportJob(ctx, ann.ac, job.ID); j.Progress.Imported != 500 || j.Attempts != 2 {
			t.Errorf("while the second worker checks: %d attempts, %+v", j.Attempts, j.Progress)
		}
		second.DB.Close()
		close(p2.release)

		instance(t, env.URL, app.ImportConfig{}, nil)
		j := waitState(t, env.App, ann.ac, job.ID, app.ImportDone)
		if j.Attempts != 3 {
			t.Errorf("%d attempts, want 3", j.Attempts)
		}
		r := j.Result
		if r.Imported != 1198 || r.Unchanged != 0 || r.Duplicates != 1 || r.Invalid != 1 || len(r.DuplicateRows) != 1 {
			t.Errorf("resumed import: %s", counts(r))
		}
		if got := len(ann.list()); got != 1198 {
			t.Errorf("%d recipients, want 1198", got)
		}
	})
}

// TestImportFailsAfterRepeatedCrashes: a job whose workers keep dying is
// failed with a message, not left running nor taken forever.
func TestImportFailsAfterRepeatedCrashes(t *testing.T) {
	t.Parallel()
	eachWithoutWorker(t, func(t *testing.T, env *apptest.Env) {
		ann := newImporter(t, env, "ann@example.com")
		job, err := env.App.UploadImport(ctx, ann.ac, 0, "list.csv", strings.NewReader(listFile(200)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := env.App.StartImport(ctx, ann.ac, job.ID, app.ImportOptions{ValidOnly: true}); err != nil {
			t.Fatal(err)
		}
		// Three workers took it and died.
		_, err = env.DB.Writer().Exec(env.DB.Rebind(`UPDATE import_jobs SET state = 'running', worker = 'dead',
			lease_until = ?, attempts = 3 WHERE public_id = ?`), time.Now().Add(-time.Minute).UTC(), job.ID)
		if err != nil {
			t.Fatal(err)
		}
		instance(t, env.URL, app.ImportConfig{}, nil)
		j := waitState(t, env.App, ann.ac, job.ID, app.ImportFailed)
		if e := simplesender.AsError(j.Err()); j.Error != "error.import.crashed" || e.Message != "error.import.crashed" {
			t.Errorf("failed job: %q, %v", j.Error, j.Err())
		}
		if n := chunkBytes(t, env); n != 0 {
			t.Errorf("a failed import keeps %d bytes", n)
		}
		if got := len(ann.list()); got != 0 {
			t.Errorf("%d recipients imported by a job given up", got)
		}
	})
}

// TestShutdownWaitsForARunningImport stops an instance while its import
// runs: RunImports returns only once the import has ended, done.
func TestShutdownWaitsForARunningImport(t *testing.T) {
	t.Parallel()
	eachWithoutWorker(t, func(t *testing.T, env *apptest.Env) {
		ann := newImporter(t, env, "ann@example.com")
		p := newPauser()
		a := instance(t, env.URL, app.ImportConfig{Workers: -1}, p.hook)
		shutdown, stopped := runWorker(a)
		job := ann.startPaused(env.App, p)
		shutdown()
		select {
		case <-stopped:
			t.Fatal("RunImports returned while its import was running")
		case <-time.After(300 * time.Millisecond):
		}
		close(p.release)
		<-stopped
		j, err := env.App.ImportJob(ctx, ann.ac, job.ID)
		if err != nil || j.State != app.ImportDone || j.Result.Imported != 1198 {
			t.Fatalf("after the shutdown: %+v, %v", j, err)
		}
	})
}

// TestShutdownHandsBackALongImport: an import still running when the
// shutdown's grace ends goes back to the queue, and the next instance
// finishes it from where it was.
func TestShutdownHandsBackALongImport(t *testing.T) {
	t.Parallel()
	eachWithoutWorker(t, func(t *testing.T, env *apptest.Env) {
		ann := newImporter(t, env, "ann@example.com")
		p := newPauser()
		p.untilCancel = true
		a := instance(t, env.URL, app.ImportConfig{Workers: -1, Grace: 200 * time.Millisecond}, p.hook)
		shutdown, stopped := runWorker(a)
		job := ann.startPaused(env.App, p)
		shutdown()
		<-stopped
		j, err := env.App.ImportJob(ctx, ann.ac, job.ID)
		if err != nil || j.State != app.ImportQueued || j.Progress.Imported != 500 {
			t.Fatalf("handed back: %s %+v, %v", j.State, j.Progress, err)
		}
		instance(t, env.URL, app.ImportConfig{}, nil)
		j = waitState(t, env.App, ann.ac, job.ID, app.ImportDone)
		if r := j.Result; r.Imported != 1198 || r.Unchanged != 0 || j.Attempts != 1 {
			t.Errorf("finished by the next instance: %s, %d attempts", counts(r), j.Attempts)
		}
	})
}

// TestRunImportInTheCallersGoroutine is the command line's way: the job
// runs at once, visible as any other, and its progress is reported.
func TestRunImportInTheCallersGoroutine(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		owner := newImporter(t, env, "ann@example.com")
		job, err := env.App.UploadImport(ctx, app.System, owner.ac.User.ID, "list.csv", strings.NewReader(listFile(1200)))
		if err != nil {
			t.Fatal(err)
		}
		var phases []app.ImportPhase
		j, err := env.App.RunImport(ctx, app.System, job.ID, app.ImportOptions{ValidOnly: true, Progress: func(p app.ImportProgress) {
			if len(phases) == 0 || phases[len(phases)-1] != p.Phase {
				phases = append(phases, p.Phase)
			}
		}})
		if err != nil || j.State != app.ImportDone || j.Result.Imported != 1198 || j.OwnerID != owner.ac.User.ID {
			t.Fatalf("run: %+v, %v", j, err)
		}
		if fmt.Sprint(phases) != "[check write]" {
			t.Errorf("phases %v", phases)
		}
		// Invalid rows without ValidOnly: refused, the file kept to choose
		// again.
		job, err = env.App.UploadImport(ctx, app.System, owner.ac.User.ID, "again.csv", bytes.NewReader([]byte("email\nbad@@\n")))
		if err != nil {
			t.Fatal(err)
		}
		j, err = env.App.RunImport(ctx, app.System, job.ID, app.ImportOptions{})
		if err != nil || !j.Refused() || j.Result == nil || j.Result.Invalid != 1 || !simplesender.IsKind(j.Err(), simplesender.KindInvalid) {
			t.Fatalf("refused: %+v, %v", j, err)
		}
		if _, err := env.App.PreviewImportJob(ctx, app.System, job.ID, app.ImportOptions{}.CSV, 0); err != nil {
			t.Errorf("the refused file is gone: %v", err)
		}
	})
}

// TestCancelStopsARunningImport: a cancelled import stops at its next
// batch, keeps the batches written, and its worker writes nothing more.
func TestCancelStopsARunningImport(t *testing.T) {
	t.Parallel()
	eachWithoutWorker(t, func(t *testing.T, env *apptest.Env) {
		ann := newImporter(t, env, "ann@example.com")
		p := newPauser()
		a := instance(t, env.URL, app.ImportConfig{Workers: -1}, p.hook)
		shutdown, stopped := runWorker(a)
		job := ann.startPaused(env.App, p)
		j, err := env.App.CancelImport(ctx, ann.ac, job.ID)
		if err != nil || j.State != app.ImportCancelled {
			t.Fatalf("cancel: %+v, %v", j, err)
		}
		close(p.release)
		shutdown()
		<-stopped // the worker has done what it would
		j, err = env.App.ImportJob(ctx, ann.ac, job.ID)
		if err != nil || j.State != app.ImportCancelled || j.Progress.Imported != 500 || !simplesender.IsKind(j.Err(), simplesender.KindConflict) {
			t.Fatalf("after the cancel: %s %+v, %v", j.State, j.Progress, err)
		}
		if got := len(ann.list()); got != 500 {
			t.Errorf("%d recipients after the cancel, want the first batch's 500", got)
		}
		if n := chunkBytes(t, env); n != 0 {
			t.Errorf("a cancelled import keeps %d bytes", n)
		}
		if _, err := env.App.CancelImport(ctx, ann.ac, job.ID); !simplesender.IsKind(err, simplesender.KindConflict) {
			t.Errorf("cancel again: %v, want Conflict", err)
		}
	})
}
