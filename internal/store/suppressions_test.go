package store_test

import (
	"strings"
	"testing"

	"simplesender"
	"simplesender/internal/store"
	"simplesender/internal/store/storetest"
)

// TestSuppressionList: an address is kept lower-cased once per owner (a
// second Suppress keeps the first record), is suppressed for its owner and
// not for another, a service-wide entry counts for everyone, the list
// searches, filters and exports, and Unsuppress removes the entry.
func TestSuppressionList(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, url string) {
		s := storetest.Open(t, url).Store()
		owner, other, admin := createUser(t, s, "sup-owner@example.com"), createUser(t, s, "sup-other@example.com"),
			createUser(t, s, "sup-admin@example.com")

		x, created, err := s.Suppress(ctx, owner.ID, "  Gone@Example.COM ", simplesender.ReasonUnsubscribed, 0, 0, "clicked")
		if err != nil || !created || x.Email != "gone@example.com" || x.Reason != simplesender.ReasonUnsubscribed ||
			x.OwnerID != owner.ID || x.Note != "clicked" || x.CreatedAt.IsZero() {
			t.Fatalf("first suppress: %+v, created %v, %v", x, created, err)
		}
		again, created, err := s.Suppress(ctx, owner.ID, "gone@example.com", simplesender.ReasonManual, 0, admin.ID, "by hand")
		if err != nil || created || again.ID != x.ID || again.Reason != simplesender.ReasonUnsubscribed || again.Note != "clicked" {
			t.Fatalf("second suppress must keep the first record: %+v, created %v, %v", again, created, err)
		}
		for _, bad := range []struct {
			email  string
			reason simplesender.SuppressionReason
		}{{" ", simplesender.ReasonManual}, {"a@example.com", "whim"}} {
			if _, _, err := s.Suppress(ctx, owner.ID, bad.email, bad.reason, 0, 0, ""); !simplesender.IsKind(err, simplesender.KindInvalid) {
				t.Errorf("suppress %q for %q: %v, want Invalid", bad.email, bad.reason, err)
			}
		}

		if got, err := s.IsSuppressed(ctx, owner.ID, "GONE@example.com"); err != nil || got == nil || got.ID != x.ID {
			t.Errorf("owner's own suppression not found: %+v, %v", got, err)
		}
		if got, err := s.IsSuppressed(ctx, other.ID, "gone@example.com"); err != nil || got != nil {
			t.Errorf("another owner's suppression leaks: %+v, %v", got, err)
		}
		abuse, _, err := s.Suppress(ctx, 0, "abuse@example.net", simplesender.ReasonComplained, 0, admin.ID, "abuse desk")
		if err != nil || abuse.OwnerID != 0 || abuse.CreatedByEmail != "sup-admin@example.com" {
			t.Fatalf("service-wide suppress: %+v, %v", abuse, err)
		}
		for _, u := range []int64{owner.ID, other.ID} {
			if got, err := s.IsSuppressed(ctx, u, "Abuse@example.net"); err != nil || got == nil || got.ID != abuse.ID {
				t.Errorf("service-wide suppression not seen by user %d: %+v, %v", u, got, err)
			}
		}
		among, err := s.SuppressedAmong(ctx, other.ID, []string{"GONE@example.com", "abuse@EXAMPLE.net", "new@example.com"})
		if err != nil || len(among) != 1 || among["abuse@example.net"] != simplesender.ReasonComplained {
			t.Errorf("suppressed among, for the other owner: %v, %v", among, err)
		}

		if _, _, err := s.Suppress(ctx, owner.ID, "bounce@example.org", simplesender.ReasonBounced, 0, 0, "5.1.1 no such user"); err != nil {
			t.Fatal(err)
		}
		list, total, err := s.ListSuppressions(ctx, store.SuppressionFilter{Owner: owner.ID})
		if err != nil || total != 2 || len(list) != 2 || list[0].Email != "bounce@example.org" {
			t.Fatalf("owner's list (newest first): %d %+v, %v", total, list, err)
		}
		if list, total, _ := s.ListSuppressions(ctx, store.SuppressionFilter{Owner: owner.ID, Query: "NO SUCH"}); total != 1 || list[0].Reason != simplesender.ReasonBounced {
			t.Errorf("search in notes: %d %+v", total, list)
		}
		if _, total, _ := s.ListSuppressions(ctx, store.SuppressionFilter{Owner: owner.ID, Query: "gone@"}); total != 1 {
			t.Errorf("search by address: %d", total)
		}
		if _, total, _ := s.ListSuppressions(ctx, store.SuppressionFilter{Owner: owner.ID, Query: "%"}); total != 0 {
			t.Errorf("a %% in the search is literal: %d found", total)
		}
		if n, err := s.CountSuppressions(ctx, store.SuppressionFilter{Everyone: true, Reason: simplesender.ReasonComplained}); err != nil || n != 1 {
			t.Errorf("count complained everywhere: %d, %v", n, err)
		}
		if n, _ := s.CountSuppressions(ctx, store.SuppressionFilter{}); n != 1 {
			t.Errorf("service-wide list: %d entries, want 1", n)
		}
		var all []string
		if err := s.EachSuppression(ctx, store.SuppressionFilter{Everyone: true}, func(x *simplesender.Suppression) error {
			all = append(all, x.Email+"/"+x.OwnerEmail)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(all, " "); got != "gone@example.com/sup-owner@example.com abuse@example.net/ bounce@example.org/sup-owner@example.com" {
			t.Errorf("export of everyone's: %s", got)
		}

		if _, err := s.Unsuppress(ctx, other.ID, "gone@example.com"); !simplesender.IsKind(err, simplesender.KindNotFound) {
			t.Errorf("unsuppress from another owner's list: %v, want NotFound", err)
		}
		removed, err := s.Unsuppress(ctx, owner.ID, "Gone@example.com")
		if err != nil || removed.ID != x.ID {
			t.Fatalf("unsuppress: %+v, %v", removed, err)
		}
		if got, err := s.IsSuppressed(ctx, owner.ID, "gone@example.com"); err != nil || got != nil {
			t.Errorf("still suppressed after removal: %+v, %v", got, err)
		}
		if _, err := s.Unsuppress(ctx, owner.ID, "gone@example.com"); !simplesender.IsKind(err, simplesender.KindNotFound) {
			t.Errorf("second unsuppress: %v, want NotFound", err)
		}
		// Suppressing again after a removal is a new record.
		if _, created, err := s.Suppress(ctx, owner.ID, "gone@example.com", simplesender.ReasonManual, 0, 0, ""); err != nil || !created {
			t.Errorf("suppress after removal: created %v, %v", created, err)
		}
	})
}

// TestClaimSeesSuppressions: a claim marks the deliveries whose address is
// suppressed for the run's owner (whatever its case) or service-wide, with
// the reason (the owner's own entry winning), and not those suppressed only
// for another owner; recorded as suppressed they move the run's counter and
// finish the run.
func TestClaimSeesSuppressions(t *testing.T) {
	t.Parallel()
	eachRun(t, "claim-sup@example.com", 4, func(t *testing.T, db *store.DB, rig *reportRig, m *simplesender.Mailing, run *simplesender.Run) {
		s := db.Store()
		cs := claim(t, db, "probe", 1) // learn the addresses; give it back
		other := createUser(t, s, "claim-sup-other@example.com")
		prefix := cs[0].Email[:strings.Index(cs[0].Email, "-")]
		addr := func(i int) string { return prefix + "-" + string(rune('0'+i)) + "@example.com" }
		must := func(_ *simplesender.Suppression, _ bool, err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(s.Suppress(ctx, rig.owner.ID, strings.ToUpper(addr(0)), simplesender.ReasonUnsubscribed, m.ID, 0, ""))
		must(s.Suppress(ctx, 0, addr(0), simplesender.ReasonComplained, 0, 0, ""))
		must(s.Suppress(ctx, 0, addr(1), simplesender.ReasonComplained, 0, 0, ""))
		must(s.Suppress(ctx, other.ID, addr(2), simplesender.ReasonManual, 0, 0, ""))

		out := []store.Outcome{outcome(cs[0], m, simplesender.DeliveryPending, false, db.Now())}
		record(t, db, out...)
		cs = claim(t, db, "engine", 4)
		want := map[string]simplesender.SuppressionReason{addr(0): simplesender.ReasonUnsubscribed, addr(1): simplesender.ReasonComplained}
		var outs []store.Outcome
		for _, c := range cs {
			if c.Suppressed != want[c.Email] {
				t.Errorf("%s claimed with suppression %q, want %q", c.Email, c.Suppressed, want[c.Email])
			}
			st := simplesender.DeliverySent
			if c.Suppressed != "" {
				st = simplesender.DeliverySuppressed
			}
			outs = append(outs, outcome(c, m, st, st == simplesender.DeliverySent, db.Now()))
		}
		record(t, db, outs...)
		got, err := s.MailingByID(ctx, 0, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Counts.Suppressed != 2 || got.Counts.Sent != 2 || got.FinishedAt == nil {
			t.Errorf("run after the sends: counts %+v, finished %v", got.Counts, got.FinishedAt)
		}
		checkCountersMatchRows(t, db, m.ID, "after suppressed outcomes")
	})
}
