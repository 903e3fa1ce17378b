package delivery_test

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/store/storetest"
)

// TestMarkdownMessageArrivesAsTextAndHTML sends a Markdown message through
// a real SMTP server, on each database engine, to a recipient at an
// internationalized domain and to one whose name needs escaping. Read back
// with net/mail and mime/multipart, each message is multipart/alternative
// with the generated text first and the HTML second, personalised; the
// envelope and the To header carry the domain in ASCII.
func TestMarkdownMessageArrivesAsTextAndHTML(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		r := newRig(t, dbURL, nil)
		var ids []int64
		for _, rc := range []*simplesender.Recipient{
			{Email: "ivan@пример.рф", FirstName: "Иван"},
			{Email: "ann@example.com", FirstName: "<Ann & Co>"},
		} {
			if err := r.env.App.CreateRecipient(ctx, r.owner, rc); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, rc.ID)
		}
		msg := &simplesender.Message{Subject: "Новости для {{first_name}}", Format: simplesender.FormatMarkdown,
			BodyMarkdown: "# Hello, {{first_name|friend}}\n\nRead [our news](https://example.com/news?e={{email}}) **today**.\n\n- one\n- two\n"}
		if err := r.env.App.CreateMessage(ctx, r.owner, msg); err != nil {
			t.Fatal(err)
		}
		m, err := r.env.App.CreateMailing(ctx, r.owner, app.MailingInput{MessageID: msg.ID, RecipientIDs: ids})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.env.App.SendNow(ctx, r.owner, m.ID, "now"); err != nil {
			t.Fatal(err)
		}
		if m = r.wait(t, m.ID, "the run to finish", finished); m.Counts.Sent != 2 {
			t.Fatalf("counts %+v", m.Counts)
		}
		for _, tc := range []struct {
			envelope, to, name, email string
			text, html                []string
		}{
			{"ivan@xn--e1afmkfd.xn--p1ai", "ivan@xn--e1afmkfd.xn--p1ai", "Иван", "ivan@пример.рф",
				[]string{"Hello, Иван\n\nRead", "Read our news (https://example.com/news?e=ivan@пример.рф) today.", "- one\n- two"},
				[]string{"<h1>Hello, Иван</h1>", `<a href="https://example.com/news?e=ivan@пример.рф">our news</a>`, "<strong>today</strong>", "<li>two</li>"}},
			{"ann@example.com", "ann@example.com", "<Ann & Co>", "ann@example.com",
				[]string{"Hello, <Ann & Co>\n"},
				[]string{"<h1>Hello, &lt;Ann &amp; Co&gt;</h1>"}},
		} {
			raws := r.smtp.Raw(tc.envelope)
			if len(raws) != 1 {
				t.Fatalf("%s received %d messages", tc.envelope, len(raws))
			}
			h, parts := readAlternative(t, raws[0])
			if to, err := h.AddressList("To"); err != nil || len(to) != 1 || to[0].Address != tc.to {
				t.Errorf("To = %v, %v; want %s", to, err, tc.to)
			}
			if subject, _ := new(mime.WordDecoder).DecodeHeader(h.Get("Subject")); subject != "Новости для "+tc.name {
				t.Errorf("Subject = %q", subject)
			}
			if len(parts) != 2 || parts[0].typ != "text/plain" || parts[1].typ != "text/html" {
				t.Fatalf("parts %+v, want text/plain then text/html", parts)
			}
			for _, want := range tc.text {
				if !strings.Contains(parts[0].body, want) {
					t.Errorf("text part lacks %q:\n%s", want, parts[0].body)
				}
			}
			for _, want := range tc.html {
				if !strings.Contains(parts[1].body, want) {
					t.Errorf("HTML part lacks %q:\n%s", want, parts[1].body)
				}
			}
			if strings.ContainsAny(parts[0].body, "<>") && tc.name == "Иван" || strings.Contains(parts[0].body, "**") {
				t.Errorf("the text part holds markup:\n%s", parts[0].body)
			}
		}
		// The deliveries list shows the address as the user typed it.
		if _, ok := r.deliveries(t, m.ID)["ivan@пример.рф"]; !ok {
			t.Errorf("deliveries %v lack ivan@пример.рф", r.deliveries(t, m.ID))
		}
	})
}

type mimePart struct{ typ, body string }

// readAlternative reads a multipart/alternative message the way a mail
// program does and returns its header and decoded parts.
func readAlternative(t *testing.T, raw []byte) (mail.Header, []mimePart) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	typ, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || typ != "multipart/alternative" {
		t.Fatalf("Content-Type %q, %v: want multipart/alternative", msg.Header.Get("Content-Type"), err)
	}
	var parts []mimePart
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			return msg.Header, parts
		}
		if err != nil {
			t.Fatal(err)
		}
		var body io.Reader = p
		switch p.Header.Get("Content-Transfer-Encoding") {
		case "quoted-printable":
			body = quotedprintable.NewReader(p)
		case "base64":
			body = base64.NewDecoder(base64.StdEncoding, p)
		}
		b, err := io.ReadAll(body)
		if err != nil {
			t.Fatal(err)
		}
		pt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		parts = append(parts, mimePart{pt, strings.ReplaceAll(string(b), "\r\n", "\n")})
	}
}
