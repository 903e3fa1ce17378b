// Package jobs runs the background work of the service on River, over the same
// database as everything else (SQLite or PostgreSQL): account e-mails,
// maintenance, and later sending. Each kind of work has its own queue so that a
// slow mail server never starves the clean-up. Mailings are not sent through
// River: package delivery claims their deliveries from the database directly.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"simplesender/internal/store"
)

// Queue names.
const (
	QueueAccountEmail = "account_email"
	QueueMaintenance  = "maintenance"
)

// AccountEmailArgs asks for one account e-mail. It carries no secret: the
// worker makes the single-use token itself when it sends, so that the raw
// token exists only in the e-mail.
//
// It names the account by UserID, or by Email when the request that queued it
// must not look the account up (a password reset or a confirmation resend
// answers, and takes, the same whether or not the address has an account:
// the worker finds out, and sends nothing for an unknown address).
type AccountEmailArgs struct {
	Type   string `json:"type"` // AccountEmailConfirm, AccountEmailReset, AccountEmailExists
	UserID int64  `json:"user_id,omitempty"`
	Email  string `json:"email,omitempty"` // normalized address, when UserID is 0
	Lang   string `json:"lang"`
}

// Account e-mail types.
const (
	AccountEmailConfirm = "confirm" // confirm the address of a new account
	AccountEmailReset   = "reset"   // reset a forgotten password
	AccountEmailExists  = "exists"  // someone tried to register an address that has an account
)

// Kind implements river.JobArgs.
func (AccountEmailArgs) Kind() string { return "account_email" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (AccountEmailArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueAccountEmail, MaxAttempts: 20}
}

// CleanupArgs asks for removal of expired sessions and tokens.
type CleanupArgs struct{}

// Kind implements river.JobArgs.
func (CleanupArgs) Kind() string { return "cleanup" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (CleanupArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueMaintenance, MaxAttempts: 3}
}

// AccountMailer sends account e-mails; the app implements it.
type AccountMailer interface {
	SendAccountEmail(ctx context.Context, args AccountEmailArgs) error
}

// Cleaner removes expired data; the app implements it.
type Cleaner interface {
	Cleanup(ctx context.Context) error
}

// Handlers do the work of the jobs: the app. They are given to Start, so
// that the queue can be built before the app that enqueues into it.
type Handlers struct {
	Mailer  AccountMailer
	Cleaner Cleaner
}

// Config holds what the queue needs besides the database.
type Config struct {
	Logger       *slog.Logger
	PollInterval time.Duration // how often idle queues look for work; default 500ms
	// Work is false for a client that only inserts jobs (command line tools).
	Work bool
}

// Queue is the River client of this process.
type Queue struct {
	client   *river.Client[*sql.Tx]
	listener *pgxpool.Pool
	work     bool
	// h is set by Start, before any job is worked.
	h Handlers
}

func driverFor(db *store.DB) riverdriver.Driver[*sql.Tx] {
	if db.Engine() == "sqlite" {
		return riversqlite.New(db.Writer())
	}
	return riverdatabasesql.New(db.Writer())
}

// Migrate applies River's own migrations. Callers that may race another
// instance wrap it in store.DB.WithMigrationLock.
func Migrate(ctx context.Context, db *store.DB) error {
	m, err := rivermigrate.New(driverFor(db), &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return fmt.Errorf("job queue migrations: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("job queue migrations: %w", err)
	}
	return nil
}

// New makes the queue. With cfg.Work it works the account e-mail and
// maintenance queues once started; without, it only inserts.
// databaseURL is used on PostgreSQL for LISTEN/NOTIFY so jobs start at once.
func New(ctx context.Context, db *store.DB, databaseURL string, cfg Config) (*Queue, error) {
	q := &Queue{work: cfg.Work}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	drv := driverFor(db)
	if db.Engine() == "postgres" && cfg.Work {
		pool, err := pgxpool.New(ctx, databaseURL)
		if err != nil {
			return nil, fmt.Errorf("job queue listener: %w", err)
		}
		q.listener = pool
		drv = riverdatabasesql.NewWithPgxListener(db.Writer(), pool)
	}
	rc := &river.Config{
		Logger:               logger.With("component", "jobs"),
		JobTimeout:           2 * time.Minute,
		RescueStuckJobsAfter: 5 * time.Minute,
	}
	if cfg.Work {
		poll := cfg.PollInterval
		if poll <= 0 {
			poll = 500 * time.Millisecond
		}
		workers := river.NewWorkers()
		river.AddWorker(workers, &accountEmailWorker{q: q})
		river.AddWorker(workers, &cleanupWorker{q: q})
		rc.Workers = workers
		rc.FetchPollInterval = poll
		rc.FetchCooldown = min(poll, 100*time.Millisecond)
		rc.Queues = map[string]river.QueueConfig{
			QueueAccountEmail: {MaxWorkers: 4},
			// One job an hour: looking for it more often than the default
			// only costs queries (a short PollInterval is for e-mails).
			QueueMaintenance: {MaxWorkers: 1, FetchPollInterval: max(poll, 500*time.Millisecond)},
		}
		rc.PeriodicJobs = []*river.PeriodicJob{
			river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
				func() (river.JobArgs, *river.InsertOpts) { return CleanupArgs{}, nil },
				&river.PeriodicJobOpts{RunOnStart: true, ID: "cleanup"}),
		}
	}
	client, err := river.NewClient(drv, rc)
	if err != nil {
		q.close()
		return nil, fmt.Errorf("job queue: %w", err)
	}
	q.client = client
	return q, nil
}

// Start begins working jobs with h; it returns at once. A working queue
// needs both handlers.
func (q *Queue) Start(ctx context.Context, h Handlers) error {
	if q.work && (h.Mailer == nil || h.Cleaner == nil) {
		return errors.New("jobs: a working queue needs a Mailer and a Cleaner")
	}
	q.h = h
	return q.client.Start(ctx)
}

// Stop stops fetching new jobs and waits until running ones finish or ctx
// ends, then cancels what still runs.
func (q *Queue) Stop(ctx context.Context) error {
	defer q.close()
	err := q.client.Stop(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return q.client.StopAndCancel(context.Background())
	}
	return err
}

func (q *Queue) close() {
	if q.listener != nil {
		q.listener.Close()
		q.listener = nil
	}
}

// InsertTx enqueues a job inside the caller's transaction: the job exists if
// and only if the transaction commits.
func (q *Queue) InsertTx(ctx context.Context, tx *sql.Tx, args river.JobArgs) error {
	_, err := q.client.InsertTx(ctx, tx, args, nil)
	if err != nil {
		return fmt.Errorf("enqueue %s: %w", args.Kind(), err)
	}
	return nil
}

// Depth returns the number of jobs waiting (available, scheduled or retryable)
// per queue, for metrics.
func Depth(ctx context.Context, db *store.DB) (map[string]int, error) {
	rows, err := db.Writer().QueryContext(ctx, `SELECT queue, count(*) FROM river_job
		WHERE state IN ('available', 'scheduled', 'retryable') GROUP BY queue`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var name string
		var n int
		if err := rows.Scan(&name, &n); err != nil {
			return nil, err
		}
		out[name] = n
	}
	return out, rows.Err()
}

type accountEmailWorker struct {
	river.WorkerDefaults[AccountEmailArgs]
	q *Queue
}

func (w *accountEmailWorker) Work(ctx context.Context, job *river.Job[AccountEmailArgs]) error {
	return w.q.h.Mailer.SendAccountEmail(ctx, job.Args)
}

// NextRetry backs off 2 s, 8 s, 32 s, ... up to an hour between attempts
// (20 attempts span about 14 hours), so a mail server that is down for a while
// still gets the e-mail once it is back.
func (w *accountEmailWorker) NextRetry(job *river.Job[AccountEmailArgs]) time.Time {
	d := 2 * time.Second << (2 * min(max(job.Attempt-1, 0), 11))
	return time.Now().Add(min(d, time.Hour))
}

type cleanupWorker struct {
	river.WorkerDefaults[CleanupArgs]
	q *Queue
}

func (w *cleanupWorker) Work(ctx context.Context, _ *river.Job[CleanupArgs]) error {
	return w.q.h.Cleaner.Cleanup(ctx)
}
