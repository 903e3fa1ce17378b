package store

import (
	"context"
	"database/sql"
	"time"

	"simplesender"
)

// RequestStart marks owner's mailing id to start a run of kind at `at`
// (now, or a time in the future) for trigger, replacing any pending start.
// It checks the request with simplesender.CheckStart on the locked rows:
// Conflict when a run is active or a start is already due, when the
// mailing is disabled, when its owner is blocked, when there is no one to
// send to, and for an immediate send of the whole audience within
// repeatWindow of the last run's start (a double click). Run it in a
// transaction: the owner's state is read under a lock that a block waits
// for.
func (s *Store) RequestStart(ctx context.Context, owner, id int64, at time.Time, kind simplesender.RunKind, trigger simplesender.Trigger, repeatWindow time.Duration) error {
	blocked, err := s.lockOwnerOf(ctx, owner, id)
	if err != nil {
		return err
	}
	m, err := s.lockMailing(ctx, owner, id)
	if err != nil {
		return err
	}
	now := s.Now()
	active, err := s.activeRun(ctx, id)
	if err != nil {
		return err
	}
	if rules, err := s.HasAudienceRules(ctx, id); err != nil {
		return err
	} else if rules {
		// The audience has lists or tags: is anyone in it now?
		if m.RecipientCount, err = s.CountAudience(ctx, m.OwnerID, id); err != nil {
			return err
		}
	}
	if err := simplesender.CheckStart(m, simplesender.StartRequest{Kind: kind, At: at, Now: now, OwnerBlocked: blocked,
		RunActive: active != 0, RepeatWindow: repeatWindow}); err != nil {
		return err
	}
	_, err = s.exec(ctx, `UPDATE mailings SET scheduled_at = ?, start_kind = ?, start_trigger = ?, status = ?,
		start_note = '', updated_at = ? WHERE id = ?`, at, kind, trigger, simplesender.MailingStatusOf(m.StartedAt != nil, active != 0, true), now, id)
	return s.touch(ctx, s.wrap(err, "request start"), m.OwnerID)
}

// CancelStart drops a pending start of mailing id and returns the mailing to
// its state before: created if it never ran, finished otherwise. NotFound
// when nothing is pending.
func (s *Store) CancelStart(ctx context.Context, owner, id int64) error {
	m, err := s.lockMailing(ctx, owner, id)
	if err != nil {
		return err
	}
	if m.ScheduledAt == nil {
		return simplesender.E(simplesender.KindNotFound, "error.mailing.nothing_to_cancel")
	}
	_, err = s.exec(ctx, `UPDATE mailings SET scheduled_at = NULL, start_kind = '', start_trigger = '',
		status = `+mailingStatusSQL+`, updated_at = ? WHERE id = ?`, s.Now(), id)
	return s.touch(ctx, s.wrap(err, "cancel start"), m.OwnerID)
}

// rowLock returns the clause that locks the rows a SELECT reads until this
// store's transaction ends ("" outside one, and on SQLite, whose single
// writer already serialises write transactions).
func (s *Store) rowLock(mode string) string {
	if s.tx == nil {
		return ""
	}
	return s.db.dialect.rowLock(mode)
}

// lockOwnerOf reports whether the owner of mailing id (owner, or when it is
// 0 the mailing's own) is blocked, and keeps the owner's row locked until
// the transaction ends. Blocking locks that row first (see LockUser), so it
// waits for a start that read the owner before it, and a start that comes
// after a block sees it: no run starts once a block has returned. Starts
// lock the owner before the mailing, as blocking does, so the two never
// wait for each other in a circle. The lock is exclusive (NO KEY UPDATE,
// which still lets rows that refer to the user be written): the user's
// starts then take turns, and a block waits in that queue instead of
// starving behind shared locks that keep overlapping. NotFound when there
// is no such mailing.
func (s *Store) lockOwnerOf(ctx context.Context, owner, id int64) (bool, error) {
	if owner == 0 {
		err := s.w.QueryRowContext(ctx, s.db.dialect.rebind("SELECT owner_id FROM mailings WHERE id = ?"), id).Scan(&owner)
		if err != nil {
			return false, s.wrap(err, "find mailing owner")
		}
	}
	var blocked sql.NullTime
	err := s.w.QueryRowContext(ctx, s.db.dialect.rebind("SELECT blocked_at FROM users WHERE id = ?"+s.rowLock("NO KEY UPDATE")), owner).Scan(&blocked)
	return blocked.Valid, s.wrap(err, "lock mailing owner")
}

// lockMailing reads the mailing, with the counts of its last run, for an
// update in this transaction (a row lock on PostgreSQL; SQLite's single
// writer already serializes).
func (s *Store) lockMailing(ctx context.Context, owner, id int64) (*simplesender.Mailing, error) {
	mine, args := ownedBy("m.owner_id", owner)
	q := "SELECT " + mailingColumns + mailingFrom + "WHERE m.id = ? AND " + mine
	args = append([]any{id}, args...)
	q += s.rowLock("UPDATE OF m")
	// With the last run's counts, which the checks of a resend read.
	m, err := scanMailing(s.w.QueryRowContext(ctx, s.db.dialect.rebind(q), args...))
	return m, s.wrap(err, "lock mailing")
}

// RunActive reports whether a run of mailing id is not finished.
func (s *Store) RunActive(ctx context.Context, mailingID int64) (bool, error) {
	id, err := s.activeRun(ctx, mailingID)
	return id != 0, err
}

func (s *Store) activeRun(ctx context.Context, mailingID int64) (int64, error) {
	var id int64
	err := s.w.QueryRowContext(ctx, s.db.dialect.rebind("SELECT id FROM runs WHERE mailing_id = ? AND finished_at IS NULL"), mailingID).Scan(&id)
	if err == sql.ErrNoRows {
		return 0, nil
	}
	return id, s.wrap(err, "find active run")
}

// DueStarts returns mailings whose pending start time has come, leaving out
// disabled mailings and those of blocked users (which StartDue refuses).
func (s *Store) DueStarts(ctx context.Context, now time.Time, limit int) ([]int64, error) {
	rows, err := s.w.QueryContext(ctx, s.db.dialect.rebind(`SELECT m.id FROM mailings m JOIN users u ON u.id = m.owner_id
		WHERE m.scheduled_at IS NOT NULL AND m.scheduled_at <= ? AND m.disabled_at IS NULL AND u.blocked_at IS NULL
		ORDER BY m.scheduled_at LIMIT ?`), now, limit)
	if err != nil {
		return nil, s.wrap(err, "find due mailings")
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, s.wrap(err, "scan")
		}
		out = append(out, id)
	}
	return out, s.wrap(rows.Err(), "find due mailings")
}

// StartDue starts the run of mailing id if its start is due: it fixes the
// message and the audience as they are now, with one pending delivery per
// recipient. It returns nil, nil when there is nothing to start (another
// instance started it, it was cancelled or disabled meanwhile, its owner is
// blocked). A start with no one to send to finishes at once with an empty
// run. Run it in a transaction (see RequestStart).
func (s *Store) StartDue(ctx context.Context, id int64, now time.Time) (*simplesender.Run, error) {
	m, err := s.lockDue(ctx, id, now)
	if m == nil || err != nil {
		return nil, err
	}
	r, lastRun, err := s.createRun(ctx, m, now)
	if err != nil {
		return nil, err
	}
	total, err := s.createDeliveries(ctx, r, lastRun, now)
	if err != nil {
		return nil, err
	}
	r.Counts.Pending = int(total)
	var finished any
	status := simplesender.MailingStatusOf(true, true, false)
	if total == 0 {
		finished, status = now, simplesender.MailingStatusOf(true, false, false)
		r.FinishedAt = &now
	}
	if _, err := s.exec(ctx, "UPDATE runs SET total = ?, finished_at = ? WHERE id = ?", total, finished, r.ID); err != nil {
		return nil, s.wrap(err, "count run")
	}
	_, err = s.exec(ctx, `UPDATE mailings SET scheduled_at = NULL, start_kind = '', start_trigger = '', status = ?,
		started_at = ?, finished_at = ?, last_run_id = ?, updated_at = ? WHERE id = ?`, status, now, finished, r.ID, now, id)
	return r, s.touch(ctx, s.wrap(err, "mark mailing running"), m.OwnerID)
}

// lockDue locks mailing id and its owner, and returns the mailing when its
// start may begin now (simplesender.CanStartDue), or nil.
func (s *Store) lockDue(ctx context.Context, id int64, now time.Time) (*simplesender.Mailing, error) {
	blocked, err := s.lockOwnerOf(ctx, 0, id)
	if err != nil {
		return nil, ignoreNotFound(err)
	}
	m, err := s.lockMailing(ctx, 0, id)
	if err != nil {
		return nil, ignoreNotFound(err)
	}
	active, err := s.activeRun(ctx, id)
	if err != nil || !simplesender.CanStartDue(m, blocked, active != 0, now) {
		return nil, err
	}
	return m, nil
}

// ignoreNotFound drops a NotFound: a mailing deleted meanwhile has nothing
// to start.
func ignoreNotFound(err error) error {
	if simplesender.IsKind(err, simplesender.KindNotFound) {
		return nil
	}
	return err
}

// createRun inserts the next run of mailing m, of the kind and trigger of
// its pending start, with its message as it is now. It returns the run and
// the mailing's last run before it (0: none).
func (s *Store) createRun(ctx context.Context, m *simplesender.Mailing, now time.Time) (*simplesender.Run, int64, error) {
	r := &simplesender.Run{MailingID: m.ID, OwnerID: m.OwnerID, StartedAt: now}
	var lastRun, identity sql.NullInt64
	if err := s.w.QueryRowContext(ctx, s.db.dialect.rebind("SELECT start_kind, start_trigger, last_run_id, identity_id FROM mailings WHERE id = ?"), m.ID).
		Scan(&r.Kind, &r.Trigger, &lastRun, &identity); err != nil {
		return nil, 0, s.wrap(err, "read start")
	}
	if err := s.runSender(ctx, r, identity); err != nil {
		return nil, 0, err
	}
	msg, err := s.MessageByID(ctx, 0, m.MessageID)
	if err != nil {
		return nil, 0, err
	}
	r.Subject, r.BodyText, r.BodyHTML = msg.Subject, msg.BodyText, msg.BodyHTML
	if r.Trigger == simplesender.TriggerSchedule {
		r.ScheduledAt = m.ScheduledAt
	}
	if err := s.w.QueryRowContext(ctx, s.db.dialect.rebind("SELECT COALESCE(max(number), 0) + 1 FROM runs WHERE mailing_id = ?"), m.ID).Scan(&r.Number); err != nil {
		return nil, 0, s.wrap(err, "number run")
	}
	err = s.writeRow(ctx, `INSERT INTO runs (mailing_id, owner_id, number, kind, trigger, scheduled_at, started_at,
		subject, body_text, body_html, from_name, from_email, reply_to) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		m.ID, r.OwnerID, r.Number, r.Kind, r.Trigger, r.ScheduledAt, now, r.Subject, r.BodyText, r.BodyHTML,
		r.FromName, r.FromEmail, r.ReplyTo).Scan(&r.ID)
	return r, lastRun.Int64, s.wrap(err, "create run")
}

// createDeliveries adds one pending delivery to run r per recipient: the
// mailing's audience as it is now, or for a resend the deliveries of the
// last run in the state it resends. It returns how many.
func (s *Store) createDeliveries(ctx context.Context, r *simplesender.Run, lastRun int64, now time.Time) (int64, error) {
	var res sql.Result
	var err error
	if st, ok := r.Kind.Resends(); ok {
		// The recipient's current address and names when they still exist.
		res, err = s.exec(ctx, `INSERT INTO deliveries (run_id, recipient_id, email, last_name, first_name, middle_name,
			status, next_attempt_at, updated_at)
			SELECT ?, d.recipient_id, COALESCE(r.email, d.email), COALESCE(r.last_name, d.last_name),
			       COALESCE(r.first_name, d.first_name), COALESCE(r.middle_name, d.middle_name), `+sqlPending+`, ?, ?
			FROM deliveries d LEFT JOIN recipients r ON r.id = d.recipient_id
			WHERE d.run_id = ? AND d.status = ? ORDER BY d.id`, r.ID, now, now, lastRun, st)
	} else if rules, herr := s.HasAudienceRules(ctx, r.MailingID); herr != nil {
		return 0, herr
	} else if rules {
		// Lists, tags and segments are resolved now, in one INSERT ...
		// SELECT: the run keeps this snapshot.
		from, args, aerr := s.audienceSQL(ctx, r.MailingID, r.OwnerID)
		if aerr != nil {
			return 0, aerr
		}
		res, err = s.exec(ctx, `INSERT INTO deliveries (run_id, recipient_id, email, last_name, first_name, middle_name,
			status, next_attempt_at, updated_at)
			SELECT ?, r.id, r.email, r.last_name, r.first_name, r.middle_name, `+sqlPending+`, ?, ?`+from+` ORDER BY r.id`,
			append([]any{r.ID, now, now}, args...)...)
	} else {
		res, err = s.exec(ctx, `INSERT INTO deliveries (run_id, recipient_id, email, last_name, first_name, middle_name,
			status, next_attempt_at, updated_at)
			SELECT ?, r.id, r.email, r.last_name, r.first_name, r.middle_name, `+sqlPending+`, ?, ?
			FROM mailing_recipients mr JOIN recipients r ON r.id = mr.recipient_id
			WHERE mr.mailing_id = ? ORDER BY mr.recipient_id`, r.ID, now, now, r.MailingID)
	}
	if err != nil {
		return 0, s.wrap(err, "create deliveries")
	}
	total, _ := res.RowsAffected()
	return total, nil
}

const runColumns = `id, mailing_id, owner_id, number, kind, trigger, scheduled_at, started_at, finished_at, cancelled_at,
	subject, body_text, body_html, from_name, from_email, reply_to`

func scanRun(row scanner) (*simplesender.Run, error) {
	var r simplesender.Run
	var sched, fin, canc sql.NullTime
	err := row.Scan(&r.ID, &r.MailingID, &r.OwnerID, &r.Number, &r.Kind, &r.Trigger, &sched, &r.StartedAt, &fin, &canc,
		&r.Subject, &r.BodyText, &r.BodyHTML, &r.FromName, &r.FromEmail, &r.ReplyTo)
	r.ScheduledAt, r.FinishedAt = nullTime(sched), nullTime(fin)
	r.Cancelled = canc.Valid
	r.StartedAt = r.StartedAt.UTC()
	return &r, err
}

// RunByID returns run id.
func (s *Store) RunByID(ctx context.Context, id int64) (*simplesender.Run, error) {
	r, err := scanRun(s.queryRow(ctx, "SELECT "+runColumns+" FROM runs WHERE id = ?", id))
	return r, s.wrap(err, "get run")
}

// ListRuns returns mailing id's runs, newest first, with their counts.
func (s *Store) ListRuns(ctx context.Context, mailingID int64) ([]*simplesender.Run, error) {
	rows, err := s.query(ctx, "SELECT "+runColumns+" FROM runs WHERE mailing_id = ? ORDER BY number DESC", mailingID)
	if err != nil {
		return nil, s.wrap(err, "list runs")
	}
	var out []*simplesender.Run
	byID := map[int64]*simplesender.Run{}
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			rows.Close()
			return nil, s.wrap(err, "scan run")
		}
		out = append(out, r)
		byID[r.ID] = r
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, s.wrap(err, "list runs")
	}
	ids := make([]any, 0, len(out))
	for _, r := range out {
		ids = append(ids, r.ID)
	}
	counts, err := s.runCounts(ctx, ids)
	if err != nil {
		return nil, err
	}
	for id, c := range counts {
		byID[id].Counts = c.counts
	}
	return out, nil
}

// CancelRuns stops the active run of mailing id (or of every mailing of
// owner when id is 0 and owner is not): its waiting deliveries become
// cancelled; deliveries being sent finish and the run ends after them. It
// also drops pending starts. It returns the runs it cancelled.
func (s *Store) CancelRuns(ctx context.Context, owner, id int64) ([]int64, error) {
	now := s.Now()
	where, args := "finished_at IS NULL AND cancelled_at IS NULL", []any{}
	if id != 0 {
		where += " AND mailing_id = ?"
		args = append(args, id)
	} else {
		where += " AND owner_id = ?"
		args = append(args, owner)
	}
	rows, err := s.w.QueryContext(ctx, s.db.dialect.rebind("SELECT id FROM runs WHERE "+where), args...)
	if err != nil {
		return nil, s.wrap(err, "find runs")
	}
	var ids []int64
	if err := scanIDs(rows, func(r int64) { ids = append(ids, r) }); err != nil {
		return nil, s.wrap(err, "find runs")
	}
	for _, r := range ids {
		if err := s.cancelRun(ctx, r, now); err != nil {
			return nil, err
		}
	}
	mwhere, margs := "id = ?", []any{id}
	if id == 0 {
		mwhere, margs = "owner_id = ?", []any{owner}
	} else if owner == 0 {
		if err := s.w.QueryRowContext(ctx, s.db.dialect.rebind("SELECT owner_id FROM mailings WHERE id = ?"), id).Scan(&owner); err != nil {
			return nil, s.wrap(err, "find mailing owner")
		}
	}
	_, err = s.exec(ctx, `UPDATE mailings SET scheduled_at = NULL, start_kind = '', start_trigger = '',
		status = `+mailingStatusSQL+`, updated_at = ?
		WHERE `+mwhere, append([]any{now}, margs...)...)
	return ids, s.touch(ctx, s.wrap(err, "cancel pending starts"), owner)
}

// cancelRun marks run r cancelled and its waiting deliveries cancelled,
// with the counters moving with the rows, and ends it when nothing of it is
// left in the engine's hands.
func (s *Store) cancelRun(ctx context.Context, r int64, now time.Time) error {
	if _, err := s.exec(ctx, "UPDATE runs SET cancelled_at = ? WHERE id = ?", now, r); err != nil {
		return s.wrap(err, "cancel run")
	}
	res, err := s.exec(ctx, `UPDATE deliveries SET status = `+sqlCancelled+`, updated_at = ?
		WHERE run_id = ? AND status IN `+sqlCancellable, now, r)
	if err != nil {
		return s.wrap(err, "cancel deliveries")
	}
	n, err := res.RowsAffected()
	if err != nil {
		return s.wrap(err, "cancel deliveries")
	}
	var counts tally
	counts.add(r, simplesender.CountCancelled, int(n))
	if err := counts.save(ctx, s); err != nil {
		return err
	}
	return s.FinishRunIfDone(ctx, r, now)
}

// FinishRunIfDone ends run id when none of its deliveries waits or is being
// sent, and marks its mailing finished when this is its last run.
func (s *Store) FinishRunIfDone(ctx context.Context, id int64, now time.Time) error {
	// Done when its counters of final states add up to its total (the
	// counters move with the rows, in the same transactions).
	var open bool
	if err := s.writeRow(ctx, `SELECT r.total > COALESCE(`+sumColumns("c.", finalColumns)+`, 0)
		FROM runs r LEFT JOIN run_counts c ON c.run_id = r.id WHERE r.id = ?`, id).Scan(&open); err != nil {
		return s.wrap(err, "look for open deliveries")
	}
	if open {
		return nil
	}
	res, err := s.exec(ctx, "UPDATE runs SET finished_at = ? WHERE id = ? AND finished_at IS NULL", now, id)
	if err != nil {
		return s.wrap(err, "finish run")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	_, err = s.exec(ctx, `UPDATE mailings SET status = CASE WHEN scheduled_at IS NULL THEN `+sqlMailingFinished+` ELSE status END,
		finished_at = ?, updated_at = ? WHERE last_run_id = ?`, now, now, id)
	return s.wrap(err, "finish mailing")
}

// SetDisabled switches mailing id off (cancelling what is pending or
// running) or on again. In a transaction, a start of the mailing in flight
// finishes first and its run is cancelled with the rest; none starts after.
// NotFound when there is no such mailing.
func (s *Store) SetDisabled(ctx context.Context, id int64, disabled bool) ([]int64, error) {
	// Wait for a start holding the mailing to commit before reading the
	// clock, so a run that started first has started before disabled_at.
	m, err := s.lockMailing(ctx, 0, id)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	if !disabled {
		res, err := s.exec(ctx, "UPDATE mailings SET disabled_at = NULL, updated_at = ? WHERE id = ?", now, id)
		return nil, s.touch(ctx, s.affected(res, err, "enable mailing"), m.OwnerID)
	}
	res, err := s.exec(ctx, "UPDATE mailings SET disabled_at = COALESCE(disabled_at, ?), updated_at = ? WHERE id = ?", now, now, id)
	if err := s.affected(res, err, "disable mailing"); err != nil {
		return nil, err
	}
	return s.CancelRuns(ctx, 0, id)
}

// DueStarts is Store.DueStarts on the writer, outside a transaction.
func (db *DB) DueStarts(ctx context.Context, now time.Time, limit int) ([]int64, error) {
	return db.Store().DueStarts(ctx, now, limit)
}

// StartDue runs Store.StartDue in a transaction of its own.
func (db *DB) StartDue(ctx context.Context, id int64, now time.Time) (*simplesender.Run, error) {
	var run *simplesender.Run
	err := db.InTx(ctx, func(s *Store) error {
		var err error
		run, err = s.StartDue(ctx, id, now)
		return err
	})
	return run, err
}

// DueSender returns the owner of mailing id and the address its next run
// would send from ("" for the service's own): the mailing's identity, or
// the owner's default one. NotFound when there is no such mailing.
func (db *DB) DueSender(ctx context.Context, id int64) (owner int64, email string, err error) {
	err = db.Store().queryRow(ctx, `SELECT m.owner_id, COALESCE(CASE WHEN m.identity_id IS NULL
		THEN (SELECT i.email FROM sender_identities i WHERE i.owner_id = m.owner_id AND i.is_default)
		ELSE (SELECT i.email FROM sender_identities i WHERE i.id = m.identity_id) END, '')
		FROM mailings m WHERE m.id = ?`, id).Scan(&owner, &email)
	return owner, email, db.Store().wrap(err, "get mailing sender")
}

// RefuseStart drops the pending start of mailing id, if it may begin now
// (as StartDue would start it), and notes why (a simplesender.StartRefused*
// value) for its page. It reports whether there was such a start.
func (db *DB) RefuseStart(ctx context.Context, id int64, now time.Time, note string) (bool, error) {
	var refused bool
	err := db.InTx(ctx, func(s *Store) error {
		m, err := s.lockDue(ctx, id, now)
		if m == nil || err != nil {
			return err
		}
		_, err = s.exec(ctx, `UPDATE mailings SET scheduled_at = NULL, start_kind = '', start_trigger = '',
			status = `+mailingStatusSQL+`, start_note = ?, updated_at = ? WHERE id = ?`, note, now, id)
		refused = err == nil
		return s.touch(ctx, s.wrap(err, "refuse start"), m.OwnerID)
	})
	return refused, err
}

// RunByID is Store.RunByID outside a transaction.
func (db *DB) RunByID(ctx context.Context, id int64) (*simplesender.Run, error) {
	return db.Store().RunByID(ctx, id)
}
