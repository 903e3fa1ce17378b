package web_test

import (
	"net/url"
	"strings"
	"testing"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/app/apptest"
	"simplesender/internal/store/storetest"
	"simplesender/internal/web"
)

// A used or unknown link from an e-mail shows the error and the way to a new
// link instead of a form that would fail on submit; a good link shows the
// form.
func TestUsedLinksShowTheErrorInsteadOfTheForm(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := newSite(t, dbURL)
		form := url.Values{"email": {"link@example.com"}, "name": {"L"}, "password": {"purple-kettle-42"}, "password2": {"purple-kettle-42"}}
		if r := s.do(t, "", "POST", "/register", form); r.status != 200 {
			t.Fatalf("register: %d", r.status)
		}
		token := apptest.LinkToken(t, s.env.WaitEmail(t, "link@example.com", 1).Body, "/confirm")
		if r := s.do(t, "", "GET", "/confirm?token="+url.QueryEscape(token), nil); r.status != 200 || !strings.Contains(r.body, `action="/confirm"`) {
			t.Fatalf("a fresh confirmation link shows no form: %d", r.status)
		}
		if r := s.do(t, "", "POST", "/confirm", url.Values{"token": {token}}); r.status != 303 {
			t.Fatalf("confirm: %d", r.status)
		}
		used := s.do(t, "", "GET", "/confirm?token="+url.QueryEscape(token), nil, "Accept-Language", "ru")
		if used.status != 404 || strings.Contains(used.body, `action="/confirm"`) ||
			!strings.Contains(used.body, "уже использована") || !strings.Contains(used.body, `href="/confirm/resend"`) {
			t.Errorf("a used confirmation link: %d, want the error and a way to a new link, no form:\n%s", used.status, used.body)
		}

		if r := s.do(t, "", "POST", "/password/forgot", url.Values{"email": {"link@example.com"}}); r.status != 200 {
			t.Fatalf("forgot: %d", r.status)
		}
		reset := apptest.LinkToken(t, s.env.WaitEmail(t, "link@example.com", 2).Body, "/password/reset")
		if r := s.do(t, "", "GET", "/password/reset?token="+url.QueryEscape(reset), nil); r.status != 200 || !strings.Contains(r.body, `name="password2"`) {
			t.Fatalf("a fresh reset link shows no form: %d", r.status)
		}
		if r := s.do(t, "", "POST", "/password/reset", url.Values{"token": {reset}, "password": {"amber-walrus-77"}, "password2": {"amber-walrus-77"}}); r.status != 303 {
			t.Fatalf("reset: %d %s", r.status, r.body)
		}
		again := s.do(t, "", "GET", "/password/reset?token="+url.QueryEscape(reset), nil)
		if again.status != 404 || strings.Contains(again.body, `name="password2"`) ||
			!strings.Contains(again.body, "already used") || !strings.Contains(again.body, `href="/password/forgot"`) {
			t.Errorf("a used reset link: %d, want the error and a way to a new link, no form:\n%s", again.status, again.body)
		}
	})
}

// The "no SMTP server? look in the outbox folder" hint shows only when the
// e-mails do go to the outbox folder.
func TestOutboxHintOnlyInOutboxMode(t *testing.T) {
	t.Parallel()
	hint := "outbox folder"
	for _, c := range []struct {
		name   string
		outbox string
		want   bool
	}{{"smtp configured: no hint", "", false}, {"outbox mode: hint", "/data/outbox", true}} {
		t.Run(c.name, func(t *testing.T) {
			s := newSiteWith(t, storetest.NewURL(t, "sqlite"), web.Config{}, apptest.Options{Deps: func(d *app.Deps) {
				d.SMTP = func() simplesender.SMTPSettings { return simplesender.SMTPSettings{OutboxDir: c.outbox} }
			}})
			form := url.Values{"email": {"hint@example.com"}, "name": {"H"}, "password": {"purple-kettle-42"}, "password2": {"purple-kettle-42"}}
			for _, r := range []resp{s.do(t, "", "POST", "/register", form), s.do(t, "", "POST", "/password/forgot", url.Values{"email": {"hint@example.com"}})} {
				if r.status != 200 {
					t.Fatalf("status %d", r.status)
				}
				if got := strings.Contains(r.body, hint); got != c.want {
					t.Errorf("outbox hint shown: %v, want %v", got, c.want)
				}
			}
		})
	}
}
