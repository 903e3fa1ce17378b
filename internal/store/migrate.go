package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations
var migrationsFS embed.FS

// migrationLockKey is the PostgreSQL advisory lock held while migrating, so
// that instances starting together migrate one after another.
const migrationLockKey = 7_311_402_555

// WithMigrationLock runs fn while holding a database-wide lock: a PostgreSQL
// advisory lock, or nothing extra on SQLite (its single writer serializes).
func (db *DB) WithMigrationLock(ctx context.Context, fn func() error) error {
	if db.Engine() != "postgres" {
		return fn()
	}
	conn, err := db.w.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", migrationLockKey); err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLockKey) //nolint:errcheck
	return fn()
}

// Migrate applies the pending embedded migrations of the engine's dialect,
// each in its own transaction, and returns how many it applied. Callers that
// may race another instance wrap it in WithMigrationLock.
func (db *DB) Migrate(ctx context.Context) (int, error) {
	if _, err := db.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version BIGINT PRIMARY KEY, name TEXT NOT NULL)`); err != nil {
		return 0, fmt.Errorf("create schema_migrations: %w", err)
	}
	applied := map[int]bool{}
	rows, err := db.w.QueryContext(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return 0, fmt.Errorf("read schema_migrations: %w", err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return 0, err
		}
		applied[v] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}

	dir := "migrations/" + db.Engine()
	entries, err := fs.ReadDir(migrationsFS, dir)
	if err != nil {
		return 0, err
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	n := 0
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(name, ".sql") {
			return n, fmt.Errorf("migration %s: name must be NNNN_name.sql", name)
		}
		if applied[v] {
			continue
		}
		body, err := migrationsFS.ReadFile(path.Join(dir, name))
		if err != nil {
			return n, err
		}
		err = db.InTx(ctx, func(s *Store) error {
			if _, err := s.tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			_, err := s.exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES (?, ?)", v, name)
			return err
		})
		if err != nil {
			return n, fmt.Errorf("migration %s: %w", name, err)
		}
		n++
	}
	return n, nil
}
