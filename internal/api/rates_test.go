package api

import (
	"fmt"
	"math"
	"testing"

	"simplesender/internal/app"
	"simplesender/internal/bounce"
	"simplesender/internal/store"
	"simplesender/internal/store/storetest"
)

// TestRatesInTheAPI: a mailing sent to two addresses gets a hard bounce
// back; the owner's report rates and the mailing's rates give 1 of 2
// (50%), the staff's list of senders flags the owner first, and other
// users get 404 or 403.
func TestRatesInTheAPI(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		f := newContentFixture(t, dbURL)
		verp := bounce.NewVERP([]byte("the secret key of this test, 32+ bytes"), "bounces", "bounce.example.org")
		f.env.App.Returns = app.ReturnsConfig{VERP: verp}
		owner := f.users["owner"]
		o := f.sent(t, owner)
		f.sent(t, f.users["other"])
		runs, err := f.env.DB.Store().ListRuns(t.Context(), o.G.ID)
		if err != nil || len(runs) != 1 {
			t.Fatal(runs, err)
		}
		ds, _, err := f.env.DB.Store().ListDeliveries(t.Context(), runs[0].ID, store.DeliveryFilter{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var sentID int64
		var sent int
		for _, d := range ds {
			if d.Status == "sent" {
				sentID, sent = d.ID, sent+1
			}
		}
		hook := fmt.Sprintf(`{"events":[{"type":"bounce","bounce":"hard","recipient":"x@example.com","metadata":{"v":%q}}]}`, verp.Address(sentID))
		if err := f.env.App.SaveWebhook(t.Context(), "generic", "e1", "192.0.2.1", []byte(hook)); err != nil {
			t.Fatal(err)
		}
		if _, err := f.env.App.ProcessReturns(t.Context(), 10); err != nil {
			t.Fatal(err)
		}
		wantRate := 100 / float64(sent)

		var rates app.Rates
		f.do(t, req{method: "GET", path: "/reports/rates", bearer: f.tokens["owner"]}).want(t, 200).decode(t, &rates)
		if rates.Totals.Sent != sent || rates.Totals.HardBounces != 1 || rates.Totals.Rates == nil ||
			math.Abs(rates.Totals.Rates.HardBounce-wantRate) > 1e-9 || len(rates.Days) != 30 || len(rates.Mailings) != 1 ||
			rates.Mailings[0].ID != o.G.ID {
			t.Errorf("report rates: %+v", rates)
		}
		var mr app.Rates
		f.do(t, req{method: "GET", path: "/mailings/" + itoa(o.G.ID) + "/rates?from=2020-01-01&to=2020-01-03",
			bearer: f.tokens["owner"]}).want(t, 200).decode(t, &mr)
		if mr.MailingID != o.G.ID || mr.Totals.Sent != 0 || mr.Totals.Rates != nil || len(mr.Days) != 3 {
			t.Errorf("mailing rates of an empty period: %+v", mr)
		}
		f.do(t, req{method: "GET", path: "/mailings/" + itoa(o.G.ID) + "/rates", bearer: f.tokens["owner"]}).want(t, 200).decode(t, &mr)
		if mr.Totals.HardBounces != 1 || mr.Totals.Sent != sent {
			t.Errorf("mailing rates: %+v", mr.Totals)
		}
		f.do(t, req{method: "GET", path: "/mailings/" + itoa(o.G.ID) + "/rates", bearer: f.tokens["other"]}).want(t, 404)
		f.do(t, req{method: "GET", path: "/reports/rates?owner_id=" + itoa(owner.ID), bearer: f.tokens["other"]}).want(t, 404)
		f.do(t, req{method: "GET", path: "/reports/rates?from=soon", bearer: f.tokens["owner"]}).want(t, 422)
		f.do(t, req{method: "GET", path: "/reports/senders", bearer: f.tokens["owner"]}).want(t, 403)

		var ss struct {
			Items []app.SenderRates `json:"items"`
			Total int               `json:"total"`
		}
		f.do(t, req{method: "GET", path: "/reports/senders", bearer: f.tokens["manager"]}).want(t, 200).decode(t, &ss)
		if ss.Total != 2 || len(ss.Items) != 2 || ss.Items[0].UserID != owner.ID || !ss.Items[0].HardBounceAlert ||
			ss.Items[1].Alert() || ss.Items[1].UserID != f.users["other"].ID {
			t.Errorf("senders: %+v", ss)
		}
		var owned app.Rates
		f.do(t, req{method: "GET", path: "/reports/rates?owner_id=" + itoa(owner.ID), bearer: f.tokens["admin"]}).want(t, 200).decode(t, &owned)
		if owned.OwnerID != owner.ID || owned.Totals.HardBounces != 1 {
			t.Errorf("admin reading the owner's rates: %+v", owned.Totals)
		}
	})
}
