package mailbox_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"simplesender/internal/mailbox"
	"simplesender/internal/mailbox/mailboxtest"
)

// TestPollOverTLS polls a real Dovecot over each secure way in (IMAPS,
// IMAP with STARTTLS, POP3S, POP3 with STLS): every message is handed over
// and then gone from the server; a message whose keeping failed stays
// there; a wrong password or an untrusted certificate is an error that
// says so, and nothing is deleted.
func TestPollOverTLS(t *testing.T) {
	dc := mailboxtest.Start(t)
	for _, tc := range []struct{ name, url string }{
		{"imaps", "imaps://bounces:secret%20pass@" + dc.IMAPS + "/INBOX"},
		{"imap starttls", "imap://bounces:secret%20pass@" + dc.IMAP + "/INBOX"},
		{"pop3s", "pop3s://bounces:secret%20pass@" + dc.POP3S},
		{"pop3 stls", "pop3://bounces:secret%20pass@" + dc.POP3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dc.Empty(t)
			c, err := mailbox.ParseURL(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			c.TLS = dc.TLS
			for _, s := range []string{"one", "two", "three"} {
				dc.Deliver(t, "From: MAILER-DAEMON@mx.example.net\r\nSubject: "+s+"\r\n\r\nbody "+s+"\r\n")
			}
			ctx := context.Background()

			// Keeping fails on the second message: the first is deleted,
			// the others stay.
			var got []string
			fail := errors.New("database down")
			n, err := mailbox.Poll(ctx, c, func(_ context.Context, raw []byte) error {
				if len(got) == 1 {
					return fail
				}
				got = append(got, string(raw))
				return nil
			})
			if !errors.Is(err, fail) || n != 1 || dc.Count(t, "") != 2 {
				t.Fatalf("poll with a failing keep: kept %d, %v; %d left on the server, want 2", n, err, dc.Count(t, ""))
			}
			n, err = mailbox.Poll(ctx, c, func(_ context.Context, raw []byte) error {
				got = append(got, string(raw))
				return nil
			})
			if err != nil || n != 2 || dc.Count(t, "") != 0 {
				t.Fatalf("kept %d, %v; %d left on the server", n, err, dc.Count(t, ""))
			}
			joined := strings.Join(got, "")
			for _, s := range []string{"Subject: one", "Subject: two", "Subject: three", "body three"} {
				if !strings.Contains(joined, s) {
					t.Errorf("%q not among the messages fetched", s)
				}
			}

			dc.Deliver(t, "Subject: kept\r\n\r\nx\r\n")
			bad := c
			bad.Password = "wrong"
			if _, err := mailbox.Poll(ctx, bad, func(context.Context, []byte) error { return nil }); err == nil ||
				!strings.Contains(err.Error(), "refused the user name or the password") {
				t.Errorf("a wrong password: %v", err)
			}
			untrusted := c
			untrusted.TLS = nil
			if _, err := mailbox.Poll(ctx, untrusted, func(context.Context, []byte) error { return nil }); err == nil ||
				!strings.Contains(err.Error(), "certificate") {
				t.Errorf("an untrusted certificate: %v", err)
			}
			if dc.Count(t, "") != 1 {
				t.Errorf("a failed login deleted messages")
			}
		})
	}
}
