package web_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/bounce"
	"simplesender/internal/store"
	"simplesender/internal/store/storetest"
)

// seedRates gives "active" a mailing sent to 20 addresses and "other" one
// sent to 20; for active's, a hard bounce, a soft bounce (reported twice), a
// complaint and an unsubscribe come back (5% each of 20 sent), and a bounce
// naming no delivery comes in. It returns the two mailings.
func seedRates(t *testing.T, s *site) (active, other int64) {
	t.Helper()
	ctx := context.Background()
	verp := bounce.NewVERP([]byte("the secret key of this test, 32+ bytes"), "bounces", "bounce.example.org")
	s.env.App.Returns = app.ReturnsConfig{VERP: verp}
	mailing := func(who, name string) (int64, map[string]int64) {
		var ids []int64
		for range 20 {
			ids = append(ids, s.recipient(t, who, "R"))
		}
		ac := s.actor(t, who)
		msg := &simplesender.Message{Subject: "Hi", BodyText: "Hello"}
		if err := s.env.App.CreateMessage(ctx, ac, msg); err != nil {
			t.Fatal(err)
		}
		m, err := s.env.App.CreateMailing(ctx, ac, app.MailingInput{Name: name, MessageID: msg.ID, RecipientIDs: ids})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.env.App.SendNow(ctx, ac, m.ID, "now"); err != nil {
			t.Fatal(err)
		}
		run := s.run(t, m.ID, time.Now(), func(string) outcome { return outcome{status: simplesender.DeliverySent, code: 250} })
		ds, _, err := s.env.DB.Store().ListDeliveries(ctx, run.ID, store.DeliveryFilter{Limit: 100})
		if err != nil || len(ds) != 20 {
			t.Fatalf("deliveries: %d, %v", len(ds), err)
		}
		byEmail := map[string]int64{}
		for _, d := range ds {
			byEmail[d.Email] = d.ID
		}
		return m.ID, byEmail
	}
	active, ds := mailing("active", "Spring <news>")
	other, _ = mailing("other", "Other digest")
	var emails []string
	for e := range ds {
		emails = append(emails, e)
	}
	ev := func(kind, email string) string {
		typ, b := "bounce", kind
		if kind == "complaint" {
			typ, b = "complaint", ""
		}
		return fmt.Sprintf(`{"type":%q,"bounce":%q,"recipient":%q,"status":"5.1.1","diagnostic":"550 no such user","metadata":{"v":%q}}`,
			typ, b, email, verp.Address(ds[email]))
	}
	for i, events := range [][]string{
		{ev("hard", emails[0]), ev("soft", emails[1]), ev("complaint", emails[2])},
		{ev("soft", emails[1]), `{"type":"bounce","bounce":"hard","recipient":"stranger@elsewhere.example","status":"5.1.1","diagnostic":"550 <b>gone</b>"}`},
	} {
		body := `{"events":[` + strings.Join(events, ",") + `]}`
		if err := s.env.App.SaveWebhook(ctx, "generic", fmt.Sprint("ev", i), "192.0.2.1", []byte(body)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.env.App.ProcessReturns(ctx, 100); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := s.env.DB.Store().Suppress(ctx, s.ids["active"], emails[3], simplesender.ReasonUnsubscribed, active, 0, "link"); err != nil {
		t.Fatal(err)
	}
	return active, other
}

func TestRatesPages(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := newSite(t, dbURL)
		active, other := seedRates(t, s)
		mp := "/mailings/" + itoa(active)
		figures := []string{`data-figure="rates-sent">20</dd>`, `data-figure="rates-delivered">18 <small>90.0%</small>`,
			`data-figure="rates-hard">1 <small>5.00%</small>`, `data-figure="rates-soft">1 <small>5.00%</small>`,
			`data-figure="rates-complaints">1 <small>5.00%</small>`, `data-figure="rates-unsubscribes">1 <small>5.00%</small>`,
			`data-figure="rates-suppressed">0 <small>0.00%</small>`, `<svg viewBox`, `<title id="rate-svg-title">Bounce and complaint rates per day`,
			`<desc id="rate-svg-desc">20 messages sent, 1 hard bounces and 1 complaints`, `class="bar-hard"`, `class="bar-complaint"`,
			`class="line-complaint"`, "The chart as a table"}
		check(t, "mailing page", s.do(t, "active", "GET", mp, nil), 200,
			append(figures, `id="rates"`, "Last:", "7 days</a>", `action="/mailings/`+itoa(active)+`#rates"`), nil)
		check(t, "mailing page in Russian", s.do(t, "active", "GET", mp, nil, "Accept-Language", "ru"), 200,
			[]string{"Отказы и жалобы", "Жёсткие отказы", `data-figure="rates-hard">1 <small>5,00` + "\u00a0%</small>", "Доля отказов и жалоб по дням", "7 дней"}, nil)
		check(t, "mailing page, an old period", s.do(t, "active", "GET", mp+"?from=2020-01-01&to=2020-01-07", nil), 200,
			[]string{`data-figure="rates-sent">0</dd>`, `data-figure="rates-hard">0</dd>`, `value="2020-01-01"`}, []string{"<small>5.00%</small>"})
		check(t, "mailing page, a bad period", s.do(t, "active", "GET", mp+"?from=someday", nil), 200,
			[]string{`id="rates-period-error"`, "The last 30 days are shown.", `data-figure="rates-hard">1 <small>5.00%</small>`}, nil)
		check(t, "another's mailing", s.do(t, "other", "GET", mp, nil), 404, nil, []string{"rates-hard"})

		check(t, "reports page", s.do(t, "active", "GET", "/reports", nil), 200,
			append(figures, "Bounces and complaints by mailing", "Spring &lt;news&gt;", mp+"?from="), []string{"Other digest"})
		check(t, "reports page in Russian", s.do(t, "active", "GET", "/reports", nil, "Accept-Language", "ru"), 200,
			[]string{"Отказы и жалобы", "Отказы и жалобы по рассылкам"}, nil)
		check(t, "manager's reports page links the staff pages", s.do(t, "manager", "GET", "/reports", nil), 200,
			[]string{`href="/reports/senders?from=`, `href="/reports/unmatched"`}, nil)

		// The staff's page of senders.
		check(t, "a user on the senders' page", s.do(t, "active", "GET", "/reports/senders", nil), 404, nil, []string{"other@example.com"})
		check(t, "another user on the senders' page", s.do(t, "other", "GET", "/reports/senders", nil), 404, nil, []string{"active@example.com"})
		check(t, "anonymous on the senders' page", s.do(t, "", "GET", "/reports/senders", nil), 303, nil, []string{"active@example.com"})
		r := s.do(t, "manager", "GET", "/reports/senders", nil)
		check(t, "senders", r, 200, []string{`<tr id="sender-` + itoa(s.ids["active"]) + `" class="alert-row">`,
			`<tr id="sender-` + itoa(s.ids["other"]) + `">`, "2 users sent in the period", "1 above a limit", `data-alert="hard"`,
			`data-alert="complaint"`, "<strong>5.00%</strong>", `action="/users/` + itoa(s.ids["active"]) + `/block"`,
			`action="/mailings/` + itoa(active) + `/disable"`, `action="/mailings/` + itoa(other) + `/disable"`, "Spring &lt;news&gt;",
			`name="next" value="/reports/senders"`, "data-confirm="}, nil)
		if strings.Count(r.body, "Above the limit") != 1 {
			t.Errorf("the highlight shows %d times, want once (active only)", strings.Count(r.body, "Above the limit"))
		}
		if a, o := strings.Index(r.body, "sender-"+itoa(s.ids["active"])), strings.Index(r.body, "sender-"+itoa(s.ids["other"])); a > o {
			t.Error("the worst sender is not listed first")
		}
		check(t, "senders in Russian", s.do(t, "admin", "GET", "/reports/senders", nil, "Accept-Language", "ru"), 200,
			[]string{"Отправители: отказы и жалобы", "2 пользователя отправляли за период", "Выше предела", "Заблокировать"}, nil)
		check(t, "senders, bad period", s.do(t, "manager", "GET", "/reports/senders?from=2025-02-10&to=2025-01-01", nil), 422,
			[]string{"The end of the period is before its start."}, nil)

		// Acting from the page: block the user, disable a mailing; both
		// come back to it.
		back := "/reports/senders?from=" + time.Now().AddDate(0, 0, -6).Format(time.DateOnly)
		r = s.do(t, "manager", "POST", "/users/"+itoa(s.ids["active"])+"/block", url.Values{"next": {back}})
		if r.status != 303 || r.header.Get("Location") != back {
			t.Fatalf("block: %d to %q, want back to %q", r.status, r.header.Get("Location"), back)
		}
		u, err := s.env.DB.Store().UserByID(context.Background(), s.ids["active"])
		if err != nil || u.Status() != simplesender.StatusBlocked {
			t.Errorf("after the block: %v, %v", u, err)
		}
		r = s.do(t, "manager", "POST", "/mailings/"+itoa(other)+"/disable", url.Values{"next": {back}})
		if r.status != 303 || r.header.Get("Location") != back {
			t.Fatalf("disable: %d to %q", r.status, r.header.Get("Location"))
		}
		r = s.follow(t, "manager", r)
		check(t, "senders after acting", r, 200, []string{"The mailing is disabled.", "(Disabled)", "Blocked"},
			[]string{`action="/users/` + itoa(s.ids["active"]) + `/block"`, `action="/mailings/` + itoa(other) + `/disable"`})

		// Reports that matched no delivery.
		check(t, "unmatched as a user", s.do(t, "other", "GET", "/reports/unmatched", nil), 404, nil, []string{"stranger@"})
		r = s.do(t, "manager", "GET", "/reports/unmatched", nil)
		check(t, "unmatched", r, 200, []string{"stranger@elsewhere.example", "550 &lt;b&gt;gone&lt;/b&gt;", "1 report", "Bounced for good"},
			[]string{"<b>gone</b>"})
		reps, _, err := s.env.App.UnmatchedReports(context.Background(), s.actor(t, "manager"), 10, 0)
		if err != nil || len(reps) != 1 {
			t.Fatalf("unmatched: %v %v", reps, err)
		}
		detail := "/reports/unmatched/" + itoa(reps[0].ID)
		check(t, "unmatched report", s.do(t, "admin", "GET", detail, nil), 200,
			[]string{`<pre class="raw-message" id="raw-message">`, `&#34;stranger@elsewhere.example&#34;`, "&lt;b&gt;gone&lt;/b&gt;", "192.0.2.1"},
			[]string{"<b>gone</b>"})
		check(t, "unmatched report in Russian", s.do(t, "admin", "GET", detail, nil, "Accept-Language", "ru"), 200,
			[]string{"Отчёт без доставки", "Письмо как получено"}, nil)
		check(t, "unmatched report as a user", s.do(t, "other", "GET", detail, nil), 404, nil, []string{"stranger@"})
		check(t, "no such unmatched report", s.do(t, "admin", "GET", "/reports/unmatched/999999", nil), 404, nil, nil)
		r = s.do(t, "manager", "POST", "/users/"+itoa(s.ids["other"])+"/block", url.Values{"next": {"https://evil.example/"}})
		if r.header.Get("Location") != "/users/"+itoa(s.ids["other"]) {
			t.Errorf("block with a foreign next goes to %q", r.header.Get("Location"))
		}
	})
}
