// Package storetest opens fresh, migrated databases for tests: a SQLite file
// always, and a new PostgreSQL database per test when
// SIMPLESENDER_TEST_POSTGRES names a server (as CI does).
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

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

// Open opens the database at databaseURL and applies the store's migrations;
// it is closed when the test ends.
func Open(t testing.TB, databaseURL string) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}
