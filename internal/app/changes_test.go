package app_test

import (
	"testing"
	"time"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/app/apptest"
	"simplesender/internal/store"
	"simplesender/internal/store/storetest"
)

// TestEveryCommittedWriteRetiresTheCache: the cached home counters and
// report follow writes that no use case of the app made (a run started and
// cancelled through the store, as the engine and another instance's app
// do), and no write that rolls back retires anything it did not change.
func TestEveryCommittedWriteRetiresTheCache(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, url string) {
		env := apptest.New(t, url)
		owner := &app.Actor{User: env.User(t, "cache-owner@example.com", simplesender.RoleUser, simplesender.StatusActive)}
		rc := &simplesender.Recipient{Email: "one@example.com"}
		if err := env.App.CreateRecipient(ctx, owner, rc); err != nil {
			t.Fatal(err)
		}
		msg := &simplesender.Message{Subject: "S", BodyText: "B"}
		if err := env.App.CreateMessage(ctx, owner, msg); err != nil {
			t.Fatal(err)
		}
		m, err := env.App.CreateMailing(ctx, owner, app.MailingInput{Name: "M", MessageID: msg.ID, RecipientIDs: []int64{rc.ID}})
		if err != nil {
			t.Fatal(err)
		}
		active := func(when string, want int) {
			t.Helper()
			h, err := env.App.HomeCounters(ctx, owner)
			if err != nil {
				t.Fatal(err)
			}
			if h.Active != want {
				t.Errorf("%s: the home page shows %d running; want %d", when, h.Active, want)
			}
		}
		active("before", 0) // cached now
		now := env.DB.Now()
		if err := env.DB.InTx(ctx, func(s *store.Store) error {
			return s.RequestStart(ctx, m.OwnerID, m.ID, now.Add(time.Hour), simplesender.RunSend, simplesender.TriggerSchedule, 0)
		}); err != nil {
			t.Fatal(err)
		}
		active("scheduled through the store", 1)
		err = env.DB.InTx(ctx, func(s *store.Store) error {
			if _, err := s.CancelRuns(ctx, 0, m.ID); err != nil {
				return err
			}
			return simplesender.E(simplesender.KindConflict, "rolled back")
		})
		if !simplesender.IsKind(err, simplesender.KindConflict) {
			t.Fatal(err)
		}
		active("a cancel rolled back", 1)
		if _, err := env.DB.Store().CancelRuns(ctx, 0, m.ID); err != nil {
			t.Fatal(err)
		}
		active("cancelled through the store", 0)
	})
}
