package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"simplesender"
)

// Waiting is why the deliveries of a mailing's last run wait.
type Waiting struct {
	// NextAttempt is the earliest time a deferred delivery of the run
	// (one that failed for now) is tried again; nil when none is deferred.
	NextAttempt *time.Time
	// LastFailure is the run's last failed attempt; nil when none failed.
	LastFailure *simplesender.Attempt
}

// MailingWaiting returns why the deliveries of mailing id's last run wait:
// when the next deferred one is tried again and the last failed attempt.
// The first reads the run's deferred deliveries (deliveries_run_status),
// usually few; the second stops at the newest failure (attempts_mailing,
// read backwards). Deliveries given back because every server rests are
// pending, not deferred: the resting servers say when they are back.
func (s *Store) MailingWaiting(ctx context.Context, id int64) (Waiting, error) {
	var w Waiting
	var next sql.NullTime
	err := s.queryRow(ctx, `SELECT d.next_attempt_at FROM deliveries d JOIN mailings m ON m.last_run_id = d.run_id
		WHERE m.id = ? AND d.status = ? ORDER BY d.next_attempt_at LIMIT 1`, id, simplesender.DeliveryDeferred).Scan(&next)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return w, s.wrap(err, "next attempt")
	}
	w.NextAttempt = nullTime(next)
	var a simplesender.Attempt
	err = s.queryRow(ctx, `SELECT a.id, a.delivery_id, a.run_id, a.email, a.attempted_at, a.code, a.enhanced, a.response
		FROM attempts a JOIN mailings m ON m.last_run_id = a.run_id
		WHERE a.mailing_id = ? AND m.id = ? AND a.success = ? ORDER BY a.id DESC LIMIT 1`, id, id, false).
		Scan(&a.ID, &a.DeliveryID, &a.RunID, &a.Email, &a.AttemptedAt, &a.Code, &a.Enhanced, &a.Response)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return w, s.wrap(err, "last failed attempt")
	default:
		a.AttemptedAt = a.AttemptedAt.UTC()
		w.LastFailure = &a
	}
	return w, nil
}
