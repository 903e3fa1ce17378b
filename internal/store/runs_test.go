package store_test

import (
	"testing"
	"time"

	"simplesender"
	"simplesender/internal/store"
	"simplesender/internal/store/storetest"
)

// TestBlockedOwnersMailingsDoNotStart: a start that is due for a mailing of
// a blocked user (left by a block made by hand, say) is not listed as due
// and does not start, and no new start of the user's mailings is accepted.
// Unblocked, the user sends again.
func TestBlockedOwnersMailingsDoNotStart(t *testing.T) {
	storetest.Each(t, func(t *testing.T, url string) {
		db := storetest.Open(t, url)
		rig := newReportRig(t, db, "blocked-owner@example.com")
		m, _ := rig.start(t, 3)
		if err := db.InTx(ctx, func(s *store.Store) error { _, err := s.CancelRuns(ctx, 0, m.ID); return err }); err != nil {
			t.Fatal(err)
		}
		now := db.Now()
		at := now.Add(time.Hour)
		if err := db.InTx(ctx, func(s *store.Store) error {
			return s.RequestStart(ctx, rig.owner.ID, m.ID, at, simplesender.RunSend, "schedule", 0)
		}); err != nil {
			t.Fatal(err)
		}
		// Blocked in the store alone: the pending start stays.
		if err := db.Store().SetBlocked(ctx, rig.owner.ID, true); err != nil {
			t.Fatal(err)
		}
		due, err := db.Store().DueStarts(ctx, at, 20)
		if err != nil {
			t.Fatal(err)
		}
		if len(due) != 0 {
			t.Errorf("due starts of a blocked user: %v", due)
		}
		var run *simplesender.Run
		if err := db.InTx(ctx, func(s *store.Store) error { run, err = s.StartDue(ctx, m.ID, at); return err }); err != nil || run != nil {
			t.Errorf("start of a blocked user's mailing: run %+v, err %v", run, err)
		}
		runs, err := db.Store().ListRuns(ctx, m.ID)
		if err != nil || len(runs) != 1 {
			t.Fatalf("runs: %d, %v", len(runs), err)
		}
		err = db.InTx(ctx, func(s *store.Store) error {
			return s.RequestStart(ctx, rig.owner.ID, m.ID, at.Add(time.Minute), simplesender.RunSend, "now", 0)
		})
		if !simplesender.IsKind(err, simplesender.KindConflict) || err.(*simplesender.Error).Message != "error.mailing.owner_blocked" {
			t.Errorf("request start of a blocked user's mailing: %v", err)
		}

		if err := db.Store().SetBlocked(ctx, rig.owner.ID, false); err != nil {
			t.Fatal(err)
		}
		if err := db.InTx(ctx, func(s *store.Store) error { run, err = s.StartDue(ctx, m.ID, at); return err }); err != nil || run == nil {
			t.Errorf("start after unblocking: run %+v, err %v", run, err)
		}
	})
}
