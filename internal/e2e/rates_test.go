package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/app/apptest"
	"simplesender/internal/store"
)

// seedRates gives a new user a mailing sent to 60 addresses over the last
// six days (ten a day) with hard bounces and complaints coming back on some
// days, and stores a bounce that names no delivery. It returns the user's
// address, the mailing and the unmatched report.
func seedRates(t *testing.T, svc *service) (owner string, mailing, unmatched int64) {
	t.Helper()
	ctx := context.Background()
	env := &apptest.Env{DB: svc.srv.DB}
	owner = "rates-" + randomHex(3) + "@example.com"
	u := env.User(t, owner, simplesender.RoleUser, simplesender.StatusActive)
	ac := &app.Actor{User: u}
	a := svc.srv.App
	var ids []int64
	for i := range 60 {
		r := &simplesender.Recipient{Email: fmt.Sprintf("reader%02d-%s", i, owner)}
		if err := a.CreateRecipient(ctx, ac, r); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	msg := &simplesender.Message{Subject: "Weekly", BodyText: "Hello"}
	if err := a.CreateMessage(ctx, ac, msg); err != nil {
		t.Fatal(err)
	}
	m, err := a.CreateMailing(ctx, ac, app.MailingInput{Name: "Weekly <digest>", MessageID: msg.ID, RecipientIDs: ids})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.SendNow(ctx, ac, m.ID, "now"); err != nil {
		t.Fatal(err)
	}
	db := svc.srv.DB
	now := time.Now()
	run := env.StartDue(t, m.ID, now)
	claimed, err := db.ClaimDeliveries(ctx, "e2e-rates", now, 1000)
	if err != nil || len(claimed) != 60 {
		t.Fatalf("claimed %d, %v", len(claimed), err)
	}
	var outs []store.Outcome
	for i, c := range claimed {
		at := now.AddDate(0, 0, -(i / 10))
		outs = append(outs, store.Outcome{DeliveryID: c.ID, RunID: c.RunID, MailingID: m.ID, OwnerID: u.ID, Email: c.Email,
			Status: simplesender.DeliverySent, Attempted: true, At: at, Code: 250, Response: "OK"})
	}
	if err := db.RecordOutcomes(ctx, outs); err != nil {
		t.Fatal(err)
	}
	// Hard bounces on days 0, 1 and 3 back, a complaint on days 1 and 4.
	for _, x := range []struct {
		i     int
		cause simplesender.Cause
	}{{0, simplesender.CauseBounce}, {1, simplesender.CauseBounce}, {11, simplesender.CauseBounce},
		{12, simplesender.CauseComplaint}, {31, simplesender.CauseBounce}, {41, simplesender.CauseComplaint}} {
		if err := db.InTx(ctx, func(s *store.Store) error {
			_, err := s.ApplyReport(ctx, outs[x.i].DeliveryID, x.cause, outs[x.i].At.Add(time.Hour))
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	a.FiguresChanged(ctx, []int64{u.ID, run.OwnerID})
	in := &store.InboundMessage{Source: "smtp", ReceivedAt: now, Remote: "192.0.2.7", EnvelopeFrom: "",
		EnvelopeTo: "bounces+zz@bounce.example.org",
		Raw: []byte("From: MAILER-DAEMON@mx.example.net\r\nSubject: Undelivered <script>alert(1)</script>\r\n\r\n" +
			"550 5.1.1 <someone@elsewhere.example>: no such user\r\n" + strings.Repeat("A long line of the returned message. ", 12) + "\r\n")}
	if _, err := db.Store().SaveInbound(ctx, in); err != nil {
		t.Fatal(err)
	}
	rep := &store.DeliveryReport{ReceivedAt: now, Source: "smtp", Kind: "hard", Email: "someone@elsewhere.example",
		Status: "5.1.1", Diagnostic: "550 5.1.1 <someone@elsewhere.example>: no such user", Applied: "unmatched"}
	if err := db.Store().FinishInbound(ctx, in.ID, []*store.DeliveryReport{rep}, ""); err != nil {
		t.Fatal(err)
	}
	return owner, m.ID, rep.ID
}

// TestBrowserRatesPages: the bounce and complaint rates of a mailing and of
// the reports page with their chart, the managers' page of senders and the
// unmatched reports, in English and Russian, fit 1280 and 390 px, with
// screenshots of each.
func TestBrowserRatesPages(t *testing.T) {
	exe := findBrowser(t)
	watchdog(t, hangLimit)
	svc := startService(t)
	owner, mailing, unmatched := seedRates(t, svc)
	manager := "boss-" + randomHex(3) + "@example.com"
	(&apptest.Env{DB: svc.srv.DB}).User(t, manager, simplesender.RoleManager, simplesender.StatusActive)

	b := startBrowser(t, exe, svc.URL).newVisitor()
	b.setAcceptLanguage("en")
	b.logInSeeded(owner)
	b.open(fmt.Sprintf("/mailings/%d", mailing))
	if got := b.text("#rates"); !strings.Contains(got, "Hard bounces") || !strings.Contains(got, "6.67%") {
		t.Errorf("the mailing's rates (4 hard bounces of 60 sent):\n%s", got)
	}
	pages := []struct{ who, path, name string }{
		{"owner", fmt.Sprintf("/mailings/%d", mailing), "mailing"},
		{"owner", "/reports", "reports"},
		{"manager", "/reports/senders", "senders"},
		{"manager", "/reports/unmatched", "unmatched"},
		{"manager", fmt.Sprintf("/reports/unmatched/%d", unmatched), "unmatched-report"},
	}
	shoot := func(b *browser, who, lang string) {
		for _, p := range pages {
			if p.who != who {
				continue
			}
			for _, width := range []int{wideWidth, narrowWidth} {
				b.setWidth(width)
				b.open(p.path)
				b.checkFits(who, p.path, width)
				if p.name == "mailing" {
					eval[bool](b, "scroll to the rates", `(document.getElementById("rates").scrollIntoView(), true)`)
					b.windowShot(fmt.Sprintf("rates-%s-%d-%s.png", p.name, width, lang))
					continue
				}
				b.screenshot(fmt.Sprintf("rates-%s-%d-%s.png", p.name, width, lang))
			}
		}
	}
	shoot(b, "owner", "en")
	b.switchLanguage("ru")
	shoot(b, "owner", "ru")

	m := startBrowser(t, exe, svc.URL).newVisitor()
	m.setAcceptLanguage("ru")
	m.logInSeeded(manager)
	m.open("/reports/senders")
	if got := m.text("table.senders tbody tr.alert-row"); !strings.Contains(got, owner) || !strings.Contains(got, "Выше предела") {
		t.Errorf("the owner is not highlighted on the page of senders:\n%s", got)
	}
	m.open(fmt.Sprintf("/reports/unmatched/%d", unmatched))
	if got := m.text("#raw-message"); !strings.Contains(got, "<script>alert(1)</script>") {
		t.Errorf("the raw message is not shown as text:\n%s", got)
	}
	shoot(m, "manager", "ru")
	m.switchLanguage("en")
	shoot(m, "manager", "en")
}
