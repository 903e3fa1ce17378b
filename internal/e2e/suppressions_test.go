package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/app/apptest"
)

// TestBrowserSuppressionPage suppresses an address in the form of the
// suppression page in English, then takes another off the list, giving a
// reason, in Russian; the list, the flash and the history say so in each
// language, with screenshots at 1280 and 390 px.
func TestBrowserSuppressionPage(t *testing.T) {
	exe := findBrowser(t)
	watchdog(t, hangLimit)
	svc := startService(t)
	env := &apptest.Env{DB: svc.srv.DB}
	email := "stop-" + randomHex(3) + "@example.com"
	u := env.User(t, email, simplesender.RoleUser, simplesender.StatusActive)
	if _, _, err := svc.srv.App.AddSuppression(context.Background(), &app.Actor{User: u},
		app.SuppressionInput{Email: "unsub@example.org", Reason: simplesender.ReasonUnsubscribed, Note: "clicked the link"}); err != nil {
		t.Fatal(err)
	}
	b := startBrowser(t, exe, svc.URL).newVisitor()
	b.setAcceptLanguage("en")
	b.logInSeeded(email)

	b.open("/suppressions")
	b.expect("title", b.text("main h1"), "Suppression list")
	b.do("open the form", chromedp.Click(chromedp.CSS("#suppression-add summary"), chromedp.NodeVisible))
	b.fill(map[string]string{"#f-email": "Angry@Example.org", "#f-note": "phoned the office"})
	b.do("choose a reason", chromedp.SetValue(chromedp.CSS("#f-reason"), "complained"))
	b.submit("suppress", `form[action="/suppressions"] button[type=submit]`, "/suppressions")
	b.expect("flash", b.text(".flash-success"), "The address is suppressed: it will not be mailed.")
	if got := b.text("#suppressions"); !strings.Contains(got, "angry@example.org") || !strings.Contains(got, "complained") ||
		!strings.Contains(got, "phoned the office") {
		t.Errorf("the list after adding:\n%s", got)
	}
	for _, width := range []int{wideWidth, narrowWidth} {
		b.setWidth(width)
		b.open("/suppressions")
		b.screenshot(fmt.Sprintf("suppressions-%d-en.png", width))
	}

	b.switchLanguage("ru")
	b.open("/suppressions?q=unsub")
	b.expect("title in Russian", b.text("main h1"), "Стоп-лист")
	b.expect("reason in Russian", b.text("#suppressions tbody td:nth-child(2)"), "отписался")
	b.click("open the removal", `#suppressions a[href$="/remove"]`)
	b.fill(map[string]string{"#f-reason": "попросила вернуть рассылку"})
	for _, width := range []int{wideWidth, narrowWidth} {
		b.setWidth(width)
		b.screenshot(fmt.Sprintf("suppression-remove-%d-ru.png", width))
	}
	b.setWidth(wideWidth)
	b.submit("remove", `main form button[type=submit]`, "/suppressions")
	b.expect("flash in Russian", b.text(".flash-success"), "Адрес убран из стоп-листа.")
	if got := b.text("#suppression-audit"); !strings.Contains(got, "попросила вернуть рассылку") {
		t.Errorf("the history lacks the removal's reason:\n%s", got)
	}
	if got := b.text("#suppressions"); strings.Contains(got, "unsub@example.org") {
		t.Errorf("the removed address is still listed:\n%s", got)
	}
	for _, width := range []int{wideWidth, narrowWidth} {
		b.setWidth(width)
		b.open("/suppressions")
		b.screenshot(fmt.Sprintf("suppressions-%d-ru.png", width))
	}
}
