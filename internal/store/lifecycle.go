package store

import (
	"context"
	"strings"
	"time"

	"simplesender"
)

// The state literals of the store's SQL, built once from the domain's
// lifecycle (simplesender.DeliveryStates and Transitions), so that the
// batched statements keep their shape and speed while the rules live in
// one place. TestStoreFollowsTransitions drives each statement through
// every state and checks it against simplesender.CanTransition.
var (
	sqlPending    = quoted(simplesender.DeliveryPending)
	sqlSending    = quoted(simplesender.DeliverySending)
	sqlSent       = quoted(simplesender.DeliverySent)
	sqlSuppressed = quoted(simplesender.DeliverySuppressed)
	sqlBounced    = quoted(simplesender.DeliveryBounced)
	sqlComplained = quoted(simplesender.DeliveryComplained)
	// sqlClaimable: the states a claim takes (pending, deferred); the
	// same text as the predicate of the partial index deliveries_todo.
	sqlClaimable = inList(simplesender.Sources(simplesender.DeliverySending, simplesender.CauseClaim))
	// sqlWaiting: the states that wait for the engine and keep their next
	// attempt time.
	sqlWaiting = inList(simplesender.DeliveryStatuses(simplesender.IsWaiting))
	// sqlOpen: the states the owner sees as pending (not final).
	sqlOpen = inList(simplesender.DeliveryStatuses(simplesender.IsOpen))
	// sqlCancellable: the states a cancel of the run changes at once; the
	// engine cancels those it holds (sending) itself, before sending.
	sqlCancellable = inList(filterStatuses(simplesender.Sources(simplesender.DeliveryCancelled, simplesender.CauseCancel),
		simplesender.IsWaiting))
	sqlCancelled = quoted(simplesender.DeliveryCancelled)
	// sqlDeliveryDeferred: the same text as the predicate of the partial
	// index deliveries_run_deferred.
	sqlDeliveryDeferred = quoted(simplesender.DeliveryDeferred)
	sqlUnknown          = quoted(simplesender.DeliveryUnknown)

	// mailingStatusSQL is the mailing's status once no start is pending
	// (simplesender.MailingStatusOf), for a statement on mailings.
	mailingStatusSQL = `CASE WHEN EXISTS (SELECT 1 FROM runs r WHERE r.mailing_id = mailings.id AND r.finished_at IS NULL) THEN ` +
		quoted(simplesender.MailingStatusOf(true, true, false)) +
		` WHEN last_run_id IS NULL THEN ` + quoted(simplesender.MailingStatusOf(false, false, false)) +
		` ELSE ` + quoted(simplesender.MailingStatusOf(true, false, false)) + ` END`
	sqlMailingRunning  = quoted(simplesender.MailingRunning)
	sqlMailingFinished = quoted(simplesender.MailingStatusOf(true, false, false))

	// finalColumns are the run_counts columns, one per final counter.
	finalColumns = counterColumns(simplesender.FinalCounters)
	// finalCountsSQL reads them from run_counts c: "COALESCE(c.sent, 0), ...";
	// sumFinalSQL adds them up over rows.
	finalCountsSQL = eachColumn("COALESCE(c.$, 0)")
	sumFinalSQL    = eachColumn("sum(COALESCE(c.$, 0))")
)

// quoted returns s as an SQL string literal. The domain's names are plain
// lower-case words; anything else is a programming error.
func quoted[S ~string](s S) string {
	if strings.ContainsAny(string(s), `'\`) {
		panic("store: state name needs quoting: " + string(s))
	}
	return "'" + string(s) + "'"
}

// inList returns "('a', 'b')".
func inList(ss []simplesender.DeliveryStatus) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = quoted(s)
	}
	return "(" + strings.Join(q, ", ") + ")"
}

// filterStatuses keeps the statuses of ss whose state keep accepts.
func filterStatuses(ss []simplesender.DeliveryStatus, keep func(simplesender.DeliveryState) bool) []simplesender.DeliveryStatus {
	var out []simplesender.DeliveryStatus
	for _, s := range ss {
		if st, ok := s.State(); ok && keep(st) {
			out = append(out, s)
		}
	}
	return out
}

func counterColumns(cs []simplesender.Counter) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.String()
	}
	return out
}

// finalIndex returns the place of counter c in FinalCounters, or -1.
func finalIndex(c simplesender.Counter) int {
	for i, k := range simplesender.FinalCounters {
		if k == c {
			return i
		}
	}
	return -1
}

// eachColumn returns pattern for each of finalColumns ($ stands for the
// column), separated by commas.
func eachColumn(pattern string) string {
	parts := make([]string, len(finalColumns))
	for i, c := range finalColumns {
		parts[i] = strings.ReplaceAll(pattern, "$", c)
	}
	return strings.Join(parts, ", ")
}

// sumColumns returns "p.a + p.b + ..." over cols.
func sumColumns(prefix string, cols []string) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = prefix + c
	}
	return strings.Join(parts, " + ")
}

// ApplyReport records a report that came back after delivery id was sent
// (simplesender.CauseBounce or CauseComplaint): on the delivery's locked
// row, the domain's AfterReport gives its new state, and the run's
// counters move with it (a bounce of a sent delivery: sent - 1, bounced +
// 1), so that counts and reports stay exact. It returns the new state.
// Errors: NotFound (no such delivery), Conflict (the report does not apply
// to the delivery's state; nothing changes). Run it in a transaction.
func (s *Store) ApplyReport(ctx context.Context, id int64, cause simplesender.Cause, at time.Time) (simplesender.DeliveryStatus, error) {
	var run, owner, mailing int64
	var from simplesender.DeliveryStatus
	err := s.writeRow(ctx, `SELECT d.run_id, r.owner_id, r.mailing_id, d.status FROM deliveries d JOIN runs r ON r.id = d.run_id
		WHERE d.id = ?`+s.rowLock("UPDATE OF d"), id).Scan(&run, &owner, &mailing, &from)
	if err != nil {
		return "", s.wrap(err, "lock delivery")
	}
	to, err := simplesender.AfterReport(from, cause)
	if err != nil {
		return from, err
	}
	if _, err := s.exec(ctx, "UPDATE deliveries SET status = ?, updated_at = ? WHERE id = ?", to, at, id); err != nil {
		return from, s.wrap(err, "record report")
	}
	var counts tally
	counts.move(run, from, to)
	switch to {
	case simplesender.DeliveryBounced:
		counts.returned(mailing, owner, at, returnHard)
	case simplesender.DeliveryComplained:
		counts.returned(mailing, owner, at, returnComplaint)
	}
	return to, s.touch(ctx, counts.save(ctx, s), owner)
}
