package delivery_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/url"
	"strings"
	"testing"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/delivery"
	"simplesender/internal/i18n"
	"simplesender/internal/store/storetest"
	"simplesender/internal/unsubscribe"
)

// parsed is a sent message as an independent parser (net/mail and
// mime/multipart) reads it.
type parsed struct {
	Header     mail.Header
	Text, HTML string
}

func parseSent(t *testing.T, raw []byte) parsed {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("read message: %v", err)
	}
	p := parsed{Header: m.Header}
	var walk func(ct, cte string, body io.Reader)
	walk = func(ct, cte string, body io.Reader) {
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil {
			t.Fatalf("content type %q: %v", ct, err)
		}
		if strings.HasPrefix(mt, "multipart/") {
			mr := multipart.NewReader(body, params["boundary"])
			for {
				part, err := mr.NextRawPart()
				if err == io.EOF {
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				walk(part.Header.Get("Content-Type"), part.Header.Get("Content-Transfer-Encoding"), part)
			}
		}
		switch strings.ToLower(cte) {
		case "quoted-printable":
			body = quotedprintable.NewReader(body)
		case "base64":
			body = base64.NewDecoder(base64.StdEncoding, body)
		}
		b, err := io.ReadAll(body)
		if err != nil {
			t.Fatal(err)
		}
		s := strings.ReplaceAll(string(b), "\r\n", "\n")
		if mt == "text/html" {
			p.HTML = s
		} else {
			p.Text = s
		}
	}
	walk(m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), m.Body)
	return p
}

// unsubscribeURL is the https link of a List-Unsubscribe header.
func unsubscribeURL(t *testing.T, h mail.Header) string {
	t.Helper()
	v := h.Get("List-Unsubscribe")
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if strings.HasPrefix(part, "<http") && strings.HasSuffix(part, ">") {
			return strings.Trim(part, "<>")
		}
	}
	t.Fatalf("no http link in List-Unsubscribe %q", v)
	return ""
}

func withUnsubscribe(t *testing.T, base string) func(*delivery.Config) {
	b, err := i18n.New()
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(base)
	return func(c *delivery.Config) {
		c.Unsubscribe = unsubscribe.NewLinks(u, []byte("test secret"), "")
		c.Words = app.FooterWords(b)
	}
}

func TestMessagesCarryUnsubscribeHeadersAndFooter(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		r := newRig(t, dbURL, withUnsubscribe(t, "https://mail.example.com"))
		if _, err := r.env.App.SetSendingSettings(ctx, r.owner, simplesender.SendingSettings{
			PostalAddress: "ООО «Ромашка», ул. Ленина 1 <b>"}); err != nil {
			t.Fatal(err)
		}
		m := r.mailing(t, "Новости", "a@example.com", "b@example.com")
		if err := r.env.App.SendNow(ctx, r.owner, m.ID, "now"); err != nil {
			t.Fatal(err)
		}
		r.wait(t, m.ID, "the mailing to finish", finished)
		keys := unsubscribe.NewKeys([]byte("test secret"))
		ds := r.deliveries(t, m.ID)
		seen := map[string]bool{}
		for _, to := range []string{"a@example.com", "b@example.com"} {
			raw := r.smtp.Raw(to)
			if len(raw) != 1 {
				t.Fatalf("%s got %d messages", to, len(raw))
			}
			p := parseSent(t, raw[0])
			link := unsubscribeURL(t, p.Header)
			if seen[link] {
				t.Errorf("two recipients share the link %s", link)
			}
			seen[link] = true
			token, ok := strings.CutPrefix(link, "https://mail.example.com/u/")
			if !ok {
				t.Fatalf("link %q is not under the base URL", link)
			}
			target, err := keys.Open(token)
			if err != nil || target.ID != ds[to].ID || target.Test || target.Lang != "ru" {
				t.Errorf("the token of %s opens to %+v, %v; want delivery %d in Russian", to, target, err, ds[to].ID)
			}
			if got := p.Header.Get("List-Unsubscribe-Post"); got != "List-Unsubscribe=One-Click" {
				t.Errorf("List-Unsubscribe-Post = %q", got)
			}
			if got, want := p.Header.Get("List-Id"), fmt.Sprintf(`"Test owner" <u%d.mail.example.com>`, r.owner.User.ID); got != want {
				t.Errorf("List-Id = %q, want %q", got, want)
			}
			if !strings.Contains(p.Text, "Отписаться: "+link) || !strings.Contains(p.Text, "ООО «Ромашка», ул. Ленина 1 <b>") {
				t.Errorf("the text has no footer in Russian with the link and address:\n%s", p.Text)
			}
			if !strings.Contains(p.HTML, `<a href="`+link+`">Отписаться</a>`) ||
				!strings.Contains(p.HTML, "ул. Ленина 1 &lt;b&gt;") {
				t.Errorf("the HTML has no escaped footer with the link:\n%s", p.HTML)
			}
		}
	})
}
