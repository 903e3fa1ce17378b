package mailer

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// TestConnSendFailures acts out a server that refuses, drops or stalls, and
// checks what the sending engine will be told: retry later (temporary),
// give up (permanent), or outcome unknown, and whether the connection can
// carry the next message.
func TestConnSendFailures(t *testing.T) {
	t.Parallel()
	const to = "ivan@example.org"
	tests := []struct {
		name       string
		rcpt       func(t *testing.T) func(c *smtp.Conn, to string) error
		data       func(t *testing.T) func(c *smtp.Conn, e envelope) error
		cancel     bool // cancel the context after 100ms
		wantStage  string
		wantCode   int
		wantEnh    string
		wantTemp   bool
		wantAfter  bool
		wantBroken bool
		wantErr    error // errors.Is
		wantStored int   // messages the server got
	}{
		{
			name: "4xx at RCPT is temporary and the connection stays usable",
			rcpt: func(*testing.T) func(*smtp.Conn, string) error {
				return func(*smtp.Conn, string) error {
					return &smtp.SMTPError{Code: 450, EnhancedCode: smtp.EnhancedCode{4, 2, 1}, Message: "Mailbox busy, try later"}
				}
			},
			wantStage: StageRcpt, wantCode: 450, wantEnh: "4.2.1", wantTemp: true,
		},
		{
			name: "5xx 5.1.1 at RCPT is permanent and the connection stays usable",
			rcpt: func(*testing.T) func(*smtp.Conn, string) error {
				return func(*smtp.Conn, string) error {
					return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user"}
				}
			},
			wantStage: StageRcpt, wantCode: 550, wantEnh: "5.1.1",
		},
		{
			name: "5xx after the data is permanent",
			data: func(*testing.T) func(*smtp.Conn, envelope) error {
				return func(*smtp.Conn, envelope) error {
					return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Looks like spam"}
				}
			},
			wantStage: StageDataEnd, wantCode: 554, wantEnh: "5.7.1", wantStored: 1,
		},
		{
			name: "4xx after the data is temporary",
			data: func(*testing.T) func(*smtp.Conn, envelope) error {
				return func(*smtp.Conn, envelope) error {
					return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Queue full"}
				}
			},
			wantStage: StageDataEnd, wantCode: 451, wantEnh: "4.3.0", wantTemp: true, wantStored: 1,
		},
		{
			name: "connection dropped before the data is temporary",
			rcpt: func(*testing.T) func(*smtp.Conn, string) error {
				return func(c *smtp.Conn, _ string) error { c.Conn().Close(); return nil }
			},
			wantStage: StageRcpt, wantTemp: true, wantBroken: true,
		},
		{
			name: "connection closed after the data without a reply is of unknown outcome",
			data: func(*testing.T) func(*smtp.Conn, envelope) error {
				return func(c *smtp.Conn, _ envelope) error { c.Conn().Close(); return nil }
			},
			wantStage: StageDataEnd, wantAfter: true, wantBroken: true, wantStored: 1,
		},
		{
			name: "stalled server before the data times out as temporary",
			rcpt: func(t *testing.T) func(*smtp.Conn, string) error {
				wait := stall(t)
				return func(*smtp.Conn, string) error { return wait() }
			},
			wantStage: StageRcpt, wantTemp: true, wantBroken: true, wantErr: os.ErrDeadlineExceeded,
		},
		{
			name: "stalled server after the data times out as unknown outcome",
			data: func(t *testing.T) func(*smtp.Conn, envelope) error {
				wait := stall(t)
				return func(*smtp.Conn, envelope) error { return wait() }
			},
			wantStage: StageDataEnd, wantAfter: true, wantBroken: true, wantErr: os.ErrDeadlineExceeded, wantStored: 1,
		},
		{
			name: "cancelled context interrupts a stalled server at once",
			rcpt: func(t *testing.T) func(*smtp.Conn, string) error {
				wait := stall(t)
				return func(*smtp.Conn, string) error { return wait() }
			},
			cancel:    true,
			wantStage: StageRcpt, wantTemp: true, wantBroken: true, wantErr: context.Canceled,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := &testServer{}
			// Only the first recipient is scripted; "next@..." is accepted.
			if tt.rcpt != nil {
				hook := tt.rcpt(t)
				ts.rcpt = func(c *smtp.Conn, rcpt string) error {
					if rcpt != to {
						return nil
					}
					return hook(c, rcpt)
				}
			}
			if tt.data != nil {
				hook := tt.data(t)
				ts.data = func(c *smtp.Conn, e envelope) error {
					if e.To[0] != to {
						return nil
					}
					return hook(c, e)
				}
			}
			startServer(t, ts, serverOptions{})
			timeout := 300 * time.Millisecond
			if tt.cancel {
				timeout = time.Minute
			}
			s, err := NewSMTP("smtp://"+ts.Addr, SMTPOptions{CommandTimeout: timeout, DataTimeout: timeout})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			c, err := s.Dial(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if tt.cancel {
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				time.AfterFunc(100*time.Millisecond, cancel)
			}

			start := time.Now()
			_, err = c.Send(ctx, "noreply@example.com", []string{to}, []byte("Subject: test\r\n\r\nbody\r\n"))
			if tt.cancel && time.Since(start) > 10*time.Second {
				t.Errorf("Send took %v after cancel", time.Since(start))
			}
			var se *SMTPError
			if !errors.As(err, &se) {
				t.Fatalf("Send error = %v, want *SMTPError", err)
			}
			if se.Stage != tt.wantStage || se.Code != tt.wantCode || se.Enhanced != tt.wantEnh ||
				se.Temporary != tt.wantTemp || se.AfterData != tt.wantAfter {
				t.Errorf("error %q: stage %q code %d enhanced %q temporary %v after data %v; want %q %d %q %v %v",
					err, se.Stage, se.Code, se.Enhanced, se.Temporary, se.AfterData,
					tt.wantStage, tt.wantCode, tt.wantEnh, tt.wantTemp, tt.wantAfter)
			}
			if IsTemporary(err) != tt.wantTemp || IsUnknownOutcome(err) != tt.wantAfter {
				t.Errorf("IsTemporary %v, IsUnknownOutcome %v", IsTemporary(err), IsUnknownOutcome(err))
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %q is not %v", err, tt.wantErr)
			}
			if n := len(ts.Received()); n != tt.wantStored {
				t.Errorf("server got %d messages, want %d", n, tt.wantStored)
			}
			if c.Broken() != tt.wantBroken {
				t.Fatalf("Broken() = %v, want %v", c.Broken(), tt.wantBroken)
			}
			if tt.wantBroken {
				if _, err := c.Send(context.Background(), "noreply@example.com", []string{"next@example.org"}, []byte("x\r\n")); !IsTemporary(err) {
					t.Errorf("Send on a broken connection = %v, want a temporary error", err)
				}
				return
			}
			// The same connection carries the next message.
			if _, err := c.Send(context.Background(), "noreply@example.com", []string{"next@example.org"}, []byte("x\r\n")); err != nil {
				t.Fatalf("next Send on the same connection: %v", err)
			}
			if sessions, _ := ts.counts(); sessions != 1 {
				t.Errorf("%d sessions, want 1", sessions)
			}
		})
	}
}

func TestConnSendsManyMessages(t *testing.T) {
	t.Parallel()
	ts := startServer(t, &testServer{}, serverOptions{})
	s, err := NewSMTP("smtp://"+ts.Addr, SMTPOptions{CommandTimeout: 5 * time.Second, HeloName: "sender.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Lines starting with "." must arrive as sent; bare LF becomes CRLF.
	data := []string{
		"Subject: one\r\n\r\n.\r\n..two dots\r\n.leading\r\nend\r\n",
		"Subject: two\n\nbare LF\n.dot\nno final newline",
		"Subject: three\r\n\r\n" + strings.Repeat(strings.Repeat("x", 900)+"\r\n", 200),
	}
	want := []string{
		"Subject: one\r\n\r\n.\r\n..two dots\r\n.leading\r\nend\r\n",
		"Subject: two\r\n\r\nbare LF\r\n.dot\r\nno final newline\r\n",
		"Subject: three\r\n\r\n" + strings.Repeat(strings.Repeat("x", 900)+"\r\n", 200),
	}
	for i, d := range data {
		reply, err := c.Send(context.Background(), "noreply@example.com", []string{"a@example.org", "b@example.org"}, []byte(d))
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if reply.Code != 250 {
			t.Errorf("message %d: reply %+v", i, reply)
		}
		if err := c.Reset(); err != nil {
			t.Fatalf("Reset: %v", err)
		}
	}
	got := ts.Received()
	if len(got) != len(want) {
		t.Fatalf("server got %d messages, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Data != want[i] || len(got[i].To) != 2 {
			t.Errorf("message %d arrived as %.80q to %q, want %.80q", i, got[i].Data, got[i].To, want[i])
		}
	}
	if sessions, _ := ts.counts(); sessions != 1 {
		t.Errorf("%d sessions, want 1", sessions)
	}
	if c.Broken() {
		t.Error("healthy connection reports Broken")
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if !c.Broken() {
		t.Error("closed connection does not report Broken")
	}
	if _, err := c.Send(context.Background(), "noreply@example.com", []string{"a@example.org"}, []byte("x")); !IsTemporary(err) {
		t.Errorf("Send after Close = %v, want a temporary error", err)
	}
}

func TestConnSendRefusesBadEnvelope(t *testing.T) {
	t.Parallel()
	ts := startServer(t, &testServer{}, serverOptions{})
	s, err := NewSMTP("smtp://" + ts.Addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, tt := range []struct {
		name  string
		from  string
		to    []string
		field string
	}{
		{"CRLF in recipient", "a@example.com", []string{"b@example.com>\r\nRCPT TO:<c@example.com"}, "to"},
		{"CRLF in sender", "a@example.com\r\nRSET", []string{"b@example.com"}, "from"},
		{"no recipient", "a@example.com", nil, "to"},
	} {
		_, err := c.Send(context.Background(), tt.from, tt.to, []byte("x"))
		wantInvalid(t, err, "error.email.invalid", tt.field)
	}
	if len(ts.Received()) != 0 || c.Broken() {
		t.Errorf("bad envelopes reached the server or broke the connection")
	}
}

// TestConnNoop: NOOP tells a connection that still works from one the
// server has closed for being idle (421 4.4.2, then EOF).
func TestConnNoop(t *testing.T) {
	t.Parallel()
	ts := startServer(t, &testServer{}, serverOptions{idleTimeout: 300 * time.Millisecond})
	s, err := NewSMTP("smtp://"+ts.Addr, SMTPOptions{CommandTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Dial(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Noop(t.Context()); err != nil || c.Broken() {
		t.Fatalf("NOOP on a fresh connection: %v, broken %v", err, c.Broken())
	}
	time.Sleep(time.Second) // the server says 421 and closes
	err = c.Noop(t.Context())
	var se *SMTPError
	if !errors.As(err, &se) || se.Stage != StageNoop || se.Code != 421 || se.Enhanced != "4.4.2" || !c.Broken() {
		t.Fatalf("NOOP on a connection the server closed: %v, broken %v; want 421 4.4.2 at the noop stage, broken", err, c.Broken())
	}
	if _, err := c.Send(t.Context(), "noreply@example.com", []string{"ivan@example.org"}, []byte("x\r\n")); !IsTemporary(err) {
		t.Errorf("Send after a failed NOOP: %v; want a temporary error", err)
	}
}
