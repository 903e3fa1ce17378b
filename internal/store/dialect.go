package store

import (
	"errors"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
)

// dialect holds every difference between SQLite and PostgreSQL that the
// queries meet.
type dialect interface {
	name() string
	rebind(q string) string
	isUnique(err error) bool
	// rowLock is the clause that locks the rows a SELECT reads until the
	// transaction ends, in mode ("UPDATE", "SHARE", "UPDATE OF m"). SQLite
	// has none: its single writer already serialises write transactions.
	rowLock(mode string) string
}

type sqliteDialect struct{}

func (sqliteDialect) name() string           { return "sqlite" }
func (sqliteDialect) rebind(q string) string { return q }
func (sqliteDialect) rowLock(string) string  { return "" }
func (sqliteDialect) isUnique(err error) bool {
	var e *sqlite.Error
	// 2067: SQLITE_CONSTRAINT_UNIQUE, 1555: SQLITE_CONSTRAINT_PRIMARYKEY.
	return errors.As(err, &e) && (e.Code() == 2067 || e.Code() == 1555)
}

type postgresDialect struct{}

func (postgresDialect) name() string { return "postgres" }

func (postgresDialect) rowLock(mode string) string { return " FOR " + mode }

// rebind turns ? placeholders into $1, $2, ... Queries never hold a literal ?.
func (postgresDialect) rebind(q string) string {
	if !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 8)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

func (postgresDialect) isUnique(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == "23505"
}
