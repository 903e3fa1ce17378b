package mailbox

import (
	"bufio"
	"strings"
	"testing"
)

// TestParseURL: the URLs an admin writes in SIMPLESENDER_BOUNCE_MAILBOX
// are read as meant, and the wrong ones are refused with a reason.
func TestParseURL(t *testing.T) {
	good := []struct {
		url  string
		want Config
		str  string
	}{
		{"imaps://bounces%40example.com:p%40ss@imap.example.com/INBOX?move=Processed",
			Config{Protocol: IMAP, Security: ImplicitTLS, Host: "imap.example.com:993", User: "bounces@example.com", Password: "p@ss", Folder: "INBOX", MoveTo: "Processed"},
			"imaps://bounces%40example.com@imap.example.com:993/INBOX?move=Processed"},
		{"imap://u:p@mail.example.com",
			Config{Protocol: IMAP, Security: StartTLS, Host: "mail.example.com:143", User: "u", Password: "p", Folder: "INBOX"},
			"imap://u@mail.example.com:143/INBOX"},
		{"imap://u:p@127.0.0.1:1143/Bounces?tls=plain",
			Config{Protocol: IMAP, Security: Plain, Host: "127.0.0.1:1143", User: "u", Password: "p", Folder: "Bounces"},
			"imap://u@127.0.0.1:1143/Bounces?tls=plain"},
		{"pop3s://u:p@pop.example.com",
			Config{Protocol: POP3, Security: ImplicitTLS, Host: "pop.example.com:995", User: "u", Password: "p"},
			"pop3s://u@pop.example.com:995"},
		{"POP3://u:p@pop.example.com:1110?tls=plain",
			Config{Protocol: POP3, Security: Plain, Host: "pop.example.com:1110", User: "u", Password: "p"},
			"pop3://u@pop.example.com:1110?tls=plain"},
	}
	for _, g := range good {
		c, err := ParseURL(g.url)
		if err != nil {
			t.Errorf("%s: %v", g.url, err)
			continue
		}
		if c != g.want {
			t.Errorf("%s: %+v, want %+v", g.url, c, g.want)
		}
		if c.String() != g.str || strings.Contains(c.String(), g.want.Password+"@") {
			t.Errorf("%s logged as %s, want %s (no password)", g.url, c.String(), g.str)
		}
	}
	for _, bad := range []string{
		"http://u:p@host", "imaps://host", "imaps://u@host", "imaps://u:p@/INBOX",
		"imaps://u:p@host?tls=plain", "pop3://u:p@host/INBOX", "pop3s://u:p@host?move=Done",
		"imap://u:p@host?tls=maybe", "imap://u:p@host?delete=1", "imap://u:p@host/INBOX?move=INBOX",
		"imap://u:p%0D%0ALOGOUT@host",
	} {
		if _, err := ParseURL(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// FuzzReadResponse: whatever a server sends, reading its responses ends
// with a response or an error, and never reads a literal larger than the
// limit.
func FuzzReadResponse(f *testing.F) {
	f.Add("* 1 FETCH (UID 5 BODY[] {5}\r\nhello)\r\n")
	f.Add("* OK [CAPABILITY IMAP4rev1] ready\r\n")
	f.Add("* 1 FETCH (BODY[] {99999999999}\r\n")
	f.Add("* 1 FETCH (BODY[] {3}\r\nab")
	f.Fuzz(func(t *testing.T, in string) {
		m := &imap{r: bufio.NewReader(strings.NewReader(in))}
		for range 100 {
			res, err := m.readResponse()
			if err != nil {
				return
			}
			for _, l := range res.literals {
				if len(l) > maxLiteral {
					t.Fatalf("a literal of %d bytes", len(l))
				}
			}
		}
	})
}
