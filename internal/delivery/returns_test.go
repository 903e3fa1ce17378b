package delivery_test

import (
	"context"
	"net/mail"
	"net/smtp"
	"strings"
	"testing"
	"time"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/app/apptest"
	"simplesender/internal/bounce"
	"simplesender/internal/delivery"
	"simplesender/internal/inbound"
	"simplesender/internal/mailer"
	"simplesender/internal/store"
)

// dsn is a Postfix-style bounce of the message orig (its headers quoted)
// to rcpt, with the given status and words.
func dsn(rcpt, status, diag string, orig []byte) string {
	head, _, _ := strings.Cut(string(orig), "\r\n\r\n")
	return "From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\r\n" +
		"Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\r\n\r\n" +
		"--b1\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n" +
		"--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n" +
		"Final-Recipient: rfc822; " + rcpt + "\r\nAction: failed\r\nStatus: " + status + "\r\n" +
		"Diagnostic-Code: smtp; " + diag + "\r\n" +
		"--b1\r\nContent-Type: text/rfc822-headers\r\n\r\n" + head + "\r\n--b1--\r\n"
}

// arf is a feedback-loop complaint quoting orig, sent to the abuse desk.
func arf(rcpt string, orig []byte) string {
	return "From: fbl@isp.example\r\nSubject: complaint\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/report; report-type=feedback-report; boundary=\"b2\"\r\n\r\n" +
		"--b2\r\nContent-Type: text/plain\r\n\r\nAn abuse report.\r\n" +
		"--b2\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\nUser-Agent: FBL/1\r\nVersion: 1\r\n" +
		"Original-Rcpt-To: <" + rcpt + ">\r\n\r\n" +
		"--b2\r\nContent-Type: message/rfc822\r\n\r\n" + string(orig) + "\r\n--b2--\r\n"
}

// TestBouncesComeBackToTheirDelivery: every mailing message goes out from
// a VERP address naming its delivery; bounces sent back to those addresses
// through the inbound listener, and a complaint sent to the abuse desk
// quoting the message, find their deliveries: the hard bounce and the
// complaint end them and suppress the addresses (the next mailing does not
// mail them), a policy block changes nothing, soft bounces in two mailings
// suppress, and a forged VERP address is refused with nothing stored.
func TestBouncesComeBackToTheirDelivery(t *testing.T) {
	verp := bounce.NewVERP([]byte("the secret key of this test, 32+ bytes"), "bounces", "bounce.example.org")
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		env.App.Returns = app.ReturnsConfig{VERP: verp, SoftLimit: 2}
		r := newRigWith(t, env, verp)
		in, err := inbound.Start(inbound.Config{Addr: "127.0.0.1:0",
			Accept: func(_ context.Context, rcpt string) (inbound.Recipient, bool) {
				if _, ok := verp.FromAddress(rcpt); ok {
					return inbound.Recipient{Address: rcpt, Purpose: inbound.Bounce}, true
				}
				return inbound.Recipient{Address: rcpt, Purpose: inbound.Abuse}, rcpt == "abuse@bounce.example.org"
			},
			Deliver: func(ctx context.Context, e inbound.Envelope) error {
				_, err := env.App.SaveReturned(ctx, "smtp", e.RemoteIP, e.From, []string{e.To[0].Address}, e.Data)
				return err
			}})
		if err != nil {
			t.Fatal(err)
		}
		defer in.Close()

		to := []string{"hard@example.com", "soft@example.com", "blocked@example.com", "spam@example.com", "fine@example.com"}
		m, p := runMailing(t, env, r.owner, to)
		if m.Counts.Sent != len(to) {
			t.Fatalf("first mailing: %+v", m.Counts)
		}
		verpOf := map[string]string{}
		for _, d := range p.Deliveries {
			senders := r.smtp.EnvelopeSenders(d.Email)
			if len(senders) != 1 {
				t.Fatalf("%s: envelope senders %v", d.Email, senders)
			}
			if id, ok := verp.FromAddress(senders[0]); !ok || id != d.ID {
				t.Errorf("%s went out from %q, which names delivery %d, not its own %d", d.Email, senders[0], id, d.ID)
			}
			raw := r.smtp.Raw(d.Email)[0]
			msg, _ := mail.ReadMessage(strings.NewReader(string(raw)))
			if id, ok := verp.FromMessageID(msg.Header.Get("Message-Id")); !ok || id != d.ID {
				t.Errorf("%s: Message-ID %q does not name its delivery", d.Email, msg.Header.Get("Message-Id"))
			}
			verpOf[d.Email] = senders[0]
		}
		// Another owner mails one of the same addresses: the bounce of the
		// first owner's delivery never touches theirs.
		other := &app.Actor{User: env.User(t, "other-owner@example.com", simplesender.RoleUser, simplesender.StatusActive)}
		om, _ := runMailing(t, env, other, []string{"hard@example.com"})
		send := func(from, rcpt, body string) error {
			return smtp.SendMail(in.Addr(), nil, from, []string{rcpt}, []byte(body))
		}
		raw := func(email string) []byte { return r.smtp.Raw(email)[0] }
		for _, e := range []struct{ rcpt, status, diag string }{
			{"hard@example.com", "5.1.1", "550 5.1.1 user unknown"},
			{"soft@example.com", "4.2.2", "452 4.2.2 mailbox full"},
			{"blocked@example.com", "5.7.1", "554 5.7.1 blocked using a block list"},
		} {
			if err := send("", verpOf[e.rcpt], dsn(e.rcpt, e.status, e.diag, raw(e.rcpt))); err != nil {
				t.Fatalf("bounce of %s: %v", e.rcpt, err)
			}
		}
		if err := send("fbl@isp.example", "abuse@bounce.example.org", arf("spam@example.com", raw("spam@example.com"))); err != nil {
			t.Fatalf("complaint: %v", err)
		}
		forged := strings.Replace(verpOf["fine@example.com"], "bounces+", "bounces+x", 1)
		if err := send("", forged, dsn("fine@example.com", "5.1.1", "550 user unknown", raw("fine@example.com"))); err == nil {
			t.Error("a bounce to a forged VERP address was accepted")
		}
		if n, err := env.App.ProcessReturns(ctx, 100); err != nil || n != 4 {
			t.Fatalf("processed %d, %v; want the 4 accepted messages", n, err)
		}

		m, p = deliveriesOf(t, env, r.owner, m.ID)
		want := map[string]simplesender.DeliveryStatus{"hard@example.com": simplesender.DeliveryBounced,
			"soft@example.com": simplesender.DeliverySent, "blocked@example.com": simplesender.DeliverySent,
			"spam@example.com": simplesender.DeliveryComplained, "fine@example.com": simplesender.DeliverySent}
		for _, d := range p.Deliveries {
			if d.Status != want[d.Email] {
				t.Errorf("%s is %s, want %s", d.Email, d.Status, want[d.Email])
			}
		}
		if c := m.Counts; c.Sent != 3 || c.Bounced != 1 || c.Complained != 1 {
			t.Errorf("counts after the reports %+v; want 3 sent, 1 bounced, 1 complained", c)
		}
		if om, _ = deliveriesOf(t, env, other, om.ID); om.Counts.Sent != 1 || om.Counts.Bounced != 0 {
			t.Errorf("the other owner's mailing after the first owner's bounce: %+v", om.Counts)
		}
		if x, err := env.DB.Store().IsSuppressed(ctx, other.User.ID, "hard@example.com"); err != nil || x != nil {
			t.Errorf("the first owner's bounce suppressed the address for the other owner too: %+v %v", x, err)
		}
		suppressed := func(email string) simplesender.SuppressionReason {
			x, err := env.DB.Store().IsSuppressed(ctx, r.owner.User.ID, email)
			if err != nil {
				t.Fatal(err)
			}
			if x == nil {
				return ""
			}
			return x.Reason
		}
		for email, reason := range map[string]simplesender.SuppressionReason{"hard@example.com": simplesender.ReasonBounced,
			"spam@example.com": simplesender.ReasonComplained, "soft@example.com": "", "blocked@example.com": "", "fine@example.com": ""} {
			if got := suppressed(email); got != reason {
				t.Errorf("%s suppressed as %q, want %q", email, got, reason)
			}
		}

		// The next mailing: the bounced and the complaining addresses are
		// not mailed; a second soft bounce suppresses the full mailbox.
		env.App.RepeatWindow = -1
		if err := env.App.SendNow(ctx, r.owner, m.ID, "now"); err != nil {
			t.Fatal(err)
		}
		m2 := r.wait(t, m.ID, "the second run", func(m *simplesender.Mailing) bool { return m.Status == simplesender.MailingFinished })
		if c := m2.Counts; c.Sent != 3 || c.Suppressed != 2 {
			t.Errorf("second mailing %+v; want 3 sent, 2 suppressed", c)
		}
		for email, before := range map[string]int{"hard@example.com": 2, "spam@example.com": 1} { // hard@: the other owner's too
			if n := len(r.smtp.Raw(email)); n != before {
				t.Errorf("%s got %d messages; want only the %d before the second mailing", email, n, before)
			}
		}
		soft := r.smtp.EnvelopeSenders("soft@example.com")
		if err := send("", soft[1], dsn("soft@example.com", "4.2.2", "452 4.2.2 mailbox full", r.smtp.Raw("soft@example.com")[1])); err != nil {
			t.Fatal(err)
		}
		if _, err := env.App.ProcessReturns(ctx, 100); err != nil {
			t.Fatal(err)
		}
		if got := suppressed("soft@example.com"); got != simplesender.ReasonBounced {
			t.Errorf("soft bounces in two mailings: suppressed as %q, want bounced", got)
		}
		// A provider's webhook (here the generic one) quoting the
		// Message-ID of the second message to fine@ reports a complaint.
		m2raw, _ := mail.ReadMessage(strings.NewReader(string(r.smtp.Raw("fine@example.com")[1])))
		hook := `{"events":[{"type":"complaint","recipient":"fine@example.com","message_id":"` + m2raw.Header.Get("Message-Id") + `"}]}`
		if err := env.App.SaveWebhook(ctx, "generic", "ev-1", "192.0.2.9", []byte(hook)); err != nil {
			t.Fatal(err)
		}
		if err := env.App.SaveWebhook(ctx, "generic", "ev-1", "192.0.2.9", []byte(hook)); err != nil {
			t.Fatal(err)
		}
		if n, err := env.App.ProcessReturns(ctx, 100); err != nil || n != 1 {
			t.Errorf("webhook processed %d times, %v; want once however often the provider sends it", n, err)
		}
		if got := suppressed("fine@example.com"); got != simplesender.ReasonComplained {
			t.Errorf("complaint through the webhook: suppressed as %q, want complained", got)
		}
		if m2 = r.wait(t, m.ID, "counts", func(*simplesender.Mailing) bool { return true }); m2.Counts.Complained != 1 {
			t.Errorf("second run's counts %+v; want the webhook's complaint", m2.Counts)
		}
		for _, d := range p.Deliveries {
			if d.Email != "hard@example.com" {
				continue
			}
			byDelivery, err := env.DB.Store().ReportsOf(ctx, []int64{d.ID})
			reps := byDelivery[d.ID]
			if err != nil || len(reps) != 1 || reps[0].Kind != "hard" || reps[0].Applied != "bounced" ||
				!strings.Contains(reps[0].Diagnostic, "user unknown") {
				t.Errorf("the report on the bounced delivery: %+v, %v", reps, err)
			}
		}
	})
}

// newRigWith runs an engine that sends from VERP addresses on env.
func newRigWith(t *testing.T, env *apptest.Env, verp *bounce.VERP) *rig {
	t.Helper()
	srv := apptest.NewSMTPServer(t)
	cfg := delivery.Config{From: mailer.Address{Email: "news@example.com"}, Conns: 4, VERP: verp,
		Retry: []time.Duration{50 * time.Millisecond}, Poll: 20 * time.Millisecond,
		Heartbeat: 200 * time.Millisecond, SendTimeout: 5 * time.Second}
	e := runEngine(t, env, env.DB, delivery.NewPool(testSMTP(t, srv.URL()), cfg.Conns), cfg)
	return &rig{env: env, smtp: srv, engine: e, owner: newOwner(t, env)}
}

func deliveriesOf(t *testing.T, env *apptest.Env, owner *app.Actor, id int64) (*simplesender.Mailing, *app.DeliveryPage) {
	t.Helper()
	m, err := env.App.GetMailing(ctx, owner, id)
	if err != nil {
		t.Fatal(err)
	}
	p, err := env.App.Deliveries(ctx, owner, id, 0, store.DeliveryFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	return m, p
}
