package mailer

import (
	"bytes"
	"context"
	"net/mail"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// TestNoLineLongerThan998Octets builds messages with what HTML editors and
// long-winded authors produce (a 5,000-character HTML line, a very long
// Cyrillic subject, long names, a word longer than a header line), reads
// them back with net/mail, mime/multipart and the transfer decoders, and
// checks the structure (text first, HTML second), that every part decodes
// to what was written, and that no line on the wire passes 998 octets
// (nor 78 in the header).
func TestNoLineLongerThan998Octets(t *testing.T) {
	t.Parallel()
	longHTMLASCII := "<p>" + strings.Repeat("Read <a href=\"https://example.com/a?b=c&amp;d=e\">this</a> now. ", 90) + "</p>"
	longHTMLCyrillic := "<p>" + strings.Repeat("Прочтите <b>это</b> сегодня же, пожалуйста. ", 120) + "</p>"
	longSubject := strings.Repeat("Очень важное и длинное сообщение о вашей подписке на новости ", 16)
	longWord := strings.Repeat("Word", 300)
	for _, tc := range []struct {
		name          string
		subject, from string
		text, html    string
	}{
		{"a 5,000-character ASCII HTML line with its text", "Digest", "News", "Short text.", longHTMLASCII},
		{"a 5,000-character Cyrillic HTML line and a long text line", "Дайджест", "Новости",
			strings.Repeat("Длинная строка текста без переводов. ", 60), longHTMLCyrillic},
		{"a very long Cyrillic subject", longSubject, "Рассылка «Новости компании» с очень длинным названием отправителя", "Текст.", "<p>HTML</p>"},
		{"a subject of one word longer than a line", longWord, strings.Repeat("N", 200), "x", ""},
	} {
		t.Run(tc.name+" keeps every line short and decodes intact", func(t *testing.T) {
			t.Parallel()
			if len(tc.html) > 0 && len(tc.html) < 5000 && strings.HasPrefix(tc.name, "a 5,000") {
				t.Fatalf("the HTML line is only %d octets", len(tc.html))
			}
			var buf bytes.Buffer
			m := &Message{From: Address{Name: tc.from, Email: "news@example.com"}, To: Address{Name: "Иван Петров", Email: "ivan@example.org"},
				Subject: tc.subject, Text: tc.text, HTML: tc.html}
			if _, err := Build(&buf, m, time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)); err != nil {
				t.Fatal(err)
			}
			raw := buf.Bytes()
			head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
			for i, line := range bytes.Split(raw, []byte("\r\n")) {
				if len(line) > 998 {
					t.Errorf("line %d is %d octets", i+1, len(line))
				}
				if i < bytes.Count(head, []byte("\r\n"))+1 && len(line) > 78 {
					t.Errorf("header line %d is %d octets: %.80s", i+1, len(line), line)
				}
				if bytes.ContainsAny(line, "\r\n") {
					t.Errorf("line %d has a bare CR or LF", i+1)
				}
			}
			pm := parseMessage(t, raw)
			if got := decodeHeader(t, pm.Header.Get("Subject")); got != tc.subject {
				t.Errorf("subject decodes to %q, want %q", got, tc.subject)
			}
			from, err := (&mail.AddressParser{WordDecoder: nil}).Parse(pm.Header.Get("From"))
			if err != nil || from.Name != tc.from {
				t.Errorf("From = %v, %v; want name %q", from, err, tc.from)
			}
			want := []part{{Type: "text/plain", Body: normalizeNewlines(tc.text)}}
			if tc.html != "" {
				want = append(want, part{Type: "text/html", Body: tc.html})
			}
			if len(pm.Parts) != len(want) {
				t.Fatalf("%d parts, want %d", len(pm.Parts), len(want))
			}
			for i, p := range pm.Parts {
				if p.Type != want[i].Type || p.Body != want[i].Body {
					t.Errorf("part %d is %s (%s) %.60q..., want %s %.60q...", i+1, p.Type, p.Encoding, p.Body, want[i].Type, want[i].Body)
				}
				if p.Encoding != "quoted-printable" && p.Encoding != "base64" && len(p.Body) > 998 && !strings.Contains(p.Body, "\n") {
					t.Errorf("part %d: a %d-octet line sent %s", i+1, len(p.Body), p.Encoding)
				}
			}
			if tc.html != "" && !strings.HasPrefix(pm.Header.Get("Content-Type"), "multipart/alternative;") {
				t.Errorf("Content-Type %q, want multipart/alternative", pm.Header.Get("Content-Type"))
			}
		})
	}
}

// TestInternationalDomainsGoOutInASCII: an address at пример.рф is written
// in its ASCII form (xn--) in the From and To headers and in the SMTP
// envelope the server receives, while the name around it stays readable.
func TestInternationalDomainsGoOutInASCII(t *testing.T) {
	t.Parallel()
	ts := startServer(t, &testServer{}, serverOptions{})
	s, err := NewSMTP(smtpURL("smtp", "", "", ts.Addr), SMTPOptions{CommandTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	m := &Message{From: Address{Name: "Новости", Email: "news@почта.рф"}, To: Address{Name: "Иван", Email: "ivan@пример.рф"},
		Subject: "Привет", Text: "Текст."}
	res, err := s.Send(context.Background(), m)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := ts.Received()
	if len(got) != 1 {
		t.Fatalf("server received %d messages", len(got))
	}
	e := got[0]
	if e.From != "news@xn--80a1acny.xn--p1ai" || len(e.To) != 1 || e.To[0] != "ivan@xn--e1afmkfd.xn--p1ai" {
		t.Errorf("envelope from %q to %q, want the domains in ASCII", e.From, e.To)
	}
	if !utf8.ValidString(e.Data) || strings.Contains(headerSection(e.Data), "рф") {
		t.Errorf("a header holds the Unicode domain:\n%s", headerSection(e.Data))
	}
	pm := parseMessage(t, []byte(e.Data))
	to, err := new(mail.AddressParser).Parse(pm.Header.Get("To"))
	if err != nil || to.Address != "ivan@xn--e1afmkfd.xn--p1ai" || to.Name != "Иван" {
		t.Errorf("To = %v, %v", to, err)
	}
	if !strings.HasSuffix(res.MessageID, "@xn--80a1acny.xn--p1ai>") {
		t.Errorf("Message-ID %q, want the sender's domain in ASCII", res.MessageID)
	}

	// A local part that is not ASCII would need SMTPUTF8: refused before
	// anything is sent, with its own message.
	m.To.Email = "иван@пример.рф"
	_, err = s.Send(context.Background(), m)
	wantInvalid(t, err, "error.email.utf8_local", "to")
	if n := len(ts.Received()); n != 1 {
		t.Errorf("server received %d messages, want still 1", n)
	}
}

func headerSection(data string) string {
	head, _, _ := strings.Cut(data, "\r\n\r\n")
	return head
}
