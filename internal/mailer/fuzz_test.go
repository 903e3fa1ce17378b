package mailer

import (
	"bufio"
	"bytes"
	"net/mail"
	"net/textproto"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"simplesender"
)

func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{
		"ann@example.com", " Ann@Example.COM ", "a@b.c, d@e.f", "Ann <a@b.c>", "a@b.c\r\nBcc: x@y.z",
		`"a b"@c.de`, "a@[1.2.3.4]", "анна@пример.рф", "a..b@c.de", "a@b", "a@-b.cd",
		"ivan@пример.рф", "ivan@xn--e1afmkfd.xn--p1ai", "a@XN--E1AFMKFD.xn--p1ai", "a@xn--.de",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseAddress(s)
		if err != nil {
			if simplesender.AsError(err).Message != "error.email.utf8_local" {
				wantInvalid(t, err, "error.email.invalid", "")
			}
			return
		}
		// The readable form may have a Unicode domain; the form on the wire
		// is ASCII.
		wire := asciiAddress(got)
		if strings.Count(wire, "@") != 1 || strings.IndexFunc(wire, func(r rune) bool {
			return unicode.IsSpace(r) || unicode.IsControl(r) || r > unicode.MaxASCII || strings.ContainsRune(`<>,;:"()[]\`, r)
		}) >= 0 || len(wire) > maxAddressLen {
			t.Fatalf("ParseAddress(%q) = %q, on the wire %q: not a single bare ASCII address", s, got, wire)
		}
		domain := got[strings.IndexByte(got, '@')+1:]
		if domain != strings.ToLower(domain) || !strings.Contains(domain, ".") {
			t.Fatalf("ParseAddress(%q) = %q: domain not lower-case with a dot", s, got)
		}
		if again, err := ParseAddress(got); again != got || err != nil {
			t.Fatalf("ParseAddress(%q) = %q, %v; not idempotent on %q", got, again, err, s)
		}
		if a, err := mail.ParseAddress(wire); err != nil || a.Address != wire || a.Name != "" {
			t.Fatalf("net/mail reads %q as %+v, %v", wire, a, err)
		}
		if again, err := ParseAddress(wire); again != got || err != nil {
			t.Fatalf("ParseAddress(%q) = %q, %v; want the readable %q", wire, again, err, got)
		}
	})
}

func FuzzBuild(f *testing.F) {
	f.Add("Рассылка", "Иван Петров", "ivan@example.com", "Подтвердите адрес", "Текст\n"+testLink, "<p>hi</p>", "List-Unsubscribe", "<https://example.com/u>")
	f.Add("News", "Ann", "ann@example.com", "Hi\r\nBcc: x@y.z", "text", "", "", "")
	f.Add(`Smith, "J"`, "a\nb", "a@b.c, d@e.f", "=?utf-8?q?x?=  two  spaces ", "\r.\r\n..\n", "", "X-A", "v\r\nBcc: x@y.z")
	f.Add("", "", "a@b", strings.Repeat("long ", 40), strings.Repeat("x", 2000), "\x00", "Bcc", "x@y.z")
	f.Fuzz(func(t *testing.T, fromName, toName, toEmail, subject, text, html, hName, hValue string) {
		m := Message{
			From:    Address{Name: fromName, Email: "news@example.com"},
			To:      Address{Name: toName, Email: toEmail},
			Subject: subject,
			Text:    text,
			HTML:    html,
		}
		if hName != "" {
			m.Headers = map[string]string{hName: hValue}
		}
		var buf bytes.Buffer
		id, err := Build(&buf, &m, testNow)
		if err != nil {
			if buf.Len() != 0 {
				t.Fatalf("Build failed (%v) but wrote %q", err, buf.Bytes())
			}
			return
		}
		raw := buf.Bytes()

		// Every header line is a field of ours or a continuation line.
		want := []string{"Date", "From", "To", "Subject", "Message-Id", "Mime-Version", "Content-Type"}
		if text == "" || html == "" {
			want = append(want, "Content-Transfer-Encoding")
		}
		if hName != "" {
			want = append(want, textproto.CanonicalMIMEHeaderKey(hName))
		}
		for _, line := range headerLines(raw) {
			if len(line) > maxHardLine {
				t.Fatalf("header line of %d bytes", len(line))
			}
			if line == "" || line[0] == ' ' {
				continue
			}
			name, _, ok := strings.Cut(line, ":")
			if !ok || !slices.Contains(want, textproto.CanonicalMIMEHeaderKey(name)) {
				t.Fatalf("unexpected header line %q in\n%s", line, raw)
			}
		}

		msg := parseMessage(t, raw)
		h := msg.Header
		for _, name := range want {
			if n := len(h[name]); n != 1 {
				t.Fatalf("%d %s fields in\n%s", n, name, raw)
			}
		}
		if got := h.Get("Message-Id"); got != id {
			t.Fatalf("Message-ID %q, Build returned %q", got, id)
		}
		if got := decodeHeader(t, h.Get("Subject")); got != subject {
			t.Fatalf("Subject reads back %q, want %q", got, subject)
		}
		to, err := mail.ParseAddress(h.Get("To"))
		if err != nil {
			t.Fatalf("To %q: %v", h.Get("To"), err)
		}
		// An internationalized domain is written in ASCII.
		if wantTo, _ := normalizeAddress(toEmail, false); to.Address != asciiAddress(wantTo) || to.Name != strings.TrimSpace(toName) {
			t.Fatalf("To reads back %q <%s>, want %q <%s>", to.Name, to.Address, strings.TrimSpace(toName), wantTo)
		}
		from, err := mail.ParseAddress(h.Get("From"))
		if err != nil || from.Name != strings.TrimSpace(fromName) {
			t.Fatalf("From %q reads back %+v, %v; want name %q", h.Get("From"), from, err, fromName)
		}
		if hName != "" {
			got := h.Get(hName)
			if !isASCII(hValue) {
				got = decodeHeader(t, got)
			}
			if strings.Join(strings.Fields(got), " ") != strings.Join(strings.Fields(hValue), " ") {
				t.Fatalf("%s reads back %q, want %q", hName, got, hValue)
			}
		}

		var bodies []string
		for _, s := range []string{text, html} {
			if s != "" {
				bodies = append(bodies, normalizeNewlines(s))
			}
		}
		if len(bodies) == 0 {
			bodies = []string{""}
		}
		var got []string
		for _, p := range msg.Parts {
			got = append(got, p.Body)
		}
		if !slices.Equal(got, bodies) {
			t.Fatalf("bodies read back %q, want %q", got, bodies)
		}

		// A server without 8BITMIME gets the same bodies in 7 bits.
		seven := downgrade(raw)
		if has8bit(seven) {
			t.Fatalf("8bit data after downgrade:\n%s", seven)
		}
		got = got[:0]
		for _, p := range parseMessage(t, seven).Parts {
			got = append(got, p.Body)
		}
		if !slices.Equal(got, bodies) {
			t.Fatalf("bodies read back after downgrade %q, want %q", got, bodies)
		}
		for _, data := range [][]byte{raw, seven} {
			for line := range bytes.SplitSeq(data, []byte("\r\n")) {
				if len(line) > maxHardLine {
					t.Fatalf("line of %d bytes", len(line))
				}
			}
		}
	})
}

func FuzzReply(f *testing.F) {
	for _, s := range []string{"5.1.1 User unknown", "2.0.0 Ok: queued as 4F1A2", "bad\x00\xff", "4.7.0\nsecond", strings.Repeat("я", 600)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		r := newReply(550, text)
		if len(r.Text) > maxReplyLen || !utf8.ValidString(r.Text) {
			t.Fatalf("reply text of %d bytes, valid UTF-8 %v", len(r.Text), utf8.ValidString(r.Text))
		}
		if i := strings.IndexFunc(r.Text, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }); i >= 0 {
			t.Fatalf("control character in reply text %q", r.Text)
		}
		if r.Enhanced != "" && !strings.HasPrefix(r.Text, r.Enhanced) {
			t.Fatalf("enhanced code %q is not the start of %q", r.Enhanced, r.Text)
		}
	})
}

func FuzzParseSMTPURL(f *testing.F) {
	for _, s := range []string{"smtp://mail.example.com", "smtps://u:p%40ss@[::1]:465", "smtp://u@h", "http://x", "smtp:x:25"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := ParseSMTPURL(raw)
		if err != nil {
			return
		}
		if u.Host == "" || u.Port == "" || u.Username == "" != (u.Password == "") {
			t.Fatalf("ParseSMTPURL(%q) = %+v", raw, u)
		}
		again, err := ParseSMTPURL(u.String())
		if u.Username != "" {
			u.Password = "xxxxx"
		}
		if err != nil || again != u {
			t.Fatalf("String() %q of %q parses to %+v, %v; want %+v", u.String(), raw, again, err, u)
		}
	})
}

func FuzzReadReply(f *testing.F) {
	for _, s := range []string{"250 ok\r\n", "250-a\r\n250 b\r\n", "250\r\n", "250-a\r\n251 b\r\n", "2x0\r\n", "250-cut"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		code, text, err := readReply(bufio.NewReader(strings.NewReader(in)))
		if err != nil {
			return
		}
		if code < 100 || code > 599 || len(text) > len(in) || len(text) > maxReplyBytes {
			t.Fatalf("readReply(%q) = %d, %d bytes of text", in, code, len(text))
		}
	})
}
