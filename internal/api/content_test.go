package api

import (
	"strings"
	"testing"
	"time"

	"simplesender/internal/app"
	"simplesender/internal/store/storetest"
)

// eachOwned runs f on each engine with a fresh fixture, the owner's token
// and the owner's seeded objects.
func eachOwned(t *testing.T, f func(t *testing.T, fx *fixture, tok string, o objects)) {
	t.Helper()
	storetest.Each(t, func(t *testing.T, databaseURL string) {
		fx := newContentFixture(t, databaseURL)
		f(t, fx, fx.tokens["owner"], fx.seed(t, fx.users["owner"]))
	})
}

// mailingPath is the API path of the seeded mailing.
func (o objects) mailingPath() string { return "/mailings/" + itoa(o.G.ID) }

// TestContentValidation checks that bad input is refused with the field
// that is wrong, and that nothing is written.
func TestContentValidation(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, databaseURL string) {
		f := newContentFixture(t, databaseURL)
		own := f.seed(t, f.users["owner"])
		theirs := f.seed(t, f.users["other"])
		vars := own.vars()
		vars["their_r"], vars["their_m"] = itoa(theirs.R.ID), itoa(theirs.M.ID)
		vars["past"] = time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
		vars["upper"] = strings.ToUpper(own.R.Email)
		big := `{"email":"a@example.com","comment":"` + strings.Repeat("x", 1<<20) + `"}`
		tests := []struct {
			name         string
			method, path string
			body         string
			status       int
			has          []string
		}{
			{"a list of addresses is refused", "POST", "/recipients", `{"email":"a@b.cd, d@e.fg"}`, 422,
				[]string{`"email":"Enter one valid e-mail address`}},
			{"an address with CR LF is refused", "POST", "/recipients", `{"email":"a@example.com\r\nBcc: x@example.com"}`, 422,
				[]string{`"email":"Enter one valid e-mail address`}},
			{"a display name is refused", "POST", "/recipients", `{"email":"Ann <ann@example.com>"}`, 422, []string{`"email":`}},
			{"a missing address is required", "POST", "/recipients", `{"first_name":"Ann"}`, 422, []string{`"email":"This field is required."`}},
			{"a name with a line break is refused", "POST", "/recipients", `{"email":"ann@example.com","first_name":"A\nB"}`, 422,
				[]string{`"first_name":"Names are at most 100`}},
			{"an address the owner has, in any case, is refused", "POST", "/recipients", `{"email":"{upper}"}`, 422,
				[]string{`"email":"You already have a recipient with this address."`}},
			{"a number for the address is malformed", "POST", "/recipients", `{"email":5}`, 400, []string{`"email":"A field has the wrong type."`}},
			{"an unknown field is malformed", "POST", "/recipients", `{"email":"b@example.com","phone":"1"}`, 400, []string{`"phone":`}},
			{"a huge body is too large", "POST", "/recipients", big, 413, []string{`"code":"too_large"`}},
			{"patching a bad address is refused", "PATCH", "/recipients/{r}", `{"email":"not an address"}`, 422, []string{`"email":`}},
			{"an unknown recipient is not found", "GET", "/recipients/987654321", "", 404, nil},
			{"a malformed id is not found", "PATCH", "/recipients/abc", `{}`, 404, nil},

			{"an empty subject is refused", "POST", "/messages", `{"subject":"  ","body_text":"x"}`, 422,
				[]string{`"subject":"Enter a subject."`}},
			{"a subject with CR LF is refused", "POST", "/messages", `{"subject":"Hi\r\nBcc: x@example.com","body_text":"x"}`, 422,
				[]string{`"subject":"The subject must be one line`}},
			{"an empty text is refused", "POST", "/messages", `{"subject":"Hi"}`, 422, []string{`"body_text":"Enter the text`}},
			{"a broken placeholder is refused on save", "POST", "/messages", `{"subject":"Hi","body_text":"Dear {{first_nam}}"}`, 422,
				[]string{"Unknown placeholder"}},
			{"a text over 512 KB is refused", "POST", "/messages", `{"subject":"Hi","body_text":"` + strings.Repeat("y", 600<<10) + `"}`, 422,
				[]string{`"body_text":"The text is too large`}},
			{"patching an empty subject is refused", "PATCH", "/messages/{m}", `{"subject":""}`, 422, []string{`"subject":`}},
			{"an unknown message is not found", "DELETE", "/messages/987654321", "", 404, nil},

			{"a mailing needs a message and recipients", "POST", "/mailings", `{}`, 422,
				[]string{`"message_id":"Choose a message."`, `"recipient_ids":"Choose at least one recipient."`}},
			{"another user's recipient is refused", "POST", "/mailings", `{"message_id":{m},"recipient_ids":[{r},{their_r}]}`, 422,
				[]string{`"recipient_ids":"Choose only your own recipients."`}},
			{"another user's message is refused", "POST", "/mailings", `{"message_id":{their_m},"recipient_ids":[{r}]}`, 422,
				[]string{`"message_id":"Choose one of your messages."`}},
			{"an unknown recipient id is refused", "POST", "/mailings", `{"message_id":{m},"recipient_ids":[987654321]}`, 422,
				[]string{`"recipient_ids":`}},
			{"ids as a string are malformed", "POST", "/mailings", `{"message_id":{m},"recipient_ids":"1,2"}`, 400, []string{`"recipient_ids":`}},
			{"patching in another user's recipient is refused", "PATCH", "/mailings/{g}", `{"recipient_ids":[{their_r}]}`, 422,
				[]string{`"recipient_ids":"Choose only your own recipients."`}},
			{"an unknown mailing is not found", "POST", "/mailings/987654321/send", "", 404, nil},
			{"another user's mailing is not found", "GET", "/mailings/" + itoa(theirs.G.ID), "", 404, nil},
			{"a time in the past is refused", "POST", "/mailings/{g}/schedule", `{"send_at":"{past}"}`, 422,
				[]string{`"send_at":"Choose a time in the future."`}},
			{"a time that is not RFC 3339 is refused", "POST", "/mailings/{g}/schedule", `{"send_at":"tomorrow 10:00"}`, 422,
				[]string{`"send_at":"Enter a date and time."`}},
			{"a missing time is refused", "POST", "/mailings/{g}/schedule", `{}`, 422, []string{`"send_at":"This field is required."`}},
			{"an unknown resend kind is refused", "POST", "/mailings/{g}/resend", `{"kind":"all"}`, 422, []string{`"kind":`}},
			{"nothing to resend is a conflict", "POST", "/mailings/{g}/resend", `{"kind":"failed"}`, 409, []string{"nothing to resend"}},

			{"sorting by an allowed field works", "GET", "/recipients?sort=-email", "", 200, []string{`"items":[`}},
			{"sorting by another field is refused", "GET", "/recipients?sort=comment", "", 422, []string{`"sort":`, `"code":"invalid"`}},
			{"sorting by a column name with SQL is refused", "GET", "/messages?sort=id%3BDROP%20TABLE%20messages", "", 422, []string{`"sort":`}},
			{"sorting messages by body is refused", "GET", "/messages?sort=body_text", "", 422, []string{`"sort":`}},
			{"sorting mailings by a status works", "GET", "/mailings?sort=status", "", 200, nil},
			{"sorting mailings by owner is refused", "GET", "/mailings?sort=owner_id", "", 422, []string{`"sort":`}},
			{"an unknown status filter is malformed", "GET", "/mailings?status=paused", "", 400, []string{`"status":`}},
			{"an unknown delivery status is malformed", "GET", "/mailings/{g}/deliveries?status=lost", "", 400, []string{`"status":`}},
			{"an unknown run is not found", "GET", "/mailings/{g}/deliveries?run=987654321", "", 404, nil},
			{"per_page over 500 counts as 500", "GET", "/recipients?per_page=100000", "", 200, []string{`"per_page":500`}},
			{"a bad page is malformed", "GET", "/messages?page=0", "", 400, []string{`"page":`}},
			{"a bad bom is malformed", "GET", "/recipients.csv?bom=maybe", "", 400, []string{`"bom":`}},
			{"a bad period is refused", "GET", "/reports.csv?from=2025-13-01", "", 422, []string{`"from":`}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				fill := func(s string) string {
					for k, v := range vars {
						s = strings.ReplaceAll(s, "{"+k+"}", v)
					}
					return s
				}
				f.do(t, req{method: tt.method, path: fill(tt.path), body: fill(tt.body), bearer: f.tokens["owner"]}).
					want(t, tt.status).has(t, tt.has...)
			})
		}
		// Nothing half-written: the owner still has exactly the seeded
		// objects, unchanged.
		f.do(t, req{method: "GET", path: "/recipients", bearer: f.tokens["owner"]}).want(t, 200).has(t, `"total":2`)
		f.do(t, req{method: "GET", path: "/messages", bearer: f.tokens["owner"]}).want(t, 200).has(t, `"total":1`)
		f.do(t, req{method: "GET", path: "/mailings/" + vars["g"], bearer: f.tokens["owner"]}).want(t, 200).
			has(t, `"recipient_count":2`, `"status":"created"`)
		f.do(t, req{method: "GET", path: "/mailings/" + vars["g"] + "/recipients", bearer: f.tokens["owner"]}).want(t, 200).
			has(t, `"total":2`, `"items":[{"id":`+vars["r"]+`,`, `{"id":`+vars["r2"]+`,`)
	})
}

// TestPatchKeepsAbsentFields checks that PATCH changes only what it names.
func TestPatchKeepsAbsentFields(t *testing.T) {
	t.Parallel()
	eachOwned(t, func(t *testing.T, f *fixture, tok string, o objects) {
		r := itoa(o.R.ID)
		f.do(t, req{method: "PATCH", path: "/recipients/" + r, bearer: tok, body: `{"middle_name":"Sergeevich","comment":"c"}`}).
			want(t, 200).has(t, `"first_name":"Ivan"`, `"last_name":"Petrov"`, `"middle_name":"Sergeevich"`, `"email":"`+o.R.Email+`"`)
		f.do(t, req{method: "PATCH", path: "/recipients/" + r, bearer: tok, body: `{"comment":""}`}).
			want(t, 200).has(t, `"comment":""`, `"middle_name":"Sergeevich"`)
		f.do(t, req{method: "PATCH", path: "/messages/" + itoa(o.M.ID), bearer: tok, body: `{"body_html":"<p>Hi</p>"}`}).
			want(t, 200).has(t, `"subject":"Hello {{first_name}}"`, `"body_html":"\u003cp\u003eHi\u003c/p\u003e"`)
		g := itoa(o.G.ID)
		f.do(t, req{method: "PATCH", path: "/mailings/" + g, bearer: tok, body: `{"name":"Renamed"}`}).
			want(t, 200).has(t, `"name":"Renamed"`, `"message_id":`+itoa(o.M.ID), `"recipient_ids":[`+r+`,`+itoa(o.R2.ID)+`]`)
		f.do(t, req{method: "PATCH", path: "/mailings/" + g, bearer: tok, body: `{"recipient_ids":[` + r + `]}`}).
			want(t, 200).has(t, `"name":"Renamed"`, `"recipient_ids":[`+r+`]`, `"recipient_count":1`)
	})
}

// TestETag checks conditional GETs of single objects.
func TestETag(t *testing.T) {
	t.Parallel()
	eachOwned(t, func(t *testing.T, f *fixture, tok string, o objects) {
		for _, path := range []string{"/recipients/" + itoa(o.R.ID), "/messages/" + itoa(o.M.ID), "/mailings/" + itoa(o.G.ID)} {
			t.Run(path, func(t *testing.T) {
				first := f.do(t, req{method: "GET", path: path, bearer: tok}).want(t, 200)
				etag := first.header.Get("ETag")
				if !strings.HasPrefix(etag, `"`) || len(etag) < 10 {
					t.Fatalf("ETag %q", etag)
				}
				f.do(t, req{method: "GET", path: path, bearer: tok, header: []string{"If-None-Match", etag}}).want(t, 304)
				f.do(t, req{method: "GET", path: path, bearer: tok, header: []string{"If-None-Match", `"other", W/` + etag}}).want(t, 304)
				f.do(t, req{method: "GET", path: path, bearer: tok, header: []string{"If-None-Match", `"stale"`}}).want(t, 200)
				// Another viewer of the same object gets the same tag; a
				// change gives a new one.
				if m := f.do(t, req{method: "GET", path: path, bearer: f.tokens["manager"]}).want(t, 200); m.header.Get("ETag") != etag {
					t.Errorf("manager's ETag %q, owner's %q", m.header.Get("ETag"), etag)
				}
				body := map[string]string{"recipients": `{"comment":"changed"}`, "messages": `{"subject":"Changed"}`,
					"mailings": `{"name":"Changed"}`}[strings.Split(path, "/")[1]]
				f.do(t, req{method: "PATCH", path: path, bearer: tok, body: body}).want(t, 200)
				after := f.do(t, req{method: "GET", path: path, bearer: tok, header: []string{"If-None-Match", etag}}).want(t, 200)
				if after.header.Get("ETag") == etag {
					t.Error("the ETag did not change with the object")
				}
			})
		}
	})
}

// TestSendAndDeliveries follows a mailing from send to its deliveries and
// attempts, and a resend to the failed recipient.
func TestSendAndDeliveries(t *testing.T) {
	t.Parallel()
	eachOwned(t, func(t *testing.T, f *fixture, tok string, o objects) {
		g := o.mailingPath()
		f.do(t, req{method: "POST", path: g + "/send", bearer: tok}).want(t, 202).has(t, `"status":"running"`)
		// A double click makes one run.
		f.do(t, req{method: "POST", path: g + "/send", bearer: tok}).want(t, 409)
		f.do(t, req{method: "GET", path: "/mailings?status=active", bearer: tok}).want(t, 200).has(t, `"total":1`)
		f.do(t, req{method: "GET", path: g + "/deliveries", bearer: tok}).want(t, 200).has(t, `"run":null`, `"total":0`)
		f.run(t, o.G.ID)

		var m mailingJSON
		f.do(t, req{method: "GET", path: g, bearer: tok}).want(t, 200).decode(t, &m)
		if m.Status != "finished" || m.Counts.Sent != 1 || m.Counts.Failed != 1 || m.StartedAt == nil || m.FinishedAt == nil {
			t.Errorf("after the run: %+v", m)
		}
		f.do(t, req{method: "GET", path: "/mailings?status=finished", bearer: tok}).want(t, 200).has(t, `"total":1`)
		f.do(t, req{method: "GET", path: g + "/deliveries?status=failed", bearer: tok}).want(t, 200).
			has(t, `"total":1`, `"email":"`+o.R2.Email+`"`, `"last_code":550`, `"last_enhanced":"5.1.1"`, `"sent_at":null`).hasNot(t, o.R.Email)
		f.do(t, req{method: "GET", path: g + "/deliveries?q=" + o.R.Email, bearer: tok}).want(t, 200).
			has(t, `"total":1`, `"status":"sent"`, `"sent_at":"20`, `"first_name":"Ivan"`)

		f.do(t, req{method: "POST", path: g + "/resend", bearer: tok, body: `{"kind":"failed"}`}).want(t, 202)
		second := f.run(t, o.G.ID)
		var runs list[runJSON]
		f.do(t, req{method: "GET", path: g + "/runs", bearer: tok}).want(t, 200).decode(t, &runs)
		if runs.Total != 2 || runs.Items[0].Kind != "resend_failed" || runs.Items[0].Number != 2 || runs.Items[1].Number != 1 {
			t.Fatalf("runs %+v", runs)
		}
		// The last run is the default; the first stays visible by id.
		f.do(t, req{method: "GET", path: g + "/deliveries", bearer: tok}).want(t, 200).has(t, `"total":1`, `"id":`+itoa(second.ID))
		f.do(t, req{method: "GET", path: g + "/deliveries?run=" + itoa(runs.Items[1].ID), bearer: tok}).want(t, 200).has(t, `"total":2`)
		var attempts list[attemptJSON]
		f.do(t, req{method: "GET", path: g + "/attempts?per_page=2", bearer: tok}).want(t, 200).decode(t, &attempts)
		if attempts.Total != 3 || len(attempts.Items) != 2 || attempts.PerPage != 2 {
			t.Errorf("attempts %+v", attempts)
		}
		csv := f.do(t, req{method: "GET", path: g + "/attempts.csv?bom=1", bearer: tok}).want(t, 200)
		if !strings.HasPrefix(csv.body, "\uFEFFid,run,") || strings.Count(csv.body, "\r\n") != 4 {
			t.Errorf("attempts CSV:\n%s", csv.body)
		}
		if cd := csv.header.Get("Content-Disposition"); !strings.Contains(cd, "mailing-"+itoa(o.G.ID)+"-attempts.csv") {
			t.Errorf("Content-Disposition %q", cd)
		}

		// A manager disables it: the owner can then only delete it.
		f.do(t, req{method: "POST", path: g + "/disable", bearer: f.tokens["manager"]}).want(t, 200).has(t, `"disabled":true`)
		f.do(t, req{method: "POST", path: g + "/send", bearer: tok}).want(t, 409).has(t, "disabled by a manager")
		f.do(t, req{method: "PATCH", path: g, bearer: tok, body: `{"name":"x"}`}).want(t, 409)
		f.do(t, req{method: "DELETE", path: g, bearer: tok}).want(t, 204)
		f.do(t, req{method: "GET", path: g, bearer: tok}).want(t, 404)
	})
}

// TestScheduleAndCancel schedules, reschedules and cancels a send.
func TestScheduleAndCancel(t *testing.T) {
	t.Parallel()
	eachOwned(t, func(t *testing.T, f *fixture, tok string, o objects) {
		g := o.mailingPath()
		at := time.Now().Add(2 * time.Hour).UTC().Truncate(time.Second)
		// Another zone's offset is the same instant, answered in UTC.
		local := at.In(time.FixedZone("MSK", 3*3600)).Format(time.RFC3339)
		f.do(t, req{method: "POST", path: g + "/schedule", bearer: tok, body: `{"send_at":"` + local + `"}`}).
			want(t, 200).has(t, `"scheduled_at":"`+at.Format(time.RFC3339)+`"`, `"status":"running"`)
		later := at.Add(time.Hour).Format(time.RFC3339)
		f.do(t, req{method: "POST", path: g + "/schedule", bearer: tok, body: `{"send_at":"` + later + `"}`}).
			want(t, 200).has(t, `"scheduled_at":"`+later+`"`)
		f.do(t, req{method: "POST", path: g + "/cancel", bearer: tok}).want(t, 200).has(t, `"scheduled_at":null`, `"status":"created"`)
		f.do(t, req{method: "POST", path: g + "/cancel", bearer: tok}).want(t, 409)
	})
}

// TestStats checks the figures a regular user and a manager get.
func TestStats(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, databaseURL string) {
		f := newContentFixture(t, databaseURL)
		owner, other := f.users["owner"], f.users["other"]
		f.sent(t, owner) // 2 recipients, 1 sent and 1 failed
		theirs := f.seed(t, other)
		// The other user keeps one of the owner's addresses too.
		f.do(t, req{method: "PATCH", path: "/recipients/" + itoa(theirs.R.ID), bearer: f.tokens["other"],
			body: `{"email":"` + strings.ToUpper(f.ownerAddress(t)) + `"}`}).want(t, 200)

		stats := func(who string) app.Stats {
			var s app.Stats
			f.do(t, req{method: "GET", path: "/stats", bearer: f.tokens[who]}).want(t, 200).decode(t, &s)
			return s
		}
		want := map[string]app.Stats{
			"owner":   {MailingsTotal: 1, MailingsActive: 0, RecipientsUnique: 2, MessagesSent: 1, AttemptsSuccess: 1, AttemptsFailure: 1},
			"other":   {MailingsTotal: 1, MailingsActive: 0, RecipientsUnique: 2},
			"manager": {MailingsTotal: 2, MailingsActive: 0, RecipientsUnique: 3, MessagesSent: 1, AttemptsSuccess: 1, AttemptsFailure: 1},
			"admin":   {MailingsTotal: 2, MailingsActive: 0, RecipientsUnique: 3, MessagesSent: 1, AttemptsSuccess: 1, AttemptsFailure: 1},
		}
		for who, w := range want {
			if got := stats(who); got != w {
				t.Errorf("%s: stats %+v, want %+v", who, got, w)
			}
		}
		// A write shows at once (the figures are cached).
		f.do(t, req{method: "POST", path: "/mailings/" + itoa(theirs.G.ID) + "/send", bearer: f.tokens["other"]}).want(t, 202)
		if got := stats("other"); got.MailingsActive != 1 {
			t.Errorf("after a send: %+v", got)
		}
		if got := stats("manager"); got.MailingsActive != 1 {
			t.Errorf("manager after a send: %+v", got)
		}

		var rows list[app.UserStats]
		f.do(t, req{method: "GET", path: "/stats/users?per_page=500", bearer: f.tokens["manager"]}).want(t, 200).decode(t, &rows)
		byID := map[int64]app.UserStats{}
		for _, r := range rows.Items {
			byID[r.UserID] = r
		}
		if r := byID[owner.ID]; r.Email != owner.Email || r.MessagesSent != 1 || r.AttemptsFailure != 1 || r.RecipientsUnique != 2 {
			t.Errorf("owner's row %+v", r)
		}
		if r := byID[other.ID]; r.MailingsActive != 1 || r.MessagesSent != 0 {
			t.Errorf("other's row %+v", r)
		}
		if rows.Total != len(rows.Items) || rows.Total < 6 {
			t.Errorf("%d rows of %d", len(rows.Items), rows.Total)
		}
		f.do(t, req{method: "GET", path: "/stats/users?per_page=2&page=2", bearer: f.tokens["admin"]}).want(t, 200).
			has(t, `"page":2`, `"per_page":2`)

		rep := f.do(t, req{method: "GET", path: "/reports.csv", bearer: f.tokens["owner"]}).want(t, 200)
		if !strings.Contains(rep.body, "\r\ntotal,,,,1,0,1,1,0,0,0,1,1,0.5000,0,0,0,0,0\r\n") {
			t.Errorf("report CSV:\n%s", rep.body)
		}
	})
}

// ownerAddress returns the address of one of the owner's recipients.
func (f *fixture) ownerAddress(t *testing.T) string {
	t.Helper()
	var l list[recipientJSON]
	f.do(t, req{method: "GET", path: "/recipients?sort=email", bearer: f.tokens["owner"]}).want(t, 200).decode(t, &l)
	if len(l.Items) == 0 {
		t.Fatal("the owner has no recipients")
	}
	return l.Items[0].Email
}
