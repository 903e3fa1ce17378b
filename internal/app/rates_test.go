package app_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/app/apptest"
	"simplesender/internal/bounce"
	"simplesender/internal/cache"
	"simplesender/internal/store"
)

// rtDeliveries returns the deliveries of mailing id's first run by address.
func rtDeliveries(t *testing.T, env *apptest.Env, id int64) map[string]int64 {
	t.Helper()
	runs, err := env.DB.Store().ListRuns(ctx, id)
	if err != nil || len(runs) == 0 {
		t.Fatalf("runs of mailing %d: %v, %v", id, runs, err)
	}
	ds, _, err := env.DB.Store().ListDeliveries(ctx, runs[len(runs)-1].ID, store.DeliveryFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, d := range ds {
		out[d.Email] = d.ID
	}
	return out
}

// rtHook feeds a provider's webhook (the generic one) of the given events,
// each naming its delivery by its VERP address in the metadata, and reads it.
func rtHook(t *testing.T, env *apptest.Env, id string, events ...string) {
	t.Helper()
	body := `{"events":[` + strings.Join(events, ",") + `]}`
	if err := env.App.SaveWebhook(ctx, "generic", id, "192.0.2.1", []byte(body)); err != nil {
		t.Fatal(err)
	}
	if _, err := env.App.ProcessReturns(ctx, 100); err != nil {
		t.Fatal(err)
	}
}

func rtEvent(verp *bounce.VERP, delivery int64, kind, email string) string {
	typ, b := "bounce", kind
	if kind == "complaint" {
		typ, b = "complaint", ""
	}
	return fmt.Sprintf(`{"type":%q,"bounce":%q,"recipient":%q,"status":"5.1.1","diagnostic":"550 no such user","metadata":{"v":%q}}`,
		typ, b, email, verp.Address(delivery))
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// TestRatesCountWhatCameBack: two users' mailings go to the sink; bounces,
// complaints and an unsubscribe come back for them. The report, the
// mailing's rates and the staff's page of senders show the exact counts
// and rates; the user above a line is flagged and listed first, the one
// below is not; a regular user may not see the page of senders, and a
// report that names no delivery shows on the unmatched list with its
// message.
func TestRatesCountWhatCameBack(t *testing.T) {
	t.Parallel()
	verp := bounce.NewVERP([]byte("the secret key of this test, 32+ bytes"), "bounces", "bounce.example.org")
	eachCache(t, func(t *testing.T, dbURL string, newCache func() cache.Cache) {
		env := rpEnv(t, dbURL, newCache())
		env.App.Returns = app.ReturnsConfig{VERP: verp, SoftLimit: 3}
		rpEngine(t, env)
		ivan := rpActor(t, env, "ivan@a.ru", simplesender.RoleUser)
		olga := rpActor(t, env, "olga@b.ru", simplesender.RoleUser)
		boss := rpActor(t, env, "boss@corp.ru", simplesender.RoleManager)

		var to []string
		for i := range 20 {
			to = append(to, fmt.Sprintf("r%02d@x.example", i))
		}
		m := rpMailing(t, env, ivan, "Spring news", to...)
		var big []string
		for i := range 400 {
			big = append(big, fmt.Sprintf("o%03d@y.example", i))
		}
		mo := rpMailing(t, env, olga, "Olga's digest", big...)
		for _, x := range []struct {
			ac *app.Actor
			id int64
		}{{ivan, m.ID}, {olga, mo.ID}} {
			if err := env.App.SendNow(ctx, x.ac, x.id, "now"); err != nil {
				t.Fatal(err)
			}
			rpWaitFinished(t, env, x.ac, x.id)
		}
		d := rtDeliveries(t, env, m.ID)
		do := rtDeliveries(t, env, mo.ID)
		// Ivan: 1 hard bounce (5%), 2 soft bounces of one delivery (one
		// delivery, 5%), 1 complaint (5%), 1 unsubscribe; Olga: 1
		// complaint in 400 (0.25%, below Gmail's 0.3%).
		rtHook(t, env, "e1", rtEvent(verp, d["r00@x.example"], "hard", "r00@x.example"),
			rtEvent(verp, d["r01@x.example"], "soft", "r01@x.example"),
			rtEvent(verp, d["r02@x.example"], "complaint", "r02@x.example"),
			rtEvent(verp, do["o000@y.example"], "complaint", "o000@y.example"))
		rtHook(t, env, "e2", rtEvent(verp, d["r01@x.example"], "soft", "r01@x.example"),
			rtEvent(verp, d["r00@x.example"], "hard", "r00@x.example"), // the same bounce again: counted once
			`{"type":"bounce","bounce":"hard","recipient":"stranger@elsewhere.example","status":"5.1.1","diagnostic":"550 <b>gone</b>"}`)
		if _, _, err := env.DB.Store().Suppress(ctx, ivan.User.ID, "r03@x.example", simplesender.ReasonUnsubscribed, m.ID, 0, "link"); err != nil {
			t.Fatal(err)
		}

		want := app.Returns{Sent: 20, Delivered: 18, HardBounces: 1, SoftBounces: 1, Complaints: 1, Unsubscribes: 1}
		check := func(what string, got app.Returns) {
			t.Helper()
			rates := got.Rates
			got.Rates = nil
			if got != want {
				t.Errorf("%s: %+v, want %+v", what, got, want)
			}
			if rates == nil || !near(rates.HardBounce, 5) || !near(rates.Complaint, 5) || !near(rates.SoftBounce, 5) ||
				!near(rates.Unsubscribe, 5) || !near(rates.Delivered, 90) {
				t.Errorf("%s: rates %+v, want 5%% each and 90%% delivered", what, rates)
			}
		}
		rep, err := env.App.ReportRates(ctx, ivan, 0, app.Period{})
		if err != nil {
			t.Fatal(err)
		}
		check("ivan's report", rep.Totals)
		if len(rep.Mailings) != 1 || rep.Mailings[0].ID != m.ID || rep.Mailings[0].Name != "Spring news" {
			t.Fatalf("report's mailings %+v", rep.Mailings)
		}
		check("the report's mailing row", rep.Mailings[0].Returns)
		today := rep.Days[len(rep.Days)-1]
		check("today in the chart", today.Returns)
		if len(rep.Days) != 30 || rep.Days[0].Sent != 0 || rep.Days[0].Rates != nil {
			t.Errorf("chart: %d days, first %+v; want 30 days, nothing before today", len(rep.Days), rep.Days[0])
		}
		mr, err := env.App.MailingRates(ctx, ivan, m.ID, app.Period{})
		if err != nil {
			t.Fatal(err)
		}
		check("the mailing's rates", mr.Totals)
		if _, err := env.App.MailingRates(ctx, olga, m.ID, app.Period{}); !simplesender.IsKind(err, simplesender.KindNotFound) {
			t.Errorf("another user's mailing rates: %v, want NotFound", err)
		}
		if _, err := env.App.ReportRates(ctx, olga, ivan.User.ID, app.Period{}); !simplesender.IsKind(err, simplesender.KindNotFound) {
			t.Errorf("another user's report rates: %v, want NotFound", err)
		}
		if _, err := env.App.ReportRates(ctx, ivan, 0, app.Period{From: "2026-13-01"}); !simplesender.IsKind(err, simplesender.KindInvalid) {
			t.Errorf("a bad date: %v, want Invalid", err)
		}
		// An earlier period has nothing.
		old, err := env.App.ReportRates(ctx, ivan, 0, app.Period{From: "2020-01-01", To: "2020-01-07"})
		if err != nil || old.Totals.Sent != 0 || old.Totals.HardBounces != 0 || old.Totals.Rates != nil || len(old.Days) != 7 {
			t.Errorf("a week in 2020: %+v, %v", old, err)
		}

		if _, err := env.App.SenderRatesPage(ctx, ivan, app.Period{}, 50, 0); !simplesender.IsKind(err, simplesender.KindForbidden) {
			t.Errorf("a regular user's page of senders: %v, want Forbidden", err)
		}
		ss, err := env.App.SenderRatesPage(ctx, boss, app.Period{}, 50, 0)
		if err != nil {
			t.Fatal(err)
		}
		if ss.Total != 2 || ss.Flagged != 1 || len(ss.Items) != 2 || ss.BounceAlertRate != 2 || ss.ComplaintLine != 0.3 {
			t.Fatalf("senders: %+v", ss)
		}
		first, second := ss.Items[0], ss.Items[1]
		if first.UserID != ivan.User.ID || !first.HardBounceAlert || !first.ComplaintAlert || first.Email != "ivan@a.ru" {
			t.Errorf("worst first: %+v, want ivan above both lines", first)
		}
		check("ivan's row", first.Returns)
		if len(first.Mailings) != 1 || first.Mailings[0].ID != m.ID || first.Mailings[0].Disabled {
			t.Errorf("ivan's mailings: %+v", first.Mailings)
		}
		if second.UserID != olga.User.ID || second.Alert() || second.Sent != 400 || second.Complaints != 1 ||
			second.Rates == nil || !near(second.Rates.Complaint, 0.25) {
			t.Errorf("olga below the line: %+v", second)
		}
		// A lower alert rate for bounces changes nothing for olga (no
		// bounce); her second complaint puts her above Gmail's line.
		rtHook(t, env, "e3", rtEvent(verp, do["o001@y.example"], "complaint", "o001@y.example"))
		ss, err = env.App.SenderRatesPage(ctx, boss, app.Period{}, 50, 0)
		if err != nil || ss.Flagged != 2 || !ss.Items[1].ComplaintAlert || !near(ss.Items[1].Rates.Complaint, 0.5) {
			t.Errorf("after olga's second complaint: %+v, %v", ss, err)
		}

		reps, n, err := env.App.UnmatchedReports(ctx, boss, 50, 0)
		if err != nil || n != 1 || len(reps) != 1 || reps[0].Email != "stranger@elsewhere.example" {
			t.Fatalf("unmatched: %d %+v %v", n, reps, err)
		}
		r, msg, err := env.App.UnmatchedReport(ctx, boss, reps[0].ID)
		if err != nil || r.ID != reps[0].ID || msg == nil || !strings.Contains(string(msg.Raw), "stranger@elsewhere.example") {
			t.Errorf("unmatched report with its message: %+v %+v %v", r, msg, err)
		}
		if _, _, err := env.App.UnmatchedReport(ctx, ivan, reps[0].ID); !simplesender.IsKind(err, simplesender.KindForbidden) {
			t.Errorf("a regular user reading an unmatched report: %v", err)
		}

		// The counters agree with the rows they count.
		if err := env.DB.RebuildReportCounters(ctx); err != nil {
			t.Fatal(err)
		}
		env.App.Cache = cache.NewMemory(0)
		rep, err = env.App.ReportRates(ctx, ivan, 0, app.Period{})
		if err != nil {
			t.Fatal(err)
		}
		check("ivan's report after rebuilding the counters", rep.Totals)
	})
}
