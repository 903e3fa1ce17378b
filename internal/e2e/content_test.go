package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"simplesender"
	"simplesender/internal/app/apptest"
)

// TestBrowserMessageFormatsAndHTMLCheck writes an HTML message with a
// script: the form shows only the HTML field once HTML is chosen, refuses
// the script naming it and its line, and keeps what was typed; in English
// and Russian, with screenshots at 1280 and 390 px. Then a Markdown
// message is saved and its page shows the generated text.
func TestBrowserMessageFormatsAndHTMLCheck(t *testing.T) {
	exe := findBrowser(t)
	watchdog(t, hangLimit)
	svc := startService(t)
	env := &apptest.Env{DB: svc.srv.DB}
	email := "formats-" + randomHex(3) + "@example.com"
	env.User(t, email, simplesender.RoleUser, simplesender.StatusActive)
	b := startBrowser(t, exe, svc.URL).newVisitor()
	b.setAcceptLanguage("en")
	b.logInSeeded(email)

	badHTML := "<p>Hello, {{first_name}}</p>\n<script>alert(1)</script>"
	for _, tc := range []struct{ lang, error string }{
		{"en", "<script> at line 2 is not allowed in an e-mail"},
		{"ru", "<script> в строке 2 нельзя использовать в письме"},
	} {
		if tc.lang == "ru" {
			b.switchLanguage("ru")
		}
		b.setWidth(wideWidth)
		b.open("/messages/new")
		b.do("choose HTML", chromedp.Click(chromedp.CSS("#format-html"), chromedp.NodeVisible))
		if shown := eval[bool](b, "is the text field shown", `document.querySelector("#f-body_text").offsetParent !== null`); shown {
			t.Errorf("%s: the text field is shown for an HTML message", tc.lang)
		}
		b.fill(map[string]string{"#f-subject": "News"})
		b.do("type the HTML", chromedp.SetValue(chromedp.CSS("#f-body_html"), badHTML))
		b.clickStatus("save the HTML", `form.message-form button[type=submit]`, http.StatusUnprocessableEntity)
		if got := b.text("#e-body_html"); !strings.HasPrefix(got, tc.error) {
			t.Errorf("%s: the HTML error is %q, want it to begin %q", tc.lang, got, tc.error)
		}
		b.expect("the HTML as typed", eval[string](b, "read the HTML field", `document.querySelector("#f-body_html").value`), badHTML)
		b.expect("the chosen format", eval[string](b, "read the format", `document.querySelector("input[name=format]:checked").value`), "html")
		for _, width := range []int{wideWidth, narrowWidth} {
			b.setWidth(width)
			b.screenshot(fmt.Sprintf("message-html-error-%d-%s.png", width, tc.lang))
		}
		if w := eval[int](b, "page width", `document.documentElement.scrollWidth`); w > narrowWidth {
			t.Errorf("%s: the form with its error is %d px wide at %d", tc.lang, w, narrowWidth)
		}
	}

	// A Markdown message: saved, its page shows the text made from it.
	b.setWidth(wideWidth)
	b.open("/messages/new")
	b.do("choose Markdown", chromedp.Click(chromedp.CSS("#format-markdown"), chromedp.NodeVisible))
	b.fill(map[string]string{"#f-subject": "Markdown"})
	b.do("type the Markdown", chromedp.SetValue(chromedp.CSS("#f-body_markdown"),
		"# Новости\n\nПрочтите [на сайте](https://example.com/n?e={{email}}).\n\n- один\n- два\n"))
	b.clickStatus("save the Markdown", `form.message-form button[type=submit]`, http.StatusOK)
	if got := b.mainText(); !strings.Contains(got, "Прочтите на сайте (https://example.com/n?e={{email}}).") || !strings.Contains(got, "- два") {
		t.Errorf("the Markdown message's page lacks its generated text:\n%s", got)
	}
	for _, width := range []int{wideWidth, narrowWidth} {
		b.setWidth(width)
		b.screenshot(fmt.Sprintf("message-markdown-%d-ru.png", width))
	}
}

// clickStatus clicks a button that loads a page and requires the status.
func (b *browser) clickStatus(what, button string, status int) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(button)))
	if err != nil {
		b.t.Fatalf("%s (click %s): %v (page %s)", what, button, err, b.location())
	}
	if resp == nil || resp.Status != int64(status) {
		b.t.Fatalf("%s: status %v, want %d (page %s)\n%s", what, statusOf(resp), status, b.location(), b.mainText())
	}
}
