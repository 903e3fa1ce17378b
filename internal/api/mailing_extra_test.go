package api

import (
	"context"
	"strings"
	"testing"
	"time"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/store/storetest"
)

// TestMailingStatusDetailField gives API clients the detail beside the
// status: phase and times, and the same words the pages show, in the
// caller's language.
func TestMailingStatusDetailField(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, databaseURL string) {
		f := newContentFixture(t, databaseURL)
		owner := f.users["owner"]
		o := f.sent(t, owner)
		g, err := f.env.App.GetMailing(context.Background(), actor(owner), o.G.ID)
		if err != nil || g.FinishedAt == nil {
			t.Fatalf("not finished: %v", err)
		}
		next := time.Now().Add(2 * time.Hour).UTC().Truncate(time.Second)
		f.do(t, req{method: "POST", path: "/mailings/" + itoa(o.G.ID) + "/schedule", bearer: f.tokens["owner"],
			body: `{"send_at":"` + next.Format(time.RFC3339) + `"}`}).want(t, 200)
		now := f.env.App.Now()
		text := "finished " + app.ShortTime(time.UTC, g.FinishedAt, now) + ", next at " + app.ShortTime(time.UTC, &next, now)
		var one struct {
			Status       string           `json:"status"`
			StatusDetail statusDetailJSON `json:"status_detail"`
		}
		f.do(t, req{method: "GET", path: "/mailings/" + itoa(o.G.ID), bearer: f.tokens["owner"]}).want(t, 200).decode(t, &one)
		if one.Status != "running" || one.StatusDetail.Phase != "finished" || one.StatusDetail.Text != text ||
			one.StatusDetail.NextAt == nil || *one.StatusDetail.NextAt != next.Format(time.RFC3339) {
			t.Errorf("GET /mailings/{id}: %+v, want running with finished detail %q", one, text)
		}
		f.do(t, req{method: "GET", path: "/mailings", bearer: f.tokens["owner"]}).want(t, 200).
			has(t, `"status_detail":{"phase":"finished"`, `"text":"`+text+`"`)
		f.do(t, req{method: "GET", path: "/mailings", bearer: f.tokens["owner"], header: []string{"Accept-Language", "ru"}}).
			want(t, 200).has(t, "завершена "+app.ShortTime(time.UTC, g.FinishedAt, now))
	})
}

// TestDuplicateMailing copies a sent mailing: same message and recipients,
// "Copy of"/"Копия" in the caller's language, nothing sent; the original
// keeps its history. A disabled mailing is not copied.
func TestDuplicateMailing(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, databaseURL string) {
		f := newContentFixture(t, databaseURL)
		owner, tok := f.users["owner"], f.tokens["owner"]
		o := f.sent(t, owner)
		path := "/mailings/" + itoa(o.G.ID) + "/duplicate"
		var cp mailingJSON
		res := f.do(t, req{method: "POST", path: path, bearer: tok}).want(t, 201)
		res.decode(t, &cp)
		if cp.ID == o.G.ID || cp.Name != "Copy of "+o.G.Name || cp.MessageID != o.M.ID || cp.Status != "created" ||
			cp.StartedAt != nil || cp.Counts != (simplesender.DeliveryCounts{}) || len(cp.RecipientIDs) != 2 || cp.StatusDetail.Phase != "new" {
			t.Errorf("copy = %+v", cp)
		}
		if loc := res.header.Get("Location"); loc != Prefix+"/mailings/"+itoa(cp.ID) {
			t.Errorf("Location = %q", loc)
		}
		var orig mailingJSON
		f.do(t, req{method: "GET", path: "/mailings/" + itoa(o.G.ID), bearer: tok}).want(t, 200).decode(t, &orig)
		if orig.Counts.Sent != 1 || orig.Status != "finished" {
			t.Errorf("the original changed: %+v", orig)
		}
		f.do(t, req{method: "POST", path: path, bearer: tok, header: []string{"Accept-Language", "ru"}}).want(t, 201).
			has(t, `"name":"Копия `+o.G.Name+`"`)
		// An admin's copy of another user's mailing is the owner's, and recorded.
		var byAdmin mailingJSON
		f.do(t, req{method: "POST", path: path, bearer: f.tokens["admin"]}).want(t, 201).decode(t, &byAdmin)
		if byAdmin.OwnerID != owner.ID || len(byAdmin.RecipientIDs) != 2 {
			t.Errorf("admin's copy: %+v", byAdmin)
		}
		if ch, err := f.env.App.AdminChange(context.Background(), actor(owner), "mailing", byAdmin.ID); err != nil || ch == nil {
			t.Errorf("the owner does not see the admin's copy as the admin's: %+v %v", ch, err)
		}
		if _, err := f.env.App.SetMailingDisabled(context.Background(), actor(f.users["admin"]), o.G.ID, true); err != nil {
			t.Fatal(err)
		}
		f.do(t, req{method: "POST", path: path, bearer: tok}).want(t, 409)
		// A long name stays within the limit.
		long := strings.Repeat("я", 200)
		if _, err := f.env.App.UpdateMailing(context.Background(), actor(owner), cp.ID, app.MailingInput{Name: long,
			MessageID: o.M.ID, RecipientIDs: []int64{o.R.ID}}); err != nil {
			t.Fatal(err)
		}
		var cp2 mailingJSON
		f.do(t, req{method: "POST", path: "/mailings/" + itoa(cp.ID) + "/duplicate", bearer: tok}).want(t, 201).decode(t, &cp2)
		if n := len([]rune(cp2.Name)); n != 200 || !strings.HasPrefix(cp2.Name, "Copy of яя") || !strings.HasSuffix(cp2.Name, "…") {
			t.Errorf("copy of a long name: %d characters, %q", n, cp2.Name)
		}
	})
}

// TestSendTestOfMailing sends a test of a mailing to the caller and to
// typed addresses, rendered for a chosen recipient, at once through the
// mail transport (the outbox here), without a run: the mailing's status,
// counts and the reports do not move. Bad input names the field; tests are
// throttled.
func TestSendTestOfMailing(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, databaseURL string) {
		f := newContentFixture(t, databaseURL)
		owner, tok := f.users["owner"], f.tokens["owner"]
		o := f.seed(t, owner)
		theirs := f.seed(t, f.users["other"])
		path := "/mailings/" + itoa(o.G.ID) + "/test"
		var out testSendJSON
		f.do(t, req{method: "POST", path: path, bearer: tok,
			body: `{"to":["Typed@Example.org"," typed@example.org"],"recipient_id":` + itoa(o.R2.ID) + `}`}).want(t, 200).decode(t, &out)
		if len(out.SentTo) != 2 || out.SentTo[0] != owner.Email || out.SentTo[1] != "Typed@example.org" ||
			out.RecipientID == nil || *out.RecipientID != o.R2.ID {
			t.Errorf("answer = %+v", out)
		}
		for _, to := range out.SentTo {
			got := f.env.Emails(t, to)
			if len(got) != 1 || got[0].Subject != "[Test] Hello Olga" || !strings.Contains(got[0].Body, "Dear Olga,") {
				t.Errorf("e-mails to %s: %+v", to, got)
			}
		}
		// Not a send: no run, no counts, nothing in the reports.
		f.do(t, req{method: "GET", path: "/mailings/" + itoa(o.G.ID), bearer: tok}).want(t, 200).
			has(t, `"status":"created"`, `"started_at":null`, `"counts":{"sent":0,"failed":0,"pending":0,"unknown":0,"cancelled":0,"suppressed":0,"bounced":0,"complained":0}`)
		f.do(t, req{method: "GET", path: "/mailings/" + itoa(o.G.ID) + "/runs", bearer: tok}).want(t, 200).has(t, `"total":0`)
		f.do(t, req{method: "GET", path: "/stats", bearer: tok}).want(t, 200).has(t, `"messages_sent":0`, `"attempts_success":0`)
		// Recorded as a test.
		g, err := f.env.App.GetMailing(context.Background(), actor(owner), o.G.ID)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := f.env.App.LastTest(context.Background(), g)
		if err != nil || ev == nil || ev.Detail != owner.Email+", Typed@example.org ("+o.R2.Email+")" || ev.ActorID != owner.ID {
			t.Errorf("audit: %+v %v", ev, err)
		}
		// Default recipient: the first; the subject prefix in the caller's language; only to me.
		f.do(t, req{method: "POST", path: path, bearer: tok, body: `{}`, header: []string{"Accept-Language", "ru"}}).want(t, 200)
		if got := f.env.Emails(t, owner.Email); len(got) != 2 || got[1].Subject != "[Тест] Hello Ivan" {
			t.Errorf("second test: %+v", got)
		}
		bad := []struct{ body, field string }{
			{`{"to":["not an address"]}`, `"to":"Enter e-mail addresses separated by commas`},
			{`{"to":["a@example.org","b@example.org","c@example.org","d@example.org","e@example.org","f@example.org"]}`, `"to":"At most 5 addresses`},
			{`{"to_me":false}`, `"to":"Choose at least one address`},
			{`{"recipient_id":` + itoa(theirs.R.ID) + `}`, `"recipient_id":"Choose one of your recipients."`},
			{`{"recipient_id":0}`, `"recipient_id":`},
		}
		for _, b := range bad {
			f.do(t, req{method: "POST", path: path, bearer: tok, body: b.body}).want(t, 422).has(t, b.field)
		}
		f.do(t, req{method: "POST", path: path, bearer: f.tokens["manager"], body: `{}`}).want(t, 403)
		f.do(t, req{method: "POST", path: path, bearer: f.tokens["admin"], body: `{}`}).want(t, 200).
			has(t, `"sent_to":["`+f.users["admin"].Email+`"]`)
		f.do(t, req{method: "POST", path: path, bearer: f.tokens["other"], body: `{}`}).want(t, 404)
		// Throttled: ten an hour per account, the owner's two above included.
		for i := 3; i <= 10; i++ {
			f.do(t, req{method: "POST", path: path, bearer: tok, body: `{}`}).want(t, 200)
		}
		res := f.do(t, req{method: "POST", path: path, bearer: tok, body: `{}`}).want(t, 429)
		if res.header.Get("Retry-After") == "" {
			t.Error("no Retry-After on 429")
		}
		if got := f.env.Emails(t, owner.Email); len(got) != 10 {
			t.Errorf("%d tests in the outbox, want 10", len(got))
		}
	})
}
