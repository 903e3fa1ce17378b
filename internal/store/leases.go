package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// TakeLease gives the lease name to holder until until, when nobody holds
// it, holder holds it already (it is renewed), or its holder let it expire
// (before now). It returns whether holder has it.
func (s *Store) TakeLease(ctx context.Context, name, holder string, now, until time.Time) (bool, error) {
	var got string
	err := s.writeRow(ctx, `INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE leases.holder = excluded.holder OR leases.expires_at < ?
		RETURNING holder`, name, holder, until, now).Scan(&got)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, s.wrap(err, "take lease "+name)
	}
	return got == holder, nil
}

// DropLease lets the lease name go when holder holds it, so that another
// instance may take it at once.
func (s *Store) DropLease(ctx context.Context, name, holder string) error {
	_, err := s.exec(ctx, "DELETE FROM leases WHERE name = ? AND holder = ?", name, holder)
	return s.wrap(err, "drop lease "+name)
}
