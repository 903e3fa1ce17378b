package mailer

import (
	"bytes"
	"net/mail"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var testNow = time.Date(2026, 11, 25, 18, 56, 1, 0, time.FixedZone("MSK", 3*60*60))

// testLink is a confirmation link of about 100 characters.
const testLink = "https://mail.example.com/auth/confirm?token=Zx8kQ2mN7pR4tV1wY6aB3cD9eF0gH5jK-LmNoPqRsTuVwXyZ0123456789"

func TestBuild(t *testing.T) {
	t.Parallel()
	longSubject := strings.TrimSpace(strings.Repeat("Очень важное письмо о вашей подписке ", 6))
	longLine := strings.Repeat("Длинная строка без переводов. ", 60) // ~1700 bytes
	tests := []struct {
		name        string
		msg         Message // From news@example.com and To a@example.com unless set
		wantSubject string
		wantFrom    mail.Address // news@example.com when zero
		wantTo      mail.Address // a@example.com when zero
		wantReplyTo string       // Reply-To address, "" when absent
		wantHeaders map[string]string
		wantParts   []part
	}{
		{
			name: "ascii text is a 7bit text/plain message with the link on one line",
			msg: Message{
				From:    Address{Name: "simpleSENDER", Email: "noreply@localhost"},
				To:      Address{Email: "ann@example.com"},
				Subject: "Confirm your e-mail address",
				Text:    "Hello,\n\nplease confirm your address:\n" + testLink + "\n",
			},
			wantSubject: "Confirm your e-mail address",
			wantFrom:    mail.Address{Name: "simpleSENDER", Address: "noreply@localhost"},
			wantTo:      mail.Address{Address: "ann@example.com"},
			wantParts: []part{{Type: "text/plain", Encoding: "7bit",
				Body: "Hello,\n\nplease confirm your address:\n" + testLink}},
		},
		{
			name: "cyrillic subject, names and body round-trip",
			msg: Message{
				From:    Address{Name: "Рассылка «Новости»", Email: "news@example.com"},
				To:      Address{Name: "Иван Петров", Email: "ivan@Example.COM"},
				Subject: "Подтвердите адрес электронной почты",
				Text:    "Здравствуйте!\r\nПерейдите по ссылке:\r\n" + testLink,
			},
			wantSubject: "Подтвердите адрес электронной почты",
			wantFrom:    mail.Address{Name: "Рассылка «Новости»", Address: "news@example.com"},
			wantTo:      mail.Address{Name: "Иван Петров", Address: "ivan@example.com"},
			wantParts: []part{{Type: "text/plain", Encoding: "8bit",
				Body: "Здравствуйте!\nПерейдите по ссылке:\n" + testLink}},
		},
		{
			name: "long cyrillic subject is folded and decodes whole",
			msg: Message{
				From:    Address{Email: "news@example.com"},
				To:      Address{Name: strings.Repeat("Александра ", 10), Email: "a@example.com"},
				Subject: longSubject,
				Text:    "x",
			},
			wantSubject: longSubject,
			wantFrom:    mail.Address{Address: "news@example.com"},
			wantTo:      mail.Address{Name: strings.TrimSpace(strings.Repeat("Александра ", 10)), Address: "a@example.com"},
			wantParts:   []part{{Type: "text/plain", Encoding: "7bit", Body: "x"}},
		},
		{
			name: "long ascii subject is folded at spaces",
			msg: Message{
				From:    Address{Email: "news@example.com"},
				To:      Address{Email: "a@example.com"},
				Subject: strings.Repeat("Weekly digest of everything ", 8) + "end",
			},
			wantSubject: strings.Repeat("Weekly digest of everything ", 8) + "end",
			wantParts:   []part{{Type: "text/plain", Encoding: "7bit"}},
		},
		{
			name: "text and html make multipart/alternative, text first",
			msg: Message{
				From:    Address{Email: "news@example.com"},
				To:      Address{Email: "a@example.com"},
				Subject: "Hi",
				Text:    "Привет\n",
				HTML:    "<p>Привет, <a href=\"" + testLink + "\">подтвердить</a></p>\n",
			},
			wantSubject: "Hi",
			wantParts: []part{
				{Type: "text/plain", Encoding: "8bit", Body: "Привет"},
				{Type: "text/html", Encoding: "8bit", Body: "<p>Привет, <a href=\"" + testLink + "\">подтвердить</a></p>"},
			},
		},
		{
			name: "html alone is a single text/html part",
			msg: Message{
				HTML: "<b>bold</b>",
			},
			wantParts: []part{{Type: "text/html", Encoding: "7bit", Body: "<b>bold</b>"}},
		},
		{
			name: "overlong Cyrillic line goes base64 and decodes intact",
			msg: Message{
				Text: longLine + "\n.точка в начале строки\n",
			},
			wantParts: []part{{Type: "text/plain", Encoding: "base64", Body: longLine + "\n.точка в начале строки"}},
		},
		{
			name: "bare CR and control characters in a body go quoted-printable",
			msg: Message{
				Text: "a\x00b\x1bc",
			},
			wantParts: []part{{Type: "text/plain", Encoding: "quoted-printable", Body: "a\x00b\x1bc"}},
		},
		{
			name: "display names with specials are quoted",
			msg: Message{
				From:    Address{Name: `Smith, John "JJ" \ Jr.`, Email: "john@example.com"},
				To:      Address{Name: "a@b (c)", Email: "a@example.com"},
				Subject: "=?utf-8?q?not_encoded?= but literal",
			},
			wantSubject: "=?utf-8?q?not_encoded?= but literal",
			wantFrom:    mail.Address{Name: `Smith, John "JJ" \ Jr.`, Address: "john@example.com"},
			wantTo:      mail.Address{Name: "a@b (c)", Address: "a@example.com"},
			wantParts:   []part{{Type: "text/plain", Encoding: "7bit"}},
		},
		{
			name: "reply-to and extra headers are written as given",
			msg: Message{
				From:    Address{Email: "news@example.com"},
				To:      Address{Email: "a@example.com"},
				ReplyTo: &Address{Name: "Поддержка", Email: "help@example.com"},
				Headers: map[string]string{
					"List-Unsubscribe":      "<https://example.com/unsubscribe/" + strings.Repeat("abcdef0123", 8) + ">, <mailto:unsubscribe@example.com?subject=unsubscribe>",
					"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
					"X-Campaign":            "Осенняя распродажа",
				},
				Text: "x",
			},
			wantReplyTo: "help@example.com",
			wantHeaders: map[string]string{
				"List-Unsubscribe":      "<https://example.com/unsubscribe/" + strings.Repeat("abcdef0123", 8) + ">, <mailto:unsubscribe@example.com?subject=unsubscribe>",
				"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
				"X-Campaign":            "Осенняя распродажа",
			},
			wantParts: []part{{Type: "text/plain", Encoding: "7bit", Body: "x"}},
		},
	}
	for _, tt := range tests {
		if tt.msg.From == (Address{}) {
			tt.msg.From = Address{Email: "news@example.com"}
		}
		if tt.msg.To == (Address{}) {
			tt.msg.To = Address{Email: "a@example.com"}
		}
		if tt.wantFrom == (mail.Address{}) {
			tt.wantFrom = mail.Address{Address: "news@example.com"}
		}
		if tt.wantTo == (mail.Address{}) {
			tt.wantTo = mail.Address{Address: "a@example.com"}
		}
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			id, err := Build(&buf, &tt.msg, testNow)
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			for _, line := range headerLines(buf.Bytes()) {
				if len(line) > maxLineLen && !strings.HasPrefix(line, "List-Unsubscribe:") {
					t.Errorf("header line of %d characters: %q", len(line), line)
				}
			}
			m := parseMessage(t, buf.Bytes())
			h := m.Header

			if got := decodeHeader(t, h.Get("Subject")); got != tt.wantSubject {
				t.Errorf("Subject = %q, want %q", got, tt.wantSubject)
			}
			for _, a := range []struct {
				field string
				want  mail.Address
			}{{"From", tt.wantFrom}, {"To", tt.wantTo}} {
				got, err := mail.ParseAddress(h.Get(a.field))
				if err != nil {
					t.Fatalf("%s %q: %v", a.field, h.Get(a.field), err)
				}
				if *got != a.want {
					t.Errorf("%s = %+v, want %+v", a.field, *got, a.want)
				}
			}
			if tt.wantReplyTo != "" {
				got, err := mail.ParseAddress(h.Get("Reply-To"))
				if err != nil || got.Address != tt.wantReplyTo || got.Name != tt.msg.ReplyTo.Name {
					t.Errorf("Reply-To = %q (%v), want %s <%s>", h.Get("Reply-To"), err, tt.msg.ReplyTo.Name, tt.wantReplyTo)
				}
			} else if _, ok := h["Reply-To"]; ok {
				t.Errorf("Reply-To present: %q", h.Get("Reply-To"))
			}
			for name, want := range tt.wantHeaders {
				if got := decodeHeader(t, h.Get(name)); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			if got := h.Get("Message-Id"); got != id {
				t.Errorf("Message-ID header %q, Build returned %q", got, id)
			}
			if got, err := h.Date(); err != nil || !got.Equal(testNow) {
				t.Errorf("Date = %v (%v), want %v", got, err, testNow)
			}
			if got := h.Get("Mime-Version"); got != "1.0" {
				t.Errorf("MIME-Version = %q", got)
			}
			if diff := cmp.Diff(tt.wantParts, m.Parts); diff != "" {
				t.Errorf("body parts (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBuildRefusesInvalidFields(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(*Message)
		key    string
		field  string
	}{
		{"CRLF in subject", func(m *Message) { m.Subject = "Hi\r\nBcc: victim@example.org" }, "error.header_injection", "subject"},
		{"LF alone in subject", func(m *Message) { m.Subject = "Hi\nBcc: victim@example.org" }, "error.header_injection", "subject"},
		{"CR alone in subject", func(m *Message) { m.Subject = "Hi\rBcc: victim@example.org" }, "error.header_injection", "subject"},
		{"NUL in subject", func(m *Message) { m.Subject = "Hi\x00" }, "error.header_injection", "subject"},
		{"tab in subject", func(m *Message) { m.Subject = "Hi\tthere" }, "error.header_injection", "subject"},
		{"unicode line separator in subject", func(m *Message) { m.Subject = "Hi\u2028there" }, "error.header_injection", "subject"},
		{"C1 control in subject", func(m *Message) { m.Subject = "Hi\u0085there" }, "error.header_injection", "subject"},
		{"invalid UTF-8 in subject", func(m *Message) { m.Subject = "Hi \xff" }, "error.header.invalid", "subject"},
		{"CRLF in sender name", func(m *Message) { m.From.Name = "Ann\r\nBcc: victim@example.org" }, "error.header_injection", "from"},
		{"LF in recipient name", func(m *Message) { m.To.Name = "Ann\nX-Evil: 1" }, "error.header_injection", "to"},
		{"CRLF in recipient address", func(m *Message) { m.To.Email = "a@example.com\r\nBcc: victim@example.org" }, "error.header_injection", "to"},
		{"CRLF in reply-to", func(m *Message) { m.ReplyTo = &Address{Email: "r@example.com\r\nX: y"} }, "error.header_injection", "reply_to"},
		{"CRLF in extra header value", func(m *Message) {
			m.Headers = map[string]string{"List-Unsubscribe": "<https://x.example>\r\nBcc: victim@example.org"}
		}, "error.header_injection", "headers"},
		{"CRLF in extra header name", func(m *Message) { m.Headers = map[string]string{"X-A\r\nBcc": "v"} }, "error.header_injection", "headers"},
		{"CRLF in message id", func(m *Message) { m.MessageID = "<a@b>\r\nBcc: victim@example.org" }, "error.header_injection", "message_id"},
		{"two recipients in one field", func(m *Message) { m.To.Email = "a@example.com, b@example.com" }, "error.email.invalid", "to"},
		{"recipient with display name in the address", func(m *Message) { m.To.Email = "Ann <a@example.com>" }, "error.email.invalid", "to"},
		{"recipient without @", func(m *Message) { m.To.Email = "a.example.com" }, "error.email.invalid", "to"},
		{"empty sender", func(m *Message) { m.From.Email = "" }, "error.email.invalid", "from"},
		{"extra header overriding To", func(m *Message) { m.Headers = map[string]string{"to": "victim@example.org"} }, "error.header.invalid", "headers"},
		{"extra header adding Bcc", func(m *Message) { m.Headers = map[string]string{"Bcc": "victim@example.org"} }, "error.header.invalid", "headers"},
		{"extra header with space in name", func(m *Message) { m.Headers = map[string]string{"X A": "v"} }, "error.header.invalid", "headers"},
		{"extra header with colon in name", func(m *Message) { m.Headers = map[string]string{"X:A": "v"} }, "error.header.invalid", "headers"},
		{"extra header too long for a line", func(m *Message) {
			m.Headers = map[string]string{"X-Long": strings.Repeat("a", 1000)}
		}, "error.header.invalid", "headers"},
		{"message id without @", func(m *Message) { m.MessageID = "<abc>" }, "error.header.invalid", "message_id"},
		{"message id with space", func(m *Message) { m.MessageID = "<a b@c>" }, "error.header.invalid", "message_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := Message{
				From:    Address{Name: "News", Email: "news@example.com"},
				To:      Address{Name: "Ann", Email: "ann@example.com"},
				Subject: "Hello",
				Text:    "Body",
			}
			tt.change(&m)
			buf := bytes.NewBufferString("previous message")
			id, err := Build(buf, &m, testNow)
			wantInvalid(t, err, tt.key, tt.field)
			if id != "" || buf.String() != "previous message" {
				t.Errorf("Build wrote %q and returned ID %q on error", buf.String(), id)
			}
		})
	}
}

func TestBuildMessageID(t *testing.T) {
	t.Parallel()
	m := Message{From: Address{Email: "news@Example.com"}, To: Address{Email: "a@example.org"}, Text: "x"}
	generated := regexp.MustCompile(`^<[0-9a-f]{32}@example\.com>$`)
	seen := make(map[string]bool)
	var buf bytes.Buffer
	for range 1000 {
		buf.Reset()
		id, err := Build(&buf, &m, testNow)
		if err != nil {
			t.Fatal(err)
		}
		if !generated.MatchString(id) {
			t.Fatalf("generated Message-ID %q, want <32 hex digits@example.com>", id)
		}
		if seen[id] {
			t.Fatalf("Message-ID %q generated twice", id)
		}
		seen[id] = true
	}

	for _, tt := range []struct{ given, want string }{
		{"abc.123@mail.example.com", "<abc.123@mail.example.com>"},
		{"<abc.123@mail.example.com>", "<abc.123@mail.example.com>"},
	} {
		m.MessageID = tt.given
		buf.Reset()
		id, err := Build(&buf, &m, testNow)
		if err != nil || id != tt.want {
			t.Errorf("Build with MessageID %q = %q, %v; want %q", tt.given, id, err, tt.want)
		}
		if got := parseMessage(t, buf.Bytes()).Header.Get("Message-ID"); got != tt.want {
			t.Errorf("Message-ID header = %q, want %q", got, tt.want)
		}
	}
}

func BenchmarkBuild(b *testing.B) {
	m := &Message{
		From:    Address{Name: "Рассылка компании", Email: "news@example.com"},
		To:      Address{Name: "Иван Петров", Email: "ivan.petrov@example.org"},
		Subject: "Новости недели: всё, что вы пропустили",
		Text:    strings.Repeat("Здравствуйте! Это текст письма со ссылкой "+testLink+"\n", 20),
		HTML:    strings.Repeat("<p>Здравствуйте! Это текст письма со <a href=\""+testLink+"\">ссылкой</a></p>\n", 20),
		Headers: map[string]string{"List-Unsubscribe": "<https://example.com/u/abc>"},
	}
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if _, err := Build(&buf, m, testNow); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(buf.Len()))
}

// BenchmarkBuildLongLines builds a Russian message whose paragraphs are
// single lines longer than 998 octets, as HTML editors write them: bodies
// that must be encoded (base64 here).
func BenchmarkBuildLongLines(b *testing.B) {
	paragraph := strings.Repeat("Здравствуйте! Это текст письма со ссылкой "+testLink+" ", 10)
	m := &Message{
		From:    Address{Name: "Рассылка компании", Email: "news@example.com"},
		To:      Address{Name: "Иван Петров", Email: "ivan.petrov@example.org"},
		Subject: "Новости недели: всё, что вы пропустили",
		Text:    strings.Repeat(paragraph+"\n\n", 4),
		HTML:    "<html><body>" + strings.Repeat("<p>"+paragraph+"</p>", 4) + "</body></html>",
	}
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if _, err := Build(&buf, m, testNow); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(buf.Len()))
	b.ReportMetric(float64(buf.Len())/float64(len(m.Text)+len(m.HTML)), "wire/body")
}
