package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/app/apptest"
	"simplesender/internal/config"
	"simplesender/internal/server"
)

// TestBrowserMailingPages drives the mailing form and the mailing page in
// Chromium, against an SMTP server that takes its time and answers 451 to
// one recipient the first time:
//   - the form's "N selected" follows the ticked boxes (in both languages'
//     plural forms) and "select all";
//   - while the send runs, every figure of the page moves together: once the
//     bar moves the detail says "sending N%" and "Started" has a time (never
//     "starting" and "—"), a send now shows no planned time, and the page
//     says why the last delivery waits (next attempt, last error); then it
//     reloads itself as finished;
//   - a test goes through the SMTP server and the page says so; a copy is
//     made from the page;
//   - no page is wider than the window at 1280 and 390 px, in English and
//     Russian (screenshots of each).
func TestBrowserMailingPages(t *testing.T) {
	exe := findBrowser(t)
	watchdog(t, hangLimit)
	smtp := apptest.NewSMTPServer(t)
	smtp.Delay = 300 * time.Millisecond
	smtp.Script = func(rcpt string, attempt int) apptest.Action {
		if strings.HasPrefix(rcpt, "later") && attempt == 1 {
			return apptest.Temp
		}
		return apptest.Accept
	}
	svc, srv := startMailingService(t, map[string]string{config.EnvSMTPURL: smtp.URL(), config.EnvSMTPConns: "1",
		config.EnvRetry: "5s"})
	ctx := context.Background()
	run := randomHex(4)
	u := &simplesender.User{Email: "mila-" + run + "@example.com", Name: "Mila", PasswordHash: apptest.PasswordHash(),
		Role: simplesender.RoleUser}
	now := time.Now()
	u.ConfirmedAt = &now
	if err := srv.DB.Store().CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	ac := &app.Actor{User: u}
	var ids []int64
	for i, name := range []string{"later", "anna", "boris", "vera", "gleb", "dina"} {
		r := &simplesender.Recipient{Email: fmt.Sprintf("%s-%d@example.org", name, i), FirstName: strings.ToUpper(name[:1]) + name[1:],
			LastName: "Ivanova-Petrova-Sidorova"}
		if err := srv.App.CreateRecipient(ctx, ac, r); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	msg := &simplesender.Message{Subject: "Hello, {{first_name|friend}}", BodyText: "Dear {{full_name}},\nspring is here."}
	if err := srv.App.CreateMessage(ctx, ac, msg); err != nil {
		t.Fatal(err)
	}
	g, err := srv.App.CreateMailing(ctx, ac, app.MailingInput{Name: "Spring news for every recipient we have", MessageID: msg.ID, RecipientIDs: ids})
	if err != nil {
		t.Fatal(err)
	}
	later, err := srv.App.CreateMailing(ctx, ac, app.MailingInput{Name: "Autumn", MessageID: msg.ID, RecipientIDs: ids[1:3]})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.App.Schedule(ctx, ac, later.ID, time.Now().Add(26*time.Hour)); err != nil {
		t.Fatal(err)
	}

	b := startBrowser(t, exe, svc.URL)
	b.setAcceptLanguage("en-US,en;q=0.9")
	b.open("/login")
	b.fill(map[string]string{"#f-email": u.Email, "#f-password": apptest.Password})
	b.submit("log in", `form[action="/login"] button[type=submit]`, "/")

	// ---- The form: the count follows the boxes.
	b.open("/mailings/new")
	b.expect("count at first", b.text("[data-selected-count]"), "0 selected")
	b.do("tick two", chromedp.Click(chromedp.CSS(fmt.Sprintf(`input[name="recipient_ids"][value="%d"]`, ids[0]))),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`input[name="recipient_ids"][value="%d"]`, ids[1]))))
	b.expect("count after ticking two", b.text("[data-selected-count]"), "2 selected")
	b.do("untick one", chromedp.Click(chromedp.CSS(fmt.Sprintf(`input[name="recipient_ids"][value="%d"]`, ids[0]))))
	b.expect("count after unticking one", b.text("[data-selected-count]"), "1 selected")
	b.click("select all", `button[name="select"][value="all"]`)
	b.expect("count after select all", b.text("[data-selected-count]"), "6 selected")
	b.do("untick one", chromedp.Click(chromedp.CSS(fmt.Sprintf(`input[name="recipient_ids"][value="%d"]`, ids[2]))))
	b.expect("count after select all and unticking one", b.text("[data-selected-count]"), "5 selected")
	b.setAcceptLanguage("ru-RU,ru;q=0.9")
	b.open("/mailings/new")
	b.expect("count in Russian", b.text("[data-selected-count]"), "выбрано 0")
	b.do("tick one", chromedp.Click(chromedp.CSS(fmt.Sprintf(`input[name="recipient_ids"][value="%d"]`, ids[3]))))
	b.expect("one in Russian", b.text("[data-selected-count]"), "выбран 1")
	b.do("tick another", chromedp.Click(chromedp.CSS(fmt.Sprintf(`input[name="recipient_ids"][value="%d"]`, ids[4]))))
	b.expect("two in Russian", b.text("[data-selected-count]"), "выбрано 2")
	mlShots(b, "/mailings/new", "mailing-form")

	// ---- The mailing page while the send runs.
	b.setAcceptLanguage("en-US,en;q=0.9")
	page := fmt.Sprintf("/mailings/%d", g.ID)
	if err := srv.App.SendNow(ctx, ac, g.ID, "now"); err != nil {
		t.Fatal(err)
	}
	b.open(page)
	var sawMoving, sawWhy bool
	var s mlState
	deadline := time.Now().Add(40 * time.Second)
	for {
		var ok bool
		if s, ok = mlSnapshot(b); ok {
			if s.Bar > 0 && s.Label == "Running" {
				sawMoving = true
				if !strings.HasPrefix(s.Detail, "sending ") || s.Started == "—" || s.Scheduled != "—" || s.Finished != "—" {
					t.Errorf("the bar moves (%v of %v) but the page says: %+v", s.Bar, s.Max, s)
				}
			}
			if !sawWhy && strings.HasPrefix(s.Why, "1 waiting; next attempt at ") && strings.Contains(s.Why, "last error: 451 4.3.0") {
				sawWhy = true
				b.screenshot("mailing-waiting-en-1280.png")
			}
			if s.Label == "Finished" {
				if !strings.HasPrefix(s.Detail, "finished ") || s.Finished == "—" || s.Why != "" {
					t.Errorf("finished, but the page says: %+v", s)
				}
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the send did not finish on the page in 40 s; last: %+v", s)
		}
		time.Sleep(150 * time.Millisecond)
	}
	if !sawMoving || !sawWhy {
		t.Errorf("never saw the bar move (%v) or the reason of the wait (%v)", sawMoving, sawWhy)
	}
	if n := len(smtp.Messages("later-0@example.org")); n != 1 {
		t.Errorf("the deferred recipient got %d messages, want 1", n)
	}

	// ---- A test, through the SMTP server.
	b.fill(map[string]string{"#f-test-to": "ann-" + run + "@example.net"})
	b.submit("send a test", `form.test-form button[type=submit]`, page)
	b.expect("flash after the test", b.text(".flash-success"), "Test sent. It is not counted in the reports.")
	if !strings.HasPrefix(b.text("#last-test"), "Test sent to "+u.Email+", ann-"+run+"@example.net (later-0@example.org) at ") {
		t.Errorf("the page does not say where the test went: %q", b.text("#last-test"))
	}
	tests := smtp.Messages("ann-" + run + "@example.net")
	if len(tests) != 1 || tests[0].Subject != "[Test] Hello, Later" {
		t.Errorf("the SMTP server got %+v for the typed address", tests)
	}
	mlShots(b, page, "mailing-finished")
	mlShots(b, "/mailings", "mailings")

	// ---- A copy.
	b.setAcceptLanguage("en-US,en;q=0.9")
	b.open(page)
	b.click("make a copy", fmt.Sprintf(`form[action="%s/duplicate"] button`, page))
	b.expect("the copy's name", b.text("main h1"), "Copy of Spring news for every recipient we have")
	b.expect("the copy's status", b.text(".page-head .status"), "Created")

	// ---- A page open when the planned start comes shows the send.
	soon, err := srv.App.CreateMailing(ctx, ac, app.MailingInput{Name: "Soon", MessageID: msg.ID, RecipientIDs: ids[1:2]})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.App.Schedule(ctx, ac, soon.ID, time.Now().Add(3*time.Second)); err != nil {
		t.Fatal(err)
	}
	b.open(fmt.Sprintf("/mailings/%d", soon.ID))
	if s, _ := mlSnapshot(b); s.Label != "Running" || !strings.HasPrefix(s.Detail, "scheduled for ") {
		t.Errorf("before the planned time: %+v", s)
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		var ok bool
		if s, ok = mlSnapshot(b); ok && s.Label == "Finished" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page did not show the planned send in 30 s: %+v", s)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// mlState is what the mailing page shows, read in one go.
type mlState struct {
	Label, Detail, Started, Finished, Scheduled, Why string
	Bar, Max                                         float64
}

// mlSnapshot reads the mailing page's moving figures; false while the page
// is (re)loading.
func mlSnapshot(b *browser) (mlState, bool) {
	ctx, cancel := context.WithTimeout(b.ctx, 3*time.Second)
	defer cancel()
	js, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(function () {
		function text(sel) { var e = document.querySelector(sel); return e && !e.hidden ? e.textContent.trim() : ""; }
		var bar = document.querySelector("#progress progress");
		return JSON.stringify({Label: text("[data-status-label]"), Detail: text('[data-text="detail"]'),
			Started: text('[data-text="started_at"]'), Finished: text('[data-text="finished_at"]'),
			Scheduled: text('[data-text="scheduled_at"]'), Why: text('[data-text="why"]'),
			Bar: bar && bar.hasAttribute("value") ? bar.value : 0, Max: bar ? bar.max : 0});
	})()`))
	if err != nil {
		return mlState{}, false
	}
	var s mlState
	if json.Unmarshal([]byte(js), &s) != nil || s.Label == "" {
		return mlState{}, false
	}
	return s, true
}

// mlShots opens path at 1280 and 390 px wide, in English and Russian,
// checks that the page is not wider than the window, and saves a
// screenshot of each (name-<lang>-<width>.png). It leaves the window at
// 1280 px.
func mlShots(b *browser, path, name string) {
	b.t.Helper()
	for _, w := range []int64{1280, 390} {
		b.do(fmt.Sprintf("window %d px", w), chromedp.EmulateViewport(w, 900))
		for _, lang := range []string{"en", "ru"} {
			b.setAcceptLanguage(lang)
			b.open(path)
			ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
			wide, err := chromedp.Run(ctx, chromedp.Evaluate[int64](`document.documentElement.scrollWidth - window.innerWidth`))
			cancel()
			if err != nil {
				b.t.Fatalf("measure %s: %v", path, err)
			}
			if wide > 0 {
				b.t.Errorf("%s in %s at %d px is %d px wider than the window; past the edge: %s", path, lang, w, wide, mlPastEdge(b))
			}
			b.screenshot(fmt.Sprintf("%s-%s-%d.png", name, lang, w))
		}
	}
	b.do("window 1280 px", chromedp.EmulateViewport(1280, 900))
}

// mlPastEdge names the elements that reach past the right edge of the
// window, for the failure message.
func mlPastEdge(b *browser) string {
	ctx, cancel := context.WithTimeout(b.ctx, 3*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(function () {
		var out = [];
		document.querySelectorAll("body *").forEach(function (e) {
			var r = e.getBoundingClientRect();
			if (r.right > window.innerWidth + 0.5 && out.length < 8) {
				out.push(e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className ? "." + String(e.className).split(" ").join(".") : "") + " right=" + Math.round(r.right));
			}
		});
		return out.join("; ");
	})()`))
	if err != nil {
		return "(unknown: " + err.Error() + ")"
	}
	return s
}

// startMailingService is openService with the delivery engine running,
// and returns the server too, so that a test can make its data through the
// app.
func startMailingService(t *testing.T, extra map[string]string) (*service, *server.Server) {
	t.Helper()
	svc := openService(t, extra, true)
	return svc, svc.srv
}
