package server_test

import (
	"context"
	"net"
	"net/smtp"
	"testing"
	"time"

	"simplesender/internal/nettest"
	"simplesender/internal/server"
	"simplesender/internal/store/storetest"
)

// TestInboundListenerFromTheConfiguration: with a bounce domain and an
// inbound address configured, the service listens for bounces, refuses mail
// for addresses that are not its VERP addresses (550: it is not a relay),
// takes a bounce to a valid one, and reads it; one that names a delivery it
// no longer has is kept for admins as unmatched.
func TestInboundListenerFromTheConfiguration(t *testing.T) {
	addr := nettest.FreeAddr(t)
	s := openWith(t, storetest.NewURL(t, "sqlite"), map[string]string{
		"SIMPLESENDER_BOUNCE_DOMAIN": "bounce.example.org", "SIMPLESENDER_INBOUND_ADDR": addr},
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
}
