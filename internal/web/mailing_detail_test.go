package web_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/store"
	"simplesender/internal/store/storetest"
)

// TestMailingStatusDetail shows, beside the original's three status labels,
// what the mailing does now, on its page and in the list, so that a
// scheduled mailing whose last send finished does not just say "Running".
func TestMailingStatusDetail(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := newSite(t, dbURL)
		ctx, ac := context.Background(), s.actor(t, "active")
		o := s.seed(t, "active", "Vera")
		page, list := o.path("/mailings/{G}"), "/mailings"
		short := func(tm time.Time) string { return app.ShortTime(time.UTC, &tm, s.env.App.Now()) }

		// Planned for later: "scheduled for", in both languages.
		at := s.env.App.Now().Add(3 * time.Hour).Truncate(time.Minute)
		if err := s.env.App.Schedule(ctx, ac, o.G, at); err != nil {
			t.Fatal(err)
		}
		for _, path := range []string{page, list} {
			check(t, "scheduled "+path, s.do(t, "active", "GET", path, nil), 200,
				[]string{">Running</span>", "scheduled for " + short(at)}, []string{"finished "})
			check(t, "scheduled in Russian "+path, s.do(t, "active", "GET", path, nil, "Accept-Language", "ru"), 200,
				[]string{">Запущена</span>", "запланирована на " + short(at)}, nil)
		}
		// Sent now and finished: "finished" and the time.
		if err := s.env.App.CancelMailing(ctx, ac, o.G); err != nil {
			t.Fatal(err)
		}
		if err := s.env.App.SendNow(ctx, ac, o.G, "now"); err != nil {
			t.Fatal(err)
		}
		check(t, "send now, not started yet", s.do(t, "active", "GET", page, nil), 200,
			[]string{">Running</span>", ">starting</span>"}, []string{"scheduled for"})
		check(t, "send now in the list: no planned time", s.do(t, "active", "GET", list, nil), 200,
			[]string{">starting</span>", "<td>—</td>\n<td>—</td>"}, nil) // nothing sent, nothing planned
		now := s.env.App.Now()
		s.run(t, o.G, now, func(string) outcome { return outcome{status: simplesender.DeliverySent, code: 250} })
		g, err := s.env.App.GetMailing(ctx, ac, o.G)
		if err != nil || g.FinishedAt == nil {
			t.Fatalf("the run did not finish: %v %+v", err, g)
		}
		check(t, "finished", s.do(t, "active", "GET", list, nil), 200,
			[]string{">Finished</span>", "finished " + short(*g.FinishedAt)}, []string{"next at"})
		// Planned again: the label is the original's "Running", and the
		// detail says the last send finished and when the next one is.
		next := s.env.App.Now().Add(2 * time.Hour).Truncate(time.Minute)
		if err := s.env.App.Schedule(ctx, ac, o.G, next); err != nil {
			t.Fatal(err)
		}
		want := "finished " + short(*g.FinishedAt) + ", next at " + short(next)
		for _, path := range []string{page, list} {
			check(t, "finished and planned again "+path, s.do(t, "active", "GET", path, nil), 200,
				[]string{">Running</span>", want}, []string{"scheduled for"})
		}
		check(t, "in Russian", s.do(t, "active", "GET", page, nil, "Accept-Language", "ru"), 200,
			[]string{"завершена " + short(*g.FinishedAt) + ", следующая в " + short(next)}, nil)
		// A manager's list shows the same.
		check(t, "manager's list", s.do(t, "manager", "GET", list+"?"+url.Values{"q": {"active news"}}.Encode(), nil), 200, []string{want}, nil)
	})
}

// TestDoubleClickMessageMatchesState: a second "Send now" is refused with
// words that match what the page shows: queued, being sent, or, when the
// first click's send has already finished, just sent, never "already being
// sent" next to "Finished".
func TestDoubleClickMessageMatchesState(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := newSite(t, dbURL)
		o := s.seed(t, "active", "Vera")
		send := o.path("/mailings/{G}/send")
		s.follow(t, "active", s.do(t, "active", "POST", send, url.Values{}))
		check(t, "queued", s.do(t, "active", "POST", send, url.Values{}), 409,
			[]string{"already queued", ">starting</span>"}, []string{"already being sent"})
		now := s.env.App.Now()
		run := s.run(t, o.G, now, nil)
		check(t, "being sent", s.do(t, "active", "POST", send, url.Values{}), 409,
			[]string{"already being sent", ">sending 0%</span>"}, []string{"just been sent"})
		claimed, err := s.env.DB.ClaimDeliveries(context.Background(), "test", now, 10)
		if err != nil || len(claimed) != 1 {
			t.Fatalf("claim: %v %d", err, len(claimed))
		}
		if err := s.env.DB.RecordOutcomes(context.Background(), []store.Outcome{{DeliveryID: claimed[0].ID, RunID: run.ID,
			MailingID: o.G, OwnerID: run.OwnerID, Email: claimed[0].Email, Status: simplesender.DeliverySent, Attempted: true,
			At: now, Code: 250}}); err != nil {
			t.Fatal(err)
		}
		r := s.do(t, "active", "POST", send, url.Values{})
		check(t, "finished within the repeat window", r, 409, []string{"has just been sent", ">Finished</span>", ">finished "},
			[]string{"already being sent", "being sent."})
		check(t, "in Russian", s.do(t, "active", "POST", send, url.Values{}, "Accept-Language", "ru"), 409,
			[]string{"Рассылка только что отправлена", ">Завершена</span>"}, []string{"уже отправляется"})
	})
}

// TestDuplicateMailingButton: the owner copies a mailing from its page and
// lands on the copy, not sent, with the same message and recipients; staff
// see no button and are refused; another user gets 404.
func TestDuplicateMailingButton(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := newSite(t, dbURL)
		o := s.seed(t, "active", "Vera")
		g := o.path("/mailings/{G}")
		check(t, "the owner's page", s.do(t, "active", "GET", g, nil), 200,
			[]string{`action="` + g + `/duplicate"`, ">Make a copy</button>"}, nil)
		check(t, "the manager's page", s.do(t, "manager", "GET", g, nil), 200, nil, []string{g + "/duplicate"})
		r := s.do(t, "active", "POST", g+"/duplicate", url.Values{}, "Accept-Language", "ru")
		page := s.follow(t, "active", r, "Accept-Language", "ru")
		check(t, "the copy", page, 200, []string{"Копия создана", "Копия active news", ">Создана</span>", "active-1@example.net",
			"Hello, {{first_name|friend}}"}, nil)
		if r.header.Get("Location") == g {
			t.Error("the copy is the same mailing")
		}
		check(t, "manager", s.do(t, "manager", "POST", g+"/duplicate", url.Values{}), 403, nil, nil)
		check(t, "another user", s.do(t, "other", "POST", g+"/duplicate", url.Values{}), 404, nil, nil)
		list := s.do(t, "active", "GET", "/mailings", nil)
		check(t, "both in the list", list, 200, []string{">active news</a>", ">Копия active news</a>"}, nil)
	})
}

// TestSendTestFromMailingPage: the owner sends a test from the mailing
// page to themselves and a typed address, rendered for a chosen recipient;
// the page then says to whom and when; a bad address is named, with what
// was typed kept; staff see the line but no form.
func TestSendTestFromMailingPage(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := newSite(t, dbURL)
		o := s.seed(t, "active", "Vera")
		g := o.path("/mailings/{G}")
		check(t, "the form", s.do(t, "active", "GET", g, nil), 200, []string{`action="` + g + `/test"`, "To me (active@example.com)",
			`name="to_me" value="1" checked`, `<option value="` + itoa(o.R) + `">active-1@example.net (Petrov Vera)</option>`}, []string{`id="last-test"`})
		bad := s.do(t, "active", "POST", g+"/test", url.Values{"to_me": {"1"}, "to": {"ann@example.org, <b>nope"}, "recipient_id": {itoa(o.R)}})
		check(t, "a bad address", bad, 422, []string{"Enter e-mail addresses separated by commas", `value="ann@example.org, &lt;b&gt;nope"`,
			`aria-invalid="true"`}, []string{"<b>nope"})
		page := s.follow(t, "active", s.do(t, "active", "POST", g+"/test", url.Values{"to_me": {"1"}, "to": {"ann@example.org; boris@example.org"},
			"recipient_id": {itoa(o.R)}}))
		check(t, "sent", page, 200, []string{"Test sent. It is not counted in the reports.",
			"Test sent to active@example.com, ann@example.org, boris@example.org (active-1@example.net) at 20", ">Created</span>"}, nil)
		for _, to := range []string{"active@example.com", "ann@example.org", "boris@example.org"} {
			got := s.env.Emails(t, to)
			if len(got) != 1 || got[0].Subject != "[Test] Hello, Vera" {
				t.Errorf("e-mails to %s: %+v", to, got)
			}
		}
		staff := s.do(t, "manager", "GET", g, nil, "Accept-Language", "ru")
		check(t, "manager", staff, 200, []string{"Тест отправлен на active@example.com, ann@example.org", "отправил(а) тест на"},
			[]string{g + "/test"})
	})
}

// TestMailingFormSelectAllCountsOnce: "select all" after ticking some
// counts each recipient once.
func TestMailingFormSelectAllCountsOnce(t *testing.T) {
	t.Parallel()
	s := newSite(t, storetest.NewURL(t, "sqlite"))
	a := s.recipient(t, "active", "Alla")
	s.recipient(t, "active", "Boris")
	q := url.Values{"state": {"1"}, "recipient_ids": {itoa(a)}, "select": {"all"}}
	r := s.do(t, "active", "GET", "/mailings/new?"+q.Encode(), nil)
	check(t, "select all", r, 200, []string{">2 selected</span>", `data-hidden-count="0"`,
		`data-forms="[[0,&#34;0 selected&#34;],[1,&#34;1 selected&#34;]`}, []string{"3 selected"})
}

// TestMailingPageWatchesPlannedStart: a page of a mailing planned within
// the hour watches for the start (data-watch); further off, or sending, it
// does not.
func TestMailingPageWatchesPlannedStart(t *testing.T) {
	t.Parallel()
	s := newSite(t, storetest.NewURL(t, "sqlite"))
	ctx, ac := context.Background(), s.actor(t, "active")
	o := s.seed(t, "active", "Vera")
	page := o.path("/mailings/{G}")
	if err := s.env.App.Schedule(ctx, ac, o.G, s.env.App.Now().Add(30*time.Minute)); err != nil {
		t.Fatal(err)
	}
	check(t, "in 30 minutes", s.do(t, "active", "GET", page, nil), 200, []string{`data-running="false" data-watch="true"`}, nil)
	if err := s.env.App.Schedule(ctx, ac, o.G, s.env.App.Now().Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	check(t, "in 3 hours", s.do(t, "active", "GET", page, nil), 200, []string{`data-running="false"`}, []string{"data-watch"})
}

// TestRefusedStartSaysWhy: a planned start dropped when it came due because
// its sender could no longer be used says so on the mailing's page, in both
// languages, and a new start request clears the note.
func TestRefusedStartSaysWhy(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := newSite(t, dbURL)
		ctx, ac := context.Background(), s.actor(t, "active")
		o := s.seed(t, "active", "Vera")
		page := o.path("/mailings/{G}")
		at := s.env.App.Now().Add(time.Hour)
		if err := s.env.App.Schedule(ctx, ac, o.G, at); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.env.DB.RefuseStart(ctx, o.G, at, simplesender.StartRefusedSender); err != nil || !ok {
			t.Fatalf("refuse start: %v %v", ok, err)
		}
		check(t, "refused", s.do(t, "active", "GET", page, nil), 200,
			[]string{"The planned sending did not start", ">Created</span>"}, []string{"scheduled for"})
		check(t, "refused in Russian", s.do(t, "active", "GET", page, nil, "Accept-Language", "ru"), 200,
			[]string{"Запланированная рассылка не началась"}, nil)
		if err := s.env.App.Schedule(ctx, ac, o.G, at); err != nil {
			t.Fatal(err)
		}
		check(t, "planned again", s.do(t, "active", "GET", page, nil), 200, nil, []string{"did not start"})
	})
}
