package web_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/store/storetest"
)

// TestBulkDeleteAndExportOfRecipients ticks recipients on the list (or
// takes every one the search found), sees a page that names the count,
// and deletes or downloads them; another user's ids select nothing; a
// manager is not offered the delete.
func TestBulkDeleteAndExportOfRecipients(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := newSite(t, dbURL)
		var anna []int64
		for range 3 {
			anna = append(anna, s.recipient(t, "active", "Anna"))
		}
		zoe := []int64{s.recipient(t, "active", "Zoe"), s.recipient(t, "active", "Zoe")}
		theirs := s.recipient(t, "other", "Zoe")

		list := s.do(t, "active", "GET", "/recipients", nil)
		check(t, "the list", list, 200, []string{
			`<form method="post" action="/recipients/bulk" id="bulk"`,
			`<input type="checkbox" name="id" value="` + itoa(anna[0]) + `" form="bulk"`,
			`<option value="all">All of mine (5)</option>`,
			`name="action" value="delete"`, `name="action" value="export"`,
		}, nil)
		check(t, "the search", s.do(t, "active", "GET", "/recipients?q=zoe", nil), 200,
			[]string{`<option value="all">All found: 2</option>`, `<input type="hidden" name="q" value="zoe">`}, nil)

		// Two ticked, and the other user's id slipped in: the page counts 2.
		ask := s.do(t, "active", "POST", "/recipients/bulk", url.Values{"action": {"delete"}, "scope": {"ticked"},
			"id": {itoa(anna[0]), itoa(anna[1]), itoa(theirs)}})
		check(t, "asked before deleting", ask, 200, []string{"Delete 2 recipients?", "Yes, delete 2 recipients",
			`action="/recipients/bulk/delete"`, `name="id" value="` + itoa(anna[1]) + `"`}, nil)
		done := s.follow(t, "active", s.do(t, "active", "POST", "/recipients/bulk/delete", url.Values{
			"id": {itoa(anna[0]), itoa(anna[1]), itoa(theirs)}}))
		check(t, "deleted", done, 200, []string{"The selected recipients are deleted.", "3 recipients"}, nil)
		check(t, "the other user's recipient stays", s.do(t, "other", "GET", "/recipients", nil), 200, []string{"1 recipient"}, nil)

		// Every one the search found, in Russian.
		ask = s.do(t, "active", "POST", "/recipients/bulk", url.Values{"action": {"export"}, "scope": {"all"}, "q": {"zoe"}},
			"Accept-Language", "ru")
		check(t, "asked before exporting", ask, 200, []string{"Выгрузить 2 получателей в CSV?", "Скачать 2 получателей",
			"найденные по запросу «zoe»", `name="scope" value="all"`}, nil)
		csv := s.do(t, "active", "POST", "/recipients/bulk/export", url.Values{"scope": {"all"}, "q": {"zoe"}})
		if csv.status != 200 || !strings.HasPrefix(csv.header.Get("Content-Type"), "text/csv") ||
			strings.Count(csv.body, "@example.net") != 2 || strings.Contains(csv.body, "Anna") {
			t.Errorf("export of all found: %d %s\n%s", csv.status, csv.header.Get("Content-Type"), csv.body)
		}
		for _, id := range zoe {
			r, err := s.env.App.GetRecipient(t.Context(), s.actor(t, "active"), id)
			if err != nil || !strings.Contains(csv.body, r.Email) {
				t.Errorf("the export lacks Zoe #%d (%v):\n%s", id, err, csv.body)
			}
		}

		// Nothing ticked: back to the list with the reason.
		none := s.follow(t, "active", s.do(t, "active", "POST", "/recipients/bulk", url.Values{"action": {"delete"}, "scope": {"ticked"}, "q": {"zoe"}}))
		check(t, "nothing ticked", none, 200, []string{"Select at least one of your recipients.", `value="zoe"`}, nil)
		only := s.follow(t, "active", s.do(t, "active", "POST", "/recipients/bulk/delete", url.Values{"id": {itoa(theirs)}}))
		check(t, "only another user's id", only, 200, []string{"Select at least one of your recipients."}, nil)

		// A manager sees everyone's recipients but ticks none of theirs and
		// is offered no delete.
		m := s.do(t, "manager", "GET", "/recipients", nil)
		check(t, "manager", m, 200, nil, []string{`value="` + itoa(anna[2]) + `" form="bulk"`, `name="action" value="delete"`})
	})
}

// TestBulkSuppressOfRecipients: the list offers "Suppress"; the page asks
// with the count (in Russian too), and once confirmed the ticked
// recipients' addresses, and no one else's, are on the user's suppression
// list while the recipients stay.
func TestBulkSuppressOfRecipients(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := newSite(t, dbURL)
		a, b := s.recipient(t, "active", "Anna"), s.recipient(t, "active", "Boris")
		s.recipient(t, "active", "Zoe")
		theirs := s.recipient(t, "other", "Zoe")
		check(t, "the list", s.do(t, "active", "GET", "/recipients", nil), 200, []string{`name="action" value="suppress"`}, nil)
		ticked := url.Values{"action": {"suppress"}, "scope": {"ticked"}, "id": {itoa(a), itoa(b), itoa(theirs)}}
		check(t, "asked in Russian", s.do(t, "active", "POST", "/recipients/bulk", ticked, "Accept-Language", "ru"), 200,
			[]string{"Добавить адреса 2 получателей в стоп-лист?", `name="op" value="suppress"`}, nil)
		done := s.follow(t, "active", s.do(t, "active", "POST", "/recipients/bulk/apply", url.Values{"op": {"suppress"},
			"id": {itoa(a), itoa(b), itoa(theirs)}}))
		check(t, "done", done, 200, []string{"addresses are on your suppression list", "3 recipients"}, nil)
		ctx, me := t.Context(), s.actor(t, "active")
		list, total, err := s.env.App.ListSuppressions(ctx, me, app.SuppressionQuery{Limit: 10})
		if err != nil || total != 2 {
			t.Fatalf("the suppression list: %d %v", total, err)
		}
		for _, id := range []int64{a, b} {
			r, _ := s.env.App.GetRecipient(ctx, me, id)
			if !slices.ContainsFunc(list, func(x *simplesender.Suppression) bool { return x.Email == strings.ToLower(r.Email) }) {
				t.Errorf("%s is not suppressed", r.Email)
			}
		}
		if l, total, _ := s.env.App.ListSuppressions(ctx, s.actor(t, "other"), app.SuppressionQuery{Limit: 10}); total != 0 {
			t.Errorf("the other user's list got %v", l)
		}
	})
}
