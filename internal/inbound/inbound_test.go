package inbound

import (
	"context"
	"errors"
	"net/smtp"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"simplesender/internal/ratelimit"
)

type box struct {
	mu   sync.Mutex
	envs []Envelope
	fail error
}

func (b *box) deliver(_ context.Context, e Envelope) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fail != nil {
		return b.fail
	}
	b.envs = append(b.envs, e)
	return nil
}

func (b *box) stored() []Envelope {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Envelope(nil), b.envs...)
}

func accept(_ context.Context, rcpt string) (Recipient, bool) {
	switch strings.ToLower(rcpt) {
	case "b+goodtoken@bounce.example.org":
		return Recipient{Address: rcpt, Purpose: Bounce}, true
	case "unsubscribe@example.org":
		return Recipient{Address: rcpt, Purpose: Unsubscribe}, true
	}
	return Recipient{}, false
}

func start(t *testing.T, b *box, mod func(*Config)) *Server {
	t.Helper()
	cfg := Config{Addr: "127.0.0.1:0", Accept: accept, Deliver: b.deliver, MaxBytes: 64 << 10}
	if mod != nil {
		mod(&cfg)
	}
	s, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

const dsn = "From: MAILER-DAEMON@mx.example.net\r\nSubject: Undelivered Mail Returned to Sender\r\n\r\n<ann@example.net>: 550 5.1.1 user unknown\r\n"

// send sends one message and returns the SMTP code of the first refusal, or 250.
func send(t *testing.T, addr, from string, to []string, body string) int {
	t.Helper()
	err := smtp.SendMail(addr, nil, from, to, []byte(body))
	if err == nil {
		return 250
	}
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code
	}
	t.Fatalf("send: %v", err)
	return 0
}

func TestAcceptsReportsForKnownAddressesOnly(t *testing.T) {
	b := &box{}
	s := start(t, b, nil)
	if code := send(t, s.Addr(), "", []string{"b+goodtoken@bounce.example.org"}, dsn); code != 250 {
		t.Fatalf("bounce to a valid VERP address: %d, want 250", code)
	}
	if code := send(t, s.Addr(), "", []string{"b+forged@bounce.example.org"}, dsn); code != 550 {
		t.Errorf("bounce to a forged VERP address: %d, want 550", code)
	}
	if code := send(t, s.Addr(), "someone@example.com", []string{"postmaster@example.org"}, dsn); code != 550 {
		t.Errorf("mail to an address that is not ours: %d, want 550 (not a relay)", code)
	}
	if code := send(t, s.Addr(), "reader@example.com", []string{"unsubscribe@example.org"}, "Subject: unsubscribe\r\n\r\n"); code != 250 {
		t.Errorf("mail to the unsubscribe address: %d, want 250", code)
	}
	got := b.stored()
	if len(got) != 2 {
		t.Fatalf("%d messages stored, want 2", len(got))
	}
	if got[0].To[0].Purpose != Bounce || got[0].From != "" || !strings.Contains(string(got[0].Data), "5.1.1 user unknown") ||
		got[0].RemoteIP != "127.0.0.1" {
		t.Errorf("stored bounce %+v", got[0])
	}
	if got[1].To[0].Purpose != Unsubscribe || got[1].From != "reader@example.com" {
		t.Errorf("stored unsubscribe %+v", got[1])
	}
}

func TestNoAcceptanceBeforeTheReportIsStored(t *testing.T) {
	b := &box{fail: errors.New("database is down")}
	s := start(t, b, nil)
	if code := send(t, s.Addr(), "", []string{"b+goodtoken@bounce.example.org"}, dsn); code != 451 {
		t.Fatalf("store failing: %d, want 451 so that the sender retries", code)
	}
	b.mu.Lock()
	b.fail = nil
	b.mu.Unlock()
	if code := send(t, s.Addr(), "", []string{"b+goodtoken@bounce.example.org"}, dsn); code != 250 {
		t.Fatalf("retry: %d, want 250", code)
	}
	if n := len(b.stored()); n != 1 {
		t.Errorf("%d stored, want 1", n)
	}
}

// sendLarge sends a message of size bytes, writing the data while reading
// the answer (the server may stop reading at its limit).
func sendLarge(t *testing.T, addr string, size int) int {
	t.Helper()
	c, err := textproto.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	step := func(cmd string, want int) {
		if cmd != "" {
			c.PrintfLine("%s", cmd)
		}
		if _, _, err := c.ReadResponse(want); err != nil {
			t.Fatalf("%q: %v", cmd, err)
		}
	}
	step("", 220)
	step("EHLO test", 250)
	step("MAIL FROM:<>", 250)
	step("RCPT TO:<b+goodtoken@bounce.example.org>", 250)
	step("DATA", 354)
	go func() {
		line := strings.Repeat("x", 998) + "\r\n"
		for n := 0; n < size; n += len(line) {
			if _, err := c.W.WriteString(line); err != nil {
				return
			}
		}
		c.W.WriteString(".\r\n")
		c.W.Flush()
	}()
	code, _, _ := c.ReadResponse(250)
	return code
}

func TestLimits(t *testing.T) {
	b := &box{}
	clock := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	s := start(t, b, func(c *Config) {
		c.Limiter = ratelimit.NewMemory(func() time.Time { return clock })
		c.Rate = ratelimit.Rule{Name: "inbound", Limit: 3, Window: time.Minute}
	})
	if code := sendLarge(t, s.Addr(), 70<<10); code != 552 {
		t.Errorf("message over the size limit: %d, want 552", code)
	}
	for i := 0; i < 2; i++ {
		if code := send(t, s.Addr(), "", []string{"b+goodtoken@bounce.example.org"}, dsn); code != 250 {
			t.Fatalf("message %d: %d, want 250", i, code)
		}
	}
	if code := send(t, s.Addr(), "", []string{"b+goodtoken@bounce.example.org"}, dsn); code != 421 {
		t.Errorf("fourth message in a minute: %d, want 421", code)
	}
	if n := len(b.stored()); n != 2 {
		t.Errorf("%d stored, want 2", n)
	}
}
