package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

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

// The delete page of a message in use names the mailings that use it and
// offers no "Yes, delete"; an unused message gets the usual question.
func TestDeleteMessageInUseNamesTheMailings(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := newSite(t, dbURL)
		o := s.seed(t, "active", "Ivan")
		r := s.do(t, "active", "GET", o.path("/messages/{M}/delete"), nil)
		if r.status != 200 || !strings.Contains(r.body, "active news") || !strings.Contains(r.body, o.path(`href="/mailings/{G}"`)) ||
			!strings.Contains(r.body, "cannot be deleted") || strings.Contains(r.body, "Yes, delete") {
			t.Errorf("delete page of a message in use: %d, want the mailing named and no delete button:\n%s", r.status, r.body)
		}
		ru := s.do(t, "active", "GET", o.path("/messages/{M}/delete"), nil, "Accept-Language", "ru")
		if !strings.Contains(ru.body, "нельзя удалить") {
			t.Errorf("the Russian page does not say it:\n%s", ru.body)
		}
		// A POST anyway (an old tab) gets the same page, not an error page.
		if r := s.do(t, "active", "POST", o.path("/messages/{M}/delete"), url.Values{}); r.status != 409 || !strings.Contains(r.body, "active news") {
			t.Errorf("delete of a message in use: %d", r.status)
		}
		if err := s.env.App.DeleteMailing(t.Context(), s.actor(t, "active"), o.G); err != nil {
			t.Fatal(err)
		}
		if r := s.do(t, "active", "GET", o.path("/messages/{M}/delete"), nil); !strings.Contains(r.body, "Yes, delete") || strings.Contains(r.body, `id="delete-usage"`) {
			t.Errorf("delete page of an unused message:\n%s", r.body)
		}
		// Another user learns nothing about the message.
		if r := s.do(t, "other", "GET", o.path("/messages/{M}/delete"), nil); r.status != 404 {
			t.Errorf("another user's delete page: %d", r.status)
		}
	})
}

// Deleting the only recipient of a mailing: the confirmation page names the
// mailing, which is kept; then its send button is disabled with the reason.
func TestDeleteOnlyRecipientWarnsAndMailingCannotBeSent(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := newSite(t, dbURL)
		o := s.seed(t, "active", "Ivan")
		two := s.recipient(t, "active", "Olga")
		// A second mailing with two recipients is not named.
		g2, err := s.env.App.CreateMailing(t.Context(), s.actor(t, "active"), app.MailingInput{Name: "pair mailing", MessageID: o.M, RecipientIDs: []int64{o.R, two}})
		if err != nil {
			t.Fatal(err)
		}
		page := s.do(t, "active", "GET", o.path("/recipients/{R}/delete"), nil)
		if page.status != 200 || !strings.Contains(page.body, "only recipient of the mailing") || !strings.Contains(page.body, "active news") ||
			strings.Contains(page.body, "pair mailing") || !strings.Contains(page.body, "Yes, delete") {
			t.Fatalf("delete page of a sole recipient: %d\n%s", page.status, page.body)
		}
		if r := s.do(t, "active", "GET", "/recipients/"+itoa(two)+"/delete", nil); strings.Contains(r.body, "only recipient") {
			t.Errorf("a recipient that is nobody's only one is said to be:\n%s", r.body)
		}
		if r := s.do(t, "active", "POST", o.path("/recipients/{R}/delete"), url.Values{}); r.status != 303 {
			t.Fatalf("delete: %d", r.status)
		}
		m := s.do(t, "active", "GET", o.path("/mailings/{G}"), nil)
		if m.status != 200 || strings.Contains(m.body, o.path(`action="/mailings/{G}/send"`)) || !strings.Contains(m.body, `disabled aria-describedby="send-why"`) ||
			!strings.Contains(m.body, "No recipients: add some") {
			t.Errorf("mailing with no recipients: want a disabled send button with the reason:\n%s", m.body)
		}
		if r := s.do(t, "active", "GET", "/mailings/"+itoa(g2.ID), nil); !strings.Contains(r.body, `action="/mailings/`+itoa(g2.ID)+`/send"`) {
			t.Errorf("a mailing with a recipient left lost its send button")
		}
		if r := s.do(t, "active", "POST", o.path("/mailings/{G}/send"), url.Values{}); r.status != 409 || !strings.Contains(r.body, "no recipients") {
			t.Errorf("send of a mailing with no recipients: %d", r.status)
		}
	})
}

// A placeholder error on the message form names the placeholder and where it
// is, in the viewer's language, and keeps what was typed.
func TestPlaceholderErrorsNameThePlaceholder(t *testing.T) {
	t.Parallel()
	s := newSite(t, storetest.NewURL(t, "sqlite"))
	form := url.Values{"subject": {"Hi {{unknown_field}}"}, "body_text": {"Dear\n  {{first_name, welcome"}}
	en := s.do(t, "active", "POST", "/messages", form)
	for _, want := range []string{"Unknown placeholder “{{unknown_field}}” at line 1, position 4",
		"The placeholder “{{first_name” at line 2, position 3 is not closed"} {
		if en.status != 422 || !strings.Contains(en.body, want) {
			t.Errorf("English: %d, body lacks %q", en.status, want)
		}
	}
	ru := s.do(t, "active", "POST", "/messages", form, "Accept-Language", "ru")
	for _, want := range []string{"Неизвестная подстановка «{{unknown_field}}» в строке 1, позиция 4",
		"Подстановка «{{first_name» в строке 2, позиция 3, не закрыта"} {
		if !strings.Contains(ru.body, want) {
			t.Errorf("Russian: body lacks %q", want)
		}
	}
}

// The sign-up form's hidden time zone (filled from the browser) is kept
// when the server knows it, and dropped (UTC) when it does not.
func TestRegisterTakesBrowserTimeZone(t *testing.T) {
	t.Parallel()
	s := newSite(t, storetest.NewURL(t, "sqlite"))
	if r := s.do(t, "", "GET", "/register", nil); !strings.Contains(r.body, `name="timezone" value="" data-browser-tz`) || !strings.Contains(r.body, "/tz.js") {
		t.Fatalf("the sign-up form has no browser time zone field")
	}
	for _, c := range []struct{ email, tz, want string }{
		{"tokyo@example.com", "Asia/Tokyo", "Asia/Tokyo"},
		{"local@example.com", "Local", ""},
		{"mars@example.com", "Mars/Olympus_Mons", ""},
	} {
		form := url.Values{"email": {c.email}, "name": {"T"}, "password": {"purple-kettle-42"}, "password2": {"purple-kettle-42"}, "timezone": {c.tz}}
		if r := s.do(t, "", "POST", "/register", form); r.status != 200 {
			t.Fatalf("register with zone %q: %d\n%s", c.tz, r.status, r.body)
		}
		u, err := s.env.DB.Store().UserByEmail(t.Context(), c.email)
		if err != nil || u.TimeZone != c.want {
			t.Errorf("zone %q: saved %q, want %q (%v)", c.tz, u.TimeZone, c.want, err)
		}
	}
}

// Logging out clears the language cookie that logging in set, so the next
// person on the browser gets the browser's language.
func TestLogoutReturnsToBrowserLanguage(t *testing.T) {
	t.Parallel()
	s := newSite(t, storetest.NewURL(t, "sqlite"))
	if err := s.env.App.SetLanguage(t.Context(), s.actor(t, "active"), "ru"); err != nil {
		t.Fatal(err)
	}
	r := s.do(t, "active", "POST", "/logout", url.Values{})
	cleared := false
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == "ss_lang" && c.MaxAge < 0 {
			cleared = true
		}
	}
	if r.status != 303 || !cleared {
		t.Fatalf("logout: %d, language cookie cleared: %v", r.status, cleared)
	}
	// The next visitor's English browser gets English, even with the old cookie gone.
	if home := s.do(t, "", "GET", "/", nil, "Accept-Language", "en-GB,en;q=0.9"); !strings.Contains(home.body, `lang="en"`) {
		t.Errorf("home after logout is not in the browser's language")
	}
}

// Names and quotes follow the page's language, and a role change in the
// history shows the role's label, not its code.
func TestNamesQuotesAndValuesFollowTheLanguage(t *testing.T) {
	t.Parallel()
	s := newSite(t, storetest.NewURL(t, "sqlite"))
	r := &simplesender.Recipient{Email: "ivan@example.net", LastName: "Petrov", FirstName: "Ivan", MiddleName: "Sergeevich"}
	if err := s.env.App.CreateRecipient(t.Context(), s.actor(t, "active"), r); err != nil {
		t.Fatal(err)
	}
	en := s.do(t, "active", "GET", "/recipients", nil)
	ru := s.do(t, "active", "GET", "/recipients", nil, "Accept-Language", "ru")
	if !strings.Contains(en.body, "Ivan Sergeevich Petrov") || strings.Contains(en.body, "Petrov Ivan") {
		t.Errorf("English list: want the Western order")
	}
	if !strings.Contains(ru.body, "Petrov Ivan Sergeevich") {
		t.Errorf("Russian list: want the last name first")
	}
	del := s.do(t, "active", "GET", "/recipients/"+itoa(r.ID)+"/delete", nil)
	if !strings.Contains(del.body, "ivan@example.net (Ivan Sergeevich Petrov)") {
		t.Errorf("English delete page: want the Western order")
	}

	if _, err := s.env.App.SetRole(t.Context(), s.actor(t, "admin"), s.ids["other"], simplesender.RoleManager); err != nil {
		t.Fatal(err)
	}
	page := s.do(t, "admin", "GET", "/users/"+itoa(s.ids["other"]), nil, "Accept-Language", "ru")
	if !strings.Contains(page.body, ": Менеджер") || strings.Contains(page.body, ": manager") {
		t.Errorf("history shows the role's code, not its Russian label")
	}
	page = s.do(t, "admin", "GET", "/users/"+itoa(s.ids["other"]), nil)
	if !strings.Contains(page.body, ": Manager") {
		t.Errorf("history shows the role's code, not its English label")
	}
	for lang, want := range map[string]string{"en": "“list.csv”", "ru": "«list.csv»"} {
		if got := s.env.Bundle.For(lang).T("quote", "Text", "list.csv"); got != want {
			t.Errorf("%s quotes: %s, want %s", lang, got, want)
		}
	}
	if strings.Contains(s.env.Bundle.For("en").T("import.pending_waiting", "Name", "x"), "«") {
		t.Errorf("English text with Russian quotes")
	}
}

// The lists show what the original's did: the mailings list the message's
// subject (with the status label and recipient count), the messages list a
// body excerpt; the mailing page the message's subject, an excerpt and the
// preview link, and the first send's time beside the last run's.
func TestListsShowWhatTheOriginalShowed(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := newSite(t, dbURL)
		o := s.seed(t, "active", "Ivan")
		long := "Dear {{full_name}},\n\nour   spring sale starts on Monday. " + strings.Repeat("Lots of words here. ", 20) + "THE-END"
		if err := s.env.App.UpdateMessage(t.Context(), s.actor(t, "active"), &simplesender.Message{ID: o.M, Subject: "Spring <sale>", BodyText: long}); err != nil {
			t.Fatal(err)
		}
		list := s.do(t, "active", "GET", "/mailings", nil)
		for _, want := range []string{"Spring &lt;sale&gt;", "active news", ">Created<", "<td>1</td>"} {
			if !strings.Contains(list.body, want) {
				t.Errorf("mailings list lacks %q", want)
			}
		}
		msgs := s.do(t, "active", "GET", "/messages", nil)
		if !strings.Contains(msgs.body, "Dear {{full_name}}, our spring sale starts on Monday.") || strings.Contains(msgs.body, "THE-END") {
			t.Errorf("messages list: want a one-line excerpt of the body, cut:\n%s", msgs.body)
		}
		page := s.do(t, "active", "GET", o.path("/mailings/{G}"), nil, "Accept-Language", "ru")
		for _, want := range []string{"Spring &lt;sale&gt;", "our spring sale starts", o.path(`href="/messages/{M}/preview"`), "Первая отправка", "Ещё не было"} {
			if !strings.Contains(page.body, want) {
				t.Errorf("mailing page lacks %q", want)
			}
		}
		sent := func(string) outcome { return outcome{status: simplesender.DeliverySent, code: 250} }
		if err := s.env.App.SendNow(t.Context(), s.actor(t, "active"), o.G, "now"); err != nil {
			t.Fatal(err)
		}
		first := time.Now().UTC()
		s.run(t, o.G, first, sent)
		if err := s.env.App.Schedule(t.Context(), s.actor(t, "active"), o.G, first.Add(48*time.Hour)); err != nil {
			t.Fatal(err)
		}
		s.run(t, o.G, first.Add(48*time.Hour+time.Second), sent)
		page = s.do(t, "active", "GET", o.path("/mailings/{G}"), nil)
		f, last := first.Format("2006-01-02 15:04 MST"), first.Add(48*time.Hour+time.Second).Format("2006-01-02 15:04 MST")
		if !strings.Contains(page.body, `<dd id="first-sent">`+f+`</dd>`) || !strings.Contains(page.body, last) {
			t.Errorf("mailing page: want the first send (%s) and the last run (%s):\n%s", f, last, page.body)
		}
	})
}
