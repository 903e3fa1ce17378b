package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"simplesender"
	"simplesender/internal/store"
	"simplesender/internal/store/storetest"
)

var ctx = context.Background()

// reportRig is a user with mailings whose runs the test drives by hand.
type reportRig struct {
	db    *store.DB
	owner *simplesender.User
	msg   *simplesender.Message
}

// eachRun runs f on each engine with a fresh database, a user (email) with
// a message and a mailing, and a started run of that mailing to n
// recipients.
func eachRun(t *testing.T, email string, n int, f func(t *testing.T, db *store.DB, rig *reportRig, m *simplesender.Mailing, run *simplesender.Run)) {
	t.Helper()
	storetest.Each(t, func(t *testing.T, url string) {
		db := storetest.Open(t, url)
		rig := newReportRig(t, db, email)
		m, run := rig.start(t, n)
		f(t, db, rig, m, run)
	})
}

func newReportRig(t *testing.T, db *store.DB, email string) *reportRig {
	t.Helper()
	u := createUser(t, db.Store(), email)
	m := &simplesender.Message{OwnerID: u.ID, Subject: "S", BodyText: "B"}
	if err := db.Store().CreateMessage(ctx, m); err != nil {
		t.Fatal(err)
	}
	return &reportRig{db: db, owner: u, msg: m}
}

// start makes a mailing to n new recipients and starts its run; it returns
// the mailing and the run.
func (r *reportRig) start(t *testing.T, n int) (*simplesender.Mailing, *simplesender.Run) {
	t.Helper()
	s := r.db.Store()
	prefix := fmt.Sprintf("r%d", time.Now().UnixNano())
	if err := s.BulkRecipients(ctx, r.owner.ID, n, func(i int) simplesender.Recipient {
		return simplesender.Recipient{Email: fmt.Sprintf("%s-%d@example.com", prefix, i)}
	}); err != nil {
		t.Fatal(err)
	}
	all, _, err := s.ListRecipients(ctx, r.owner.ID, store.ListFilter{Query: prefix, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]int64, len(all))
	for i, rc := range all {
		ids[i] = rc.ID
	}
	m := &simplesender.Mailing{OwnerID: r.owner.ID, MessageID: r.msg.ID}
	if err := s.CreateMailing(ctx, m, ids); err != nil {
		t.Fatal(err)
	}
	var run *simplesender.Run
	now := r.db.Now()
	err = r.db.InTx(ctx, func(s *store.Store) error {
		if err := s.RequestStart(ctx, r.owner.ID, m.ID, now, simplesender.RunSend, "now", 0); err != nil {
			return err
		}
		run, err = s.StartDue(ctx, m.ID, now)
		return err
	})
	if err != nil || run == nil {
		t.Fatalf("start run: %v %v", run, err)
	}
	return m, run
}

func claim(t *testing.T, db *store.DB, instance string, limit int) []store.Claimed {
	t.Helper()
	cs, err := db.ClaimDeliveries(ctx, instance, db.Now().Add(time.Second), limit)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != limit {
		t.Fatalf("claimed %d, want %d", len(cs), limit)
	}
	return cs
}

func outcome(c store.Claimed, m *simplesender.Mailing, st simplesender.DeliveryStatus, attempted bool, at time.Time) store.Outcome {
	return store.Outcome{DeliveryID: c.ID, RunID: c.RunID, MailingID: m.ID, OwnerID: m.OwnerID, Email: c.Email,
		Status: st, Attempted: attempted, At: at, NextAt: at.Add(-time.Hour)}
}

func record(t *testing.T, db *store.DB, outs ...store.Outcome) {
	t.Helper()
	if err := db.RecordOutcomes(ctx, outs); err != nil {
		t.Fatal(err)
	}
}

// rowCounts counts, the slow way, the deliveries of query's (status, count)
// rows, to check the counters against.
func rowCounts(t *testing.T, db *store.DB, query string, args ...any) simplesender.DeliveryCounts {
	t.Helper()
	var c simplesender.DeliveryCounts
	rows, err := db.Writer().QueryContext(ctx, db.Rebind(query), args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			t.Fatal(err)
		}
		state, ok := simplesender.DeliveryStatus(st).State()
		if !ok {
			t.Fatalf("a delivery in state %q, which the lifecycle does not know", st)
		}
		c.Add(state.Counter, n)
	}
	return c
}

// rowFigures counts owner's deliveries and attempts from the rows
// themselves, the slow way, to check the counters against.
func rowFigures(t *testing.T, db *store.DB, owner int64) store.FigureCounts {
	t.Helper()
	var c store.FigureCounts
	d := rowCounts(t, db, `SELECT d.status, count(*) FROM deliveries d
		JOIN runs r ON r.id = d.run_id WHERE r.owner_id = ? GROUP BY d.status`, owner)
	c.Sent, c.Failed, c.Unknown, c.Cancelled, c.Pending = d.Sent, d.Failed, d.Unknown, d.Cancelled, d.Pending
	err := db.Writer().QueryRowContext(ctx, fmt.Sprintf(`SELECT count(*), COALESCE(sum(CASE WHEN success THEN 1 ELSE 0 END), 0)
		FROM attempts WHERE owner_id = %d`, owner)).Scan(&c.AttemptsFailure, &c.AttemptsSuccess)
	if err != nil {
		t.Fatal(err)
	}
	c.AttemptsFailure -= c.AttemptsSuccess
	err = db.Writer().QueryRowContext(ctx, fmt.Sprintf(`SELECT count(*), COALESCE(sum(CASE WHEN status = 'running' THEN 1 ELSE 0 END), 0)
		FROM mailings WHERE owner_id = %d`, owner)).Scan(&c.Mailings, &c.MailingsActive)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ownerFigures(t *testing.T, db *store.DB, owner int64, from, to time.Time) store.FigureCounts {
	t.Helper()
	var out store.FigureCounts
	err := db.ReadTx(ctx, func(s *store.Store) error {
		m, err := s.OwnerFigures(ctx, store.Owner(owner), from, to)
		if c := m[owner]; c != nil {
			out = *c
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestReportCountersFollowTheRows drives deliveries through every path that
// changes their state (outcomes of each kind, a release, a duplicate
// outcome, a crash sweep, a cancel, a delete) and checks after each step
// that the kept counters give exactly what counting the rows gives, and the
// same as rebuilding the counters from the rows.
func TestReportCountersFollowTheRows(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		db := storetest.Open(t, dbURL)
		r := newReportRig(t, db, "ivan@a.ru")
		other := newReportRig(t, db, "ivan@b.com")
		check := func(step string, want store.FigureCounts) {
			t.Helper()
			got := ownerFigures(t, db, r.owner.ID, time.Time{}, time.Time{})
			if rows := rowFigures(t, db, r.owner.ID); got != rows {
				t.Fatalf("%s: counters %+v, rows %+v", step, got, rows)
			}
			if got != want {
				t.Fatalf("%s: got %+v, want %+v", step, got, want)
			}
			if o := ownerFigures(t, db, other.owner.ID, time.Time{}, time.Time{}); o != (store.FigureCounts{}) {
				t.Fatalf("%s: the other user has figures %+v", step, o)
			}
		}

		t1 := time.Date(2025, 3, 10, 22, 30, 0, 0, time.UTC)
		t2 := t1.Add(time.Hour)
		m1, _ := r.start(t, 10)
		check("run started", store.FigureCounts{Mailings: 1, MailingsActive: 1, Pending: 10})

		cs := claim(t, db, "eng-a", 7)
		record(t, db,
			outcome(cs[0], m1, simplesender.DeliverySent, true, t1),
			outcome(cs[1], m1, simplesender.DeliverySent, true, t2),
			outcome(cs[2], m1, simplesender.DeliveryFailed, true, t1),
			outcome(cs[3], m1, simplesender.DeliveryUnknown, true, t1),
			outcome(cs[4], m1, simplesender.DeliveryDeferred, true, t1),
			outcome(cs[5], m1, simplesender.DeliveryPending, false, t1),
			outcome(cs[6], m1, simplesender.DeliveryCancelled, false, t1),
		)
		check("first outcomes", store.FigureCounts{Mailings: 1, MailingsActive: 1, Sent: 2, Failed: 1, Unknown: 1,
			Pending: 5, Cancelled: 1, AttemptsSuccess: 2, AttemptsFailure: 3})

		// An outcome for a delivery no longer in sending changes no state
		// (its attempt row is still written, and counted).
		record(t, db, outcome(cs[0], m1, simplesender.DeliveryFailed, true, t2))
		check("duplicate outcome", store.FigureCounts{Mailings: 1, MailingsActive: 1, Sent: 2, Failed: 1, Unknown: 1,
			Pending: 5, Cancelled: 1, AttemptsSuccess: 2, AttemptsFailure: 4})

		cs = claim(t, db, "dead", 5) // the deferred one, the released one, three new
		record(t, db, outcome(cs[0], m1, simplesender.DeliverySent, true, t2), outcome(cs[1], m1, simplesender.DeliveryFailed, true, t2))
		if n, err := db.SweepOrphans(ctx, "alive", db.Now().Add(time.Minute), db.Now()); err != nil || n != 3 {
			t.Fatalf("sweep: %d, %v", n, err)
		}
		check("crash swept", store.FigureCounts{Mailings: 1, Sent: 3, Failed: 2, Unknown: 4, Cancelled: 1,
			AttemptsSuccess: 3, AttemptsFailure: 8})

		m2, _ := r.start(t, 5)
		cs = claim(t, db, "eng-b", 2)
		if err := db.Heartbeat(ctx, "eng-b", "h", db.Now()); err != nil {
			t.Fatal(err)
		}
		record(t, db, outcome(cs[0], m2, simplesender.DeliverySent, true, t2))
		if err := db.InTx(ctx, func(s *store.Store) error { _, err := s.CancelRuns(ctx, 0, m2.ID); return err }); err != nil {
			t.Fatal(err)
		}
		check("cancelled while one is being sent", store.FigureCounts{Mailings: 2, MailingsActive: 1, Sent: 4, Failed: 2,
			Unknown: 4, Pending: 1, Cancelled: 4, AttemptsSuccess: 4, AttemptsFailure: 8})
		record(t, db, outcome(cs[1], m2, simplesender.DeliveryCancelled, false, t2))
		want := store.FigureCounts{Mailings: 2, Sent: 4, Failed: 2, Unknown: 4, Cancelled: 5, AttemptsSuccess: 4, AttemptsFailure: 8}
		check("run ended", want)

		// The per-mailing rows add up to the totals.
		var rows []*store.MailingFigures
		if err := db.ReadTx(ctx, func(s *store.Store) error {
			var err error
			rows, err = s.MailingFigures(ctx, r.owner.ID, time.Time{}, time.Time{})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(rows) != 2 || rows[0].ID != m2.ID || rows[1].ID != m1.ID {
			t.Fatalf("mailing rows: %+v", rows)
		}
		var sum store.FigureCounts
		for _, m := range rows {
			sum.Add(m.FigureCounts)
		}
		if sum != want {
			t.Fatalf("rows add up to %+v, want %+v", sum, want)
		}

		// Attempts in a range: t1's slot only.
		if got := ownerFigures(t, db, r.owner.ID, t1, t1.Add(15*time.Minute)); got.AttemptsSuccess != 1 || got.AttemptsFailure != 3 {
			t.Fatalf("attempts in [t1, t1+15m): %+v", got)
		}

		// Rebuilding from the rows gives the same counters.
		if err := db.RebuildReportCounters(ctx); err != nil {
			t.Fatal(err)
		}
		check("rebuilt", want)
		if got := ownerFigures(t, db, r.owner.ID, t1, t1.Add(15*time.Minute)); got.AttemptsSuccess != 1 || got.AttemptsFailure != 3 {
			t.Fatalf("attempts in [t1, t1+15m) after rebuild: %+v", got)
		}

		// A database from before the counters gets them from its rows when
		// migration 0003 runs (and the later ones that add counters).
		for _, q := range []string{"DROP TABLE run_counts", "DROP TABLE attempt_counts", "DROP INDEX runs_owner",
			"CREATE INDEX attempts_owner_time ON attempts (owner_id, attempted_at)",
			"CREATE INDEX deliveries_sending ON deliveries (claimed_by) WHERE status = 'sending'",
			"DELETE FROM schema_migrations WHERE version IN (3, 4, 9)"} {
			if _, err := db.Writer().ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := db.Migrate(ctx); err != nil || n != 3 {
			t.Fatalf("migrate: %d, %v", n, err)
		}
		check("migrated", want)
		if got := ownerFigures(t, db, r.owner.ID, t1, t1.Add(15*time.Minute)); got.AttemptsSuccess != 1 || got.AttemptsFailure != 3 {
			t.Fatalf("attempts in [t1, t1+15m) after migration: %+v", got)
		}

		if err := db.Store().DeleteMailing(ctx, r.owner.ID, m1.ID); err != nil {
			t.Fatal(err)
		}
		check("first mailing deleted", store.FigureCounts{Mailings: 1, Sent: 1, Cancelled: 4, AttemptsSuccess: 1})
	})
}

func TestSlotOfFollowsQuarterHours(t *testing.T) {
	t.Parallel()
	cases := []struct {
		at   time.Time
		want time.Time
	}{
		{time.Date(2025, 3, 10, 22, 30, 0, 0, time.UTC), time.Date(2025, 3, 10, 22, 30, 0, 0, time.UTC)},
		{time.Date(2025, 3, 10, 22, 44, 59, 999, time.UTC), time.Date(2025, 3, 10, 22, 30, 0, 0, time.UTC)},
		{time.Date(2025, 3, 10, 22, 45, 0, 0, time.UTC), time.Date(2025, 3, 10, 22, 45, 0, 0, time.UTC)},
	}
	for _, c := range cases {
		if got := store.SlotOf(c.at); got != c.want.Unix() {
			t.Errorf("SlotOf(%v) = %v, want %v", c.at, time.Unix(got, 0).UTC(), c.want)
		}
	}
}
