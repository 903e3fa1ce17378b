package server_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/mail"
	"os"
	"strings"
	"testing"
	"time"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/app/apptest"
	"simplesender/internal/mailbox/mailboxtest"
	"simplesender/internal/server"
	"simplesender/internal/store/storetest"
)

// TestBounceMailbox: bounces and a complaint that land in an ordinary
// mailbox of a real Dovecot server are fetched over IMAP (then moved to
// another folder) and over POP3 (then deleted): the deliveries end bounced
// and complained, the mailbox is emptied, and the next polls change
// nothing, even when a message already applied is found there again (the
// service stopped between keeping it and deleting it).
func TestBounceMailbox(t *testing.T) {
	dc := mailboxtest.Start(t)
	for _, engine := range storetest.Engines() {
		for _, tc := range []struct {
			name, url, move string
		}{
			{"imap moves", "imap://bounces:secret%20pass@" + dc.IMAP + "/INBOX?tls=plain&move=Processed", "Processed"},
			{"pop3 deletes", "pop3://bounces:secret%20pass@" + dc.POP3 + "?tls=plain", ""},
		} {
			t.Run(engine+"/"+tc.name, func(t *testing.T) { mailboxRun(t, dc, storetest.NewURL(t, engine), tc.url, tc.move) })
		}
	}
}

func mailboxRun(t *testing.T, dc *mailboxtest.Dovecot, dbURL, mailboxURL, move string) {
	dc.Empty(t)
	ctx := context.Background()
	sink := apptest.NewSMTPServer(t)
	vars := map[string]string{"SIMPLESENDER_BOUNCE_DOMAIN": "bounce.example.org", "SIMPLESENDER_SMTP_URL": sink.URL(),
		"SIMPLESENDER_BOUNCE_MAILBOX": mailboxURL, "SIMPLESENDER_BOUNCE_MAILBOX_INTERVAL": "1s"}
	if r := os.Getenv("SIMPLESENDER_TEST_REDIS_URL"); r != "" && strings.HasPrefix(dbURL, "postgres") {
		vars["SIMPLESENDER_REDIS_URL"] = r
	}
	s := openWith(t, dbURL, vars, server.Options{PollInterval: 20 * time.Millisecond})
	runServer(t, s)

	u, _, err := s.App.CreateAdmin(ctx, app.System, "owner@example.com", "purple-kettle-42")
	if err != nil {
		t.Fatal(err)
	}
	ac := &app.Actor{User: u}
	emails := []string{"gone@example.com", "nodomain@example.com", "angry@example.com"}
	var ids []int64
	for _, e := range emails {
		rc := &simplesender.Recipient{Email: e}
		if err := s.App.CreateRecipient(ctx, ac, rc); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, rc.ID)
	}
	msg := &simplesender.Message{Subject: "News", BodyText: "Hello"}
	if err := s.App.CreateMessage(ctx, ac, msg); err != nil {
		t.Fatal(err)
	}
	m, err := s.App.CreateMailing(ctx, ac, app.MailingInput{Name: "News", MessageID: msg.ID, RecipientIDs: ids})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.App.SendNow(ctx, ac, m.ID, "now"); err != nil {
		t.Fatal(err)
	}
	for giveUp := time.Now().Add(20 * time.Second); sink.Accepted() < len(emails); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(giveUp) {
			t.Fatalf("only %d of %d messages sent", sink.Accepted(), len(emails))
		}
	}
	verp := func(e string) string { return sink.EnvelopeSenders(e)[0] }
	// What the bounce domain's mail server delivers into the mailbox: two
	// DSNs (it adds Delivered-To, the VERP address) and a feedback-loop
	// complaint that quotes the message.
	dc.Deliver(t, "Delivered-To: "+verp(emails[0])+"\r\n"+string(mailboxDSN(emails[0], "5.1.1")))
	dc.Deliver(t, "Delivered-To: "+verp(emails[1])+"\r\n"+string(mailboxDSN(emails[1], "5.1.2")))
	sent, err := mail.ReadMessage(bytes.NewReader(sink.Raw(emails[2])[0]))
	if err != nil {
		t.Fatal(err)
	}
	arf := mailboxARF(emails[2], verp(emails[2]), sent.Header.Get("Message-Id"))
	dc.Deliver(t, arf)

	want := map[string]simplesender.DeliveryStatus{emails[0]: simplesender.DeliveryBounced,
		emails[1]: simplesender.DeliveryBounced, emails[2]: simplesender.DeliveryComplained}
	for giveUp := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		got := statuses(t, s)
		if fmt.Sprint(got) == fmt.Sprint(want) {
			break
		}
		if time.Now().After(giveUp) {
			t.Fatalf("deliveries %v, want %v", got, want)
		}
	}
	waitFor(t, "the mailbox to be emptied", func() bool { return dc.Count(t, "") == 0 })
	if move != "" {
		if n := dc.Count(t, move); n != 3 {
			t.Errorf("%d messages moved to %s, want 3", n, move)
		}
	} else if n := dc.Count(t, "Processed"); n != 0 {
		t.Errorf("POP3 left %d messages in Processed", n)
	}
	reports := func() (n int) {
		if err := s.DB.Writer().QueryRow("SELECT count(*) FROM delivery_reports").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := reports(); n != 3 {
		t.Fatalf("%d reports, want 3", n)
	}

	// The same DSN found again: the service stopped after keeping it and
	// before deleting it. It is deleted and not applied again.
	dc.Deliver(t, "Delivered-To: "+verp(emails[0])+"\r\n"+string(mailboxDSN(emails[0], "5.1.1")))
	waitFor(t, "the mailbox to be emptied again", func() bool { return dc.Count(t, "") == 0 })
	time.Sleep(1500 * time.Millisecond) // more than one poll with nothing new
	if n := reports(); n != 3 {
		t.Errorf("%d reports after the same DSN came again and another poll, want 3", n)
	}
	var stored int
	if err := s.DB.Writer().QueryRow("SELECT count(*) FROM inbound_messages WHERE source = 'mailbox'").Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != 3 {
		t.Errorf("%d messages stored from the mailbox, want 3", stored)
	}
	if got := statuses(t, s); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("deliveries %v after the polls that found nothing new, want %v", got, want)
	}
}

func runServer(t *testing.T, s *server.Server) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, "127.0.0.1:0", func(net.Addr) { close(ready) }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for giveUp := time.Now().Add(30 * time.Second); !ok(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(giveUp) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// statuses returns the status of every delivery by address.
func statuses(t *testing.T, s *server.Server) map[string]simplesender.DeliveryStatus {
	t.Helper()
	rows, err := s.DB.Writer().Query("SELECT email, status FROM deliveries")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]simplesender.DeliveryStatus{}
	for rows.Next() {
		var e, st string
		if err := rows.Scan(&e, &st); err != nil {
			t.Fatal(err)
		}
		out[e] = simplesender.DeliveryStatus(st)
	}
	return out
}

func mailboxDSN(rcpt, status string) []byte {
	return []byte("From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\n" +
		"To: <>\r\nSubject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn." + rcpt + ">\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\r\n\r\n" +
		"--b1\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n" +
		"--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n" +
		"Final-Recipient: rfc822; " + rcpt + "\r\nAction: failed\r\nStatus: " + status + "\r\n" +
		"Diagnostic-Code: smtp; 550 " + status + " <" + rcpt + ">: Recipient address rejected\r\n" +
		"--b1--\r\n")
}

func mailboxARF(rcpt, returnPath, messageID string) string {
	return "From: Feedback Loop <feedback@fbl.example.com>\r\nTo: abuse@example.org\r\nSubject: FW: News\r\n" +
		"Message-ID: <arf." + rcpt + ">\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/report; report-type=feedback-report; boundary=\"arf\"\r\n\r\n" +
		"--arf\r\nContent-Type: text/plain\r\n\r\nThis is an email abuse report.\r\n" +
		"--arf\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\nUser-Agent: ExampleFBL/1.0\r\nVersion: 1\r\n" +
		"Original-Mail-From: <" + returnPath + ">\r\nOriginal-Rcpt-To: <" + rcpt + ">\r\n\r\n" +
		"--arf\r\nContent-Type: message/rfc822\r\n\r\n" +
		"Return-Path: <" + returnPath + ">\r\nFrom: news@example.org\r\nTo: " + rcpt + "\r\nSubject: News\r\n" +
		"Message-ID: " + messageID + "\r\n\r\nHello\r\n--arf--\r\n"
}
