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

// TestBrowserCustomFields defines a custom field on the fields page and
// fills in a number on the recipient form: a bad one is answered with the
// error under the input and the text kept, a good one shows on the
// recipient's page; in English and Russian, with screenshots of both pages
// at 1280 and 390 px, none wider than the window.
func TestBrowserCustomFields(t *testing.T) {
	exe := findBrowser(t)
	watchdog(t, hangLimit)
	svc := startService(t)
	env := &apptest.Env{DB: svc.srv.DB}
	email := "fields-" + randomHex(3) + "@example.com"
	u := env.User(t, email, simplesender.RoleUser, simplesender.StatusActive)
	ac := &app.Actor{User: u}
	ctx := context.Background()
	for _, f := range []*simplesender.Field{
		{Key: "city", Name: "City", Type: simplesender.FieldText},
		{Key: "birthday", Name: "Birthday", Type: simplesender.FieldDate},
		{Key: "vip", Name: "VIP client", Type: simplesender.FieldBool},
	} {
		if err := svc.srv.App.CreateField(ctx, ac, f); err != nil {
			t.Fatal(err)
		}
	}
	r := &simplesender.Recipient{Email: "anna@example.com", FirstName: "Anna", Fields: map[string]string{"city": "Moscow", "vip": "yes"}}
	if err := svc.srv.App.CreateRecipient(ctx, ac, r); err != nil {
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

	b.open("/fields")
	b.fill(map[string]string{"#f-key": "orders", "#f-name": "Orders"})
	b.do("choose number", chromedp.SetValue(chromedp.CSS(`#f-type`), "number"))
	b.submit("create a field", `form[action="/fields"] button[type=submit]`, "/fields")
	if got := b.mainText(); !strings.Contains(got, "{{orders}}") {
		t.Errorf("the new field is not listed:\n%s", got)
	}
	shots("/fields", "fields", "en")

	edit := fmt.Sprintf("/recipients/%d/edit", r.ID)
	b.open(edit)
	b.fill(map[string]string{"#f-orders": "many"})
	b.do("save a bad number", chromedp.Click(chromedp.CSS(`form[novalidate] button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`#e-orders`)))
	b.expect("the error", b.text("#e-orders"), "Enter a number, such as 42 or 3,5.")
	b.setWidth(narrowWidth)
	b.screenshot("recipient-form-error-390-en.png")
	b.setWidth(wideWidth)
	shots(edit, "recipient-form", "en")
	b.open(edit)
	b.fill(map[string]string{"#f-orders": "12"})
	b.submit("save", `form[novalidate] button[type=submit]`, fmt.Sprintf("/recipients/%d", r.ID))
	b.expect("the value", b.text(`dd[data-field="orders"]`), "12")
	shots(fmt.Sprintf("/recipients/%d", r.ID), "recipient-fields", "en")

	b.switchLanguage("ru")
	shots("/fields", "fields", "ru")
	shots(edit, "recipient-form", "ru")
	if got := b.mainText(); !strings.Contains(got, "Дополнительные поля") {
		t.Errorf("the recipient form in Russian lacks its custom fields:\n%s", got)
	}
}
