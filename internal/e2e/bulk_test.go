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

// TestBrowserBulkDeleteOfRecipients ticks "all on this page" on a page of
// 25, deletes them after the page that names the count, then takes every
// recipient a search found for an export; in Russian and English, with
// screenshots at 1280 and 390 px.
func TestBrowserBulkDeleteOfRecipients(t *testing.T) {
	exe := findBrowser(t)
	watchdog(t, hangLimit)
	svc := startService(t)
	env := &apptest.Env{DB: svc.srv.DB}
	email := "bulk-" + randomHex(3) + "@example.com"
	u := env.User(t, email, simplesender.RoleUser, simplesender.StatusActive)
	ac := &app.Actor{User: u}
	for i := range 30 {
		first := "Anna"
		if i >= 26 {
			first = "Zoe"
		}
		r := &simplesender.Recipient{Email: fmt.Sprintf("r%02d@example.com", i), FirstName: first}
		if err := svc.srv.App.CreateRecipient(context.Background(), ac, r); err != nil {
			t.Fatal(err)
		}
	}
	b := startBrowser(t, exe, svc.URL).newVisitor()
	b.setAcceptLanguage("en")
	b.logInSeeded(email)

	b.open("/recipients?per_page=25")
	b.expect("the pager's page length", b.text(".per-page strong"), "25")
	for _, width := range []int{wideWidth, narrowWidth} {
		b.setWidth(width)
		b.open("/recipients?per_page=25")
		b.screenshot(fmt.Sprintf("bulk-list-%d-en.png", width))
	}
	b.setWidth(wideWidth)
	b.do("tick all on the page", chromedp.Click(chromedp.CSS(".check-page input"), chromedp.NodeVisible))
	ticked := eval[int](b, "count the ticked rows", `document.querySelectorAll('input[name=id][form=bulk]:checked').length`)
	if ticked != 25 {
		t.Fatalf("all on this page ticked %d rows, want 25", ticked)
	}
	b.submit("ask to delete", `form.bulk-bar button[value="delete"]`, "/recipients/bulk")
	b.expect("the question", b.text("main article p"), "Delete 25 recipients?")
	b.screenshot("bulk-confirm-1280-en.png")
	b.submit("delete", `form.bulk-confirm button[type=submit]`, "/recipients")
	b.expect("flash", b.text(".flash-success"), "The selected recipients are deleted.")
	if got := b.mainText(); !strings.Contains(got, "5 recipients") {
		t.Errorf("after deleting 25 of 30 the list does not say 5 recipients:\n%s", got)
	}

	// Every one the search found, in Russian, for an export.
	b.switchLanguage("ru")
	b.open("/recipients?q=zoe")
	b.do("take all found", chromedp.SetValue(chromedp.CSS(`form.bulk-bar select[name="scope"]`), "all"))
	b.submit("ask to export", `form.bulk-bar button[value="export"]`, "/recipients/bulk")
	b.expect("the question in Russian", b.text("main article p"), "Выгрузить 4 получателей в CSV?")
	for _, width := range []int{wideWidth, narrowWidth} {
		b.setWidth(width)
		b.screenshot(fmt.Sprintf("bulk-confirm-%d-ru.png", width))
	}
	b.setWidth(wideWidth)
	b.open("/recipients?per_page=25")
	for _, width := range []int{wideWidth, narrowWidth} {
		b.setWidth(width)
		b.open("/recipients")
		b.screenshot(fmt.Sprintf("bulk-list-%d-ru.png", width))
	}
}
