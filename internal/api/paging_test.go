package api

import (
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/store"
	"simplesender/internal/store/storetest"
)

// TestPageNumbersOfEveryList asks every list of the API (every operation
// with a page parameter) for pages past the last, however large their
// number, and for page numbers and lengths that are no whole number from 1.
// A page past the last is an empty list with the total; a bad number is a
// 400 naming the parameter, with a translated message; nothing is a 500.
func TestPageNumbersOfEveryList(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		f := newContentFixture(t, dbURL)
		// Every list holds two items or more: two tokens, two runs, ...
		owner := f.users["owner"]
		f.sent(t, owner)
		f.sent(t, f.users["other"]) // a second sender for GET /reports/senders
		o := f.sent(t, owner)
		f.env.App.RepeatWindow = time.Nanosecond // a second run at once
		if err := f.env.App.SendNow(t.Context(), actor(owner), o.G.ID, "now"); err != nil {
			t.Fatal(err)
		}
		f.run(t, o.G.ID)
		if _, _, err := f.env.App.CreateAPIToken(t.Context(), actor(owner), owner, "second"); err != nil {
			t.Fatal(err)
		}
		// Two lists or more, one with the mailing's id (the {id} below)
		// holding every recipient of the owner.
		for i := 0; ; i++ {
			l, err := f.env.App.CreateList(t.Context(), actor(owner), "List "+itoa(int64(i)))
			if err != nil || l.ID > o.G.ID {
				t.Fatalf("list %d: %v", i, err)
			}
			if l.ID == o.G.ID && i > 0 {
				if _, err := f.env.App.ApplyToSelected(t.Context(), actor(owner), app.RecipientSelection{All: true}, app.BulkAddToList,
					app.BulkTarget{ListID: l.ID}); err != nil {
					t.Fatal(err)
				}
				break
			}
		}
		// Two segments or more, one with the mailing's id matching every
		// recipient of the owner.
		everyone := simplesender.SegmentDefinition{Match: "all", Conditions: []simplesender.Condition{{Field: "email", Op: "contains", Value: "@"}}}
		for i := 0; ; i++ {
			g, err := f.env.App.CreateSegment(t.Context(), actor(owner), "Segment "+itoa(int64(i)), everyone)
			if err != nil || g.ID > o.G.ID {
				t.Fatalf("segment %d: %v", i, err)
			}
			if g.ID == o.G.ID && i > 0 {
				break
			}
		}
		for _, e := range []string{"stop1@example.org", "stop2@example.org"} {
			if _, _, err := f.env.App.AddSuppression(t.Context(), actor(owner), app.SuppressionInput{Email: e}); err != nil {
				t.Fatal(err)
			}
		}
		for _, e := range []string{"gone1@example.net", "gone2@example.net"} {
			if err := f.env.DB.Store().AddDeliveryReport(t.Context(), &store.DeliveryReport{ReceivedAt: time.Now(), Source: "smtp",
				Kind: "hard", Email: e, Applied: "unmatched"}); err != nil {
				t.Fatal(err)
			}
		}
		// A webhook endpoint with the mailing's id, whose log holds two
		// requests.
		for {
			h := &store.Webhook{OwnerID: owner.ID, URL: "https://hooks.example.com/", Events: []string{app.EventSent}, Secret: "s"}
			if err := f.env.DB.Store().CreateWebhook(t.Context(), h); err != nil || h.ID > o.G.ID {
				t.Fatalf("webhook %d: %v", h.ID, err)
			}
			if h.ID == o.G.ID {
				for i := range 2 {
					if err := f.env.DB.Store().AddWebhookLog(t.Context(), &store.WebhookLog{WebhookID: h.ID, At: time.Now(),
						Attempt: i + 1, Events: 1, Status: 500}); err != nil {
						t.Fatal(err)
					}
				}
				break
			}
		}
		var lists []string
		for pattern, op := range operations() {
			for _, p := range op.params {
				if p.name == "page" {
					lists = append(lists, pattern)
				}
			}
		}
		sort.Strings(lists)
		if len(lists) < 9 {
			t.Fatalf("only %d lists found: %v", len(lists), lists)
		}
		past := []string{"9223372036854775807", "9223372036854775808", "922337203685477580799999",
			"4611686018427387904", "1000000000"}
		bad := []string{"0", "-1", "-9223372036854775808", "abc", "1.5", "1e3", "0x10", "%2B2", "%00", "%D9%A3", "1%20OR%201%3D1"}
		for _, pattern := range lists {
			method, path, _ := strings.Cut(pattern, " ")
			path = strings.ReplaceAll(path, "{id}", itoa(o.G.ID))
			who := "owner"
			if operations()[pattern].who == whoStaff {
				who = "admin"
			}
			get := func(query string) resp {
				return f.do(t, req{method: method, path: path + "?" + query, bearer: f.tokens[who]})
			}
			var first struct {
				Items []any `json:"items"`
				Total int   `json:"total"`
			}
			get("per_page=1").want(t, 200).decode(t, &first)
			if len(first.Items) != 1 || first.Total < 2 {
				t.Fatalf("%s: want a list of two items or more to page through, got %d of %d", pattern, len(first.Items), first.Total)
			}
			for _, pg := range append(past, itoa(int64(first.Total)+1)) {
				for _, perPage := range []string{"1", "500", "9223372036854775807"} {
					q := "page=" + pg + "&per_page=" + perPage
					var got struct {
						Items   []any `json:"items"`
						Total   int   `json:"total"`
						PerPage int   `json:"per_page"`
					}
					r := get(q)
					if r.status != 200 {
						t.Errorf("%s?%s: status %d: %s", pattern, q, r.status, r.body)
						continue
					}
					r.decode(t, &got)
					if got.Items == nil || len(got.Items) != 0 || got.Total != first.Total || got.PerPage > 500 {
						t.Errorf("%s?%s: want an empty page of a list of %d, got %s", pattern, q, first.Total, r.body)
					}
				}
			}
			var last struct{ Items []any }
			get("per_page=1&page="+itoa(int64(first.Total))).want(t, 200).decode(t, &last)
			if len(last.Items) != 1 {
				t.Errorf("%s: the last page has %d items, want 1", pattern, len(last.Items))
			}
			for _, param := range []string{"page", "per_page"} {
				for _, v := range bad {
					q := param + "=" + v
					r := get(q)
					if r.status != 400 {
						t.Errorf("%s?%s: status %d, want 400: %s", pattern, q, r.status, r.body)
						continue
					}
					e := r.errorBody(t)
					if !strings.Contains(e.Fields[param], "whole number from 1") {
						t.Errorf("%s?%s: error %+v does not say what %s must be", pattern, q, e, param)
					}
				}
			}
			ru := f.do(t, req{method: method, path: path + "?" + url.Values{"page": {"-1"}}.Encode(), bearer: f.tokens[who],
				header: []string{"Accept-Language", "ru"}})
			if e := ru.want(t, 400).errorBody(t); !strings.Contains(e.Fields["page"], "целым числом от 1") {
				t.Errorf("%s: Russian error %+v", pattern, e)
			}
		}
	})
}
