package e2e

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/app/apptest"
)

// TestBrowserUnsubscribeAndFooterSettings: the owner sets the footer's note
// and postal address on the sending settings page (English and Russian);
// a mailing goes out with them; its recipient opens the link of their
// message, sees the page in the message's language (English for an English
// message, Russian for a Russian one, whatever the browser says),
// unsubscribes with the button and subscribes again. Screenshots at 1280
// and 390 px.
func TestBrowserUnsubscribeAndFooterSettings(t *testing.T) {
	exe := findBrowser(t)
	watchdog(t, hangLimit)
	svc, srv := startMailingService(t, nil)
	b := startBrowser(t, exe, svc.URL)
	ctx := context.Background()
	run := randomHex(4)

	u, _, err := srv.App.CreateAdmin(ctx, app.System, "olga-"+run+"@example.com", password)
	if err != nil {
		t.Fatal(err)
	}
	if u, err = srv.App.SetRole(ctx, app.System, u.ID, simplesender.RoleUser); err != nil {
		t.Fatal(err)
	}
	owner := &app.Actor{User: u}

	// ---- The owner's footer settings, in both languages.
	b.setAcceptLanguage("en-US,en;q=0.9")
	b.logIn(u.Email)
	b.open("/profile")
	b.submit("open the sending settings", `main a[href="/profile/sending"]`, "/profile/sending")
	b.shotsAt("sending-settings")
	b.fill(map[string]string{"#f-footer_text": "You signed up at example.com <spring>", "#f-postal_address": "1 Main St, Springfield"})
	b.submit("save the settings", `form[action="/profile/sending"] button[type=submit]`, "/profile/sending")
	b.expect("saved", b.text(".flash"), "Sending settings saved.")
	if p := b.text("pre.footer-preview"); !strings.Contains(p, "You signed up at example.com <spring>") || !strings.Contains(p, "1 Main St, Springfield") {
		t.Errorf("the preview lacks the note or the address: %q", p)
	}
	b.shotsAt("sending-settings")
	b.submit("switch to Russian", `form.lang-switch button[value="ru"]`, "/profile/sending")
	b.expect("heading in Russian", b.text("main h1"), "Настройки отправки")
	b.shotsAt("sending-settings")

	// ---- Two mailings, one in English and one in Russian, to one recipient.
	to := "ivan-" + run + "@example.net"
	rc := &simplesender.Recipient{Email: to, FirstName: "Ivan"}
	if err := srv.App.CreateRecipient(ctx, owner, rc); err != nil {
		t.Fatal(err)
	}
	links := map[string]string{}
	for _, lang := range []string{"en", "ru"} {
		msg := &simplesender.Message{Subject: "Spring news", BodyText: "Dear {{first_name}}, the news."}
		if lang == "ru" {
			msg = &simplesender.Message{Subject: "Весенние новости", BodyText: "Здравствуйте, {{first_name}}!"}
		}
		if err := srv.App.CreateMessage(ctx, owner, msg); err != nil {
			t.Fatal(err)
		}
		g, err := srv.App.CreateMailing(ctx, owner, app.MailingInput{Name: lang, MessageID: msg.ID, RecipientIDs: []int64{rc.ID}})
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.App.SendNow(ctx, owner, g.ID, "now"); err != nil {
			t.Fatal(err)
		}
		e := svc.waitEmailWithSubject(t, to, msg.Subject)
		raw, err := os.ReadFile(e.Path)
		if err != nil {
			t.Fatal(err)
		}
		sent := apptest.ParseSent(t, raw)
		links[lang] = apptest.UnsubscribeURL(t, sent.Header)
		if !strings.Contains(sent.Text, "You signed up at example.com <spring>") || !strings.Contains(sent.Text, links[lang]) {
			t.Errorf("%s: the message's footer lacks the note or the link:\n%s", lang, sent.Text)
		}
	}

	// ---- The recipient, in a browser of their own that asks for German.
	r := b.newVisitor()
	r.setAcceptLanguage("de-DE,de;q=0.9")
	r.openURL(links["en"])
	r.expect("page language", r.lang(), "en")
	r.expect("heading", r.text("main h1"), "Unsubscribe from these mailings?")
	r.shotsAt("unsubscribe-confirm")
	r.click("unsubscribe", `main form button[type=submit]`)
	r.expect("heading after the click", r.text("main h1"), "You are unsubscribed")
	if x, err := srv.DB.Store().IsSuppressed(ctx, u.ID, to); err != nil || x == nil || x.Reason != simplesender.ReasonUnsubscribed {
		t.Fatalf("after the click the address is suppressed as %+v, %v", x, err)
	}
	r.shotsAt("unsubscribe-done")
	r.click("subscribe again", `main form button[type=submit]`)
	r.expect("heading after re-subscribing", r.text("main h1"), "Unsubscribe from these mailings?")
	if x, _ := srv.DB.Store().IsSuppressed(ctx, u.ID, to); x != nil {
		t.Errorf("re-subscribing left %+v", x)
	}

	r.openURL(links["ru"])
	r.expect("page language of the Russian message", r.lang(), "ru")
	r.expect("heading in Russian", r.text("main h1"), "Отписаться от этих рассылок?")
	r.shotsAt("unsubscribe-confirm")
	r.click("unsubscribe in Russian", `main form button[type=submit]`)
	r.expect("heading after the click, in Russian", r.text("main h1"), "Вы отписались")
	r.shotsAt("unsubscribe-done")

	// A damaged link: an error page, in the browser's language, and no change.
	r.openURLStatus(links["en"][:len(links["en"])-2]+"xx", 404)
	if !strings.Contains(r.mainText(), "unsubscribe link is not valid") {
		t.Errorf("a damaged link does not say so: %s", r.mainText())
	}
}

// shotsAt saves the page at 1280 and 390 px wide as
// unsubscribe-NAME-LANG-WIDTH.png, and leaves the window at 1280 px.
func (b *browser) shotsAt(name string) {
	b.t.Helper()
	lang := b.lang()
	for _, w := range []int64{390, 1280} {
		b.do("resize to "+itoa(w), chromedp.EmulateViewport(w, 900))
		b.screenshot("unsubscribe-" + name + "-" + lang + "-" + itoa(w) + ".png")
	}
}

// waitEmailWithSubject waits for the newest e-mail to `to` with subject.
func (s *service) waitEmailWithSubject(t *testing.T, to, subject string) apptest.Email {
	t.Helper()
	for range 100 {
		if e := s.waitEmail(t, to); e.Subject == subject {
			return e
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no e-mail to %s with the subject %q", to, subject)
	return apptest.Email{}
}
