// Package store keeps the service's data in SQLite or PostgreSQL through
// database/sql. Queries are plain SQL written with ? placeholders; the few
// dialect differences live in dialect.go. Driver errors are turned into domain
// error kinds (no row: NotFound; unique violation: Conflict).
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "modernc.org/sqlite"             // registers "sqlite"

	"simplesender"
)

// DB is an open database: a writer pool and a reader pool (the same pool on
// PostgreSQL; on SQLite one writer connection beside several read-only ones).
type DB struct {
	w, r    *sql.DB
	dialect dialect
	now     atomic.Pointer[func() time.Time] // swapped by tests while jobs run
	// onChange is told whose data each committed write changed (OnChange).
	onChange atomic.Pointer[ChangeFunc]

	// Statements prepared once and reused, by SQL text and pool: parsing
	// SQL is a large part of the cost of a small statement on SQLite.
	valuesSQL sync.Map // valuesKey -> the text of withValues

	stmtMu sync.Mutex
	stmts  map[stmtKey]*sql.Stmt
	closed bool
}

type stmtKey struct {
	reader bool
	query  string
}

// maxStmts bounds the statement cache; statements past it run unprepared.
const maxStmts = 512

// stmt returns a prepared statement for q on the writer or reader pool, or
// nil when there is none yet. A miss prepares the statement in the
// background, when a connection is free: preparing inline could wait for
// the single SQLite writer connection that the caller's transaction holds.
func (db *DB) stmt(reader bool, q string) *sql.Stmt {
	k := stmtKey{reader, q}
	db.stmtMu.Lock()
	defer db.stmtMu.Unlock()
	if st, ok := db.stmts[k]; ok {
		return st // nil while being prepared
	}
	if len(db.stmts) >= maxStmts || db.closed {
		return nil
	}
	if db.stmts == nil {
		db.stmts = map[stmtKey]*sql.Stmt{}
	}
	db.stmts[k] = nil
	pool := db.w
	if reader {
		pool = db.r
	}
	go func() {
		st, err := pool.Prepare(q)
		db.stmtMu.Lock()
		defer db.stmtMu.Unlock()
		switch {
		case err != nil || db.closed:
			if st != nil {
				st.Close()
			}
			if !db.closed {
				delete(db.stmts, k)
			}
		default:
			db.stmts[k] = st
		}
	}()
	return nil
}

// Open connects to the database named by url ("sqlite:PATH" or
// "postgres://..."). It does not migrate; call Migrate.
//
// A SQLite URL may end in "?synchronous=normal" or "?synchronous=off" (see
// sqliteURL); without it, and with "?synchronous=full", every commit is on
// disk before it returns.
func Open(ctx context.Context, rawURL string) (*DB, error) {
	db := &DB{}
	db.SetClock(time.Now)
	switch {
	case strings.HasPrefix(rawURL, "sqlite:"):
		path, sync, err := sqliteURL(rawURL)
		if err != nil {
			return nil, err
		}
		if dir := filepath.Dir(path); dir != "" {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("create database folder: %w", err)
			}
		}
		if err := createPrivate(path); err != nil {
			return nil, err
		}
		// synchronous(FULL) by default: a commit is on disk before it
		// returns, so a delivery's sending state survives even a power loss
		// before its message goes out (docs/lifecycle.md, invariants 2 and 6). The engine
		// writes in batches, so it waits for the disk once per batch, not
		// per message.
		common := "_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(" + sync + ")&_pragma=foreign_keys(1)&_time_format=sqlite&_timezone=UTC"
		w, err := sql.Open("sqlite", "file:"+path+"?"+common+"&_txlock=immediate")
		if err != nil {
			return nil, err
		}
		w.SetMaxOpenConns(1)
		w.SetMaxIdleConns(1)
		w.SetConnMaxLifetime(0)
		r, err := sql.Open("sqlite", "file:"+path+"?"+common+"&_pragma=query_only(1)")
		if err != nil {
			w.Close()
			return nil, err
		}
		r.SetMaxOpenConns(8)
		r.SetMaxIdleConns(8)
		db.w, db.r, db.dialect = w, r, sqliteDialect{}
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		if _, err := url.Parse(rawURL); err != nil {
			return nil, fmt.Errorf("database URL: %w", err)
		}
		p, err := sql.Open("pgx", rawURL)
		if err != nil {
			return nil, err
		}
		p.SetMaxOpenConns(20)
		p.SetMaxIdleConns(10)
		p.SetConnMaxIdleTime(5 * time.Minute)
		db.w, db.r, db.dialect = p, p, postgresDialect{}
	default:
		return nil, errors.New("database URL: want sqlite:PATH or postgres://...")
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.w.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	return db, nil
}

// createPrivate creates an empty SQLite database file at path, readable
// and writable by its owner only (0600), unless it exists. The database
// holds password hashes and every address, and SQLite would create it 0644
// (less the umask); it gives the -wal and -shm files beside it the mode of
// the database file, so they are private too.
func createPrivate(path string) error {
	if path == "" || path == ":memory:" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case err == nil:
		return f.Close()
	case errors.Is(err, fs.ErrExist):
		return nil
	}
	return fmt.Errorf("create database file: %w", err)
}

// sqliteURL splits "sqlite:PATH[?synchronous=full|normal|off]" into the
// file's path and the value of SQLite's synchronous pragma (FULL when not
// given). NORMAL and OFF give up durability for speed: with NORMAL (in WAL
// mode) the last commits may be lost on a power failure or an operating
// system crash, though not when only the process dies; with OFF also the
// database may be corrupted by one. They are meant for tests and throwaway
// databases, never for a service that sends mail: a claim that is lost after
// its message went out would send that message again. The path cannot hold
// a '?' (SQLite's own URLs could not carry it either).
func sqliteURL(rawURL string) (path, synchronous string, err error) {
	path, query, _ := strings.Cut(strings.TrimPrefix(rawURL, "sqlite:"), "?")
	if path == "" {
		return "", "", errors.New("database URL: sqlite: needs a file path")
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return "", "", fmt.Errorf("database URL: %w", err)
	}
	synchronous = "FULL"
	for k, v := range q {
		if k != "synchronous" {
			return "", "", fmt.Errorf("database URL: unknown parameter %q (sqlite: takes only synchronous=full, normal or off)", k)
		}
		if len(v) != 1 {
			return "", "", errors.New("database URL: synchronous is given more than once")
		}
		switch strings.ToLower(v[0]) {
		case "full", "normal", "off":
			synchronous = strings.ToUpper(v[0])
		default:
			return "", "", fmt.Errorf("database URL: synchronous=%q: want full, normal or off", v[0])
		}
	}
	return path, synchronous, nil
}

// Close closes both pools.
func (db *DB) Close() error {
	db.stmtMu.Lock()
	db.closed = true
	for _, st := range db.stmts {
		if st != nil {
			st.Close()
		}
	}
	db.stmts = nil
	db.stmtMu.Unlock()
	err := db.w.Close()
	if db.r != db.w {
		if e := db.r.Close(); err == nil {
			err = e
		}
	}
	return err
}

// Rebind writes q's ? placeholders the way the database wants them
// (PostgreSQL: $1, $2, ...), for statements written outside the store.
func (db *DB) Rebind(q string) string { return db.dialect.rebind(q) }

// Engine returns "sqlite" or "postgres".
func (db *DB) Engine() string { return db.dialect.name() }

// Writer returns the pool that writes; the job queue uses it.
func (db *DB) Writer() *sql.DB { return db.w }

// SetClock replaces the clock used for timestamps (tests).
func (db *DB) SetClock(now func() time.Time) {
	f := func() time.Time { return now().UTC().Truncate(time.Microsecond) }
	db.now.Store(&f)
}

// Now returns the store's current time in UTC.
func (db *DB) Now() time.Time { return (*db.now.Load())() }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.w.PingContext(ctx) }

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Store runs queries, either directly on the pools or inside one transaction.
type Store struct {
	db *DB
	w  querier // writes
	r  querier // reads (the transaction itself inside one)
	tx *sql.Tx
	// txReader: tx runs on the reader pool (a read-only snapshot).
	txReader bool
	// changes gathers whose data tx changed, told when it commits (nil
	// outside a transaction: told at once).
	changes *changeSet
}

// Store returns a Store that runs each statement on its own.
func (db *DB) Store() *Store { return &Store{db: db, w: db.w, r: db.r} }

// InTx runs fn in one transaction on the writer, committing when fn returns
// nil and rolling back otherwise.
func (db *DB) InTx(ctx context.Context, fn func(s *Store) error) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	s := &Store{db: db, w: tx, r: tx, tx: tx, changes: &changeSet{}}
	if err := fn(s); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	db.notify(ctx, s.changes.owners, s.changes.users)
	return nil
}

// Tx returns the transaction the store runs in, or nil outside one.
func (s *Store) Tx() *sql.Tx { return s.tx }

// Now returns the store's clock reading.
func (s *Store) Now() time.Time { return s.db.Now() }

// prepared returns the cached prepared statement for q, bound to this
// store's transaction when it runs in one, or nil.
func (s *Store) prepared(ctx context.Context, reader bool, q string) *sql.Stmt {
	if s.tx != nil {
		reader = s.txReader
	}
	st := s.db.stmt(reader, q)
	if st != nil && s.tx != nil {
		return s.tx.StmtContext(ctx, st)
	}
	return st
}

func (s *Store) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	q = s.db.dialect.rebind(q)
	if st := s.prepared(ctx, false, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return s.w.ExecContext(ctx, q, args...)
}

func (s *Store) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	q = s.db.dialect.rebind(q)
	if st := s.prepared(ctx, true, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return s.r.QueryContext(ctx, q, args...)
}

// ownedBy is the condition that col is owner, with its arguments; with
// owner 0 (everyone's) it holds for every row.
func ownedBy(col string, owner int64) (string, []any) {
	if owner == 0 {
		return "1=1", nil
	}
	return col + " = ?", []any{owner}
}

// queryList runs q and returns its rows, each read by scan; what names the
// work in the errors.
func queryList[T any](ctx context.Context, s *Store, what string, scan func(scanner) (T, error), q string, args ...any) ([]T, error) {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, s.wrap(err, what)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, s.wrap(err, what)
		}
		out = append(out, v)
	}
	return out, s.wrap(rows.Err(), what)
}

func (s *Store) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	q = s.db.dialect.rebind(q)
	if st := s.prepared(ctx, true, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return s.r.QueryRowContext(ctx, q, args...)
}

// queryW runs a query that writes (UPDATE ... RETURNING) on the writer.
func (s *Store) queryW(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	q = s.db.dialect.rebind(q)
	if st := s.prepared(ctx, false, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return s.w.QueryContext(ctx, q, args...)
}

// writeRow runs a statement with RETURNING on the writer.
func (s *Store) writeRow(ctx context.Context, q string, args ...any) *sql.Row {
	q = s.db.dialect.rebind(q)
	if st := s.prepared(ctx, false, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return s.w.QueryRowContext(ctx, q, args...)
}

// wrap turns driver errors into domain kinds, saying what was being done.
func (s *Store) wrap(err error, doing string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return &simplesender.Error{Kind: simplesender.KindNotFound, Message: "error.not_found", Cause: fmt.Errorf("%s: %w", doing, err)}
	case s.db.dialect.isUnique(err):
		return &simplesender.Error{Kind: simplesender.KindConflict, Message: "error.conflict", Cause: fmt.Errorf("%s: %w", doing, err)}
	}
	var de *simplesender.Error
	if errors.As(err, &de) {
		return err
	}
	return simplesender.Errorf("%s: %w", doing, err)
}

// offsetArg is the OFFSET of a page: callers compute it with app.Offset,
// which never overflows; a negative one would fail on PostgreSQL and is
// read as 0, the start of the list.
func offsetArg(offset int) int { return max(offset, 0) }

// affected returns NotFound when a write touched no row.
func (s *Store) affected(res sql.Result, err error, doing string) error {
	if err != nil {
		return s.wrap(err, doing)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return s.wrap(err, doing)
	}
	if n == 0 {
		return s.wrap(sql.ErrNoRows, doing)
	}
	return nil
}
