package web_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/store"
)

// objs are a user's recipient, message and mailing made by seed.
type objs struct {
	R, M, G int64
}

// path replaces {R}, {M} and {G} in p with the ids.
func (o objs) path(p string) string {
	return strings.NewReplacer("{R}", itoa(o.R), "{M}", itoa(o.M), "{G}", itoa(o.G)).Replace(p)
}

func (s *site) actor(t *testing.T, who string) *app.Actor {
	t.Helper()
	u, err := s.env.DB.Store().UserByID(context.Background(), s.ids[who])
	if err != nil {
		t.Fatal(err)
	}
	return &app.Actor{User: u}
}

// recipient adds a recipient for who.
func (s *site) recipient(t *testing.T, who, first string) int64 {
	t.Helper()
	s.seq++
	r := &simplesender.Recipient{Email: fmt.Sprintf("%s-%d@example.net", who, s.seq), FirstName: first, LastName: "Petrov"}
	if err := s.env.App.CreateRecipient(context.Background(), s.actor(t, who), r); err != nil {
		t.Fatal(err)
	}
	return r.ID
}

// seed gives who a recipient (first name first), a message with an HTML
// part and a mailing of the two. The message holds a script, as one saved
// before HTML was checked could: it is written to the store directly, so
// that the pages' escaping and the preview's sandbox are still tested.
func (s *site) seed(t *testing.T, who, first string) objs {
	t.Helper()
	ctx, ac := context.Background(), s.actor(t, who)
	o := objs{R: s.recipient(t, who, first)}
	m := &simplesender.Message{Subject: "Hello, {{first_name|friend}}", BodyText: "Dear {{full_name}},\nnews.",
		BodyHTML: "<p>Dear <b>{{first_name}}</b></p><script>parent.alert(1)</script>"}
	if err := app.ValidateMessage(&simplesender.Message{Subject: m.Subject, BodyText: m.BodyText, BodyHTML: m.BodyHTML}); !simplesender.IsKind(err, simplesender.KindInvalid) {
		t.Fatalf("a message with a script passes the check: %v", err)
	}
	m.OwnerID = s.ids[who]
	if err := s.env.DB.Store().CreateMessage(ctx, m); err != nil {
		t.Fatal(err)
	}
	o.M = m.ID
	g, err := s.env.App.CreateMailing(ctx, ac, app.MailingInput{Name: who + " news", MessageID: m.ID, RecipientIDs: []int64{o.R}})
	if err != nil {
		t.Fatal(err)
	}
	o.G = g.ID
	return o
}

// outcome is what the fake engine records for one delivery.
type outcome struct {
	status   simplesender.DeliveryStatus
	code     int
	enhanced string
	reply    string
}

// run does what the delivery engine does for a due start of mailing id,
// at `at`: it starts the run, claims every delivery and records for each
// the outcome chosen by decide (by address).
func (s *site) run(t *testing.T, id int64, at time.Time, decide func(email string) outcome) *simplesender.Run {
	t.Helper()
	ctx, db := context.Background(), s.env.DB
	run := s.env.StartDue(t, id, at)
	if decide == nil {
		return run
	}
	claimed, err := db.ClaimDeliveries(ctx, "test", at, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var outs []store.Outcome
	for _, c := range claimed {
		o := decide(c.Email)
		// The engine takes the mailing and the owner from the run, as here.
		outs = append(outs, store.Outcome{DeliveryID: c.ID, RunID: c.RunID, MailingID: run.MailingID, OwnerID: run.OwnerID,
			Email: c.Email, Status: o.status, Attempted: true, At: at, NextAt: at.Add(time.Minute), Code: o.code,
			Enhanced: o.enhanced, Response: o.reply})
	}
	if err := db.RecordOutcomes(ctx, outs); err != nil {
		t.Fatal(err)
	}
	return run
}

// follow GETs the target of a redirect as who, with the flash cookie the
// redirect set.
func (s *site) follow(t *testing.T, who string, r resp, hdr ...string) resp {
	t.Helper()
	if r.status != http.StatusSeeOther {
		t.Fatalf("expected a redirect, got %d:\n%s", r.status, r.body)
	}
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == "ss_flash" {
			hdr = append(hdr, "Cookie", "ss_flash="+c.Value)
		}
	}
	return s.do(t, who, "GET", r.header.Get("Location"), nil, hdr...)
}

// check reports a missing or an unwanted fragment of a response.
func check(t *testing.T, what string, r resp, status int, want, notWant []string) {
	t.Helper()
	if r.status != status {
		t.Errorf("%s: status %d, want %d", what, r.status, status)
	}
	for _, w := range want {
		if !strings.Contains(r.body, w) {
			t.Errorf("%s: body lacks %q", what, w)
		}
	}
	for _, w := range notWant {
		if strings.Contains(r.body, w) {
			t.Errorf("%s: body has %q", what, w)
		}
	}
}
