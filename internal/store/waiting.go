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

// nextDeferredSQL and lastFailureSQL read why a mailing's last run waits,
// each the first entry of a partial index (the predicates are the same text
// as the indexes'). The run is a subquery, not a join, so that the planner
// seeks its entries rather than walking a larger index in the order asked
// for and joining each row to the mailing.
var (
	nextDeferredSQL = `SELECT d.next_attempt_at FROM deliveries d
		WHERE d.run_id = (SELECT m.last_run_id FROM mailings m WHERE m.id = ?) AND d.status = ` + sqlDeliveryDeferred + `
		ORDER BY d.next_attempt_at LIMIT 1`
	lastFailureSQL = `SELECT a.id, a.delivery_id, a.run_id, a.email, a.attempted_at, a.code, a.enhanced, a.response
		FROM attempts a WHERE a.run_id = (SELECT m.last_run_id FROM mailings m WHERE m.id = ?) AND a.success = FALSE
		ORDER BY a.id DESC LIMIT 1`
)

// MailingWaiting returns why the deliveries of mailing id's last run wait:
// when the next deferred one is tried again and the last failed attempt.
// Each is the first entry of a partial index (deliveries_run_deferred,
// attempts_run_failed), so the cost does not grow with the run. Deliveries
// given back because every server rests are pending, not deferred: the
// resting servers say when they are back.
func (s *Store) MailingWaiting(ctx context.Context, id int64) (Waiting, error) {
	var w Waiting
	var next sql.NullTime
	err := s.queryRow(ctx, nextDeferredSQL, id).Scan(&next)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return w, s.wrap(err, "next attempt")
	}
	w.NextAttempt = nullTime(next)
	var a simplesender.Attempt
	err = s.queryRow(ctx, lastFailureSQL, id).
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
