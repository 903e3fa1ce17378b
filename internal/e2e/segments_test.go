package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/app/apptest"
)

// TestBrowserSegmentEditor builds a segment in the editor: the script
// shows only the inputs of each row's field and the count of matching
// recipients follows the changes; "Add a condition" adds a row in place;
// the saved segment filters the recipients page. In English and Russian,
// with screenshots of the editor at 1280 and 390 px, none wider than the
// window.
func TestBrowserSegmentEditor(t *testing.T) {
	exe := findBrowser(t)
	watchdog(t, hangLimit)
	svc := startService(t)
	env := &apptest.Env{DB: svc.srv.DB}
	email := "segments-" + randomHex(3) + "@example.com"
	u := env.User(t, email, simplesender.RoleUser, simplesender.StatusActive)
	ac := &app.Actor{User: u}
	ctx := context.Background()
	for i := range 6 {
		r := &simplesender.Recipient{Email: fmt.Sprintf("s%d@example.com", i), FirstName: "Anna"}
		if i < 2 {
			r.Tags = []string{"vip"}
		}
		if err := svc.srv.App.CreateRecipient(ctx, ac, r); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.srv.App.CreateList(ctx, ac, "Customers"); err != nil {
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
	// waitCount waits for the live count to say want.
	waitCount := func(want string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			got := eval[string](b, "read the count", `document.querySelector("[data-count]").textContent`)
			if strings.Contains(got, want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the live count says %q, want %q", got, want)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	hidden := func(css string) bool {
		return eval[bool](b, "is "+css+" hidden", `document.querySelector(`+"`"+css+"`"+`).hidden`)
	}

	b.open("/segments/new")
	waitCount("Condition 1: give a text") // the first row: e-mail contains (nothing yet)
	b.fill(map[string]string{"#f-name": "VIP"})
	b.do("choose tag", chromedp.SetValue(chromedp.CSS(`select[name="cond_field"]`), "tag"))
	eval[bool](b, "tell the page", `document.querySelector('select[name="cond_field"]').dispatchEvent(new Event("change", {bubbles: true}))`)
	if !hidden(`[data-input="list"]`) || !hidden(`[data-input="mailing"]`) || hidden(`[data-input="value"]`) {
		t.Errorf("a tag row shows the list or mailing chooser, or hides the value")
	}
	if got := b.text(`select[name="cond_op"]`); !strings.Contains(got, "has") || strings.Contains(got, "contains") {
		t.Errorf("a tag row offers the operators %q", got)
	}
	b.do("type the tag", chromedp.SendKeys(chromedp.CSS(`input[name="cond_value"]`), "vip"))
	waitCount("2 recipients match now")
	b.do("add a condition", chromedp.Click(chromedp.CSS(`[data-add-row]`), chromedp.NodeVisible))
	if n := eval[int](b, "count rows", `document.querySelectorAll("[data-row]").length`); n != 2 {
		t.Errorf("after adding a condition: %d rows, want 2", n)
	}
	b.do("the second row: e-mail contains s1", chromedp.SendKeys(chromedp.CSS(`[data-row]:nth-child(2) input[name="cond_value"]`), "s1"))
	waitCount("1 recipient matches now")
	for _, width := range []int{wideWidth, narrowWidth} {
		b.setWidth(width)
		fits(fmt.Sprintf("the editor at %d px", width))
		b.screenshot(fmt.Sprintf("segment-editor-%d-en.png", width))
	}
	b.setWidth(wideWidth)
	b.submit("save", `button[value="save"]`, "/segments/1")
	b.expect("flash", b.text(".flash-success"), "The segment is saved.")
	b.open("/recipients?segment=1")
	if got := b.mainText(); !strings.Contains(got, "s1@example.com") || strings.Contains(got, "s0@example.com") {
		t.Errorf("the recipients page by segment:\n%s", got)
	}

	b.switchLanguage("ru")
	b.open("/segments/1")
	waitCount("Сейчас подходит 1 получатель")
	for _, width := range []int{wideWidth, narrowWidth} {
		b.setWidth(width)
		b.open("/segments/1")
		waitCount("Сейчас подходит 1 получатель")
		fits(fmt.Sprintf("the editor at %d px (ru)", width))
		b.screenshot(fmt.Sprintf("segment-editor-%d-ru.png", width))
	}
	b.setWidth(wideWidth)
	b.open("/segments")
	fits("the segments page")
}
