package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"simplesender"
	"simplesender/internal/store"
	"simplesender/internal/store/storetest"
)

func TestUpsertRecipients(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, url string) {
		db := storetest.Open(t, url)
		clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		db.SetClock(func() time.Time { return clock })
		s := db.Store()
		u := createUser(t, s, "owner@example.com")
		var rs []*simplesender.Recipient
		for i := range 1200 { // more than one statement
			rs = append(rs, &simplesender.Recipient{Email: fmt.Sprintf("R%04d@example.com", i), LastName: "Old", Comment: "c"})
		}
		if err := s.UpsertRecipients(ctx, u.ID, rs, nil); err != nil {
			t.Fatal(err)
		}
		clock = clock.Add(time.Hour)
		changed := []*simplesender.Recipient{
			{Email: "r0000@example.com", LastName: "Old", Comment: "other"}, // differs in e-mail case only (and a column not updated)
			{Email: "R0001@example.com", LastName: "New", Comment: "other"}, // differs in last_name
			{Email: "R0002@example.com", LastName: "Old", Comment: "c"},     // the same
			{Email: "fresh@example.com"},
		}
		// Skip mode: only the new address is written.
		if err := s.UpsertRecipients(ctx, u.ID, changed, nil); err != nil {
			t.Fatal(err)
		}
		got := byEmail(t, s, u.ID)
		if len(got) != 1201 || got["r0001@example.com"].LastName != "Old" || !got["fresh@example.com"].CreatedAt.Equal(clock) {
			t.Fatalf("after skip: %d, %+v", len(got), got["r0001@example.com"])
		}
		cols := []store.RecipientColumn{store.ColEmail, store.ColLastName}
		probe := append(changed, &simplesender.Recipient{Email: "none@example.com"})
		m, err := s.MatchRecipients(ctx, u.ID, probe, cols)
		if want := []store.Match{store.MatchDiffers, store.MatchDiffers, store.MatchSame, store.MatchSame, store.MatchNone}; err != nil || !slices.Equal(m, want) {
			t.Fatalf("MatchRecipients = %v, %v; want %v", m, err, want)
		}
		if m, err := s.MatchRecipients(ctx, u.ID, probe, nil); err != nil || m[0] != store.MatchSame || m[4] != store.MatchNone {
			t.Fatalf("MatchRecipients without columns = %v, %v", m, err)
		}
		clock = clock.Add(time.Hour)
		if err := s.UpsertRecipients(ctx, u.ID, changed, cols); err != nil {
			t.Fatal(err)
		}
		got = byEmail(t, s, u.ID)
		want := map[string]string{
			"r0000@example.com": "r0000@example.com Old c updated",
			"r0001@example.com": "R0001@example.com New c updated",
			"r0002@example.com": "R0002@example.com Old c same",
			"fresh@example.com": "fresh@example.com   same",
		}
		for k, w := range want {
			r := got[k]
			state := "same"
			if r.UpdatedAt.Equal(clock) {
				state = "updated"
			}
			if g := strings.Join([]string{r.Email, r.LastName, r.Comment, state}, " "); g != w {
				t.Errorf("%s = %q, want %q", k, g, w)
			}
		}
		if err := s.UpsertRecipients(ctx, u.ID, changed, []store.RecipientColumn{"password"}); err == nil {
			t.Error("an unknown column was accepted")
		}
	})
}

// byEmail reads every recipient of owner a page at a time (by address, in
// the database's collation), checking that no one comes twice.
func byEmail(t *testing.T, s *store.Store, owner int64) map[string]*simplesender.Recipient {
	t.Helper()
	out, after := map[string]*simplesender.Recipient{}, ""
	for {
		page, err := s.RecipientsAfter(context.Background(), owner, after, 500)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page {
			k := strings.ToLower(r.Email)
			if out[k] != nil {
				t.Fatalf("%s twice", k)
			}
			out[k] = r
		}
		if len(page) < 500 {
			return out
		}
		after = strings.ToLower(page[len(page)-1].Email)
	}
}
