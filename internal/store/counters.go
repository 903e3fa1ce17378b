package store

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"strings"
	"time"

	"simplesender"
)

// tally gathers the counter changes of one transaction's writes, to be
// saved at its end.
type tally struct {
	runs    map[int64][]int // run id -> change of each final counter (simplesender.FinalCounters)
	slots   map[[2]int64]*slotTally
	returns map[[2]int64]*returnTally // (mailing, slot) -> what came back
}

// returnTally is one row's change of return_counts.
type returnTally struct {
	owner int64
	n     [len(returnColumns)]int
}

// What return_counts counts, in the order of its columns.
const (
	returnHard = iota
	returnSoft
	returnComplaint
	returnUnsubscribed
	returnSuppressed
)

var returnColumns = [...]string{"hard", "soft", "complaint", "unsubscribed", "suppressed"}

// returned counts one thing of kind k (returnHard...) that came back for
// mailing of owner at `at`.
func (t *tally) returned(mailing, owner int64, at time.Time, k int) {
	if mailing == 0 || owner == 0 {
		return // nothing to count it against
	}
	if t.returns == nil {
		t.returns = map[[2]int64]*returnTally{}
	}
	key := [2]int64{mailing, SlotOf(at)}
	c := t.returns[key]
	if c == nil {
		c = &returnTally{owner: owner}
		t.returns[key] = c
	}
	c.n[k]++
}

type slotTally struct {
	owner            int64
	success, failure int
}

// delivery counts a delivery of run that reached status (from sending,
// whose counter is not kept: it follows from the run's total).
func (t *tally) delivery(run int64, status simplesender.DeliveryStatus) {
	if st, ok := status.State(); ok {
		t.add(run, st.Counter, 1)
	}
}

// move counts a delivery of run that went from one final state to another
// (a later report): its old counter loses it, the new one gains it.
func (t *tally) move(run int64, from, to simplesender.DeliveryStatus) {
	if out, in, ok := simplesender.Moved(from, to); ok {
		t.add(run, out, -1)
		t.add(run, in, 1)
	}
}

// add counts n deliveries of run in counter c; counters of states that are
// not final are not kept.
func (t *tally) add(run int64, c simplesender.Counter, n int) {
	i := finalIndex(c)
	if i < 0 {
		return
	}
	if t.runs == nil {
		t.runs = map[int64][]int{}
	}
	counts := t.runs[run]
	if counts == nil {
		counts = make([]int, len(finalColumns))
		t.runs[run] = counts
	}
	counts[i] += n
}

// attempt counts an attempt row written for mailing of owner at `at`.
func (t *tally) attempt(mailing, owner int64, at time.Time, success bool) {
	if mailing == 0 {
		return // no mailing to count it against (cannot happen: the attempt's delivery exists)
	}
	if t.slots == nil {
		t.slots = map[[2]int64]*slotTally{}
	}
	k := [2]int64{mailing, SlotOf(at)}
	c := t.slots[k]
	if c == nil {
		c = &slotTally{owner: owner}
		t.slots[k] = c
	}
	if success {
		c.success++
	} else {
		c.failure++
	}
}

// save adds the tally to the counter tables, one row per statement (a fixed
// SQL text, prepared once; a batch touches a handful of rows). Rows are
// written in key order, so that concurrent transactions (several engines
// on PostgreSQL) lock them in the same order and cannot deadlock on them.
func (t *tally) save(ctx context.Context, s *Store) error {
	runs := make([]int64, 0, len(t.runs))
	for r := range t.runs {
		runs = append(runs, r)
	}
	slices.Sort(runs)
	args := make([]any, 0, 1+len(finalColumns))
	for _, r := range runs {
		args = append(args[:0], r)
		for _, n := range t.runs[r] {
			args = append(args, n)
		}
		if _, err := s.exec(ctx, saveRunCountsSQL, args...); err != nil {
			return s.wrap(err, "count deliveries")
		}
	}
	keys := make([][2]int64, 0, len(t.slots))
	for k := range t.slots {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]int64) int {
		return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1]))
	})
	for _, k := range keys {
		c := t.slots[k]
		if _, err := s.exec(ctx, `INSERT INTO attempt_counts (mailing_id, slot, owner_id, success, failure)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (mailing_id, slot) DO UPDATE SET
			success = attempt_counts.success + excluded.success, failure = attempt_counts.failure + excluded.failure`,
			k[0], k[1], c.owner, c.success, c.failure); err != nil {
			return s.wrap(err, "count attempts")
		}
	}
	keys = keys[:0]
	for k := range t.returns {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]int64) int {
		return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1]))
	})
	for _, k := range keys {
		c := t.returns[k]
		args := []any{k[0], k[1], c.owner}
		for _, n := range c.n {
			args = append(args, n)
		}
		if _, err := s.exec(ctx, saveReturnCountsSQL, args...); err != nil {
			return s.wrap(err, "count returns")
		}
	}
	return nil
}

// saveReturnCountsSQL adds a (mailing, slot)'s changes to return_counts.
var saveReturnCountsSQL = func() string {
	set := make([]string, len(returnColumns))
	for i, c := range returnColumns {
		set[i] = c + " = return_counts." + c + " + excluded." + c
	}
	return "INSERT INTO return_counts (mailing_id, slot, owner_id, " + strings.Join(returnColumns[:], ", ") +
		") VALUES (?, ?, ?" + strings.Repeat(", ?", len(returnColumns)) + ") ON CONFLICT (mailing_id, slot) DO UPDATE SET " +
		strings.Join(set, ", ")
}()

// saveRunCountsSQL adds a run's changes to each final counter.
var saveRunCountsSQL = func() string {
	set := make([]string, len(finalColumns))
	for i, c := range finalColumns {
		set[i] = c + " = run_counts." + c + " + excluded." + c
	}
	return "INSERT INTO run_counts (run_id, " + strings.Join(finalColumns, ", ") + ") VALUES (?" +
		strings.Repeat(", ?", len(finalColumns)) + ") ON CONFLICT (run_id) DO UPDATE SET " + strings.Join(set, ", ")
}()

// rebuildRunCountsSQL counts each run's deliveries by final counter.
var rebuildRunCountsSQL = func() string {
	sums := make([]string, len(simplesender.FinalCounters))
	for i, c := range simplesender.FinalCounters {
		in := simplesender.DeliveryStatuses(func(st simplesender.DeliveryState) bool { return st.Counter == c })
		sums[i] = "sum(CASE WHEN status IN " + inList(in) + " THEN 1 ELSE 0 END)"
	}
	return "INSERT INTO run_counts (run_id, " + strings.Join(finalColumns, ", ") + ") SELECT run_id, " +
		strings.Join(sums, ", ") + " FROM deliveries GROUP BY run_id"
}()

// affectedOne reports whether a write changed exactly one row.
func affectedOne(res sql.Result) (bool, error) {
	n, err := res.RowsAffected()
	return n == 1, err
}

// RebuildReportCounters recomputes the report counters from the delivery
// and attempt rows, in one transaction: after a bulk import that wrote rows
// directly, or to check that the kept counters agree with the rows.
func (db *DB) RebuildReportCounters(ctx context.Context) error {
	slot := func(col string) string { return "CAST(strftime('%s', " + col + ") AS INTEGER) / 900 * 900" }
	if db.Engine() == "postgres" {
		slot = func(col string) string { return "(floor(extract(epoch FROM " + col + ") / 900) * 900)::bigint" }
	}
	return db.InTx(ctx, func(s *Store) error {
		for _, q := range []string{
			"DELETE FROM run_counts",
			"DELETE FROM attempt_counts",
			"DELETE FROM return_counts",
			rebuildRunCountsSQL,
			`INSERT INTO attempt_counts (mailing_id, slot, owner_id, success, failure)
			SELECT mailing_id, ` + slot("attempted_at") + `, min(owner_id), sum(CASE WHEN success THEN 1 ELSE 0 END),
			       sum(CASE WHEN success THEN 0 ELSE 1 END)
			FROM attempts WHERE mailing_id IN (SELECT id FROM mailings) GROUP BY mailing_id, ` + slot("attempted_at"),
			rebuildReturnCountsSQL(slot),
		} {
			if _, err := s.exec(ctx, q); err != nil {
				return s.wrap(err, "rebuild report counters")
			}
		}
		return nil
	})
}

// rebuildReturnCountsSQL counts what came back from the rows (as migration
// 0024 does): a delivery's bounce, complaint or suppression at its last
// change, a soft bounce at the delivery's first soft report, an
// unsubscribe when its suppression was added.
func rebuildReturnCountsSQL(slot func(col string) string) string {
	return `INSERT INTO return_counts (mailing_id, slot, owner_id, hard, soft, complaint, unsubscribed, suppressed)
	SELECT mailing_id, slot, min(owner_id), sum(hard), sum(soft), sum(complaint), sum(unsubscribed), sum(suppressed) FROM (
		SELECT r.mailing_id, ` + slot("d.updated_at") + ` AS slot, r.owner_id,
		       CASE WHEN d.status = ` + sqlBounced + ` THEN 1 ELSE 0 END AS hard, 0 AS soft,
		       CASE WHEN d.status = ` + sqlComplained + ` THEN 1 ELSE 0 END AS complaint, 0 AS unsubscribed,
		       CASE WHEN d.status = ` + sqlSuppressed + ` THEN 1 ELSE 0 END AS suppressed
		FROM deliveries d JOIN runs r ON r.id = d.run_id
		WHERE d.status IN (` + sqlBounced + `, ` + sqlComplained + `, ` + sqlSuppressed + `)
		UNION ALL
		SELECT mailing_id, ` + slot("min(received_at)") + `, min(owner_id), 0, 1, 0, 0, 0
		FROM delivery_reports WHERE kind = 'soft' AND delivery_id IS NOT NULL AND mailing_id IS NOT NULL
		GROUP BY delivery_id, mailing_id
		UNION ALL
		SELECT s.mailing_id, ` + slot("s.created_at") + `, s.owner_id, 0, 0, 0, 1, 0
		FROM suppressions s WHERE s.reason = 'unsubscribed' AND s.mailing_id IS NOT NULL AND s.owner_id IS NOT NULL
	) x WHERE mailing_id IN (SELECT id FROM mailings)
	GROUP BY mailing_id, slot`
}
