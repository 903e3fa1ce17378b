package store

import (
	"context"
	"database/sql"
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
// the transaction does not commit. It returns the claims.
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
	rows, err := s.queryW(ctx, `UPDATE deliveries SET status = 'sending', claimed_by = ?,
		attempts = attempts + 1, updated_at = ?
		WHERE id IN (SELECT id FROM deliveries WHERE status IN ('pending', 'deferred') AND next_attempt_at <= ?
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
// keeps the last reply; deferred sets the next attempt's time; sent sets
// sent_at; every other state keeps the Message-ID of the try.
const updateOutcomes = `UPDATE deliveries SET status = v.status, claimed_by = NULL,
	attempts = deliveries.attempts - CASE WHEN v.status = 'pending' THEN 1 ELSE 0 END,
	next_attempt_at = CASE WHEN v.status IN ('deferred', 'pending') THEN v.next_at ELSE deliveries.next_attempt_at END,
	last_code = CASE WHEN v.status = 'pending' THEN deliveries.last_code ELSE v.code END,
	last_enhanced = CASE WHEN v.status = 'pending' THEN deliveries.last_enhanced ELSE v.enhanced END,
	last_response = CASE WHEN v.status = 'pending' THEN deliveries.last_response ELSE v.response END,
	message_id = CASE WHEN v.status IN ('pending', 'deferred') THEN deliveries.message_id ELSE v.message_id END,
	sent_at = CASE WHEN v.status = 'sent' THEN v.at ELSE deliveries.sent_at END,
	updated_at = v.at
	FROM v WHERE deliveries.id = v.id AND deliveries.status = 'sending'
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
	for i := range outs {
		o := &outs[i]
		runs[o.RunID] = struct{}{}
		byID[o.DeliveryID] = o
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
	return counts.save(ctx, s)
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

// Heartbeat records that engine instance id is alive.
func (db *DB) Heartbeat(ctx context.Context, id, host string, now time.Time) error {
	s := db.Store()
	_, err := s.exec(ctx, `INSERT INTO engine_instances (id, host, started_at, heartbeat_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`, id, host, now, now)
	return s.wrap(err, "heartbeat")
}

// RemoveInstance forgets an instance that stopped cleanly.
func (db *DB) RemoveInstance(ctx context.Context, id string) error {
	s := db.Store()
	_, err := s.exec(ctx, "DELETE FROM engine_instances WHERE id = ?", id)
	return s.wrap(err, "remove instance")
}

// unknownResponse is stored for deliveries whose sender died mid-send.
const unknownResponse = "outcome unknown: the sending process stopped while this message was being sent; it is not resent automatically"

// SweepOrphans turns deliveries left in sending by instances that stopped
// heart-beating before staleBefore (a crash) into unknown, each with an
// attempt row (and the report counters with them), and ends their runs when
// nothing else is open. It returns how many it marked and whose deliveries
// they were.
func (db *DB) SweepOrphans(ctx context.Context, self string, staleBefore, now time.Time) (int, []int64, error) {
	n := 0
	var owners []int64
	err := db.InTx(ctx, func(s *Store) error {
		rows, err := s.w.QueryContext(ctx, db.dialect.rebind(`SELECT d.id, d.run_id, r.mailing_id, r.owner_id, d.email
			FROM deliveries d JOIN runs r ON r.id = d.run_id
			WHERE d.run_id IN (SELECT id FROM runs WHERE finished_at IS NULL) AND d.status = 'sending' AND (d.claimed_by IS NULL OR (d.claimed_by <> ? AND NOT EXISTS (
				SELECT 1 FROM engine_instances i WHERE i.id = d.claimed_by AND i.heartbeat_at >= ?)))`), self, staleBefore)
		if err != nil {
			return s.wrap(err, "find orphans")
		}
		var outs []Outcome
		for rows.Next() {
			o := Outcome{Status: simplesender.DeliveryUnknown, Attempted: true, At: now, Response: unknownResponse}
			if err := rows.Scan(&o.DeliveryID, &o.RunID, &o.MailingID, &o.OwnerID, &o.Email); err != nil {
				rows.Close()
				return s.wrap(err, "scan orphan")
			}
			outs = append(outs, o)
		}
		rows.Close()
		runs := map[int64]struct{}{}
		var counts tally // the report counters move with the rows, in this transaction
		for _, o := range outs {
			runs[o.RunID] = struct{}{}
			res, err := s.exec(ctx, `UPDATE deliveries SET status = 'unknown', claimed_by = NULL, last_response = ?, updated_at = ?
				WHERE id = ? AND status = 'sending'`, o.Response, now, o.DeliveryID)
			if err != nil {
				return s.wrap(err, "mark unknown")
			}
			if changed, err := affectedOne(res); err != nil {
				return s.wrap(err, "mark unknown")
			} else if changed {
				counts.delivery(o.RunID, simplesender.DeliveryUnknown)
			}
			if _, err := s.exec(ctx, `INSERT INTO attempts (delivery_id, run_id, mailing_id, owner_id, email, attempted_at,
				success, code, enhanced, response) VALUES (?, ?, ?, ?, ?, ?, ?, 0, '', ?)`, o.DeliveryID, o.RunID, o.MailingID,
				o.OwnerID, o.Email, now, false, o.Response); err != nil {
				return s.wrap(err, "record unknown attempt")
			}
			counts.attempt(o.MailingID, o.OwnerID, now, false)
		}
		if err := counts.save(ctx, s); err != nil {
			return err
		}
		n = len(outs)
		seen := map[int64]bool{}
		for _, o := range outs {
			if !seen[o.OwnerID] {
				seen[o.OwnerID] = true
				owners = append(owners, o.OwnerID)
			}
		}
		if _, err := s.exec(ctx, "DELETE FROM engine_instances WHERE heartbeat_at < ? AND id <> ?", staleBefore, self); err != nil {
			return s.wrap(err, "forget dead instances")
		}
		for r := range runs {
			if err := s.FinishRunIfDone(ctx, r, now); err != nil {
				return err
			}
		}
		return nil
	})
	return n, owners, err
}

// CancelledRuns returns the ids of runs cancelled but not yet finished.
func (db *DB) CancelledRuns(ctx context.Context) (map[int64]bool, error) {
	rows, err := db.w.QueryContext(ctx, "SELECT id FROM runs WHERE cancelled_at IS NOT NULL AND finished_at IS NULL")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}

// DeliveryFilter selects deliveries of a run.
type DeliveryFilter struct {
	Status simplesender.DeliveryStatus
	Query  string
	Limit  int
	Offset int
}

const deliveryColumns = `id, run_id, recipient_id, email, last_name, first_name, middle_name, status, attempts,
	next_attempt_at, last_code, last_enhanced, last_response, message_id, sent_at, updated_at`

// ListDeliveries returns a page of run id's deliveries and the total matching.
func (s *Store) ListDeliveries(ctx context.Context, runID int64, f DeliveryFilter) ([]*simplesender.Delivery, int, error) {
	where, args := "WHERE run_id = ?", []any{runID}
	if f.Status != "" {
		if f.Status == simplesender.DeliveryPending {
			where += " AND status IN ('pending', 'sending', 'deferred')"
		} else {
			where += " AND status = ?"
			args = append(args, string(f.Status))
		}
	}
	if f.Query != "" {
		where += ` AND lower(email) LIKE ? ESCAPE '\'`
		args = append(args, likePattern(f.Query))
	}
	var total int
	if err := s.queryRow(ctx, "SELECT count(*) FROM deliveries "+where, args...).Scan(&total); err != nil {
		return nil, 0, s.wrap(err, "count deliveries")
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	rows, err := s.query(ctx, "SELECT "+deliveryColumns+" FROM deliveries "+where+" ORDER BY id LIMIT ? OFFSET ?",
		append(args, f.Limit, offsetArg(f.Offset))...)
	if err != nil {
		return nil, 0, s.wrap(err, "list deliveries")
	}
	defer rows.Close()
	var out []*simplesender.Delivery
	for rows.Next() {
		var d simplesender.Delivery
		var rid sql.NullInt64
		var next, sent sql.NullTime
		var st string
		if err := rows.Scan(&d.ID, &d.RunID, &rid, &d.Email, &d.LastName, &d.FirstName, &d.MiddleName, &st, &d.Attempts,
			&next, &d.LastCode, &d.LastEnhanced, &d.LastResponse, &d.MessageID, &sent, &d.UpdatedAt); err != nil {
			return nil, 0, s.wrap(err, "scan delivery")
		}
		d.RecipientID, d.Status = rid.Int64, simplesender.DeliveryStatus(st)
		if d.Status == simplesender.DeliveryDeferred {
			d.NextAttemptAt = nullTime(next)
		}
		d.SentAt = nullTime(sent)
		out = append(out, &d)
	}
	return out, total, s.wrap(rows.Err(), "list deliveries")
}

// AttemptsOf returns the attempts of the given deliveries, oldest first,
// grouped by delivery id.
func (s *Store) AttemptsOf(ctx context.Context, deliveryIDs []int64) (map[int64][]*simplesender.Attempt, error) {
	out := map[int64][]*simplesender.Attempt{}
	if len(deliveryIDs) == 0 {
		return out, nil
	}
	args := make([]any, len(deliveryIDs))
	for i, id := range deliveryIDs {
		args[i] = id
	}
	rows, err := s.query(ctx, `SELECT id, delivery_id, run_id, email, attempted_at, success, code, enhanced, response
		FROM attempts WHERE delivery_id IN (`+placeholders(len(args))+`) ORDER BY id`, args...)
	if err != nil {
		return nil, s.wrap(err, "list attempts")
	}
	defer rows.Close()
	for rows.Next() {
		a, err := scanAttempt(rows)
		if err != nil {
			return nil, err
		}
		out[a.DeliveryID] = append(out[a.DeliveryID], a)
	}
	return out, s.wrap(rows.Err(), "list attempts")
}

func scanAttempt(rows *sql.Rows) (*simplesender.Attempt, error) {
	var a simplesender.Attempt
	if err := rows.Scan(&a.ID, &a.DeliveryID, &a.RunID, &a.Email, &a.AttemptedAt, &a.Success, &a.Code, &a.Enhanced, &a.Response); err != nil {
		return nil, err
	}
	a.AttemptedAt = a.AttemptedAt.UTC()
	return &a, nil
}

// ListAttempts returns a page of every attempt of mailing id, oldest first.
func (s *Store) ListAttempts(ctx context.Context, mailingID int64, limit, offset int) ([]*simplesender.Attempt, int, error) {
	var total int
	if err := s.queryRow(ctx, "SELECT count(*) FROM attempts WHERE mailing_id = ?", mailingID).Scan(&total); err != nil {
		return nil, 0, s.wrap(err, "count attempts")
	}
	rows, err := s.query(ctx, `SELECT id, delivery_id, run_id, email, attempted_at, success, code, enhanced, response
		FROM attempts WHERE mailing_id = ? ORDER BY id LIMIT ? OFFSET ?`, mailingID, limit, offsetArg(offset))
	if err != nil {
		return nil, 0, s.wrap(err, "list attempts")
	}
	defer rows.Close()
	var out []*simplesender.Attempt
	for rows.Next() {
		a, err := scanAttempt(rows)
		if err != nil {
			return nil, 0, s.wrap(err, "scan attempt")
		}
		out = append(out, a)
	}
	return out, total, s.wrap(rows.Err(), "list attempts")
}

// WaitingDeliveries counts deliveries pending or deferred, for metrics.
func (db *DB) WaitingDeliveries(ctx context.Context) (int, error) {
	var n int
	err := db.r.QueryRowContext(ctx, "SELECT count(*) FROM deliveries WHERE status IN ('pending', 'deferred')").Scan(&n)
	return n, err
}
