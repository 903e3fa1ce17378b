package store_test

import (
	"testing"
	"time"

	"simplesender"
	"simplesender/internal/store"
	"simplesender/internal/store/storetest"
)

// storeMove is one of the store's statements that change a delivery's
// state: the state it aims at, for which cause, and how to run it on the
// delivery of a run.
type storeMove struct {
	name  string
	to    simplesender.DeliveryStatus
	cause simplesender.Cause
	run   func(t *testing.T, db *store.DB, m *simplesender.Mailing, run *simplesender.Run, d int64) error
	// from, when set, is the one state the statement is meant for: the
	// engine's outcomes and the sweep concern deliveries in sending, and a
	// cancel what waits (the engine cancels what it holds itself, before
	// it sends).
	from func(simplesender.DeliveryState) bool
}

func inSending(st simplesender.DeliveryState) bool { return st.Status == simplesender.DeliverySending }

// outcomeMove records the engine's outcome to, for cause, in the batched
// statement of RecordOutcomes.
func outcomeMove(to simplesender.DeliveryStatus, cause simplesender.Cause) storeMove {
	return storeMove{"outcome " + string(to), to, cause, func(t *testing.T, db *store.DB, m *simplesender.Mailing, run *simplesender.Run, d int64) error {
		now := db.Now()
		return db.RecordOutcomes(ctx, []store.Outcome{{DeliveryID: d, RunID: run.ID, MailingID: m.ID, OwnerID: m.OwnerID,
			Email: "x@example.com", Status: to, Cause: cause, Attempted: to != simplesender.DeliveryPending, At: now,
			NextAt: now.Add(time.Minute)}})
	}, inSending}
}

func reportMove(cause simplesender.Cause, to simplesender.DeliveryStatus) storeMove {
	return storeMove{"report " + string(cause), to, cause, func(t *testing.T, db *store.DB, m *simplesender.Mailing, run *simplesender.Run, d int64) error {
		err := db.InTx(ctx, func(s *store.Store) error { _, err := s.ApplyReport(ctx, d, cause, db.Now()); return err })
		if simplesender.IsKind(err, simplesender.KindConflict) {
			return nil // refused: the delivery stays as it was
		}
		return err
	}, nil}
}

// TestStoreFollowsTransitions drives every statement of the store that
// changes a delivery's state (the batched claim and outcomes, a cancel, the
// sweep of a crashed engine's deliveries, a later report) from every state,
// and checks it against the domain's rules: each change it makes is an
// allowed transition, each allowed one it is meant for happens, and the
// run's counters still agree with its rows.
func TestStoreFollowsTransitions(t *testing.T) {
	t.Parallel()
	moves := []storeMove{
		{"claim", simplesender.DeliverySending, simplesender.CauseClaim, func(t *testing.T, db *store.DB, _ *simplesender.Mailing, _ *simplesender.Run, _ int64) error {
			_, err := db.ClaimDeliveries(ctx, "engine-a", db.Now().Add(time.Hour), 10)
			return err
		}, nil},
		outcomeMove(simplesender.DeliverySent, simplesender.CauseAccepted),
		outcomeMove(simplesender.DeliveryDeferred, simplesender.CauseTemporary),
		outcomeMove(simplesender.DeliveryFailed, simplesender.CausePermanent),
		outcomeMove(simplesender.DeliveryUnknown, simplesender.CauseUnknown),
		outcomeMove(simplesender.DeliveryPending, simplesender.CauseRelease),
		outcomeMove(simplesender.DeliveryCancelled, simplesender.CauseCancel),
		{"cancel", simplesender.DeliveryCancelled, simplesender.CauseCancel, func(t *testing.T, db *store.DB, m *simplesender.Mailing, _ *simplesender.Run, _ int64) error {
			return db.InTx(ctx, func(s *store.Store) error { _, err := s.CancelRuns(ctx, 0, m.ID); return err })
		}, simplesender.IsWaiting},
		{"sweep", simplesender.DeliveryUnknown, simplesender.CauseUnknown, func(t *testing.T, db *store.DB, _ *simplesender.Mailing, _ *simplesender.Run, _ int64) error {
			now := db.Now()
			_, err := db.SweepOrphans(ctx, "engine-b", now.Add(time.Hour), now)
			return err
		}, inSending},
		reportMove(simplesender.CauseBounce, simplesender.DeliveryBounced),
		reportMove(simplesender.CauseComplaint, simplesender.DeliveryComplained),
	}
	storetest.Each(t, func(t *testing.T, url string) {
		db := storetest.Open(t, url)
		rig := newReportRig(t, db, "transitions@example.com")
		for _, mv := range moves {
			for _, from := range simplesender.DeliveryStates {
				m, run := rig.start(t, 1)
				var d int64
				if err := db.Writer().QueryRowContext(ctx, db.Rebind("SELECT id FROM deliveries WHERE run_id = ?"), run.ID).Scan(&d); err != nil {
					t.Fatal(err)
				}
				if _, err := db.Writer().ExecContext(ctx, db.Rebind("UPDATE deliveries SET status = ?, claimed_by = NULL WHERE id = ?"),
					string(from.Status), d); err != nil {
					t.Fatal(err)
				}
				if err := db.RebuildReportCounters(ctx); err != nil {
					t.Fatal(err)
				}
				if err := mv.run(t, db, m, run, d); err != nil {
					t.Fatalf("%s from %s: %v", mv.name, from.Status, err)
				}
				var got simplesender.DeliveryStatus
				if err := db.Writer().QueryRowContext(ctx, db.Rebind("SELECT status FROM deliveries WHERE id = ?"), d).Scan(&got); err != nil {
					t.Fatal(err)
				}
				meant := simplesender.CanTransition(from.Status, mv.to, mv.cause) && (mv.from == nil || mv.from(from))
				switch {
				case got != from.Status && !simplesender.CanTransition(from.Status, got, mv.cause):
					t.Errorf("%s moved %s to %s: not an allowed transition", mv.name, from.Status, got)
				case meant && got != mv.to:
					t.Errorf("%s left %s as %s; the domain allows %s→%s", mv.name, from.Status, got, from.Status, mv.to)
				case !meant && got != from.Status:
					t.Errorf("%s moved %s to %s; want it unchanged", mv.name, from.Status, got)
				}
				checkCountersMatchRows(t, db, m.ID, mv.name+" from "+string(from.Status))
				if err := db.Store().DeleteMailing(ctx, m.OwnerID, m.ID); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}

// checkCountersMatchRows fails when the counts of mailing id's last run
// (kept with the rows) differ from those that rebuilding the counters
// from the rows gives.
func checkCountersMatchRows(t *testing.T, db *store.DB, id int64, when string) {
	t.Helper()
	kept, err := db.Store().MailingByID(ctx, 0, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.RebuildReportCounters(ctx); err != nil {
		t.Fatal(err)
	}
	rebuilt, err := db.Store().MailingByID(ctx, 0, id)
	if err != nil {
		t.Fatal(err)
	}
	if kept.Counts != rebuilt.Counts {
		t.Errorf("%s: the counters say %+v, the rows %+v", when, kept.Counts, rebuilt.Counts)
	}
}

// TestLaterReportsKeepCountsExact: a sent delivery that bounces leaves Sent
// for Bounced in the run's counts and in the owner's report, and a second
// report of it changes nothing.
func TestLaterReportsKeepCountsExact(t *testing.T) {
	t.Parallel()
	eachRun(t, "bounces@example.com", 3, func(t *testing.T, db *store.DB, rig *reportRig, m *simplesender.Mailing, run *simplesender.Run) {
		cs := claim(t, db, "a", 3)
		now := db.Now()
		var outs []store.Outcome
		for _, c := range cs {
			outs = append(outs, outcome(c, m, simplesender.DeliverySent, true, now))
		}
		record(t, db, outs...)
		report := func(d int64, cause simplesender.Cause) error {
			return db.InTx(ctx, func(s *store.Store) error { _, err := s.ApplyReport(ctx, d, cause, now); return err })
		}
		if err := report(cs[0].ID, simplesender.CauseBounce); err != nil {
			t.Fatal(err)
		}
		if err := report(cs[1].ID, simplesender.CauseComplaint); err != nil {
			t.Fatal(err)
		}
		if err := report(cs[0].ID, simplesender.CauseBounce); !simplesender.IsKind(err, simplesender.KindConflict) {
			t.Errorf("a second bounce: %v; want Conflict", err)
		}
		got, err := db.Store().MailingByID(ctx, 0, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := simplesender.DeliveryCounts{Sent: 1, Bounced: 1, Complained: 1}
		if got.Counts != want {
			t.Errorf("run counts: %+v; want %+v", got.Counts, want)
		}
		if f := ownerFigures(t, db, rig.owner.ID, time.Time{}, time.Time{}); f.Sent != 1 || f.Bounced != 1 || f.Complained != 1 || f.Cancelled != 0 {
			t.Errorf("owner's report: %+v; want sent 1, bounced 1, complained 1, none cancelled", f)
		}
		checkCountersMatchRows(t, db, m.ID, "after the reports")
	})
}
