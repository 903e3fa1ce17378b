package web_test

import (
	"context"
	"html"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/app/apptest"
	"simplesender/internal/store/storetest"
)

// addUser creates and logs in one more user, named who in s.
func (s *site) addUser(t *testing.T, who, email string, role simplesender.Role) {
	t.Helper()
	u := s.env.User(t, email, role, simplesender.StatusActive)
	raw, _, err := s.env.App.Login(context.Background(), email, apptest.Password, "10.0.1.1", "test")
	if err != nil {
		t.Fatal(err)
	}
	s.ids[who], s.cookies[who] = u.ID, raw
}

// seedReport gives "active" a mailing of three recipients sent once (one
// sent, one failed, one deferred: 1 successful and 2 failed attempts) and a
// mailing named like a formula that was never sent; "other" gets a mailing
// with one delivery sent.
func seedReport(t *testing.T, s *site) (active, other objs) {
	t.Helper()
	ctx, ac := context.Background(), s.actor(t, "active")
	active = s.seed(t, "active", "Anna")
	r2, r3 := s.recipient(t, "active", "Boris"), s.recipient(t, "active", "Vera")
	if _, err := s.env.App.UpdateMailing(ctx, ac, active.G, app.MailingInput{Name: "active news", MessageID: active.M,
		RecipientIDs: []int64{active.R, r2, r3}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.env.App.CreateMailing(ctx, ac, app.MailingInput{Name: "=HYPERLINK(\"http://evil\")", MessageID: active.M,
		RecipientIDs: []int64{active.R}}); err != nil {
		t.Fatal(err)
	}
	if err := s.env.App.SendNow(ctx, ac, active.G, "now"); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	s.run(t, active.G, now, func(email string) outcome {
		switch {
		case strings.HasPrefix(email, "active-1@"):
			return outcome{status: simplesender.DeliverySent, code: 250, reply: "OK"}
		case strings.HasPrefix(email, "active-2@"):
			return outcome{status: simplesender.DeliveryFailed, code: 550, reply: "=1+2 no such user"}
		default:
			return outcome{status: simplesender.DeliveryDeferred, code: 451, reply: "try later"}
		}
	})
	other = s.seed(t, "other", "Oleg")
	if err := s.env.App.SendNow(ctx, s.actor(t, "other"), other.G, "now"); err != nil {
		t.Fatal(err)
	}
	s.run(t, other.G, time.Now(), func(string) outcome { return outcome{status: simplesender.DeliverySent, code: 250, reply: "OK"} })
	return active, other
}

func TestReports(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := newSite(t, dbURL)
		s.addUser(t, "lookalike", "manager@elsewhere.org", simplesender.RoleUser)
		a, o := seedReport(t, s)
		activeFigures := []string{
			"<dt>Mailings</dt><dd>2</dd>", `<dt>Sent</dt><dd class="good">1</dd>`, `<dt>Failed</dt><dd class="bad">1</dd>`,
			"<dt>Unknown</dt><dd>0</dd>", "<dt>Pending</dt><dd>1</dd>", "<dt>Cancelled</dt><dd>0</dd>",
			"<dt>Successful attempts</dt><dd>1</dd>", "<dt>Failed attempts</dt><dd>2</dd>", "<dt>Success rate</dt><dd>50.0%</dd>",
		}
		r := s.do(t, "active", "GET", "/reports", nil)
		check(t, "own report", r, 200, append(activeFigures, "active news", "=HYPERLINK(&#34;http://evil&#34;)",
			`<svg viewBox`, `<title id="chart-svg-title">`, `<desc id="chart-svg-desc">`, `<details class="chart-data">`,
			`class="bar-success"`, `class="bar-failure"`, "What the figures mean", `href="/reports"`, "/reports.csv?", "bom=1"),
			[]string{"other news", "By user", "other@example.com"})
		// The definitions are there, once each.
		if n := strings.Count(r.body, "<dt>Success rate</dt>"); n != 2 { // the totals and the glossary
			t.Errorf("success rate shown %d times, want 2 (figure and definition)", n)
		}

		cases := []struct {
			who, path     string
			status        int
			want, notWant []string
		}{
			{"", "/reports", 303, nil, []string{"active news"}},
			{"active", "/reports?user=" + itoa(s.ids["other"]), 404, nil, []string{"other news"}},
			{"active", "/reports?user=" + itoa(s.ids["active"]), 200, []string{"active news"}, nil},
			{"active", "/reports?user=abc", 404, nil, nil},
			{"lookalike", "/reports", 200, []string{"No mailings yet.", "<dt>Sent</dt><dd class=\"good\">0</dd>"},
				[]string{"By user", "active@example.com", "other news", "active news"}},
			{"lookalike", "/reports?user=" + itoa(s.ids["active"]), 404, nil, []string{"active news"}},
			{"manager", "/reports", 200, []string{"By user", "active@example.com", "other@example.com", "manager@elsewhere.org",
				"user=" + itoa(s.ids["active"]), `href="/users/` + itoa(s.ids["active"]) + `"`, `<dt>Sent</dt><dd class="good">2</dd>`,
				"Everyone&#39;s totals"}, []string{"active news"}},
			{"manager", "/reports?user=" + itoa(s.ids["active"]), 200, append(activeFigures, "active news", "active@example.com"), []string{"other news"}},
			{"admin", "/reports?user=" + itoa(s.ids["other"]), 200, []string{"other news", `<dt>Sent</dt><dd class="good">1</dd>`}, []string{"active news"}},
			{"manager", "/reports?user=999999", 404, nil, nil},
			{"active", "/reports?from=2025-02-10&to=2025-01-01", 422, []string{"The end of the period is before its start.", `value="2025-02-10"`}, nil},
			{"active", "/reports?from=yesterday", 422, []string{"aria-invalid"}, nil},
			{"active", "/reports?from=2020-01-01&to=2022-01-01", 422, []string{"366"}, nil},
		}
		for _, c := range cases {
			check(t, c.who+" GET "+c.path, s.do(t, c.who, "GET", c.path, nil), c.status, c.want, c.notWant)
		}
		// Russian: the page and its plural forms.
		r = s.do(t, "manager", "GET", "/reports", nil, "Accept-Language", "ru")
		check(t, "ru report", r, 200, []string{"Отчёты", "Итого по всем пользователям", "Доля успеха", "Что означают числа"}, nil)

		// CSV of the report: headers, figures, formula cells neutralised.
		r = s.do(t, "active", "GET", "/reports.csv", nil)
		checkCSV(t, "report CSV", r, "report")
		if !strings.HasPrefix(r.body, "mailing_id,mailing,status,disabled,mailings,") {
			t.Errorf("report CSV header: %.80q", r.body)
		}
		if !strings.Contains(r.body, `"'=HYPERLINK(""http://evil"")"`) {
			t.Errorf("report CSV: formula not neutralised:\n%s", r.body)
		}
		lines := strings.Split(strings.TrimSpace(r.body), "\r\n")
		if last := lines[len(lines)-1]; !strings.HasPrefix(last, "total,,,,2,") || !strings.HasSuffix(last, ",1,1,0,1,0,1,2,0.5000,0,0,0,0,0") {
			t.Errorf("report CSV totals: %q", last)
		}
		r = s.do(t, "active", "GET", "/reports.csv?bom=1&from=2025-01-01&to=2025-01-31", nil)
		checkCSV(t, "report CSV with BOM", r, "report-2025-01-01-2025-01-31.csv")
		if !strings.HasPrefix(r.body, "\uFEFFmailing_id,") {
			t.Errorf("no BOM: %.20q", r.body)
		}
		check(t, "another's report CSV", s.do(t, "active", "GET", "/reports.csv?user="+itoa(s.ids["other"]), nil), 404, nil, []string{"other news"})
		r = s.do(t, "manager", "GET", "/reports.csv", nil)
		checkCSV(t, "users report CSV", r, "users-report")
		if !strings.HasPrefix(r.body, "user_id,email,name,role,status,") || !strings.Contains(r.body, "active@example.com") {
			t.Errorf("users report CSV:\n%s", r.body)
		}
		// CSV of a mailing's attempts, linked from its attempts page.
		check(t, "attempts page", s.do(t, "active", "GET", a.path("/mailings/{G}/deliveries"), nil), 200,
			[]string{a.path("/mailings/{G}/attempts.csv"), a.path("/mailings/{G}/attempts.csv?bom=1")}, nil)
		r = s.do(t, "active", "GET", a.path("/mailings/{G}/attempts.csv?bom=1"), nil)
		checkCSV(t, "attempts CSV", r, "attempts.csv")
		if !strings.HasPrefix(r.body, "\uFEFFid,run,email,attempted_at,status,code,enhanced,response\r\n") ||
			!strings.Contains(r.body, ",failure,550,,'=1+2 no such user") || strings.Count(r.body, "\r\n") != 4 {
			t.Errorf("attempts CSV:\n%s", r.body)
		}
		check(t, "another's attempts CSV", s.do(t, "active", "GET", o.path("/mailings/{G}/attempts.csv"), nil), 404, nil, []string{"other-"})
		check(t, "anonymous attempts CSV", s.do(t, "", "GET", a.path("/mailings/{G}/attempts.csv"), nil), 303, nil, []string{"active-"})
	})
}

// checkCSV checks the headers of a CSV download.
func checkCSV(t *testing.T, what string, r resp, name string) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("%s: status %d:\n%s", what, r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("%s: Content-Type %q", what, ct)
	}
	cd := r.header.Get("Content-Disposition")
	if !strings.HasPrefix(cd, "attachment; filename=") || !strings.Contains(cd, name) {
		t.Errorf("%s: Content-Disposition %q, want an attachment named like %q", what, cd, name)
	}
	for _, c := range cd {
		if c > 0x7e || c < 0x20 {
			t.Errorf("%s: Content-Disposition not plain ASCII: %q", what, cd)
		}
	}
}

// TestUserListCacheNeverLeaks loads the managers' user list as a manager
// (so that it is cached) and asks for it as everyone else.
func TestUserListCacheNeverLeaks(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := newSite(t, dbURL)
		s.addUser(t, "lookalike", "manager@elsewhere.org", simplesender.RoleUser)
		for i := 0; i < 2; i++ { // the second is served from the cache
			check(t, "manager", s.do(t, "manager", "GET", "/users", nil), 200,
				[]string{"other@example.com", `title="manager@example.com"`}, nil)
		}
		secret := []string{"other@example.com", "pending@example.com", "admin@example.com"}
		check(t, "anonymous", s.do(t, "", "GET", "/users", nil), 303, nil, secret)
		check(t, "regular user", s.do(t, "active", "GET", "/users", nil), 403, nil, secret)
		check(t, "regular manager@...", s.do(t, "lookalike", "GET", "/users", nil), 403, nil, secret)
		check(t, "blocked", s.do(t, "blocked", "GET", "/users", nil), 303, nil, secret)
		// Another manager gets their own copy (their address in the navbar).
		check(t, "manager2", s.do(t, "manager2", "GET", "/users", nil), 200,
			[]string{`title="manager2@example.com"`}, []string{`title="manager@example.com"`})
		// Russian is another page.
		check(t, "manager in Russian", s.do(t, "manager", "GET", "/users", nil, "Accept-Language", "ru"), 200,
			[]string{"Пользователи"}, nil)

		// A flash is shown once, and never kept in the cached page.
		r := s.do(t, "manager", "POST", "/users/"+itoa(s.ids["other"])+"/block", map[string][]string{})
		if r.status != http.StatusSeeOther {
			t.Fatalf("block: %d", r.status)
		}
		var flash string
		for _, c := range (&http.Response{Header: r.header}).Cookies() {
			if c.Name == "ss_flash" {
				flash = c.Value
			}
		}
		check(t, "with the flash", s.do(t, "manager", "GET", "/users", nil, "Cookie", "ss_flash="+flash), 200,
			[]string{"The user is blocked."}, nil)
		check(t, "after the flash", s.do(t, "manager", "GET", "/users", nil), 200, []string{"other@example.com"},
			[]string{"The user is blocked."})
	})
}

// TestReportCSVLinksKeepTheirQuery follows the CSV and Excel links of the
// reports page, as rendered: a manager reading one user's report over a
// period downloads that user's report of that period, not everyone's; a
// user downloads their own, of the period on the page.
func TestReportCSVLinksKeepTheirQuery(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := newSite(t, dbURL)
		seedReport(t, s)
		link := regexp.MustCompile(`<a href="(/reports\.csv[^"]*)" download>([^<]+)</a>`)
		active := itoa(s.ids["active"])
		for _, c := range []struct {
			who, page string
			file      string // the download's name
		}{
			{"manager", "/reports?user=" + active + "&from=2025-01-01&to=2025-01-31", "report-user-" + active + "-2025-01-01-2025-01-31.csv"},
			{"admin", "/reports?from=2025-01-01&to=2025-01-31&user=" + active, "report-user-" + active + "-2025-01-01-2025-01-31.csv"},
			{"active", "/reports?from=2025-02-01&to=2025-02-28", "report-2025-02-01-2025-02-28.csv"},
			{"manager", "/reports?from=2025-03-01&to=2025-03-31", "users-report-2025-03-01-2025-03-31.csv"},
		} {
			page := s.do(t, c.who, "GET", c.page, nil)
			links := link.FindAllStringSubmatch(page.body, -1)
			if page.status != 200 || len(links) != 2 {
				t.Fatalf("%s %s: %d, links %v", c.who, c.page, page.status, links)
			}
			for _, l := range links {
				what := c.who + " follows " + l[2] + " " + l[1]
				r := s.do(t, c.who, "GET", html.UnescapeString(l[1]), nil)
				checkCSV(t, what, r, c.file)
				if cd := r.header.Get("Content-Disposition"); !strings.HasSuffix(cd, "filename="+c.file) {
					t.Errorf("%s: Content-Disposition %q, want the file %s", what, cd, c.file)
				}
				body := strings.TrimPrefix(r.body, "\uFEFF")
				if strings.HasPrefix(c.file, "users-report") {
					if !strings.HasPrefix(body, "user_id,email,") || !strings.Contains(body, "other@example.com") {
						t.Errorf("%s: not the report of every user:\n%s", what, r.body)
					}
				} else if !strings.HasPrefix(body, "mailing_id,mailing,") || !strings.Contains(body, "active news") ||
					strings.Contains(body, "other news") || strings.Contains(body, "other@example.com") {
					t.Errorf("%s: not the report of active@example.com:\n%s", what, r.body)
				}
				if bom := strings.HasPrefix(r.body, "\uFEFF"); bom != strings.Contains(l[2], "Excel") {
					t.Errorf("%s: byte order mark %v", what, bom)
				}
			}
		}
	})
}

// TestNoTemplateEscapesAWholeQuery: html/template escapes a value after "?"
// or "&" in a URL as one parameter's value, so a query string put there loses
// its "&" and "=" (the reports' CSV links once did). Links with a query built
// in Go go into an attribute whole; templates only put single values after
// "name=".
func TestNoTemplateEscapesAWholeQuery(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("templates/*.html")
	if err != nil {
		t.Fatal(err)
	}
	pages, _ := filepath.Glob("templates/pages/*.html")
	files = append(files, pages...)
	if len(pages) < 10 {
		t.Fatalf("found only %d page templates", len(pages))
	}
	whole := regexp.MustCompile(`(\?|&amp;|&)\{\{`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			if whole.MatchString(line) {
				t.Errorf("%s:%d puts a template value where a query parameter's name goes: %s", f, i+1, strings.TrimSpace(line))
			}
		}
	}
}
