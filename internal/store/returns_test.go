package store_test

import (
	"testing"
	"time"

	"simplesender"
	"simplesender/internal/store"
)

// TestWhatComesBackIsKept: a returned message is stored before it is read,
// a provider's event is stored once however often it is sent, the reports
// read from it are shown on their delivery, the ones that matched nothing
// are kept for admins, soft bounces are counted per mailing, and the raw
// text is dropped after the retention time.
func TestWhatComesBackIsKept(t *testing.T) {
	eachRun(t, "returns@example.com", 2, func(t *testing.T, db *store.DB, rig *reportRig, m *simplesender.Mailing, run *simplesender.Run) {
		s := db.Store()
		now := db.Now()
		cs := claim(t, db, "i1", 2)
		record(t, db, outcome(cs[0], m, simplesender.DeliverySent, true, now), outcome(cs[1], m, simplesender.DeliverySent, true, now))

		in := &store.InboundMessage{Source: "smtp", ReceivedAt: now, Remote: "192.0.2.1", EnvelopeTo: "b+x@bounce.example.org",
			Raw: []byte("From: MAILER-DAEMON@x\r\n\r\n550 5.1.1 user unknown\r\n")}
		if ok, err := s.SaveInbound(ctx, in); err != nil || !ok || in.ID == 0 {
			t.Fatalf("SaveInbound: %v %v id %d", ok, err, in.ID)
		}
		ev := &store.InboundMessage{Source: "webhook:sendgrid", ReceivedAt: now, EventID: "sg-1", Raw: []byte(`{}`)}
		if ok, err := s.SaveInbound(ctx, ev); err != nil || !ok {
			t.Fatalf("first event: %v %v", ok, err)
		}
		again := &store.InboundMessage{Source: "webhook:sendgrid", ReceivedAt: now, EventID: "sg-1", Raw: []byte(`{}`)}
		if ok, err := s.SaveInbound(ctx, again); err != nil || ok {
			t.Fatalf("the same event again: stored %v, %v; want not stored", ok, err)
		}
		pending, err := s.PendingInbound(ctx, 10)
		if err != nil || len(pending) != 2 || string(pending[0].Raw) != string(in.Raw) || pending[0].EnvelopeTo != in.EnvelopeTo {
			t.Fatalf("pending %+v, %v", pending, err)
		}

		d, err := s.DeliveryForReport(ctx, cs[0].ID)
		if err != nil || d.OwnerID != rig.owner.ID || d.MailingID != m.ID || d.Email != cs[0].Email || d.Status != "sent" {
			t.Fatalf("delivery for report %+v, %v", d, err)
		}
		err = db.InTx(ctx, func(s *store.Store) error {
			return s.FinishInbound(ctx, in.ID, []*store.DeliveryReport{
				{ReceivedAt: now, Source: "smtp", Kind: "soft", DeliveryID: d.ID, OwnerID: d.OwnerID, MailingID: d.MailingID,
					Email: d.Email, Status: "4.2.2", Diagnostic: "mailbox full", Applied: "counted"},
				{ReceivedAt: now, Source: "smtp", Kind: "hard", Email: "stranger@example.net", Status: "5.1.1", Applied: "unmatched"},
			}, "")
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.FinishInbound(ctx, in.ID, nil, ""); !simplesender.IsKind(err, simplesender.KindNotFound) {
			t.Errorf("finishing twice: %v, want NotFound", err)
		}
		if pending, _ := s.PendingInbound(ctx, 10); len(pending) != 1 || pending[0].ID != ev.ID {
			t.Errorf("pending after finishing one: %+v", pending)
		}
		byDelivery, err := s.ReportsOf(ctx, []int64{d.ID})
		reps := byDelivery[d.ID]
		if err != nil || len(reps) != 1 || reps[0].Kind != "soft" || reps[0].Diagnostic != "mailbox full" || reps[0].InboundID != in.ID {
			t.Errorf("reports of the delivery %+v, %v", reps, err)
		}
		un, n, err := s.UnmatchedReports(ctx, 10, 0)
		if err != nil || n != 1 || len(un) != 1 || un[0].Email != "stranger@example.net" {
			t.Errorf("unmatched %+v (%d), %v", un, n, err)
		}
		if n, err := s.SoftBounces(ctx, d.OwnerID, d.Email, 0, now.Add(-time.Hour)); err != nil || n != 1 {
			t.Errorf("soft bounces %d, %v; want 1", n, err)
		}
		if n, _ := s.SoftBounces(ctx, d.OwnerID, d.Email, d.ID, now.Add(-time.Hour)); n != 0 {
			t.Errorf("soft bounces besides the delivery they came from: %d, want 0", n)
		}
		if n, _ := s.SoftBounces(ctx, d.OwnerID, d.Email, 0, now.Add(time.Hour)); n != 0 {
			t.Errorf("soft bounces after the window: %d, want 0", n)
		}
		if n, err := s.ForgetInboundRaw(ctx, now.Add(time.Minute)); err != nil || n != 1 {
			t.Errorf("forgot %d raw texts, %v; want 1 (the processed one only)", n, err)
		}
		if pending, _ := s.PendingInbound(ctx, 10); len(pending) != 1 || pending[0].Raw == nil {
			t.Errorf("an unprocessed message lost its text: %+v", pending)
		}
	})
}
