package unsubscribe

import (
	"bytes"
	"net/url"
	"strings"
	"testing"
	"time"

	"simplesender/internal/mailer"
	"simplesender/internal/render"
)

// BenchmarkMessage builds a 4 KB two-part mailing message as the engine
// does, without (plain) and with the unsubscribe token, headers and footer,
// to show what they add per message.
func BenchmarkMessage(b *testing.B) {
	body := strings.Repeat("Our spring news, with everything you asked about. ", 40)
	pm, err := render.ParseMessage("News for {{first_name}}", "Dear {{first_name}},\n"+body, "<p>Dear {{first_name}},</p><p>"+body+"</p>")
	if err != nil {
		b.Fatal(err)
	}
	base, _ := url.Parse("https://mail.example.com")
	l := NewLinks(base, []byte("secret"), "")
	foot := &Footer{Note: "You receive this e-mail because you are on this sender's mailing list.", Label: "Unsubscribe", Postal: "1 Main St"}
	now := time.Now()
	listID := l.ListIDHeader(7, "Olga")
	withFooter := foot.Apply(pm)
	for _, with := range []bool{false, true} {
		name := "plain"
		if with {
			name = "unsubscribe"
		}
		b.Run(name, func(b *testing.B) {
			var buf bytes.Buffer
			id := int64(0)
			for b.Loop() {
				id++
				f := &render.Fields{Email: "ivan@example.com", FirstName: "Ivan"}
				var token string
				if with {
					token = l.Keys.Token(Target{ID: id, Lang: "en"})
					f.UnsubscribeURL = l.URL(token)
				}
				msg := pm
				if with {
					msg = withFooter
				}
				m := &mailer.Message{From: mailer.Address{Email: "news@example.com"}, To: mailer.Address{Email: f.Email},
					Subject: msg.Subject.String(f, false), Text: msg.Text.String(f, false), HTML: msg.HTML.String(f, true)}
				if with {
					m.Headers = l.Headers(token, listID)
				}
				buf.Reset()
				if _, err := mailer.Build(&buf, m, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
