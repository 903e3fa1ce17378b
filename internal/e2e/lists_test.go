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

// TestBrowserListsFilterAndAudience makes a list on the Lists page, ticks
// recipients and adds them to it after the page that names the count,
// filters the recipients page by the list, and builds a mailing to "the
// list minus a tag" whose page shows the definition and the count; in
// English and Russian, with screenshots at 1280 and 390 px, none wider than
// the window.
func TestBrowserListsFilterAndAudience(t *testing.T) {
	exe := findBrowser(t)
	watchdog(t, hangLimit)
	svc := startService(t)
	env := &apptest.Env{DB: svc.srv.DB}
	email := "lists-" + randomHex(3) + "@example.com"
	u := env.User(t, email, simplesender.RoleUser, simplesender.StatusActive)
	ac := &app.Actor{User: u}
	ctx := context.Background()
	for i := range 6 {
		r := &simplesender.Recipient{Email: fmt.Sprintf("p%d@example.com", i), FirstName: "Anna"}
		if i < 2 {
			r.Tags = []string{"vip"}
		}
		if err := svc.srv.App.CreateRecipient(ctx, ac, r); err != nil {
			t.Fatal(err)
		}
	}
	msg := &simplesender.Message{Subject: "News", BodyText: "Hello"}
	if err := svc.srv.App.CreateMessage(ctx, ac, msg); err != nil {
		t.Fatal(err)
	}
	b := startBrowser(t, exe, svc.URL).newVisitor()
	b.setAcceptLanguage("en")
	b.logInSeeded(email)
	fits := func(what string) {
		t.Helper()
		if over := eval[int](b, "measure "+what, `document.documentElement.scrollWidth - window.innerWidth`); over > 0 {
			t.Errorf("%s is %d px wider than the window", what, over)
		}
	}
	shots := func(path, name, lang string) {
		t.Helper()
		for _, width := range []int{wideWidth, narrowWidth} {
			b.setWidth(width)
			b.open(path)
			fits(fmt.Sprintf("%s at %d px (%s)", path, width, lang))
			b.screenshot(fmt.Sprintf("%s-%d-%s.png", name, width, lang))
		}
		b.setWidth(wideWidth)
	}

	b.open("/lists")
	b.fill(map[string]string{"#f-name": "Customers"})
	b.submit("create a list", `form[action="/lists"] button[type=submit]`, "/lists/1")
	b.expect("the list's name", b.text("main h1"), "Customers")
	shots("/lists", "lists", "en")

	// Tick four, add them to the list.
	b.open("/recipients")
	for _, id := range []string{"1", "2", "3", "4"} {
		b.do("tick "+id, chromedp.Click(chromedp.CSS(`input[name=id][value="`+id+`"]`), chromedp.NodeVisible))
	}
	b.do("choose the list", chromedp.SetValue(chromedp.CSS(`form.bulk-bar select[name="target_list"]`), "1"))
	b.submit("ask to add", `form.bulk-bar button[value="add_to_list"]`, "/recipients/bulk")
	b.expect("the question", b.text("main article p"), "Put 4 recipients on the list “Customers”?")
	b.submit("add", `form.bulk-confirm button[type=submit]`, "/recipients")
	b.expect("flash", b.text(".flash-success"), "Done: the selected recipients are on the list.")

	b.do("filter by the list", chromedp.SetValue(chromedp.CSS(`search select[name="list"]`), "1"))
	b.submit("filter", `search button[type=submit]`, "/recipients?q=&list=1&tag=")
	if got := b.mainText(); !strings.Contains(got, "4 recipients") {
		t.Errorf("the list filter does not show 4 recipients:\n%s", got)
	}
	shots("/recipients?list=1", "recipients-list", "en")

	// A mailing to the list minus the tag vip.
	b.open("/mailings/new")
	b.fill(map[string]string{"#f-name": "Club", "#f-exc_tags": "vip"})
	b.do("choose the message", chromedp.SetValue(chromedp.CSS(`#f-message_id`), fmt.Sprint(msg.ID)))
	b.do("include the list", chromedp.Click(chromedp.CSS(`input[name=inc_list][value="1"]`), chromedp.NodeVisible))
	shots("/mailings/new", "mailing-form", "en")
	b.open("/mailings/new")
	b.fill(map[string]string{"#f-name": "Club", "#f-exc_tags": "vip"})
	b.do("choose the message", chromedp.SetValue(chromedp.CSS(`#f-message_id`), fmt.Sprint(msg.ID)))
	b.do("include the list", chromedp.Click(chromedp.CSS(`input[name=inc_list][value="1"]`), chromedp.NodeVisible))
	b.click("create the mailing", `.mailing-form .actions-row button[type=submit]`)
	if got := b.text("#audience"); !strings.Contains(got, "Customers") || !strings.Contains(got, "2 recipients if sent now") {
		t.Errorf("the mailing's audience: %q", got)
	}
	page := strings.TrimPrefix(b.location(), svc.URL)
	shots(page, "mailing-audience", "en")

	b.switchLanguage("ru")
	shots("/lists", "lists", "ru")
	shots("/recipients?list=1", "recipients-list", "ru")
	shots("/mailings/new", "mailing-form", "ru")
	shots(page, "mailing-audience", "ru")
	if got := b.text("#audience"); !strings.Contains(got, "2 получателя при отправке сейчас") {
		t.Errorf("the mailing's audience in Russian: %q", got)
	}
}
