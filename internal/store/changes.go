package store

import (
	"context"
	"slices"
)

// ChangeFunc is told, after a write commits, whose cached views it changed:
// the figures of owners (their mailings, recipients, messages, sends), and
// when users is true the list of users as well.
type ChangeFunc func(ctx context.Context, owners []int64, users bool)

// OnChange sets the function told after each committed write (see
// ChangeFunc): the one place where cache invalidation happens, whoever
// wrote (a use case of the app, the sending engine, an import). Set it
// once, before the DB is used; nil tells nobody.
func (db *DB) OnChange(fn ChangeFunc) { db.onChange.Store(&fn) }

func (db *DB) notify(ctx context.Context, owners []int64, users bool) {
	fn := db.onChange.Load()
	if fn == nil || *fn == nil || len(owners) == 0 && !users {
		return
	}
	// Told even when the caller's context has ended: the write committed.
	(*fn)(context.WithoutCancel(ctx), owners, users)
}

// changeSet gathers the changes of one transaction, told when it commits.
type changeSet struct {
	owners []int64
	users  bool
}

// touch records, when err is nil, that this store's write changed the
// figures of owners (0s are ignored), and returns err. Outside a
// transaction the statement has committed: the change is told at once.
func (s *Store) touch(ctx context.Context, err error, owners ...int64) error {
	return s.record(ctx, err, false, owners)
}

// touchUsers is touch for a write that also changes the list of users.
func (s *Store) touchUsers(ctx context.Context, err error, ids ...int64) error {
	return s.record(ctx, err, true, ids)
}

func (s *Store) record(ctx context.Context, err error, users bool, owners []int64) error {
	if err != nil {
		return err
	}
	owners = slices.DeleteFunc(slices.Clone(owners), func(id int64) bool { return id == 0 })
	if s.changes == nil {
		s.db.notify(ctx, owners, users)
		return nil
	}
	for _, o := range owners {
		if !slices.Contains(s.changes.owners, o) {
			s.changes.owners = append(s.changes.owners, o)
		}
	}
	s.changes.users = s.changes.users || users
	return nil
}
