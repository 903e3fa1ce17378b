package e2e

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/app/apptest"
)

// The widths every page must fit: a laptop, and a phone.
const (
	wideWidth   = 1280
	narrowWidth = 390
)

// TestBrowserEveryPageFitsTheWindow crawls every page a user, a manager and
// an admin reach from the navbar and the lists, with data seeded (recipients
// with long comments, messages, mailings, a finished send with deliveries, an
// import with bad rows), and fails if any page is wider than the window: at
// 1280 px the whole document, at 390 px the page body (tables may scroll in
// their own box). It also checks that the Russian navbar of a manager and an
// admin keeps to one line at 1280 px, and that at 390 px the links hide behind
// a menu button that opens them. Screenshots of the main pages at both widths
// in both languages go to $E2E_SCREENSHOT_DIR.
func TestBrowserEveryPageFitsTheWindow(t *testing.T) {
	exe := findBrowser(t)
	// Each role crawls in a browser of its own (a browser lives 2 minutes
	// at most); the whole test takes about two minutes.
	watchdog(t, 2*hangLimit)
	svc := startService(t)
	seed := seedLayout(t, svc)

	for _, who := range []struct {
		role, email, lang string
	}{
		{"user", seed.owner, "en"},
		{"manager", seed.manager, "ru"},
		{"admin", seed.admin, "ru"},
	} {
		t.Run(who.role, func(t *testing.T) {
			v := startBrowser(t, exe, svc.URL)
			v.setAcceptLanguage(who.lang)
			v.logInSeeded(who.email)
			v.setWidth(wideWidth)
			if who.role != "user" {
				v.checkNavbarOneLine(who.role)
			}
			start := append([]string{}, seed.extra[who.role]...)
			// The crawl measures every page at 1280 px as it opens it.
			pages := v.crawl(start, 90, func(p string) { v.checkFits(who.role, p, wideWidth) })
			t.Logf("%s (%s): %d pages", who.role, who.lang, len(pages))
			v.setWidth(narrowWidth)
			for _, p := range pages {
				v.open(p)
				v.checkFits(who.role, p, narrowWidth)
			}
			v.checkCompactMenu(who.role)
			if who.role == "user" {
				v.checkMenuWithoutScripts()
				// The import's preview, with its reasons why rows are bad,
				// is the owner's alone.
				for _, lang := range []string{"en", "ru"} {
					v.switchLanguage(lang)
					for _, width := range []int{wideWidth, narrowWidth} {
						v.setWidth(width)
						for _, p := range start {
							v.open(p)
							v.screenshot(fmt.Sprintf("layout-import-preview-%d-%s.png", width, lang))
						}
					}
				}
			}
		})
	}
	t.Run("screenshots", func(t *testing.T) {
		v := startBrowser(t, exe, svc.URL)
		v.logInSeeded(seed.admin)
		for _, lang := range []string{"ru", "en"} {
			v.switchLanguage(lang)
			for _, width := range []int{wideWidth, narrowWidth} {
				v.setWidth(width)
				for _, p := range seed.shots {
					v.open(p)
					v.screenshot(fmt.Sprintf("layout-%s-%d-%s.png", shotName(p), width, lang))
				}
				// The API page is some 70,000 px tall, too tall for a
				// screenshot of the whole page: a screen of it, with the
				// contents beside the operations.
				v.open("/docs/api")
				eval[bool](v, "scroll to the mailings", `(document.getElementById("tag-mailings").scrollIntoView(), true)`)
				v.windowShot(fmt.Sprintf("layout-docs-api-top-%d-%s.png", width, lang))
			}
		}
	})
}

// layoutSeed is what seedLayout made.
type layoutSeed struct {
	owner, manager, admin string
	// extra are pages to crawl from beside the navbar, by role: pages no
	// link leads to (an import's preview).
	extra map[string][]string
	// shots are the pages to take screenshots of.
	shots []string
}

// seedLayout makes a user with 60 recipients (some with long comments and
// addresses), messages, mailings (one sent to the end), an import with bad
// rows waiting on its preview; a manager; an admin.
func seedLayout(t *testing.T, svc *service) *layoutSeed {
	t.Helper()
	ctx := context.Background()
	env := &apptest.Env{DB: svc.srv.DB}
	run := randomHex(3)
	s := &layoutSeed{owner: "owner-" + run + "@example.com", manager: "manager-" + run + "@example.com", admin: "admin-" + run + "@example.com"}
	owner := env.User(t, s.owner, simplesender.RoleUser, simplesender.StatusActive)
	env.User(t, s.manager, simplesender.RoleManager, simplesender.StatusActive)
	env.User(t, s.admin, simplesender.RoleAdmin, simplesender.StatusActive)
	for i := range 20 {
		env.User(t, fmt.Sprintf("someone-with-a-rather-long-address-%02d-%s@subdomain.example.com", i, run), simplesender.RoleUser, simplesender.StatusActive)
	}
	a := svc.srv.App
	ac := &app.Actor{User: owner}
	long := strings.Repeat("a comment that goes on and on without a break ", 6)
	var ids []int64
	for i := range 60 {
		r := &simplesender.Recipient{Email: fmt.Sprintf("recipient-%02d-with-a-long-mailbox-name@a-long-domain-name.example.com", i),
			LastName: "Константинопольский", FirstName: "Александр", MiddleName: "Вячеславович"}
		if i%7 == 0 {
			r.Comment = long + strings.Repeat("x", 90)
		}
		if err := a.CreateRecipient(ctx, ac, r); err != nil {
			t.Fatalf("seed recipient: %v", err)
		}
		ids = append(ids, r.ID)
	}
	msg := &simplesender.Message{Subject: "A subject line long enough to need more than one line in a narrow column of a table",
		BodyText: "Hello {{first_name}},\n\n" + long}
	if err := a.CreateMessage(ctx, ac, msg); err != nil {
		t.Fatalf("seed message: %v", err)
	}
	other := &simplesender.Message{Subject: "Short", BodyText: "Hi"}
	if err := a.CreateMessage(ctx, ac, other); err != nil {
		t.Fatalf("seed message: %v", err)
	}
	sent, err := a.CreateMailing(ctx, ac, app.MailingInput{Name: "The spring newsletter to everybody on the list, sent at once", MessageID: msg.ID, RecipientIDs: ids[:12]})
	if err != nil {
		t.Fatalf("seed mailing: %v", err)
	}
	if _, err := a.CreateMailing(ctx, ac, app.MailingInput{Name: "Draft", MessageID: other.ID, RecipientIDs: ids}); err != nil {
		t.Fatalf("seed mailing: %v", err)
	}

	// The send runs on the engine, as the service's own process runs it.
	ectx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- svc.srv.Engine.Run(ectx) }()
	t.Cleanup(func() { stop(); <-done })
	if err := a.SendNow(ctx, ac, sent.ID, "now"); err != nil {
		t.Fatalf("seed send: %v", err)
	}
	deadline := time.Now().Add(stepTimeout)
	for {
		m, err := a.GetMailing(ctx, ac, sent.ID)
		if err != nil {
			t.Fatal(err)
		}
		if m.Status == simplesender.MailingFinished {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the seeded send did not finish in %s: %+v", stepTimeout, m.Counts)
		}
		time.Sleep(50 * time.Millisecond)
	}

	csv := "email,first_name,last_name,comment\n" +
		"good@example.com,Ann,Lee,fine\n" +
		"not-an-address-at-all-and-rather-long-too-" + strings.Repeat("y", 60) + ",Bob,Ray," + long + "\n" +
		"@example.com,,," + long + "\n"
	job, err := a.UploadImport(ctx, ac, 0, "people.csv", strings.NewReader(csv))
	if err != nil {
		t.Fatalf("seed import: %v", err)
	}
	imp := "/imports/" + job.ID
	s.extra = map[string][]string{"user": {imp}}
	s.shots = []string{"/", "/recipients", "/mailings", fmt.Sprintf("/mailings/%d", sent.ID),
		fmt.Sprintf("/mailings/%d/deliveries", sent.ID), "/reports", "/users", "/admin/smtp"}
	return s
}

// shotName makes a file name part of a path.
func shotName(p string) string {
	n := strings.Trim(regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(p, "-"), "-")
	if n == "" {
		return "home"
	}
	return n
}

// logInSeeded logs in as a user made by apptest.Env.User (its password).
func (b *browser) logInSeeded(email string) {
	b.t.Helper()
	b.open("/login")
	b.fill(map[string]string{"#f-email": email, "#f-password": apptest.Password})
	b.submit("log in as "+email, `form[action="/login"] button[type=submit]`, "/")
}

// switchLanguage uses the navbar's language switch (inside the menu on a
// phone: it is opened first).
func (b *browser) switchLanguage(lang string) {
	b.t.Helper()
	b.setWidth(wideWidth)
	b.open("/")
	b.submit("switch to "+lang, `form.lang-switch button[value="`+lang+`"]`, "/")
	b.expect("page language after the switch", b.lang(), lang)
}

// setWidth resizes the tab's viewport, as a window of that width.
func (b *browser) setWidth(w int) {
	b.t.Helper()
	b.do(fmt.Sprintf("set the width to %d", w), chromedp.EmulateViewport(int64(w), 900))
}

// eval runs a script and returns its value.
func eval[T any](b *browser, what, js string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		b.t.Fatalf("%s: %v (page %s)", what, err, b.location())
	}
	return v
}

// crawl visits the pages reachable from the navbar, the footer and the
// links in the pages' main part, from "/" and start, and returns their
// paths, calling check on each page once it is open. Downloads, JSON, the API and pages that only differ by an id
// already seen twice are left out, up to limit pages.
func (b *browser) crawl(start []string, limit int, check func(path string)) []string {
	b.t.Helper()
	queue := append([]string{"/"}, start...)
	seen := map[string]bool{}
	shapes := map[string]int{}
	var out []string
	digits := regexp.MustCompile(`\d+`)
	for len(queue) > 0 && len(out) < limit {
		p := queue[0]
		queue = queue[1:]
		if seen[p] {
			continue
		}
		seen[p] = true
		u, _ := url.Parse(p)
		shape := digits.ReplaceAllString(u.Path, "N") + "?" + strings.Join(sortedQueryKeys(u.Query()), "&")
		if shapes[shape] >= 2 {
			continue
		}
		shapes[shape]++
		b.open(p)
		check(p)
		out = append(out, p)
		links := eval[[]string](b, "read the links", `Array.from(document.querySelectorAll("header a[href], main a[href], footer a[href]"))
			.filter(a => !a.hasAttribute("download") && a.origin === location.origin)
			.map(a => a.pathname + a.search)`)
		for _, l := range links {
			// Another page length shows the same page, longer or shorter.
			if !seen[l] && crawlable(l) && !strings.Contains(l, "per_page=") {
				queue = append(queue, l)
			}
		}
	}
	return out
}

// crawlable reports whether the crawl opens a link: pages, not downloads,
// documents for programs or pages that change something when opened.
func crawlable(p string) bool {
	path, _, _ := strings.Cut(p, "?")
	for _, skip := range []string{"/static/", "/api/"} {
		if strings.HasPrefix(path, skip) {
			return false
		}
	}
	for _, ext := range []string{".csv", ".json", ".html"} {
		if strings.HasSuffix(path, ext) {
			return false
		}
	}
	return true
}

func sortedQueryKeys(q url.Values) []string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	for i := range keys {
		for j := i + 1; j < len(keys); j++ {
			if keys[j] < keys[i] {
				keys[i], keys[j] = keys[j], keys[i]
			}
		}
	}
	return keys
}

// overflowJS measures the open page: the document's width, the window's,
// and the elements that stick out past the window's right edge (outside a
// box that scrolls), for the failure message.
const overflowJS = `(() => {
	const w = window.innerWidth, doc = document.documentElement.scrollWidth;
	const culprits = [];
	if (doc > w) {
		for (const el of document.querySelectorAll("body *")) {
			const r = el.getBoundingClientRect();
			if (r.right <= w + 1 || r.width === 0 || !el.checkVisibility({contentVisibilityAuto: true})) continue;
			let inScroller = false;
			for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
				const ox = getComputedStyle(p).overflowX;
				if (ox === "auto" || ox === "scroll" || ox === "hidden") { inScroller = true; break; }
			}
			if (inScroller) continue;
			const id = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\s+/).join(".") : "");
			culprits.push(id + " right=" + Math.round(r.right));
			if (culprits.length >= 6) break;
		}
	}
	return {window: w, document: doc, culprits: culprits};
})()`

type overflow struct {
	Window   int      `json:"window"`
	Document int      `json:"document"`
	Culprits []string `json:"culprits"`
}

// checkFits fails the test when the open page is wider than the window.
func (b *browser) checkFits(role, p string, width int) {
	b.t.Helper()
	o := eval[overflow](b, "measure the page", overflowJS)
	if o.Window != width {
		b.t.Fatalf("%s %s: the window is %d px wide, want %d", role, p, o.Window, width)
	}
	if o.Document > o.Window {
		b.t.Errorf("%s at %d px: %s is %d px wide, wider than the window; sticking out: %s",
			role, width, p, o.Document, strings.Join(o.Culprits, ", "))
	}
	if width < 768 {
		return // on a phone the actions scroll with the rest of the row
	}
	for _, h := range eval[[]string](b, "look for hidden actions", hiddenActionsJS) {
		b.t.Errorf("%s at %d px: %s: %s", role, width, p, h)
	}
}

// hiddenActionsJS lists the tables whose key column (the first) or whose
// actions or reasons (td.actions, the last column of table.sticky-end) are
// outside their scrolling box before it is scrolled.
const hiddenActionsJS = `(() => {
	const out = [];
	for (const box of document.querySelectorAll(".table-scroll")) {
		const b = box.getBoundingClientRect();
		const row = box.querySelector("tbody tr");
		if (!row || !box.checkVisibility()) continue;
		const first = row.firstElementChild.getBoundingClientRect();
		if (first.left < b.left - 1 || first.right > b.right + 1) out.push("the key column of a table is outside its box");
		const table = box.querySelector("table");
		if (table.querySelector("td.actions") || table.classList.contains("sticky-end")) {
			const last = row.lastElementChild.getBoundingClientRect();
			if (last.right > b.right + 1) out.push("the last column of a table (" + row.lastElementChild.innerText.trim().slice(0, 40) + ") is " + Math.round(last.right - b.right) + " px past the right edge of its box");
		}
	}
	return out;
})()`

// checkNavbarOneLine fails when the navbar's items do not stand on one line.
func (b *browser) checkNavbarOneLine(role string) {
	b.t.Helper()
	b.open("/")
	tops := eval[[]float64](b, "read the navbar", `Array.from(document.querySelectorAll(".site-nav li"))
		.filter(li => li.checkVisibility({contentVisibilityAuto: true}))
		.map(li => Math.round(li.getBoundingClientRect().top + li.getBoundingClientRect().height / 2))`)
	if len(tops) < 8 {
		b.t.Fatalf("%s: the navbar shows %d items, want the brand, 7 or more links and the language switch", role, len(tops))
	}
	for _, top := range tops[1:] {
		if d := top - tops[0]; d > 4 || d < -4 {
			b.t.Errorf("%s (%s) at %d px: the navbar wraps (items centred at %v px from the top)", role, b.lang(), wideWidth, tops)
			break
		}
	}
	b.screenshot(fmt.Sprintf("layout-navbar-%s-%s.png", role, b.lang()))
}

// checkCompactMenu checks the phone layout of the navbar: the links are
// hidden behind a menu button, which shows them, and the header stays one
// short row.
func (b *browser) checkCompactMenu(role string) {
	b.t.Helper()
	b.open("/recipients")
	header := eval[float64](b, "measure the header", `document.querySelector(".site-header").getBoundingClientRect().height`)
	if header > 80 {
		b.t.Errorf("%s at %d px: the header is %.0f px tall with the menu closed, want one row (80 px at most)", role, narrowWidth, header)
	}
	visible := `(() => { const a = document.querySelector('.site-nav a[href="/mailings"]'); return !!a && a.checkVisibility({contentVisibilityAuto: true, visibilityProperty: true}); })()`
	if eval[bool](b, "see the links", visible) {
		b.t.Errorf("%s at %d px: the navbar's links show with the menu closed", role, narrowWidth)
	}
	b.do("open the menu", chromedp.Click(chromedp.CSS(".nav-menu > summary")))
	if !eval[bool](b, "see the links", visible) {
		b.t.Errorf("%s at %d px: the menu button does not show the links", role, narrowWidth)
	}
	b.windowShot(fmt.Sprintf("layout-menu-open-%s-%s.png", role, b.lang()))
	b.do("follow a link of the menu", chromedp.Click(chromedp.CSS(`.site-nav a[href="/mailings"]`)), chromedp.WaitVisible(chromedp.CSS("main h1")))
	if loc := b.location(); !strings.HasSuffix(loc, "/mailings") {
		b.t.Errorf("%s: the menu's link led to %s, want /mailings", role, loc)
	}
}

// windowShot saves a PNG of what the window shows (not the whole page), like
// screenshot.
func (b *browser) windowShot(name string) {
	b.t.Helper()
	dir := os.Getenv("E2E_SCREENSHOT_DIR")
	if dir == "" {
		dir = b.t.TempDir()
	}
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
}

// checkMenuWithoutScripts checks that the navbar needs no script: with
// scripts off, the links show at 1280 px, and at 390 px the menu button
// opens them.
func (b *browser) checkMenuWithoutScripts() {
	b.t.Helper()
	scripts := func(off bool) {
		b.t.Helper()
		ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
		defer cancel()
		if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: off}); err != nil {
			b.t.Fatalf("switch scripts off=%v: %v", off, err)
		}
	}
	scripts(true)
	defer scripts(false)
	visible := `(() => { const a = document.querySelector('.site-nav a[href="/mailings"]'); return !!a && a.checkVisibility({contentVisibilityAuto: true, visibilityProperty: true}); })()`
	b.setWidth(wideWidth)
	b.open("/recipients")
	// app.js shows "all on this page": hidden, it proves scripts are off.
	if !eval[bool](b, "see whether scripts run", `document.querySelector(".check-page").hidden`) {
		b.t.Fatal("scripts still run: app.js showed the \"all on this page\" box")
	}
	if !eval[bool](b, "see the links", visible) {
		b.t.Errorf("without scripts at %d px the navbar's links do not show", wideWidth)
	}
	b.setWidth(narrowWidth)
	b.open("/recipients")
	if eval[bool](b, "see the links", visible) {
		b.t.Errorf("without scripts at %d px the links show with the menu closed", narrowWidth)
	}
	b.do("open the menu", chromedp.Click(chromedp.CSS(".nav-menu > summary")))
	if !eval[bool](b, "see the links", visible) {
		b.t.Errorf("without scripts at %d px the menu button does not show the links", narrowWidth)
	}
}
