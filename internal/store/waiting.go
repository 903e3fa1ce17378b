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
	// NextAttempt is the earliest time a waiting delivery of the run is
	// due (again); nil when none waits.
	NextAttempt *time.Time
	// LastFailure is the run's last failed attempt; nil when none failed.
	LastFailure *simplesender.Attempt
}

// MailingWaiting returns why the deliveries of mailing id's last run wait:
// when the next one is due and the last failed attempt. Both queries stop
// at the first row of an index (deliveries_todo, attempts_mailing), so they
// cost little whatever the size of the run.
func (s *Store) MailingWaiting(ctx context.Context, id int64) (Waiting, error) {
	var w Waiting
	var next sql.NullTime
	err := s.queryRow(ctx, `SELECT d.next_attempt_at FROM deliveries d JOIN mailings m ON m.last_run_id = d.run_id
		WHERE m.id = ? AND d.status IN ('pending', 'deferred') ORDER BY d.next_attempt_at LIMIT 1`, id).Scan(&next)
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
