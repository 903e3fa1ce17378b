package store_test

import (
	"testing"

	"simplesender"
	"simplesender/internal/store"
)

// TestRunCountsMatchTheRows: the counts shown for a run (from counters)
// are what counting its delivery rows gives, while it sends, while it is
// being cancelled, and once it has finished.
func TestRunCountsMatchTheRows(t *testing.T) {
	t.Parallel()
	eachRun(t, "counts@example.com", 10, func(t *testing.T, db *store.DB, rig *reportRig, m *simplesender.Mailing, run *simplesender.Run) {
		check := func(when string) {
			t.Helper()
			want := rowCounts(t, db, "SELECT status, count(*) FROM deliveries WHERE run_id = ? GROUP BY status", run.ID)
			got, err := db.Store().MailingByID(ctx, 0, m.ID)
			if err != nil {
				t.Fatal(err)
			}
			runs, err := db.Store().ListRuns(ctx, m.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Counts != want || len(runs) != 1 || runs[0].Counts != want {
				t.Errorf("%s: mailing shows %+v, run shows %+v; the rows say %+v", when, got.Counts, runs[0].Counts, want)
			}
		}
		check("started")
		cs := claim(t, db, "a", 6)
		at := db.Now()
		record(t, db, outcome(cs[0], m, simplesender.DeliverySent, true, at), outcome(cs[1], m, simplesender.DeliveryFailed, true, at),
			outcome(cs[2], m, simplesender.DeliveryUnknown, true, at), outcome(cs[3], m, simplesender.DeliveryDeferred, true, at))
		check("sending")
		if _, err := db.Store().CancelRuns(ctx, 0, m.ID); err != nil {
			t.Fatal(err)
		}
		check("being cancelled")
		record(t, db, outcome(cs[4], m, simplesender.DeliverySent, true, at), outcome(cs[5], m, simplesender.DeliveryCancelled, false, at))
		check("cancelled")
		if r, err := db.Store().RunByID(ctx, run.ID); err != nil || r.FinishedAt == nil {
			t.Fatalf("the cancelled run did not finish: %+v %v", r, err)
		}
	})
}
