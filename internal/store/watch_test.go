package store_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"simplesender"
	"simplesender/internal/store"
	"simplesender/internal/store/storetest"
)

// audienceTables are the tables whose rows grow with a mailing's audience
// (or its owner's list): reading a mailing must not read them row by row.
var audienceTables = []string{"mailing_recipients", "deliveries", "attempts", "recipients"}

// watchPlans is, per statement of store.WatchReads, what its SQLite plan
// must seek (each fragment must appear) and which of its SCAN lines are
// fine: the page of ten cut from the audience's index is read whole.
var watchPlans = map[string]struct{ seeks, scans []string }{
	"mailing":                {},
	"mailing of an owner":    {},
	"run counts":             {},
	"next deferred delivery": {seeks: []string{"SEARCH d USING COVERING INDEX deliveries_run_deferred (run_id=?)"}},
	"last failed attempt":    {seeks: []string{"SEARCH a USING INDEX attempts_run_failed (run_id=?)"}},
	"first recipients": {seeks: []string{"SEARCH mailing_recipients USING COVERING INDEX sqlite_autoindex_mailing_recipients_1 (mailing_id=?)",
		"SEARCH r USING INTEGER PRIMARY KEY (rowid=?)"}, scans: []string{"SCAN mr"}},
}

// maxRowsRead is how many rows of the audience's tables one statement may
// read on PostgreSQL: a page of ten recipients and their audience entries,
// with room to spare; the mailing read below has 300 recipients, 250
// attempts and 40 deferred deliveries.
const maxRowsRead = 25

// TestWatchingReadsDoNotGrow: the statements behind reading a mailing's
// state and progress (the API's GET /mailings/{id}, the mailing page and its
// progress.json, which clients poll while a mailing is sent) seek an index
// and stop, on both engines: no full scan, no sort and no count of the rows
// of the audience, its deliveries or their attempts. So a poll costs the
// same for ten recipients and a million. SQLite's plans are checked (EXPLAIN
// QUERY PLAN); on PostgreSQL the rows each statement actually reads from
// those tables are counted (EXPLAIN ANALYZE, sequential scans off so that
// the small test tables are read the way large ones are).
func TestWatchingReadsDoNotGrow(t *testing.T) {
	t.Parallel()
	eachRun(t, "watch@example.com", 300, func(t *testing.T, db *store.DB, rig *reportRig, m *simplesender.Mailing, run *simplesender.Run) {
		// The oldest outcomes are the only failures (one failed, forty
		// deferred), so that reading back from the newest attempt to the
		// last failure would read two hundred rows, and sorting the
		// deferred deliveries forty.
		cs := claim(t, db, "watch", 250)
		now := db.Now()
		var outs []store.Outcome
		for i, c := range cs {
			st := simplesender.DeliverySent
			switch {
			case i == 0:
				st = simplesender.DeliveryFailed
			case i <= 40:
				st = simplesender.DeliveryDeferred
			}
			o := outcome(c, m, st, true, now)
			o.NextAt = now.Add(time.Duration(i) * time.Minute)
			outs = append(outs, o)
		}
		if err := db.RecordOutcomes(ctx, outs); err != nil {
			t.Fatal(err)
		}
		// The reads find what they look for: the statements below are
		// the ones that answer.
		w, err := db.Store().MailingWaiting(ctx, m.ID)
		failed := func(id int64) bool {
			return slices.ContainsFunc(cs[:41], func(c store.Claimed) bool { return c.ID == id })
		}
		if err != nil || w.NextAttempt == nil || w.LastFailure == nil || !failed(w.LastFailure.DeliveryID) {
			t.Fatalf("waiting = %+v, %v; want the next deferred delivery and a failure", w, err)
		}
		if got, err := db.Store().MailingByID(ctx, 0, m.ID); err != nil || got.RecipientCount != 300 {
			t.Fatalf("mailing = %+v, %v; want 300 recipients", got, err)
		}
		if db.Engine() == "postgres" {
			if _, err := db.Writer().ExecContext(ctx, "ANALYZE"); err != nil {
				t.Fatal(err)
			}
		}
		reads := store.WatchReads()
		if len(reads) != len(watchPlans) {
			t.Fatalf("%d reads, %d expected plans", len(reads), len(watchPlans))
		}
		for _, rd := range reads {
			t.Run(rd.Name+" reads a bounded number of rows", func(t *testing.T) {
				args := rd.Args(m.ID, run.ID)
				if db.Engine() == "postgres" {
					plan := explain(t, db, "EXPLAIN (ANALYZE, FORMAT JSON) ", rd.SQL, args)
					var root []struct{ Plan pgPlan }
					if err := json.Unmarshal([]byte(plan), &root); err != nil || len(root) != 1 {
						t.Fatalf("plan %q: %v", plan, err)
					}
					if n, why := root[0].Plan.audienceRows(); n > maxRowsRead {
						t.Errorf("reads %d rows of the audience's tables (at most %d): %s\n%s", n, maxRowsRead, why, plan)
					}
					return
				}
				plan := explain(t, db, "EXPLAIN QUERY PLAN ", rd.SQL, args)
				want, ok := watchPlans[rd.Name]
				if !ok {
					t.Fatalf("no expected plan for %q", rd.Name)
				}
				for _, line := range strings.Split(plan, "\n") {
					switch {
					case strings.Contains(line, "TEMP B-TREE"):
						t.Errorf("sorts every row it reads: %q", line)
					case strings.HasPrefix(line, "SCAN ") && !slices.Contains(want.scans, line):
						t.Errorf("scans a whole table: %q", line)
					case strings.HasPrefix(line, "SEARCH ") && mentionsAudience(line) && !slices.Contains(want.seeks, line):
						t.Errorf("reads the audience's tables unexpectedly (a count, or an index that does not stop): %q", line)
					}
				}
				for _, s := range want.seeks {
					if !strings.Contains(plan, s) {
						t.Errorf("plan lacks %q:\n%s", s, plan)
					}
				}
			})
		}
	})
}

// mentionsAudience says whether a SQLite plan line reads one of the
// audience's tables through an index: every index of theirs is named after
// its table (a rowid lookup names only the alias, and is one row).
func mentionsAudience(line string) bool {
	for _, table := range audienceTables {
		if strings.Contains(line, "INDEX "+table) || strings.Contains(line, "INDEX sqlite_autoindex_"+table) {
			return true
		}
	}
	return false
}

// pgPlan is a node of PostgreSQL's EXPLAIN (ANALYZE, FORMAT JSON).
type pgPlan struct {
	NodeType       string   `json:"Node Type"`
	Relation       string   `json:"Relation Name"`
	ActualRows     float64  `json:"Actual Rows"`
	ActualLoops    float64  `json:"Actual Loops"`
	RemovedByFilt  float64  `json:"Rows Removed by Filter"`
	RemovedByIndex float64  `json:"Rows Removed by Index Recheck"`
	Plans          []pgPlan `json:"Plans"`
}

// audienceRows returns how many rows the nodes of p read from the
// audience's tables (those they returned and those their filters dropped,
// over every loop) and which nodes read them.
func (p pgPlan) audienceRows() (int, string) {
	n, why := 0, ""
	if slices.Contains(audienceTables, p.Relation) {
		k := int((p.ActualRows + p.RemovedByFilt + p.RemovedByIndex) * max(p.ActualLoops, 1))
		n += k
		why += fmt.Sprintf("%s on %s: %d; ", p.NodeType, p.Relation, k)
	}
	for _, c := range p.Plans {
		k, w := c.audienceRows()
		n, why = n+k, why+w
	}
	return n, why
}

// explain returns the plan of q with args as `how` (an EXPLAIN prefix)
// gives it: SQLite's plan lines, one a line, or PostgreSQL's JSON, with
// sequential scans disabled (in a transaction rolled back).
func explain(t *testing.T, db *store.DB, how, q string, args []any) string {
	t.Helper()
	tx, err := db.Writer().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if db.Engine() == "postgres" {
		if _, err := tx.ExecContext(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
			t.Fatal(err)
		}
		var plan string
		if err := tx.QueryRowContext(ctx, how+db.Rebind(q), args...).Scan(&plan); err != nil {
			t.Fatal(err)
		}
		return plan
	}
	rows, err := tx.QueryContext(ctx, how+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, detail)
	}
	return strings.Join(lines, "\n")
}

// TestRecipientCountFollowsTheAudience: the number of recipients a mailing
// shows (kept on the mailing, not counted on each read) follows every change
// of its audience: replaced, extended with all of the owner's list, and
// recipients deleted one by one or in bulk, which leave every audience.
func TestRecipientCountFollowsTheAudience(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, url string) {
		db := storetest.Open(t, url)
		s := db.Store()
		rig := newReportRig(t, db, "count@example.com")
		owner := rig.owner.ID
		if err := s.BulkRecipients(ctx, owner, 6, func(i int) simplesender.Recipient {
			return simplesender.Recipient{Email: fmt.Sprintf("c%d@example.com", i)}
		}); err != nil {
			t.Fatal(err)
		}
		all, _, err := s.ListRecipients(ctx, owner, store.ListFilter{Limit: 100})
		if err != nil || len(all) != 6 {
			t.Fatalf("recipients = %d, %v", len(all), err)
		}
		ids := make([]int64, len(all))
		for i, r := range all {
			ids[i] = r.ID
		}
		slices.Sort(ids)
		m := &simplesender.Mailing{OwnerID: owner, MessageID: rig.msg.ID}
		other := &simplesender.Mailing{OwnerID: owner, MessageID: rig.msg.ID}
		if err := s.CreateMailing(ctx, m, ids[:3]); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateMailing(ctx, other, ids[:2]); err != nil {
			t.Fatal(err)
		}
		check := func(step string, mailing *simplesender.Mailing, want int) {
			t.Helper()
			got, err := s.MailingByID(ctx, owner, mailing.ID)
			if err != nil {
				t.Fatal(err)
			}
			var rows int
			if err := db.Writer().QueryRowContext(ctx, db.Rebind("SELECT count(*) FROM mailing_recipients WHERE mailing_id = ?"), mailing.ID).Scan(&rows); err != nil {
				t.Fatal(err)
			}
			if got.RecipientCount != want || rows != want {
				t.Errorf("%s: mailing %d shows %d recipients and has %d, want %d", step, mailing.ID, got.RecipientCount, rows, want)
			}
		}
		check("created", m, 3)
		check("created", other, 2)
		if err := s.SetMailingRecipients(ctx, m.ID, slices.Concat(ids[1:2], ids[1:5])); err != nil {
			t.Fatal(err)
		}
		check("replaced, with an id twice", m, 4)
		if err := s.AddAllRecipients(ctx, m.ID, owner); err != nil {
			t.Fatal(err)
		}
		check("all added", m, 6)
		if err := s.DeleteRecipient(ctx, owner, ids[0]); err != nil {
			t.Fatal(err)
		}
		check("one recipient deleted", m, 5)
		check("one recipient deleted", other, 1)
		if n, err := s.DeleteSelectedRecipients(ctx, owner, store.RecipientSelection{IDs: ids[1:3]}); err != nil || n != 2 {
			t.Fatalf("bulk delete = %d, %v", n, err)
		}
		check("two deleted in bulk", m, 3)
		check("two deleted in bulk", other, 0)
		err = db.InTx(ctx, func(s *store.Store) error {
			if err := s.SetMailingRecipients(ctx, m.ID, nil); err != nil {
				return err
			}
			return errors.New("roll back")
		})
		if err == nil {
			t.Fatal("the transaction did not fail")
		}
		check("cleared in a transaction rolled back", m, 3)
	})
}
