package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"simplesender"
	"simplesender/internal/app/apptest"
	"simplesender/internal/delivery"
	"simplesender/internal/mailer"
	"simplesender/internal/store/storetest"
)

// sendingFixture is a fixture whose mailings go out through a running
// delivery engine to a real SMTP server of the test.
func sendingFixture(t *testing.T, dbURL string) (*fixture, *apptest.SMTPServer) {
	t.Helper()
	f := newFixture(t, dbURL)
	f.env.App.RepeatWindow = time.Nanosecond // a second run at once
	srv := apptest.NewSMTPServer(t)
	smtp, err := mailer.NewSMTP(srv.URL(), mailer.SMTPOptions{CommandTimeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	cfg := delivery.Config{From: mailer.Address{Email: "news@example.com"}, Conns: 2, Poll: 20 * time.Millisecond,
		Heartbeat: 200 * time.Millisecond, SendTimeout: 5 * time.Second}
	e := delivery.New(f.env.DB, delivery.NewPool(smtp, cfg.Conns), cfg)
	f.env.App.Waker = e
	rctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.Run(rctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return f, srv
}

// apiMailing makes, through the API as the caller with token, a mailing of
// one message to emails, and returns its id.
func apiMailing(t *testing.T, f *fixture, token string, emails ...string) int64 {
	t.Helper()
	var ids []string
	for _, e := range emails {
		var rc struct{ ID int64 }
		f.do(t, req{method: "POST", path: "/recipients", bearer: token, body: `{"email":"` + e + `"}`}).want(t, 201).decode(t, &rc)
		ids = append(ids, fmt.Sprint(rc.ID))
	}
	var msg struct{ ID int64 }
	f.do(t, req{method: "POST", path: "/messages", bearer: token, body: `{"subject":"News","body_text":"Hello {{email}}"}`}).
		want(t, 201).decode(t, &msg)
	var m struct{ ID int64 }
	f.do(t, req{method: "POST", path: "/mailings", bearer: token,
		body: fmt.Sprintf(`{"name":"N","message_id":%d,"recipient_ids":[%s]}`, msg.ID, strings.Join(ids, ","))}).want(t, 201).decode(t, &m)
	return m.ID
}

type mailingCounts struct {
	Status string                      `json:"status"`
	Counts simplesender.DeliveryCounts `json:"counts"`
}

// sendAndWait sends mailing id through the API and waits until it is
// finished; it returns its counts.
func sendAndWait(t *testing.T, f *fixture, token string, id int64) mailingCounts {
	t.Helper()
	f.do(t, req{method: "POST", path: fmt.Sprintf("/mailings/%d/send", id), bearer: token}).want(t, 202)
	deadline := time.Now().Add(15 * time.Second)
	for {
		var m mailingCounts
		f.do(t, req{method: "GET", path: fmt.Sprintf("/mailings/%d", id), bearer: token}).want(t, 200).decode(t, &m)
		if m.Status == "finished" {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailing %d not finished: %+v", id, m)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSuppressedAddressIsNotMailedAgain: a mailing goes to three
// addresses; the owner then suppresses one through the API and an admin
// another service-wide; sent again, those two deliveries end as suppressed
// (with the reason as their last response, counted in the mailing's
// counts) and the SMTP server receives nothing more for them, while the
// third gets its second message. Lifting the owner's suppression (with a
// reason) makes the address mailable again.
func TestSuppressedAddressIsNotMailedAgain(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		f, srv := sendingFixture(t, dbURL)
		owner := f.tokens["active"]
		id := apiMailing(t, f, owner, "keep@example.org", "Stop@example.org", "abuse@example.org")
		if m := sendAndWait(t, f, owner, id); m.Counts.Sent != 3 {
			t.Fatalf("first send: %+v", m.Counts)
		}

		var x struct {
			ID      int64  `json:"id"`
			Email   string `json:"email"`
			Created bool   `json:"created"`
		}
		f.do(t, req{method: "POST", path: "/suppressions", bearer: owner,
			body: `{"email":"stop@EXAMPLE.org","reason":"manual","note":"asked by phone"}`}).want(t, 200).decode(t, &x)
		if x.Email != "stop@example.org" || !x.Created {
			t.Fatalf("suppress: %+v", x)
		}
		f.do(t, req{method: "POST", path: "/suppressions", bearer: f.tokens["admin"],
			body: `{"email":"abuse@example.org","reason":"complained","service_wide":true}`}).want(t, 200)

		m := sendAndWait(t, f, owner, id)
		if m.Counts.Suppressed != 2 || m.Counts.Sent != 1 {
			t.Errorf("second send: counts %+v, want 2 suppressed and 1 sent", m.Counts)
		}
		for addr, want := range map[string]int{"keep@example.org": 2, "Stop@example.org": 1, "abuse@example.org": 1} {
			if got := len(srv.Messages(addr)); got != want {
				t.Errorf("%s received %d messages, want %d", addr, got, want)
			}
		}
		res := f.do(t, req{method: "GET", path: fmt.Sprintf("/mailings/%d/deliveries?status=suppressed", id), bearer: owner}).want(t, 200)
		res.has(t, `"email":"Stop@example.org"`, `"status":"suppressed","attempts":0`, `"last_response":"suppressed: manual"`, `"last_response":"suppressed: complained"`)
		res.hasNot(t, "keep@example.org")
		f.do(t, req{method: "GET", path: fmt.Sprintf("/mailings/%d", id), bearer: owner}).want(t, 200).
			has(t, `"suppressed_reasons":{"complained":1,"manual":1}`)

		if r := f.do(t, req{method: "GET", path: "/reports.csv", bearer: owner}); !strings.Contains(r.body, ",2,0,0,1,1\r\n") ||
			!strings.Contains(r.body, "suppressed,suppressed_unsubscribed,suppressed_bounced,suppressed_complained,suppressed_manual") {
			t.Errorf("report CSV lacks the suppressed deliveries by reason:\n%s", r.body)
		}

		// Removal needs a reason, and is audited.
		path := fmt.Sprintf("/suppressions/%d", x.ID)
		f.do(t, req{method: "DELETE", path: path, bearer: owner}).want(t, 422).has(t, `"reason"`)
		f.do(t, req{method: "DELETE", path: path + "?reason=" + url.QueryEscape("asked again"), bearer: owner}).want(t, 204)
		f.do(t, req{method: "GET", path: path, bearer: owner}).want(t, 404)
		if m := sendAndWait(t, f, owner, id); m.Counts.Sent != 2 || m.Counts.Suppressed != 1 {
			t.Errorf("third send: %+v, want the lifted address sent again", m.Counts)
		}
		if got := len(srv.Messages("Stop@example.org")); got != 2 {
			t.Errorf("lifted address received %d messages, want 2", got)
		}
		ev, err := f.env.DB.Store().SuppressionAudit(context.Background(), f.users["active"].ID, 10)
		if err != nil || len(ev) != 2 || ev[0].Action != "suppression.remove" || !strings.Contains(ev[0].Detail, "asked again") {
			t.Errorf("audit of the owner's list: %+v, %v", ev, err)
		}
	})
}

// TestSuppressionAccess: a user sees and changes only their own list
// (another's entry is 404, a service-wide one too); a manager sees
// everyone's and changes nothing (403); an admin adds to anyone's list and
// to the service-wide one, which a regular user may not (403 there is the
// rule for managers; a user naming the service-wide list is refused too).
func TestSuppressionAccess(t *testing.T) {
	t.Parallel()
	f := newFixture(t, storetest.NewURL(t, "sqlite"))
	user, other := f.tokens["active"], f.token(t, f.user(t, simplesender.RoleUser, simplesender.StatusActive))
	var mine, wide struct{ ID int64 }
	f.do(t, req{method: "POST", path: "/suppressions", bearer: user, body: `{"email":"a@example.org"}`}).want(t, 200).decode(t, &mine)
	f.do(t, req{method: "POST", path: "/suppressions", bearer: f.tokens["admin"],
		body: `{"email":"w@example.org","service_wide":true}`}).want(t, 200).decode(t, &wide)
	minePath, widePath := fmt.Sprintf("/suppressions/%d", mine.ID), fmt.Sprintf("/suppressions/%d", wide.ID)

	tests := []struct {
		name, method, path, token, body string
		status                          int
		has, hasNot                     []string
	}{
		{"owner reads own", "GET", minePath, user, "", 200, []string{`"reason":"manual"`}, nil},
		{"other user gets 404", "GET", minePath, other, "", 404, nil, nil},
		{"other user cannot remove", "DELETE", minePath + "?reason=x", other, "", 404, nil, nil},
		{"user does not see the service-wide entry", "GET", widePath, user, "", 404, nil, nil},
		{"user cannot remove the service-wide entry", "DELETE", widePath + "?reason=x", user, "", 404, nil, nil},
		{"other user's list is empty", "GET", "/suppressions", other, "", 200, []string{`"total":0`}, []string{"a@example.org"}},
		{"user's list has only their own", "GET", "/suppressions", user, "", 200, []string{"a@example.org"}, []string{"w@example.org"}},
		{"manager sees everyone's", "GET", "/suppressions", f.tokens["manager"], "", 200, []string{"a@example.org", "w@example.org"}, nil},
		{"manager narrows to the service-wide list", "GET", "/suppressions?service_wide=1", f.tokens["manager"], "", 200,
			[]string{"w@example.org"}, []string{"a@example.org"}},
		{"manager cannot add", "POST", "/suppressions", f.tokens["manager"], `{"email":"m@example.org"}`, 403, nil, nil},
		{"manager cannot remove", "DELETE", minePath + "?reason=x", f.tokens["manager"], "", 403, nil, nil},
		{"user cannot add service-wide", "POST", "/suppressions", user, `{"email":"x@example.org","service_wide":true}`, 404, nil, nil},
		{"user cannot add to another's list", "POST", "/suppressions", user,
			fmt.Sprintf(`{"email":"x@example.org","owner_id":%d}`, f.users["admin"].ID), 404, nil, nil},
		{"bad address is 422", "POST", "/suppressions", user, `{"email":"not an address"}`, 422, []string{`"email"`}, nil},
		{"bad reason is 422", "POST", "/suppressions", user, `{"email":"b@example.org","reason":"whim"}`, 422, []string{`"reason"`}, nil},
		{"anonymous is 401", "GET", "/suppressions", "", "", 401, nil, nil},
		{"admin adds to the user's list", "POST", "/suppressions", f.tokens["admin"],
			fmt.Sprintf(`{"email":"byadmin@example.org","owner_id":%d}`, f.users["active"].ID), 200, []string{`"created":true`}, nil},
		{"admin removes the service-wide entry", "DELETE", widePath + "?reason=resolved", f.tokens["admin"], "", 204, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := f.do(t, req{method: tc.method, path: tc.path, bearer: tc.token, body: tc.body}).want(t, tc.status)
			res.has(t, tc.has...)
			res.hasNot(t, tc.hasNot...)
		})
	}
	// The admin's addition is on the user's own list.
	f.do(t, req{method: "GET", path: "/suppressions?q=byadmin", bearer: user}).want(t, 200).has(t, `"total":1`, `"created_by_email":"admin@example.com"`)
}

// TestSuppressionImportExport: a CSV file of addresses is suppressed (bad
// rows skipped and listed, an address already there kept), and the export
// gives them back with their reason and note.
func TestSuppressionImportExport(t *testing.T) {
	t.Parallel()
	f := newFixture(t, storetest.NewURL(t, "sqlite"))
	user := f.tokens["active"]
	f.do(t, req{method: "POST", path: "/suppressions", bearer: user, body: `{"email":"old@example.org","reason":"unsubscribed"}`}).want(t, 200)
	file := "email;note\nOne@example.org;from the old tool\nnot-an-address;x\nold@example.org;\n=cmd@example.org;\n"
	res := f.do(t, req{method: "POST", path: "/suppressions/import?reason=bounced", bearer: user, body: file,
		header: []string{"Content-Type", "text/csv"}}).want(t, 200)
	var sum struct {
		Rows, Added, Already, Invalid int
		Errors                        []struct{ Line int }
	}
	res.decode(t, &sum)
	if sum.Rows != 4 || sum.Added != 2 || sum.Already != 1 || sum.Invalid != 1 || len(sum.Errors) != 1 || sum.Errors[0].Line != 3 {
		t.Errorf("import summary: %s", res.body)
	}
	r := f.do(t, req{method: "GET", path: "/suppressions.csv", bearer: user})
	if r.status != 200 || !strings.Contains(r.body, "one@example.org,bounced,from the old tool,active@example.com") ||
		!strings.Contains(r.body, "old@example.org,unsubscribed,") || !strings.Contains(r.body, "'=cmd@example.org,bounced") {
		t.Errorf("export: %d\n%s", r.status, r.body)
	}
	var list struct {
		Items []json.RawMessage
		Total int
	}
	f.do(t, req{method: "GET", path: "/suppressions?reason=bounced", bearer: user}).want(t, 200).decode(t, &list)
	if list.Total != 2 {
		t.Errorf("bounced after the import: %d", list.Total)
	}
	// A recipient import reports the suppressed address, and keeps it suppressed.
	f.do(t, req{method: "POST", path: "/recipients/import", bearer: user, body: "email\nnew@example.org\nONE@example.org\n",
		header: []string{"Content-Type", "text/csv"}}).want(t, 200).
		has(t, `"imported":2`, `"suppressed":1`, `"suppressed_rows":[{"line":3,"email":"ONE@example.org","reason":"bounced"}]`)
	f.do(t, req{method: "GET", path: "/suppressions?q=one@", bearer: user}).want(t, 200).has(t, `"total":1`)
	f.do(t, req{method: "POST", path: "/suppressions/import", bearer: f.tokens["manager"], body: file,
		header: []string{"Content-Type", "text/csv"}}).want(t, 403)
}
