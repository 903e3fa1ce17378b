package server_test

import (
	"context"
	"net"
	"net/mail"
	"net/smtp"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/nettest"
	"simplesender/internal/server"
	"simplesender/internal/store/storetest"
)

// TestInboundListenerFromTheConfiguration: with a bounce domain and an
// inbound address configured, the service listens for bounces, refuses mail
// for addresses that are not its VERP addresses (550: it is not a relay),
// takes a bounce to a valid one, and reads it; one that names a delivery it
// no longer has is kept for admins as unmatched. Mail to the
// List-Unsubscribe mailto address unsubscribes.
func TestInboundListenerFromTheConfiguration(t *testing.T) {
	addr := nettest.FreeAddr(t)
	outbox := t.TempDir()
	s := openWith(t, storetest.NewURL(t, "sqlite"), map[string]string{
		"SIMPLESENDER_BOUNCE_DOMAIN": "bounce.example.org", "SIMPLESENDER_INBOUND_ADDR": addr,
		"SIMPLESENDER_UNSUBSCRIBE_MAILTO": "unsubscribe@bounce.example.org", "SIMPLESENDER_DATA_DIR": outbox},
		server.Options{PollInterval: 20 * time.Millisecond})
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
	verp := s.App.Returns.VERP
	if verp == nil {
		t.Fatal("no VERP with a bounce domain configured")
	}
	body := []byte("From: MAILER-DAEMON@mx.example.net\r\nSubject: failure notice\r\n\r\n<gone@example.com>:\r\n550 5.1.1 no such user\r\n")
	if err := smtp.SendMail(addr, nil, "", []string{"someone@example.org"}, body); err == nil {
		t.Error("mail for an address that is not ours was accepted")
	}
	if err := smtp.SendMail(addr, nil, "", []string{verp.Address(987654)}, body); err != nil {
		t.Fatalf("a bounce to a VERP address: %v", err)
	}
	for giveUp := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		reps, n, err := s.DB.Store().UnmatchedReports(ctx, 10, 0)
		if err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			if r := reps[0]; r.Kind != "hard" || r.Email != "gone@example.com" || r.Applied != "unmatched" || r.Source != "smtp" {
				t.Errorf("unmatched report %+v", r)
			}
			break
		}
		if time.Now().After(giveUp) {
			t.Fatal("the bounce was never read")
		}
	}

	// The List-Unsubscribe mailto address is the listener's too: a message
	// to it, as a mail client sends it from the header, unsubscribes; one
	// without a valid token changes nothing.
	u, _, err := s.App.CreateAdmin(ctx, app.System, "owner@example.com", "purple-kettle-42")
	if err != nil {
		t.Fatal(err)
	}
	ac := &app.Actor{User: u}
	rc := &simplesender.Recipient{Email: "reader@example.com"}
	if err := s.App.CreateRecipient(ctx, ac, rc); err != nil {
		t.Fatal(err)
	}
	msg := &simplesender.Message{Subject: "News", BodyText: "Hello"}
	if err := s.App.CreateMessage(ctx, ac, msg); err != nil {
		t.Fatal(err)
	}
	m, err := s.App.CreateMailing(ctx, ac, app.MailingInput{Name: "News", MessageID: msg.ID, RecipientIDs: []int64{rc.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.App.SendNow(ctx, ac, m.ID, "now"); err != nil {
		t.Fatal(err)
	}
	var header string
	for giveUp := time.Now().Add(10 * time.Second); header == ""; time.Sleep(20 * time.Millisecond) {
		files, _ := filepath.Glob(filepath.Join(outbox, "outbox", "*.eml"))
		for _, f := range files {
			b, _ := os.ReadFile(f)
			if em, err := mail.ReadMessage(strings.NewReader(string(b))); err == nil && strings.Contains(em.Header.Get("To"), "reader@example.com") {
				header = em.Header.Get("List-Unsubscribe")
			}
		}
		if time.Now().After(giveUp) {
			t.Fatal("the mailing never reached the outbox")
		}
	}
	i := strings.Index(header, "<mailto:unsubscribe@bounce.example.org?subject=")
	if i < 0 {
		t.Fatalf("List-Unsubscribe %q offers no mailto", header)
	}
	subject := strings.ReplaceAll(strings.TrimSuffix(header[i+len("<mailto:unsubscribe@bounce.example.org?subject="):], ">"), "%20", " ")
	unsub := func(subject string) {
		t.Helper()
		if err := smtp.SendMail(addr, nil, "reader@example.com", []string{"unsubscribe@bounce.example.org"},
			[]byte("From: reader@example.com\r\nSubject: "+subject+"\r\n\r\n")); err != nil {
			t.Fatalf("mail to the unsubscribe address: %v", err)
		}
	}
	suppressed := func() bool {
		x, err := s.DB.Store().IsSuppressed(ctx, u.ID, "reader@example.com")
		if err != nil {
			t.Fatal(err)
		}
		return x != nil && x.Reason == simplesender.ReasonUnsubscribed
	}
	unsub("unsubscribe forged-token")
	time.Sleep(300 * time.Millisecond)
	if suppressed() {
		t.Fatal("a forged token unsubscribed")
	}
	unsub(subject)
	for giveUp := time.Now().Add(10 * time.Second); !suppressed(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(giveUp) {
			t.Fatal("the mail to the unsubscribe address did not unsubscribe")
		}
	}
}
