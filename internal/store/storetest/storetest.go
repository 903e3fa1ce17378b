// Package storetest opens fresh, migrated databases for tests: a SQLite file
// always, and a new PostgreSQL database per test when
// SIMPLESENDER_TEST_POSTGRES names a server (as CI does).
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"simplesender/internal/jobs"
	"simplesender/internal/store"
)

// EnvPostgres names the environment variable with an admin URL of a
// PostgreSQL server, e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable.
const EnvPostgres = "SIMPLESENDER_TEST_POSTGRES"

// EnvRedis names the environment variable with a Redis URL for tests.
const EnvRedis = "SIMPLESENDER_TEST_REDIS_URL"

// EnvOnlyPostgres, set to 1 beside EnvPostgres, skips the SQLite runs (CI
// runs the suite once on SQLite alone, then again on PostgreSQL).
const EnvOnlyPostgres = "SIMPLESENDER_TEST_ONLY_POSTGRES"

// Engines returns the engines to test: "sqlite" (unless EnvOnlyPostgres),
// and "postgres" when EnvPostgres is set.
func Engines() []string {
	switch {
	case os.Getenv(EnvPostgres) == "":
		return []string{"sqlite"}
	case os.Getenv(EnvOnlyPostgres) == "1":
		return []string{"postgres"}
	}
	return []string{"sqlite", "postgres"}
}

// Each runs fn as a subtest on every engine, each with a fresh database URL
// (see NewURL: commits are not durable).
func Each(t *testing.T, fn func(t *testing.T, databaseURL string)) {
	t.Helper()
	for _, e := range Engines() {
		t.Run(e, func(t *testing.T) { fn(t, NewURL(t, e)) })
	}
}

// EachDurable is Each with the databases of NewDurableURL, for tests that
// kill processes.
func EachDurable(t *testing.T, fn func(t *testing.T, databaseURL string)) {
	t.Helper()
	for _, e := range Engines() {
		t.Run(e, func(t *testing.T) { fn(t, NewDurableURL(t, e)) })
	}
}

// NewURL creates an empty database on engine and returns its URL; it is
// dropped when the test ends.
//
// Its commits do not wait for the disk, which makes the tests several times
// faster: SQLite runs with synchronous=OFF (a parameter of the URL, so every
// store and server the test opens on it does), and the PostgreSQL database
// has synchronous_commit=off. Nothing a test checks depends on a commit
// surviving a power loss; the tests that kill processes to check what
// survives use NewDurableURL.
func NewURL(t testing.TB, engine string) string {
	t.Helper()
	return newURL(t, engine, false)
}

// NewDurableURL is NewURL with the durability of production: SQLite with
// synchronous=FULL and PostgreSQL with synchronous_commit=on.
func NewDurableURL(t testing.TB, engine string) string {
	t.Helper()
	return newURL(t, engine, true)
}

func newURL(t testing.TB, engine string, durable bool) string {
	t.Helper()
	if engine == "sqlite" {
		u := "sqlite:" + filepath.Join(t.TempDir(), "test.db")
		if !durable {
			u += "?synchronous=off"
		}
		return u
	}
	admin := os.Getenv(EnvPostgres)
	if admin == "" {
		t.Skip(EnvPostgres + " not set")
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "sstest_" + hex.EncodeToString(b)
	adb, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := adb.Exec("CREATE DATABASE " + name); err != nil {
		adb.Close()
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		defer adb.Close()
		if _, err := adb.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Logf("drop test database %s: %v", name, err)
		}
	})
	if !durable {
		// The default of every session on this database, the job queue's
		// own pool and a serve process started by the test included.
		if _, err := adb.Exec("ALTER DATABASE " + name + " SET synchronous_commit = off"); err != nil {
			t.Fatalf("test database: %v", err)
		}
	}
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// Open opens the database at databaseURL with every migration that serve
// applies (the store's and the job queue's); it is closed when the test ends.
//
// A SQLite database that does not exist yet (as NewURL leaves it) starts as
// a copy of one migrated once per test process: under the race detector,
// migrating takes seconds of CPU, and most tests need a migrated database.
// The migrations run on it anyway (finding nothing to do), so a copy that
// misses one cannot pass unnoticed.
func Open(t testing.TB, databaseURL string) *store.DB {
	t.Helper()
	ctx := context.Background()
	if path, ok := sqlitePath(databaseURL); ok {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			tpl, err := sqliteTemplate()
			if err != nil {
				t.Fatalf("migrated SQLite template: %v", err)
			}
			if err := os.WriteFile(path, tpl, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	db, err := store.Open(ctx, databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	return db
}

// migrate applies what server.Migrate applies.
func migrate(ctx context.Context, db *store.DB) error {
	if _, err := db.Migrate(ctx); err != nil {
		return err
	}
	return jobs.Migrate(ctx, db)
}

// sqlitePath returns the file of a "sqlite:PATH[?...]" URL.
func sqlitePath(databaseURL string) (string, bool) {
	rest, ok := strings.CutPrefix(databaseURL, "sqlite:")
	if !ok {
		return "", false
	}
	path, _, _ := strings.Cut(rest, "?")
	return path, true
}

// sqliteTemplate returns the bytes of a migrated SQLite database, made once
// per process.
var sqliteTemplate = sync.OnceValues(func() ([]byte, error) {
	dir, err := os.MkdirTemp("", "storetest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "template.db")
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite:"+path+"?synchronous=off")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if err := migrate(ctx, db); err != nil {
		return nil, err
	}
	// Everything into the main file, so that the file alone is the database.
	if _, err := db.Writer().ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return nil, err
	}
	return os.ReadFile(path)
})
