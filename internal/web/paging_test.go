package web_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"simplesender/internal/app"
	"simplesender/internal/store/storetest"
)

// TestPageNumbersOfEveryList asks every list of the UI for pages that are
// too large to count up to, past the last, negative or no number at all.
// A number that is no whole number from 1 shows the first page; one past
// the last shows the last page; none is an error.
func TestPageNumbersOfEveryList(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := newSite(t, dbURL)
		a, _ := seedReport(t, s)
		// A mailing of 55 recipients, sent: its audience, its deliveries
		// and the user's recipients fill two pages.
		ids := make([]int64, 55)
		for i := range ids {
			ids[i] = s.recipient(t, "active", "Many")
		}
		ac := s.actor(t, "active")
		big, err := s.env.App.CreateMailing(context.Background(), ac, app.MailingInput{Name: "big", MessageID: a.M, RecipientIDs: ids})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.env.App.SendNow(context.Background(), ac, big.ID, "now"); err != nil {
			t.Fatal(err)
		}
		s.run(t, big.ID, time.Now(), nil)
		bigPath := func(p string) string { return "/mailings/" + itoa(big.ID) + p }

		lists := []struct {
			who, path   string
			first, last []string // on the first and on the last page
		}{
			{"active", "/recipients", []string{"Page 1 of 2"}, []string{"Page 2 of 2"}},
			{"active", "/recipients?q=example.net", []string{"Page 1 of 2"}, []string{"Page 2 of 2"}},
			{"active", bigPath("/recipients"), []string{"Page 1 of 2"}, []string{"Page 2 of 2"}},
			{"active", bigPath("/deliveries"), []string{"Page 1 of 2"}, []string{"Page 2 of 2"}},
			{"active", bigPath("/deliveries?status=pending"), []string{"Page 1 of 2"}, []string{"Page 2 of 2"}},
			{"active", "/mailings", []string{"active news"}, []string{"active news"}},
			{"active", "/mailings?q=news&status=active", []string{"active news"}, []string{"active news"}},
			{"active", "/messages", []string{a.path(`href="/messages/{M}"`)}, []string{a.path(`href="/messages/{M}"`)}},
			{"manager", "/users", []string{"other@example.com"}, []string{"other@example.com"}},
			{"manager", "/reports", []string{"active@example.com"}, []string{"active@example.com"}},
			{"manager", "/recipients", []string{"Page 1 of 2"}, []string{"Page 2 of 2"}},
		}
		pages := []struct {
			value string // as it goes into the URL
			last  bool   // shows the last page, or else the first
		}{
			{"9223372036854775807", true},      // the largest int64
			{"9223372036854775808", true},      // one past it
			{"922337203685477580799999", true}, // far past it
			{"4611686018427387904", true},      // 2^62: times 50 overflows
			{"1000000000", true},               // past the last, countable
			{"3", true},                        // just past the last
			{"2", true},                        // the last page of two
			{"%202%20", true},                  // spaces around a number
			{"1", false},
			{"01", false},
			{"0", false},
			{"-1", false},
			{"-9223372036854775808", false}, // the smallest int64
			{"%2B2", false},                 // "+2"
			{"abc", false},
			{"1.5", false},
			{"1e3", false},
			{"0x10", false},
			{"", false},
			{"%00", false},
			{"9223372036854775807%00", false},
			{"%D9%A3", false}, // an Arabic-Indic three
			{"1%20OR%201%3D1", false},
		}
		for _, l := range lists {
			for _, p := range pages {
				u, _ := url.Parse(l.path)
				sep := "?"
				if u.RawQuery != "" {
					sep = "&"
				}
				path := l.path + sep + "page=" + p.value
				want := l.first
				if p.last {
					want = l.last
				}
				check(t, l.who+" GET "+path, s.do(t, l.who, "GET", path, nil), 200, want, []string{"went wrong"})
			}
		}
	})
}
