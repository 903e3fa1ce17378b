package e2e

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// TestBrowserAvatarTimeZoneAndDeletePages walks through issue 11's items on
// accounts and content as a person does, in English and in Russian: sign up
// with a picture from a browser in Tokyo (the zone comes along), a used
// confirmation link shows the error instead of the form, the picture shows in
// the navbar, the profile offers the browser's zone once it differs; the
// lists show the message's subject and text, the delete pages name the
// mailings concerned, and a mailing left without recipients has its send
// button disabled with the reason. Screenshots at 1280 and 390 px.
func TestBrowserAvatarTimeZoneAndDeletePages(t *testing.T) {
	svc, b := startBrowsing(t)
	run := randomHex(4)
	ada := "ada-" + run + "@example.com"

	b.setAcceptLanguage("en-US,en;q=0.9")
	b.setTimeZone("Asia/Tokyo")
	b.open("/register")
	b.fill(map[string]string{"#f-email": ada, "#f-name": "Ada Lovelace", "#f-password": password, "#f-password2": password})
	b.do("open the optional fields", chromedp.Click(chromedp.CSS("form[action='/register'] details summary")))
	b.do("choose a picture", chromedp.SetUploadFiles(chromedp.CSS("#f-avatar"), []string{writePicture(t)}))
	b.shots("register")
	b.submit("sign up", `form[action="/register"] button[type=submit]`, "/register")
	b.expect("heading after sign-up", b.text("main h1"), "Check your e-mail")

	link := svc.confirmLink(t, svc.waitEmail(t, ada).Body)
	b.openURL(link)
	b.submit("confirm", `form[action="/confirm"] button[type=submit]`, "/login")
	// The same link again: the error and the way to a new one, no form.
	b.openURLStatus(link, 404)
	if !strings.Contains(b.text("#bad-link"), "already used") || b.count(`form[action="/confirm"]`) != 0 {
		t.Errorf("a used confirmation link shows a form, or no error")
	}
	b.shots("used-link")

	b.open("/login")
	b.fill(map[string]string{"#f-email": ada, "#f-password": password})
	b.submit("log in", `form[action="/login"] button[type=submit]`, "/")
	if !b.waitTrue(`(() => { const i = document.querySelector("nav img.avatar"); return !!i && i.complete && i.naturalWidth > 0 })()`) {
		t.Errorf("the navbar shows no picture")
	}

	// The zone came from the browser; the profile offers another one only
	// when the browser's differs.
	b.open("/profile")
	if b.visible("#tz-offer") {
		t.Errorf("the profile offers the zone it already has")
	}
	b.setTimeZone("Europe/Berlin")
	b.open("/profile")
	if !b.visible("#tz-offer") || !strings.Contains(b.text("#tz-offer"), "Europe/Berlin") {
		t.Fatalf("the profile does not offer the browser's zone")
	}
	b.shots("profile")
	b.submit("use the browser's zone", "#tz-offer button", "/profile")
	if b.visible("#tz-offer") || b.eval(`document.querySelector("#f-timezone").value`) != "Europe/Berlin" {
		t.Errorf("the zone was not saved")
	}

	// A recipient, a message and a mailing of the two.
	b.open("/recipients/new")
	b.fill(map[string]string{"#f-email": "ivan-" + run + "@example.net", "#f-first_name": "Ivan", "#f-last_name": "Petrov"})
	b.submit("add a recipient", `main form button[type=submit]`, "/recipients/1")
	b.open("/messages/new")
	b.fill(map[string]string{"#f-subject": "Spring news", "#f-body_text": "Dear {{first_name}}, our spring sale starts on Monday."})
	b.submit("add a message", `main form button[type=submit]`, "/messages/1")
	b.open("/mailings/new")
	b.fill(map[string]string{"#f-name": "Spring"})
	b.do("choose the message and tick the recipient", chromedp.SetValue(chromedp.CSS("#f-message_id"), "1"),
		chromedp.Click(chromedp.CSS(`input[name=recipient_ids]`)))
	b.submit("create the mailing", `form.mailing-form button[type=submit]:not([formmethod]):not([name])`, "/mailings/1")

	for _, lang := range []string{"en", "ru"} {
		if lang == "ru" {
			b.submit("switch to Russian", `form.lang-switch button[value="ru"]`, "/recipients/1/delete")
		}
		b.open("/mailings")
		if !strings.Contains(b.text("main table"), "Spring news") {
			t.Errorf("%s: the mailings list lacks the message's subject", lang)
		}
		b.shots("mailings")
		b.open("/messages")
		if !strings.Contains(b.text("main table"), "our spring sale starts") {
			t.Errorf("%s: the messages list lacks the excerpt", lang)
		}
		b.open("/messages/1/delete")
		if b.count(`form[action="/messages/1/delete"]`) != 0 || !strings.Contains(b.text("#delete-usage"), "Spring") {
			t.Errorf("%s: a message in use offers deletion, or does not name its mailing", lang)
		}
		b.shots("message-delete")
		b.open("/recipients/1/delete")
		if !strings.Contains(b.text("#delete-usage"), "Spring") {
			t.Errorf("%s: the delete page does not name the mailing left without recipients", lang)
		}
		b.shots("recipient-delete")
	}
	b.submit("delete the recipient", `form[action="/recipients/1/delete"] button`, "/recipients")
	b.open("/mailings/1")
	if b.eval(`String(document.querySelector("main .actions-row button[disabled]") !== null)`) != "true" ||
		!strings.Contains(b.text("#send-why"), "Нет получателей") {
		t.Errorf("the send button of a mailing without recipients is not disabled with the reason")
	}
	b.shots("mailing-no-recipients")
	b.submit("back to English", `form.lang-switch button[value="en"]`, "/mailings/1")
	b.shots("mailing-no-recipients")
	b.open("/profile")
	b.shots("profile-after")
}

// writePicture writes a 300×200 PNG to upload.
func writePicture(t *testing.T) string {
	t.Helper()
	m := image.NewNRGBA(image.Rect(0, 0, 300, 200))
	for y := range 200 {
		for x := range 300 {
			m.SetNRGBA(x, y, color.NRGBA{R: uint8(x), G: 90, B: uint8(200 - y), A: 255})
		}
	}
	p := filepath.Join(t.TempDir(), "ada.png")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, m); err != nil {
		t.Fatal(err)
	}
	return p
}

// setTimeZone makes the tab's JavaScript see zone as the system's.
func (b *browser) setTimeZone(zone string) {
	b.t.Helper()
	b.cdp("time zone "+zone, func(ctx context.Context) error {
		// A second override is refused while one is in effect: clear first.
		if _, err := chromedp.Call(ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{}); err != nil {
			return err
		}
		_, err := chromedp.Call(ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: zone})
		return err
	})
}

// shots saves the page at 1280 and at 390 px wide.
func (b *browser) shots(name string) {
	b.t.Helper()
	for _, w := range []int64{1280, 390} {
		b.cdp("width", func(ctx context.Context) error {
			_, err := chromedp.Call(ctx, emulation.SetDeviceMetricsOverride,
				emulation.SetDeviceMetricsOverrideParams{Width: w, Height: 900, DeviceScaleFactor: 1, Mobile: w < 600})
			return err
		})
		b.screenshot(fmt.Sprintf("people-%s-%s-%d.png", name, b.lang(), w))
	}
	b.cdp("width back", func(ctx context.Context) error {
		_, err := chromedp.Call(ctx, emulation.ClearDeviceMetricsOverride, cdp.Empty{})
		return err
	})
}

// cdp runs f as one step.
func (b *browser) cdp(what string, f func(ctx context.Context) error) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := f(ctx); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// openURLStatus loads a URL and requires the given status.
func (b *browser) openURLStatus(u string, status int64) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(u))
	if err != nil || resp == nil || resp.Status != status {
		b.t.Fatalf("open %s: status %v (%v), want %d", u, statusOf(resp), err, status)
	}
}

// eval returns the string value of a JavaScript expression on the page.
func (b *browser) eval(js string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return s
}

// waitTrue reports whether a JavaScript condition becomes true within a step.
func (b *browser) waitTrue(js string) bool {
	b.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for time.Now().Before(deadline) {
		if b.eval("String("+js+")") == "true" {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// count returns how many elements match a CSS selector.
func (b *browser) count(css string) int {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+jsString(css)+`).length`))
	if err != nil {
		b.t.Fatalf("count %s: %v", css, err)
	}
	return n
}

// visible reports whether an element matching css is shown.
func (b *browser) visible(css string) bool {
	return b.eval(`(() => { const e = document.querySelector(`+jsString(css)+`); return String(!!e && !e.hidden && e.offsetParent !== null) })()`) == "true"
}

func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
