package e2e

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"simplesender"
	"simplesender/internal/app"
)

// TestBrowserRoles: an admin edits a user's recipient and message in the
// browser, and has the owner's buttons on their mailing; the owner then sees on each that an administrator changed it; a
// manager reads the owner's mailing without any button that changes it, has
// no "add" buttons, and is told why when opening a form. Screenshots of the
// owner's and the manager's pages at 1280 and 390 px, in English and
// Russian.
func TestBrowserRoles(t *testing.T) {
	svc, b := startBrowsing(t)
	ctx := context.Background()
	run := randomHex(4)

	account := func(name string, role simplesender.Role) *simplesender.User {
		u, _, err := svc.srv.App.CreateAdmin(ctx, app.System, name+"-"+run+"@example.com", password)
		if err != nil {
			t.Fatal(err)
		}
		if u, err = svc.srv.App.SetRole(ctx, app.System, u.ID, role); err != nil {
			t.Fatal(err)
		}
		return u
	}
	owner, manager := account("olga", simplesender.RoleUser), account("mark", simplesender.RoleManager)
	admin := account("ada", simplesender.RoleAdmin)
	oa := &app.Actor{User: owner}
	r := &simplesender.Recipient{Email: "ivan@example.org", FirstName: "Ivan", LastName: "Petrov"}
	if err := svc.srv.App.CreateRecipient(ctx, oa, r); err != nil {
		t.Fatal(err)
	}
	m := &simplesender.Message{Subject: "Spring news", BodyText: "Dear {{first_name}},\nthe news."}
	if err := svc.srv.App.CreateMessage(ctx, oa, m); err != nil {
		t.Fatal(err)
	}
	g, err := svc.srv.App.CreateMailing(ctx, oa, app.MailingInput{Name: "Spring", MessageID: m.ID, RecipientIDs: []int64{r.ID}})
	if err != nil {
		t.Fatal(err)
	}
	rpath, mpath, gpath := "/recipients/"+itoa(r.ID), "/messages/"+itoa(m.ID), "/mailings/"+itoa(g.ID)

	// ---- The admin changes the owner's recipient and message.
	b.setAcceptLanguage("en-US,en;q=0.9")
	b.logIn(admin.Email)
	b.open(rpath)
	b.expect("admin's note", b.text("main p.muted"), "This belongs to "+owner.Email+
		". As an administrator you may change it: each change is recorded and shown to the owner.")
	b.submit("open the edit form", `main a[href="`+rpath+`/edit"]`, rpath+"/edit")
	b.do("change the first name", chromedp.SetValue(chromedp.CSS("#f-first_name"), "Ivan Ivanovich"))
	b.submit("save the recipient", `main form button[type=submit]`, rpath)
	b.open(mpath + "/edit")
	b.do("change the subject", chromedp.SetValue(chromedp.CSS("#f-subject"), "Spring news (fixed)"))
	b.submit("save the message", `main form button[type=submit]`, mpath)
	b.open(gpath)
	if html := b.html("main"); !strings.Contains(html, gpath+"/send") || !strings.Contains(html, gpath+"/edit") ||
		!strings.Contains(html, "As an administrator you may change it") {
		t.Errorf("admin's view of the owner's mailing lacks the owner's buttons or the note")
	}
	b.screenshots("roles-admin-mailing-en")

	// ---- The owner sees it, in English and in Russian.
	o := b.newVisitor()
	o.setAcceptLanguage("en-US,en;q=0.9")
	o.logIn(owner.Email)
	for _, path := range []string{rpath, mpath} {
		o.open(path)
		if got := o.text(".admin-change"); !strings.HasPrefix(got, "Changed by an administrator on ") || strings.Contains(got, admin.Email) {
			t.Errorf("owner's %s: %q, want a note without the admin's address", path, got)
		}
	}
	o.open(rpath)
	o.screenshots("roles-owner-recipient-en")
	o.setAcceptLanguage("ru-RU,ru;q=0.9")
	o.open(rpath)
	if got := o.text(".admin-change"); !strings.HasPrefix(got, "Изменено администратором ") {
		t.Errorf("owner's recipient in Russian: %q", got)
	}
	o.screenshots("roles-owner-recipient-ru")

	// ---- The manager reads without buttons and is told why at a form.
	mg := b.newVisitor()
	mg.setAcceptLanguage("en-US,en;q=0.9")
	mg.logIn(manager.Email)
	for _, lang := range []string{"en", "ru"} {
		if lang == "ru" {
			mg.setAcceptLanguage("ru-RU,ru;q=0.9")
		}
		mg.open(gpath)
		html := mg.html("main")
		for _, no := range []string{gpath + "/send", gpath + "/edit", gpath + "/delete", gpath + "/schedule"} {
			if strings.Contains(html, no) {
				t.Errorf("manager's mailing page (%s) offers %s", lang, no)
			}
		}
		if !strings.Contains(html, gpath+"/disable") {
			t.Errorf("manager's mailing page (%s) has no disable button", lang)
		}
		mg.screenshots("roles-manager-mailing-" + lang)
		mg.open("/recipients")
		if html := mg.html("main"); strings.Contains(html, `href="/recipients/new"`) || strings.Contains(html, `action="/recipients/import"`) {
			t.Errorf("manager's recipient list (%s) offers to add or import", lang)
		}
		mg.screenshots("roles-manager-recipients-" + lang)
		// The owner's user page lists the admin's changes to their data.
		mg.open("/users/" + itoa(owner.ID))
		if html := mg.html("main"); !strings.Contains(html, `href="`+rpath+`"`) || !strings.Contains(html, `href="`+mpath+`"`) ||
			!strings.Contains(html, admin.Email) {
			t.Errorf("the owner's user page (%s) does not list the admin's changes", lang)
		}
		mg.screenshots("roles-manager-user-" + lang)
	}
	mg.setAcceptLanguage("en-US,en;q=0.9")
	if status := mg.openStatus("/mailings/new"); status != http.StatusForbidden {
		t.Errorf("manager's new mailing form: status %d, want 403", status)
	}
	mg.expect("manager's refusal", mg.text("main p"), "Managers only view data, block users and switch mailings off and on: "+
		"they cannot create, change, delete, send or cancel anything.")
	mg.screenshots("roles-manager-refused-en")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// logIn logs in with the test password and lands on the home page.
func (b *browser) logIn(email string) {
	b.t.Helper()
	b.open("/login")
	b.fill(map[string]string{"#f-email": email, "#f-password": password})
	b.submit("log in as "+email, `form[action="/login"] button[type=submit]`, "/")
}

// openStatus loads a path and returns the status, whatever it is.
func (b *browser) openStatus(path string) int64 {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(b.base+path))
	if err != nil || resp == nil {
		b.t.Fatalf("open %s: %v", path, err)
	}
	return resp.Status
}

// html returns the outer HTML of the first element matching css.
func (b *browser) html(css string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS(css)))
	if err != nil {
		b.t.Fatalf("read %s: %v", css, err)
	}
	return s
}

// screenshots takes the page at 1280 px and at 390 px (a phone) wide, as
// name-1280.png and name-390.png, and leaves the window at 1280 px.
func (b *browser) screenshots(name string) {
	b.t.Helper()
	for _, w := range []int64{390, 1280} {
		b.do("resize to "+itoa(w), chromedp.EmulateViewport(w, 900))
		b.screenshot(name + "-" + itoa(w) + ".png")
	}
}
