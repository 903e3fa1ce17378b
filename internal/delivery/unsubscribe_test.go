package delivery_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/app/apptest"
	"simplesender/internal/delivery"
	"simplesender/internal/i18n"
	"simplesender/internal/store/storetest"
	"simplesender/internal/unsubscribe"
)

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
			p := apptest.ParseSent(t, raw[0])
			link := apptest.UnsubscribeURL(t, p.Header)
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
