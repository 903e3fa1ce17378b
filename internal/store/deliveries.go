package store

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"time"

	"simplesender"
)

// Claimed is a delivery handed to a sender, with what it needs to render.
type Claimed struct {
	simplesender.Delivery
	MailingID int64
	OwnerID   int64
	Due       time.Time // when it was due: with ID, its place in the queue
	// Suppressed is why its address must not be mailed (the owner's
	// suppression list or the service-wide one), read in the claim's
	// transaction; "" when it may be sent. A suppressed claim ends as
	// DeliverySuppressed with no attempt.
	Suppressed simplesender.SuppressionReason
	// Values are the recipient's custom field values by key, read in the
	// claim's transaction (nil: none).
	Values map[string]string
}

// QueuePlace is a place in the queue of due deliveries, which is ordered
// by due time and id. Claims made after a place skip what lies before it:
// on PostgreSQL the queue's index keeps the entries of claimed deliveries
// until VACUUM, and reading past a million of them for every claim would
// make a large mailing slower the further it gets. The zero place is the
// queue's start.
type QueuePlace struct {
	Due time.Time
	ID  int64
}

// ClaimDeliveries marks up to limit due deliveries (pending, or deferred
// whose time has come) as sending, owned by instance, and returns them. The
// claim is committed before any message goes out (docs/lifecycle.md, invariant 2).
// On PostgreSQL, rows locked by another instance are skipped.
func (db *DB) ClaimDeliveries(ctx context.Context, instance string, now time.Time, limit int) ([]Claimed, error) {
	return db.Exchange(ctx, instance, now, nil, limit, QueuePlace{})
}

// RecordOutcomes writes a batch of outcomes in one transaction, and ends
// the runs they complete (see Exchange).
func (db *DB) RecordOutcomes(ctx context.Context, outs []Outcome) error {
	_, err := db.Exchange(ctx, "", time.Time{}, outs, 0, QueuePlace{})
	return err
}

// Exchange is the engine's one round trip per batch, in one transaction:
// it records outs (each delivery's new state and, for every real attempt,
// one attempt row, with the report counters run_counts and attempt_counts
// moving with them), claims up to limit due deliveries for instance (see
// ClaimDeliveries), and ends the runs whose deliveries are now all final.
// Only deliveries still in sending are changed, so an outcome never
// overwrites a state set by someone else meanwhile. Each part is one
// multi-row statement, whatever the batch size. Claims look for due
// deliveries after the place after; when fewer than limit are found there,
// the rest are looked for from the queue's start. Nothing is claimed when
// the transaction does not commit. Each claim whose address is suppressed
// says so (Claimed.Suppressed), read in the same transaction. It returns
// the claims.
func (db *DB) Exchange(ctx context.Context, instance string, now time.Time, outs []Outcome, limit int, after QueuePlace) ([]Claimed, error) {
	var out []Claimed
	err := db.InTx(ctx, func(s *Store) error {
		runs := map[int64]struct{}{}
		out = out[:0]
		if len(outs) > 0 {
			if err := s.recordOutcomes(ctx, outs, runs); err != nil {
				return err
			}
		}
		if limit > 0 {
			var err error
			if out, err = s.claim(ctx, instance, now, limit, after, out); err != nil {
				return err
			}
			if len(out) < limit && after != (QueuePlace{}) {
				if out, err = s.claim(ctx, instance, now, limit-len(out), QueuePlace{}, out); err != nil {
					return err
				}
			}
			if err := s.markSuppressed(ctx, out); err != nil {
				return err
			}
			if err := s.loadClaimValues(ctx, out); err != nil {
				return err
			}
		}
		if len(outs) == 0 {
			return nil
		}
		at := outs[len(outs)-1].At
		for r := range runs {
			if err := s.FinishRunIfDone(ctx, r, at); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		// Not committed (a cancelled context rolls the claim back): nothing
		// may be sent on its strength.
		return nil, err
	}
	return out, nil
}

func (s *Store) claim(ctx context.Context, instance string, now time.Time, limit int, after QueuePlace, out []Claimed) ([]Claimed, error) {
	lock := ""
	if s.db.Engine() == "postgres" {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	rows, err := s.queryW(ctx, `UPDATE deliveries SET status = `+sqlSending+`, claimed_by = ?,
		attempts = attempts + 1, updated_at = ?
		WHERE id IN (SELECT id FROM deliveries WHERE status IN `+sqlClaimable+` AND next_attempt_at <= ?
			AND (next_attempt_at, id) > (?, ?)
			ORDER BY next_attempt_at, id LIMIT ?`+lock+`)
		RETURNING id, run_id, recipient_id, email, last_name, first_name, middle_name, attempts, next_attempt_at`,
		instance, now, now, after.Due, after.ID, limit)
	if err != nil {
		return nil, s.wrap(err, "claim deliveries")
	}
	defer rows.Close()
	for rows.Next() {
		var c Claimed
		var rid sql.NullInt64
		if err := rows.Scan(&c.ID, &c.RunID, &rid, &c.Email, &c.LastName, &c.FirstName, &c.MiddleName, &c.Attempts, &c.Due); err != nil {
			return nil, s.wrap(err, "scan claim")
		}
		c.RecipientID = rid.Int64
		c.Status = simplesender.DeliverySending
		out = append(out, c)
	}
	return out, s.wrap(rows.Err(), "claim deliveries")
}

// Outcome is the result of one delivery attempt, to be recorded.
type Outcome struct {
	DeliveryID int64
	RunID      int64
	MailingID  int64
	OwnerID    int64
	Email      string
	Status     simplesender.DeliveryStatus // sent, deferred, failed, unknown; pending to release unsent; cancelled
	Cause      simplesender.Cause          // why; empty: any cause that leads from sending to Status
	Attempted  bool                        // false: nothing was tried (released or cancelled), no attempt row
	At         time.Time
	NextAt     time.Time // deferred: the next try; pending: due again then (zero: at once)
	Code       int
	Enhanced   string
	Response   string
	MessageID  string
}

// updateOutcomes sets each delivery's new state from one row of values:
// pending (released unsent) gives back the attempt it was counted for and
// keeps the last reply; suppressed (never tried) gives the attempt back
// too; a waiting state (deferred, pending) sets the next attempt's time;
// sent sets sent_at; every other state keeps the Message-ID of the try. Only deliveries in sending change: every outcome
// is a move from sending (see recordOutcomes).
var updateOutcomes = `UPDATE deliveries SET status = v.status, claimed_by = NULL,
	attempts = deliveries.attempts - CASE WHEN v.status IN (` + sqlPending + `, ` + sqlSuppressed + `) THEN 1 ELSE 0 END,
	next_attempt_at = CASE WHEN v.status IN ` + sqlWaiting + ` THEN v.next_at ELSE deliveries.next_attempt_at END,
	last_code = CASE WHEN v.status = ` + sqlPending + ` THEN deliveries.last_code ELSE v.code END,
	last_enhanced = CASE WHEN v.status = ` + sqlPending + ` THEN deliveries.last_enhanced ELSE v.enhanced END,
	last_response = CASE WHEN v.status = ` + sqlPending + ` THEN deliveries.last_response ELSE v.response END,
	message_id = CASE WHEN v.status IN ` + sqlWaiting + ` THEN deliveries.message_id ELSE v.message_id END,
	sent_at = CASE WHEN v.status = ` + sqlSent + ` THEN v.at ELSE deliveries.sent_at END,
	updated_at = v.at
	FROM v WHERE deliveries.id = v.id AND deliveries.status = ` + sqlSending + `
	RETURNING deliveries.id`

// insertAttempts writes one attempt row per row of values whose delivery
// still exists (its mailing may have been deleted meanwhile: then there is
// nothing to record against).
const insertAttempts = `INSERT INTO attempts (delivery_id, run_id, mailing_id, owner_id, email, attempted_at,
	success, code, enhanced, response)
	SELECT v.delivery_id, v.run_id, v.mailing_id, v.owner_id, v.email, v.at, v.success, v.code, v.enhanced, v.response
	FROM v WHERE EXISTS (SELECT 1 FROM deliveries WHERE deliveries.id = v.delivery_id)
	RETURNING delivery_id`

var (
	outcomeColumns = []valueColumn{{"id", "BIGINT"}, {"status", "TEXT"}, {"next_at", "TIMESTAMPTZ"}, {"code", "INTEGER"},
		{"enhanced", "TEXT"}, {"response", "TEXT"}, {"message_id", "TEXT"}, {"at", "TIMESTAMPTZ"}}
	attemptColumns = []valueColumn{{"delivery_id", "BIGINT"}, {"run_id", "BIGINT"}, {"mailing_id", "BIGINT"},
		{"owner_id", "BIGINT"}, {"email", "TEXT"}, {"at", "TIMESTAMPTZ"}, {"success", "BOOLEAN"}, {"code", "INTEGER"},
		{"enhanced", "TEXT"}, {"response", "TEXT"}}
)

// recordOutcomes writes outs: one UPDATE for the deliveries and one INSERT
// for the attempts, and the counters that follow them.
func (s *Store) recordOutcomes(ctx context.Context, outs []Outcome, runs map[int64]struct{}) error {
	byID := make(map[int64]*Outcome, len(outs))
	args := make([]any, 0, len(outs)*len(outcomeColumns))
	var owners []int64 // whose figures change: told when the transaction commits
	for i := range outs {
		o := &outs[i]
		if !outcomeAllowed(o) {
			return simplesender.Errorf("record outcome of delivery %d: %s is no move from %s (cause %q)", o.DeliveryID,
				o.Status, simplesender.DeliverySending, o.Cause)
		}
		runs[o.RunID] = struct{}{}
		byID[o.DeliveryID] = o
		if !slices.Contains(owners, o.OwnerID) {
			owners = append(owners, o.OwnerID)
		}
		next := o.NextAt // deferred: the next try; pending (released): when it is due again, or now
		if next.IsZero() || o.Status != simplesender.DeliveryDeferred && o.Status != simplesender.DeliveryPending {
			next = o.At
		}
		args = append(args, o.DeliveryID, string(o.Status), next, o.Code, o.Enhanced, o.Response, o.MessageID, o.At)
	}
	var counts tally // the report counters move with the rows, in this transaction
	rows, err := s.queryW(ctx, s.db.withValues(outcomeColumns, len(outs))+updateOutcomes, args...)
	if err != nil {
		return s.wrap(err, "record outcomes")
	}
	if err := scanIDs(rows, func(id int64) {
		if o := byID[id]; o != nil {
			counts.delivery(o.RunID, o.Status)
			if o.Status == simplesender.DeliverySuppressed {
				counts.returned(o.MailingID, o.OwnerID, o.At, returnSuppressed)
			}
		}
	}); err != nil {
		return s.wrap(err, "record outcomes")
	}

	args, n := args[:0], 0
	for i := range outs {
		if o := &outs[i]; o.Attempted {
			args = append(args, o.DeliveryID, o.RunID, o.MailingID, o.OwnerID, o.Email, o.At,
				o.Status == simplesender.DeliverySent, o.Code, o.Enhanced, o.Response)
			n++
		}
	}
	if n > 0 {
		rows, err := s.queryW(ctx, s.db.withValues(attemptColumns, n)+insertAttempts, args...)
		if err != nil {
			return s.wrap(err, "record attempts")
		}
		if err := scanIDs(rows, func(id int64) {
			if o := byID[id]; o != nil {
				counts.attempt(o.MailingID, o.OwnerID, o.At, o.Status == simplesender.DeliverySent)
			}
		}); err != nil {
			return s.wrap(err, "record attempts")
		}
	}
	return s.touch(ctx, counts.save(ctx, s), owners...)
}

// outcomeAllowed reports whether the domain allows o's move from sending.
func outcomeAllowed(o *Outcome) bool {
	if o.Cause != "" {
		return simplesender.CanTransition(simplesender.DeliverySending, o.Status, o.Cause)
	}
	for _, c := range simplesender.Causes {
		if simplesender.CanTransition(simplesender.DeliverySending, o.Status, c) {
			return true
		}
	}
	return false
}

// scanIDs calls fn with each row's single integer column and closes rows.
func scanIDs(rows *sql.Rows, fn func(int64)) error {
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return err
		}
		fn(id)
	}
	return rows.Err()
}

// valueColumn names a column of a VALUES list and its PostgreSQL type.
type valueColumn struct{ name, pgType string }

// withValues returns "WITH v (cols) AS (VALUES (?, ...), ...) " for n rows
// of cols, to prefix a statement that reads v. PostgreSQL gets each
// parameter's type spelled out; SQLite takes the values as they come.
func (db *DB) withValues(cols []valueColumn, n int) string {
	k := valuesKey{&cols[0], n}
	if q, ok := db.valuesSQL.Load(k); ok {
		return q.(string)
	}
	var b strings.Builder
	b.WriteString("WITH v (")
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.name)
	}
	b.WriteString(") AS (VALUES ")
	pg := db.Engine() == "postgres"
	for r := range n {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for i, c := range cols {
			if i > 0 {
				b.WriteString(", ")
			}
			if pg {
				b.WriteString("CAST(? AS " + c.pgType + ")")
			} else {
				b.WriteByte('?')
			}
		}
		b.WriteByte(')')
	}
	b.WriteString(") ")
	db.valuesSQL.Store(k, b.String())
	return b.String()
}

// valuesKey names a VALUES list: its columns (by their first element) and
// how many rows.
type valuesKey struct {
	cols *valueColumn
	n    int
}
