// Package apptest builds a complete App over a fresh database for tests of
// the app and of the layers above it (web, api): real store, real job queue
// working in the background, and e-mails written to an outbox folder.
package apptest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/mail"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/riverqueue/river"
	"golang.org/x/crypto/argon2"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/auth"
	"simplesender/internal/i18n"
	"simplesender/internal/jobs"
	"simplesender/internal/mailer"
	"simplesender/internal/ratelimit"
	"simplesender/internal/store"
	"simplesender/internal/store/storetest"
)

// Env is a running app for one test.
type Env struct {
	DB        *store.DB
	App       *app.App
	Bundle    *i18n.Bundle
	Outbox    string // folder the e-mails are written to
	Transport mailer.Transport
	URL       string        // database URL
	Redis     *redis.Client // set when SIMPLESENDER_TEST_REDIS_URL is
	// RedisPrefix starts the Redis keys of this Env's sessions; its rate
	// limits are under RedisPrefix+"rl:".
	RedisPrefix string

	queue *lazyQueue
}

// Options change the environment.
type Options struct {
	// Transport replaces the outbox (e.g. an SMTP server in the test).
	Transport mailer.Transport
	// Deps is applied to the app's dependencies before New.
	Deps func(d *app.Deps)
	// Queue, when set, wraps the job queue the app inserts into (a test
	// records the inserts); the jobs still run.
	Queue func(app.Enqueuer) app.Enqueuer
	// NoImportWorker leaves import jobs queued: no RunImports.
	NoImportWorker bool
}

// New builds an Env on the database at databaseURL (see storetest.NewURL).
func New(t testing.TB, databaseURL string, opts ...Options) *Env {
	t.Helper()
	ctx := context.Background()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	db := storetest.Open(t, databaseURL) // the job queue's migrations too
	bundle, err := i18n.New()
	if err != nil {
		t.Fatal(err)
	}
	outbox := filepath.Join(t.TempDir(), "outbox")
	tr := o.Transport
	if tr == nil {
		tr = mailer.NewOutbox(outbox)
	}
	e := &Env{DB: db, Bundle: bundle, Outbox: outbox, Transport: tr, URL: databaseURL}
	d := app.Deps{
		DB:        db,
		Transport: tr,
		Bundle:    bundle,
		MailFrom:  mailer.Address{Name: "simpleSENDER", Email: "noreply@example.com"},
		Logger:    slog.New(slog.DiscardHandler),
	}
	if u := os.Getenv(storetest.EnvRedis); u != "" {
		// CI: sessions and rate limits in Redis, under a prefix of this test's own.
		ro, err := redis.ParseURL(u)
		if err != nil {
			t.Fatal(err)
		}
		rdb := redis.NewClient(ro)
		t.Cleanup(func() { rdb.Close() })
		prefix := "test:" + auth.NewToken("")[:12] + ":"
		d.Sessions = auth.NewRedisSessions(rdb, prefix)
		d.Limiter = ratelimit.NewRedis(rdb, prefix+"rl:")
		e.Redis, e.RedisPrefix = rdb, prefix
	}
	if o.Deps != nil {
		o.Deps(&d)
	}
	// The app enqueues into the queue; the queue, when it starts, works
	// the jobs with the app.
	q, err := jobs.New(ctx, db, databaseURL, jobs.Config{Work: true, PollInterval: pollInterval})
	if err != nil {
		t.Fatal(err)
	}
	lq := &lazyQueue{q: q, started: make(chan struct{})}
	e.queue = lq
	d.Queue = lq
	if o.Queue != nil {
		d.Queue = o.Queue(lq)
	}
	a := app.New(d)
	lq.h = jobs.Handlers{Mailer: a, Cleaner: a}
	e.App = a
	t.Cleanup(func() {
		if !lq.wasStarted() {
			return
		}
		<-lq.started
		if lq.err != nil {
			t.Errorf("job queue: %v", lq.err)
			return
		}
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = q.Stop(sctx)
	})
	if !o.NoImportWorker {
		ictx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { a.RunImports(ictx); close(done) }()
		t.Cleanup(func() { stop(); <-done })
	}
	return e
}

// Each runs fn as a subtest on every engine (storetest.Each), each with an
// Env of its own made by New with opts.
func Each(t *testing.T, fn func(t *testing.T, env *Env), opts ...Options) {
	t.Helper()
	storetest.Each(t, func(t *testing.T, databaseURL string) {
		fn(t, New(t, databaseURL, opts...))
	})
}

// NewSQLite is New on a fresh SQLite database, for tests whose subject
// does not depend on the engine.
func NewSQLite(t testing.TB, opts ...Options) *Env {
	t.Helper()
	return New(t, storetest.NewURL(t, "sqlite"), opts...)
}

// pollInterval is how often a started job queue looks for e-mails to send.
// Each look parses River's largest query, which costs milliseconds of CPU
// under the race detector.
const pollInterval = 200 * time.Millisecond

// lazyQueue starts the job queue when the app first enqueues a job: a
// working queue polls the database even when idle, and most tests send no
// account e-mail. From then on, it works as in the service.
type lazyQueue struct {
	q       *jobs.Queue
	h       jobs.Handlers // the app, set once it is built
	once    sync.Once
	started chan struct{} // closed when Start has returned
	err     error         // of Start; read after started is closed
}

// InsertTx enqueues the job and starts the queue (in the background: on
// SQLite, the queue waits for the single writer connection that the
// caller's transaction holds).
func (l *lazyQueue) InsertTx(ctx context.Context, tx *sql.Tx, args river.JobArgs) error {
	if err := l.q.InsertTx(ctx, tx, args); err != nil {
		return err
	}
	l.once.Do(func() {
		go func() {
			defer close(l.started)
			l.err = l.q.Start(context.Background(), l.h)
		}()
	})
	return nil
}

// wasStarted reports whether InsertTx has started the queue, and stops it
// from starting later.
func (l *lazyQueue) wasStarted() bool {
	started := true
	l.once.Do(func() { started = false })
	return started
}

// Password is the password of users made by User.
const Password = "correct horse battery"

// PasswordHash returns an argon2id hash of Password with the cheapest
// parameters argon2 allows (64 KiB, one pass), made once per process. The
// service's own parameters (19 MiB, two passes) cost about half a second of
// CPU per hash or check under the race detector, and tests make and log in
// hundreds of users. A login checks a hash with the parameters written in it,
// as it does for hashes made by other settings, so nothing but the time
// differs; registration, password changes and resets still hash with the
// service's parameters (auth.HashPassword).
func PasswordHash() string { return passwordHash() }

var passwordHash = sync.OnceValue(func() string {
	const memoryKiB, passes, lanes = 64, 1, 1
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(Password), salt, passes, memoryKiB, lanes, 32)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, memoryKiB, passes, lanes,
		b64.EncodeToString(salt), b64.EncodeToString(key))
})

// User creates an account directly in the store with the given role and
// status (pending, active or blocked) and Password (hashed by PasswordHash).
func (e *Env) User(t testing.TB, email string, role simplesender.Role, status simplesender.Status) *simplesender.User {
	t.Helper()
	now := e.DB.Now()
	u := &simplesender.User{Email: email, Name: "Test " + strings.Split(email, "@")[0], Role: role, PasswordHash: PasswordHash()}
	if status != simplesender.StatusPending {
		u.ConfirmedAt = &now
	}
	if status == simplesender.StatusBlocked {
		u.BlockedAt = &now
	}
	if err := e.DB.Store().CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

// Mailing makes, through the app, a mailing of owner called name to new
// recipients at the given addresses, with a short plain-text message.
func (e *Env) Mailing(t testing.TB, owner *app.Actor, name string, emails ...string) *simplesender.Mailing {
	t.Helper()
	return e.MailingOf(t, owner, name, &simplesender.Message{Subject: name, BodyText: "Hello"}, emails...)
}

// MailingOf is Mailing with the message msg, which it creates.
func (e *Env) MailingOf(t testing.TB, owner *app.Actor, name string, msg *simplesender.Message, emails ...string) *simplesender.Mailing {
	t.Helper()
	ctx := context.Background()
	var ids []int64
	for _, addr := range emails {
		r := &simplesender.Recipient{Email: addr}
		if err := e.App.CreateRecipient(ctx, owner, r); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	if err := e.App.CreateMessage(ctx, owner, msg); err != nil {
		t.Fatal(err)
	}
	m, err := e.App.CreateMailing(ctx, owner, app.MailingInput{Name: name, MessageID: msg.ID, RecipientIDs: ids})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// StartDue starts the run of mailing id that is due at `at`, as the delivery
// engine does, and returns it; a mailing with nothing due fails the test.
func (e *Env) StartDue(t testing.TB, id int64, at time.Time) *simplesender.Run {
	t.Helper()
	ctx := context.Background()
	var run *simplesender.Run
	if err := e.DB.InTx(ctx, func(st *store.Store) error {
		var err error
		run, err = st.StartDue(ctx, id, at)
		return err
	}); err != nil || run == nil {
		t.Fatalf("start run of mailing %d: %v (run %v)", id, err, run)
	}
	return run
}

// Email is an e-mail found in the outbox.
type Email struct {
	To, Subject, Body string
	Path              string
}

// Emails returns the e-mails in the outbox addressed to `to`, oldest first.
func (e *Env) Emails(t testing.TB, to string) []Email {
	t.Helper()
	entries, _ := os.ReadDir(e.Outbox)
	names := []string{}
	for _, en := range entries {
		if strings.HasSuffix(en.Name(), ".eml") {
			names = append(names, en.Name())
		}
	}
	sort.Strings(names)
	var out []Email
	for _, n := range names {
		p := filepath.Join(e.Outbox, n)
		m, err := ReadEmail(p)
		if err != nil {
			t.Fatalf("outbox file %s: %v", n, err)
		}
		if strings.EqualFold(m.To, to) {
			out = append(out, m)
		}
	}
	return out
}

// WaitEmail waits (up to 10 s) until the outbox holds n e-mails to `to` and
// returns the newest.
func (e *Env) WaitEmail(t testing.TB, to string, n int) Email {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if q := e.queue; q != nil {
			select {
			case <-q.started:
				if q.err != nil {
					t.Fatalf("job queue: %v", q.err)
				}
			default:
			}
		}
		got := e.Emails(t, to)
		if len(got) >= n {
			return got[len(got)-1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited 10s for e-mail #%d to %s; outbox has %d", n, to, len(got))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ReadEmail parses an .eml file: the first address of To, the decoded
// subject and the decoded text body.
func ReadEmail(path string) (Email, error) {
	f, err := os.Open(path)
	if err != nil {
		return Email{}, err
	}
	defer f.Close()
	m, err := mail.ReadMessage(f)
	if err != nil {
		return Email{}, err
	}
	return decode(m, path)
}

// LinkToken returns the token query parameter of the first link in body that
// contains pathPart.
func LinkToken(t testing.TB, body, pathPart string) string {
	t.Helper()
	for _, f := range strings.Fields(body) {
		if strings.Contains(f, pathPart) && strings.Contains(f, "token=") {
			_, tok, _ := strings.Cut(f, "token=")
			tok, _, _ = strings.Cut(tok, "&")
			return tok
		}
	}
	t.Fatalf("no link with %q and a token in:\n%s", pathPart, body)
	return ""
}
