package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"simplesender"
)

// Report figures come from two counter tables kept in the transactions that
// write the rows they count (RecordOutcomes, SweepOrphans; see
// migrations/*/0003_reports.sql):
//
//   - run_counts: per run, the deliveries that reached sent, failed and
//     unknown. A run's deliveries are fixed when it starts (runs.total), so
//     pending (pending, sending, deferred) and cancelled follow: a finished
//     run has nothing pending; for a run still going the pending ones are
//     counted from the deliveries themselves (index run_id, status).
//   - attempt_counts: per mailing and 15-minute slot, the successful and
//     failed attempts.

// SlotSeconds is the width of the attempt counters' slots: 15 minutes, so
// that every local midnight of every time zone in use (offsets are whole
// quarter hours) is a slot boundary and days in any zone are whole slots.
const SlotSeconds = 900

// SlotOf returns the start, in Unix seconds, of the slot holding t.
func SlotOf(t time.Time) int64 {
	u := t.Unix()
	m := u % SlotSeconds
	if m < 0 {
		m += SlotSeconds
	}
	return u - m
}

// FigureCounts are the counts behind the report figures of one mailing, one
// user or everyone. Deliveries are counted over every run, in their state
// now; attempts over the time range asked for.
type FigureCounts struct {
	Mailings        int // mailings that exist
	MailingsActive  int // of them, running (sending or scheduled)
	Sent            int // deliveries accepted by the mail server
	Failed          int // deliveries that failed for good
	Unknown         int // deliveries whose outcome is unknown (the sender stopped mid-send)
	Pending         int // deliveries pending, being sent, or deferred for a retry
	Cancelled       int // deliveries cancelled before they were tried
	Suppressed      int // deliveries not sent: the address is suppressed
	Bounced         int // deliveries accepted, then reported undeliverable
	Complained      int // deliveries accepted, then reported as spam
	AttemptsSuccess int // attempts the server accepted
	AttemptsFailure int // attempts that failed (temporarily or for good, or with unknown outcome)
}

// Add adds o to c.
func (c *FigureCounts) Add(o FigureCounts) {
	c.Mailings += o.Mailings
	c.MailingsActive += o.MailingsActive
	c.Sent += o.Sent
	c.Failed += o.Failed
	c.Unknown += o.Unknown
	c.Pending += o.Pending
	c.Cancelled += o.Cancelled
	c.Suppressed += o.Suppressed
	c.Bounced += o.Bounced
	c.Complained += o.Complained
	c.AttemptsSuccess += o.AttemptsSuccess
	c.AttemptsFailure += o.AttemptsFailure
}

// addDeliveries adds n deliveries to the count of counter k (pending and
// the final ones).
func (c *FigureCounts) addDeliveries(k simplesender.Counter, n int) {
	var d simplesender.DeliveryCounts
	d.Add(k, n)
	c.Sent += d.Sent
	c.Failed += d.Failed
	c.Unknown += d.Unknown
	c.Pending += d.Pending
	c.Cancelled += d.Cancelled
	c.Suppressed += d.Suppressed
	c.Bounced += d.Bounced
	c.Complained += d.Complained
}

// ReadTx runs fn in one read-only transaction on the reader pool, so that
// the figures it reads come from one snapshot (REPEATABLE READ on
// PostgreSQL; a WAL read transaction on SQLite).
func (db *DB) ReadTx(ctx context.Context, fn func(s *Store) error) error {
	opts := &sql.TxOptions{ReadOnly: true}
	if db.Engine() == "postgres" {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := db.r.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin read transaction: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only: nothing to keep
	return fn(&Store{db: db, w: tx, r: tx, tx: tx, txReader: true})
}

// Owners selects the owners whose figures are counted: those with ids from
// Min to Max, both included; the zero value selects everyone. A range (not a
// list) keeps the SQL text fixed, so its prepared statements are reused: a
// page of users ordered by id is a range.
type Owners struct{ Min, Max int64 }

// Owner selects one owner.
func Owner(id int64) Owners { return Owners{id, id} }

// inOwners returns a condition on col for o.
func inOwners(col string, o Owners) (string, []any) {
	if o == (Owners{}) {
		return "1=1", nil
	}
	return col + " BETWEEN ? AND ?", []any{o.Min, o.Max}
}

// slotRange returns a condition on attempt_counts.slot for [from, to); a
// zero from or to leaves that end open.
func slotRange(from, to time.Time) (string, []any) {
	cond, args := "", []any{}
	if !from.IsZero() {
		cond += " AND slot >= ?"
		args = append(args, SlotOf(from))
	}
	if !to.IsZero() {
		cond += " AND slot < ?"
		args = append(args, SlotOf(to))
	}
	return cond, args
}

// deliveryFigures adds the delivery counts of owners' runs into dst, keyed
// by key ("mailing_id" or "owner_id").
func (s *Store) deliveryFigures(ctx context.Context, dst func(id int64) *FigureCounts, key string, owners Owners) error {
	where, args := inOwners("r.owner_id", owners)
	rows, err := s.query(ctx, `SELECT r.`+key+`, sum(r.total), `+sumFinalSQL+`
		FROM runs r LEFT JOIN run_counts c ON c.run_id = r.id
		WHERE `+where+` GROUP BY r.`+key, args...)
	if err != nil {
		return s.wrap(err, "count deliveries")
	}
	totals := map[int64]int{}
	final := make([]int, len(finalColumns))
	for rows.Next() {
		var id int64
		var total int
		dest := []any{&id, &total}
		for i := range final {
			dest = append(dest, &final[i])
		}
		if err := rows.Scan(dest...); err != nil {
			rows.Close()
			return s.wrap(err, "scan delivery counts")
		}
		c := dst(id)
		rest := total
		for i, k := range simplesender.FinalCounters {
			if k != simplesender.CountCancelled {
				c.addDeliveries(k, final[i])
				rest -= final[i]
			}
		}
		totals[id] += rest
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return s.wrap(err, "count deliveries")
	}
	// Only runs still going have deliveries waiting or being sent.
	rows, err = s.query(ctx, `SELECT r.`+key+`, count(*) FROM runs r JOIN deliveries d ON d.run_id = r.id
		WHERE r.finished_at IS NULL AND d.status IN `+sqlOpen+` AND `+where+` GROUP BY r.`+key, args...)
	if err != nil {
		return s.wrap(err, "count pending deliveries")
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return s.wrap(err, "scan pending deliveries")
		}
		dst(id).Pending += n
		totals[id] -= n
	}
	for id, rest := range totals {
		dst(id).Cancelled += max(rest, 0) // whatever is neither final nor pending was cancelled
	}
	return s.wrap(rows.Err(), "count pending deliveries")
}

// attemptFigures adds the attempts of owners in [from, to) into dst, keyed
// by key ("mailing_id" or "owner_id").
func (s *Store) attemptFigures(ctx context.Context, dst func(id int64) *FigureCounts, key string, owners Owners, from, to time.Time) error {
	where, args := inOwners("owner_id", owners)
	cond, more := slotRange(from, to)
	rows, err := s.query(ctx, `SELECT `+key+`, sum(success), sum(failure) FROM attempt_counts WHERE `+where+cond+
		` GROUP BY `+key, append(args, more...)...)
	if err != nil {
		return s.wrap(err, "count attempts")
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var ok, failed int
		if err := rows.Scan(&id, &ok, &failed); err != nil {
			return s.wrap(err, "scan attempt counts")
		}
		c := dst(id)
		c.AttemptsSuccess += ok
		c.AttemptsFailure += failed
	}
	return s.wrap(rows.Err(), "count attempts")
}

// MailingFigures is one row of a user's report: a mailing and its counts.
type MailingFigures struct {
	ID        int64
	Name      string
	Status    simplesender.MailingStatus
	Disabled  bool
	CreatedAt time.Time
	FigureCounts
}

// MailingFigures returns owner's mailings, newest first, each with its
// counts: deliveries of every run as they are now, attempts in [from, to)
// (zero ends: open). Run it in ReadTx for one consistent snapshot.
func (s *Store) MailingFigures(ctx context.Context, owner int64, from, to time.Time) ([]*MailingFigures, error) {
	rows, err := s.query(ctx, `SELECT id, name, status, disabled_at, created_at FROM mailings WHERE owner_id = ?
		ORDER BY id DESC`, owner)
	if err != nil {
		return nil, s.wrap(err, "list mailings")
	}
	var out []*MailingFigures
	byID := map[int64]*MailingFigures{}
	for rows.Next() {
		m := &MailingFigures{}
		var st string
		var disabled sql.NullTime
		if err := rows.Scan(&m.ID, &m.Name, &st, &disabled, &m.CreatedAt); err != nil {
			rows.Close()
			return nil, s.wrap(err, "scan mailing")
		}
		m.Status, m.Disabled, m.CreatedAt = simplesender.MailingStatus(st), disabled.Valid, m.CreatedAt.UTC()
		m.Mailings = 1
		if m.Status == simplesender.MailingRunning {
			m.MailingsActive = 1
		}
		out = append(out, m)
		byID[m.ID] = m
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, s.wrap(err, "list mailings")
	}
	var spare FigureCounts // a mailing deleted since the list was read (outside ReadTx)
	dst := func(id int64) *FigureCounts {
		if m := byID[id]; m != nil {
			return &m.FigureCounts
		}
		return &spare
	}
	owners := Owner(owner)
	if err := s.deliveryFigures(ctx, dst, "mailing_id", owners); err != nil {
		return nil, err
	}
	if err := s.attemptFigures(ctx, dst, "mailing_id", owners, from, to); err != nil {
		return nil, err
	}
	return out, nil
}

// OwnerFigures returns the counts of each owner selected by owners that has
// any mailing, keyed by owner id; owners without data are absent.
// Deliveries are counted as they are now, attempts in [from, to) (zero
// ends: open). Run it in ReadTx for one consistent snapshot.
func (s *Store) OwnerFigures(ctx context.Context, owners Owners, from, to time.Time) (map[int64]*FigureCounts, error) {
	out := map[int64]*FigureCounts{}
	dst := func(id int64) *FigureCounts {
		c := out[id]
		if c == nil {
			c = &FigureCounts{}
			out[id] = c
		}
		return c
	}
	where, args := inOwners("owner_id", owners)
	rows, err := s.query(ctx, `SELECT owner_id, count(*), sum(CASE WHEN status = `+sqlMailingRunning+` THEN 1 ELSE 0 END)
		FROM mailings WHERE `+where+` GROUP BY owner_id`, args...)
	if err != nil {
		return nil, s.wrap(err, "count mailings")
	}
	for rows.Next() {
		var id int64
		var n, active int
		if err := rows.Scan(&id, &n, &active); err != nil {
			rows.Close()
			return nil, s.wrap(err, "scan mailing counts")
		}
		c := dst(id)
		c.Mailings, c.MailingsActive = n, active
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, s.wrap(err, "count mailings")
	}
	if err := s.deliveryFigures(ctx, dst, "owner_id", owners); err != nil {
		return nil, err
	}
	if err := s.attemptFigures(ctx, dst, "owner_id", owners, from, to); err != nil {
		return nil, err
	}
	return out, nil
}

// RecipientCounts returns the number of recipients of each owner selected
// by owners, keyed by owner id. Addresses are unique per owner, so this is
// also each owner's number of distinct addresses.
func (s *Store) RecipientCounts(ctx context.Context, owners Owners) (map[int64]int, error) {
	where, args := inOwners("owner_id", owners)
	return s.intsByID(ctx, "count recipients", "SELECT owner_id, count(*) FROM recipients WHERE "+where+" GROUP BY owner_id", args...)
}

// intsByID runs query, whose rows are an id and a number, and returns the
// numbers keyed by id; what names the work in its errors.
func (s *Store) intsByID(ctx context.Context, what, query string, args ...any) (map[int64]int, error) {
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return nil, s.wrap(err, what)
	}
	defer rows.Close()
	out := map[int64]int{}
	for rows.Next() {
		var id int64
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, s.wrap(err, what)
		}
		out[id] = n
	}
	return out, s.wrap(rows.Err(), what)
}

// DistinctRecipients returns the number of distinct recipient addresses over
// every user's address book (one address kept by two users counts once).
func (s *Store) DistinctRecipients(ctx context.Context) (int, error) {
	var n int
	err := s.queryRow(ctx, "SELECT count(DISTINCT email_norm) FROM recipients").Scan(&n)
	return n, s.wrap(err, "count distinct recipients")
}

// SlotCount is the number of attempts in one slot (see SlotSeconds).
type SlotCount struct {
	Slot             int64 // Unix seconds of the slot's start
	Success, Failure int
}

// AttemptSlots returns the attempts of owner (0: everyone) per slot in
// [from, to), oldest first; slots without attempts are left out.
func (s *Store) AttemptSlots(ctx context.Context, owner int64, from, to time.Time) ([]SlotCount, error) {
	where, args := "1=1", []any{}
	if owner != 0 {
		where, args = "owner_id = ?", []any{owner}
	}
	cond, more := slotRange(from, to)
	rows, err := s.query(ctx, `SELECT slot, sum(success), sum(failure) FROM attempt_counts WHERE `+where+cond+
		` GROUP BY slot ORDER BY slot`, append(args, more...)...)
	if err != nil {
		return nil, s.wrap(err, "count attempts per slot")
	}
	defer rows.Close()
	var out []SlotCount
	for rows.Next() {
		var c SlotCount
		if err := rows.Scan(&c.Slot, &c.Success, &c.Failure); err != nil {
			return nil, s.wrap(err, "scan slot")
		}
		out = append(out, c)
	}
	return out, s.wrap(rows.Err(), "count attempts per slot")
}

// RunNumbers returns the number of each run of mailing id, keyed by run id.
func (s *Store) RunNumbers(ctx context.Context, mailingID int64) (map[int64]int, error) {
	return s.intsByID(ctx, "list runs", "SELECT id, number FROM runs WHERE mailing_id = ?", mailingID)
}

// EachAttempt calls fn with every attempt of mailing id, oldest first. It
// reads in batches by id, so memory stays flat and no transaction stays
// open however many there are; fn's error stops it and is returned.
func (s *Store) EachAttempt(ctx context.Context, mailingID int64, fn func(*simplesender.Attempt) error) error {
	const batch = 1000
	after := int64(0)
	for {
		rows, err := s.query(ctx, `SELECT id, delivery_id, run_id, email, attempted_at, success, code, enhanced, response
			FROM attempts WHERE mailing_id = ? AND id > ? ORDER BY id LIMIT ?`, mailingID, after, batch)
		if err != nil {
			return s.wrap(err, "list attempts")
		}
		var page []*simplesender.Attempt
		for rows.Next() {
			a, err := scanAttempt(rows)
			if err != nil {
				rows.Close()
				return s.wrap(err, "scan attempt")
			}
			page = append(page, a)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return s.wrap(err, "list attempts")
		}
		for _, a := range page {
			if err := fn(a); err != nil {
				return err
			}
		}
		if len(page) < batch {
			return nil
		}
		after = page[len(page)-1].ID
	}
}
