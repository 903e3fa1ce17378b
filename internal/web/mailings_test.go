package web_test

import (
	"context"
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"simplesender"
	"simplesender/internal/store"
	"simplesender/internal/store/storetest"
)

// TestMailingFlowFromForms creates a recipient, a message and a mailing
// through the forms, leaving the mailing form for the other two and coming
// back with them selected, then sends it.
func TestMailingFlowFromForms(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := newSite(t, dbURL)
		earlier := s.recipient(t, "active", "Vera")
		// The form, with a name typed and one recipient ticked, leaves for a new recipient.
		r := s.do(t, "active", "GET", "/mailings/new?"+url.Values{"state": {"1"}, "name": {"Spring <news>"},
			"recipient_ids": {itoa(earlier)}, "go": {"recipient"}}.Encode(), nil)
		if r.status != 303 || !strings.HasPrefix(r.header.Get("Location"), "/recipients/new?return=") {
			t.Fatalf("leave for a new recipient: %d to %q", r.status, r.header.Get("Location"))
		}
		form := s.do(t, "active", "GET", r.header.Get("Location"), nil)
		ret := regexp.MustCompile(`name="return" value="([^"]+)"`).FindStringSubmatch(form.body)
		if ret == nil {
			t.Fatalf("the recipient form does not carry the way back:\n%s", form.body)
		}
		back := s.do(t, "active", "POST", "/recipients", url.Values{"email": {"ivan@example.org"}, "last_name": {"Petrov"},
			"first_name": {"Ivan"}, "return": {unescape(ret[1])}})
		if loc := back.header.Get("Location"); back.status != 303 || !strings.HasPrefix(loc, "/mailings/new?") {
			t.Fatalf("after creating the recipient: %d to %q\n%s", back.status, loc, back.body)
		}
		page := s.follow(t, "active", back)
		ivan := regexp.MustCompile(`value="(\d+)" checked> ivan@example.org`).FindStringSubmatch(page.body)
		check(t, "back on the mailing form", page, 200, []string{"Recipient added.", `value="Spring &lt;news&gt;"`,
			`value="` + itoa(earlier) + `" checked>`, "2 selected"}, nil)
		if ivan == nil {
			t.Fatalf("the new recipient is not selected:\n%s", page.body)
		}
		// Now for a new message, from the form as it is.
		self := regexp.MustCompile(`formaction="(/mailings/new)"`).FindStringSubmatch(page.body)
		if self == nil {
			t.Fatal("the form has no search/leave buttons")
		}
		state := url.Values{"state": {"1"}, "name": {"Spring <news>"}, "recipient_ids": {itoa(earlier), ivan[1]}, "go": {"message"}}
		r = s.do(t, "active", "GET", "/mailings/new?"+state.Encode(), nil)
		if !strings.HasPrefix(r.header.Get("Location"), "/messages/new?return=") {
			t.Fatalf("leave for a new message: %d to %q", r.status, r.header.Get("Location"))
		}
		retURL, _ := url.Parse(r.header.Get("Location"))
		back = s.do(t, "active", "POST", "/messages", url.Values{"subject": {"Hello, {{first_name|friend}}"},
			"body_text": {"Spring is here."}, "return": {retURL.Query().Get("return")}})
		page = s.follow(t, "active", back)
		msg := regexp.MustCompile(`<option value="(\d+)" selected>Hello, \{\{first_name\|friend\}\}</option>`).FindStringSubmatch(page.body)
		if msg == nil {
			t.Fatalf("the new message is not chosen:\n%s", page.body)
		}
		check(t, "back again", page, 200, []string{"Message created.", "2 selected"}, nil)
		// Save.
		saved := s.do(t, "active", "POST", "/mailings", url.Values{"state": {"1"}, "name": {"Spring <news>"},
			"message_id": {msg[1]}, "recipient_ids": {itoa(earlier), ivan[1]}})
		page = s.follow(t, "active", saved)
		check(t, "the new mailing", page, 200, []string{"Mailing created.", "Spring &lt;news&gt;", "2 recipients", "Created", "ivan@example.org"}, nil)
		id := strings.TrimPrefix(saved.header.Get("Location"), "/mailings/")
		// Send now: queued, running, and the page moves by itself.
		sent := s.do(t, "active", "POST", "/mailings/"+id+"/send", url.Values{})
		page = s.follow(t, "active", sent)
		check(t, "after send now", page, 200, []string{"queued for sending", "Running", `http-equiv="refresh"`,
			`data-running="true"`, "Refresh", `/mailings/` + id + `/cancel`}, []string{`/mailings/` + id + `/send"`})
		g, _ := s.env.App.GetMailing(context.Background(), s.actor(t, "active"), atoi(t, id))
		if g.Status != simplesender.MailingRunning {
			t.Fatalf("status after send now: %s", g.Status)
		}
		// A second click is refused, with the reason on the page.
		again := s.do(t, "active", "POST", "/mailings/"+id+"/send", url.Values{})
		check(t, "double click", again, 409, []string{"already queued"}, nil)
		// In Russian.
		ru := s.do(t, "active", "GET", "/mailings/"+id, nil, "Accept-Language", "ru")
		check(t, "in Russian", ru, 200, []string{"Запущена", "Отменить отправку", "2 получателя"}, nil)
	})
}

func unescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&#43;", "+", "&lt;", "<", "&gt;", ">", "&#34;", `"`, "&#39;", "'").Replace(s)
}

func atoi(t *testing.T, s string) int64 {
	t.Helper()
	var n int64
	for _, c := range s {
		if c < '0' || c > '9' {
			t.Fatalf("not a number: %q", s)
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

// TestMailingFormSearchKeepsSelection narrows the recipient list on the
// server and keeps what was ticked outside the list.
func TestMailingFormSearchKeepsSelection(t *testing.T) {
	t.Parallel()
	s := newSite(t, storetest.NewURL(t, "sqlite"))
	a := s.recipient(t, "active", "Alla")
	b := s.recipient(t, "active", "Boris")
	q := url.Values{"state": {"1"}, "rq": {"active-2"}, "recipient_ids": {itoa(a), itoa(b)}}
	r := s.do(t, "active", "GET", "/mailings/new?"+q.Encode(), nil)
	check(t, "search", r, 200, []string{`value="` + itoa(b) + `" checked> active-2@example.net`,
		`type="hidden" name="recipient_ids" value="` + itoa(a) + `"`, "2 selected"}, []string{"> active-1@example.net"})
	q.Set("select", "none")
	check(t, "clear", s.do(t, "active", "GET", "/mailings/new?"+q.Encode(), nil), 200, []string{"0 selected"}, []string{"checked>"})
	q.Set("select", "all")
	q.Set("recipient_ids", "")
	q.Set("rq", "")
	check(t, "select all", s.do(t, "active", "GET", "/mailings/new?"+q.Encode(), nil), 200, []string{"2 selected"}, nil)
	// Only the viewer's own recipients are offered, also to an admin.
	s.recipient(t, "admin", "Mira")
	check(t, "admin's own", s.do(t, "admin", "GET", "/mailings/new", nil), 200, []string{"admin-3@example.net"}, []string{"active-1@example.net"})
	// A return address outside the mailing forms is dropped.
	r = s.do(t, "active", "GET", "/recipients/new?return="+url.QueryEscape("//evil.example/mailings/new"), nil)
	check(t, "foreign return", r, 200, []string{`name="return" value=""`}, []string{`name="return" value="//evil`})
	r = s.do(t, "active", "POST", "/recipients", url.Values{"email": {"x@example.org"}, "return": {"https://evil.example/mailings/new"}})
	if loc := r.header.Get("Location"); r.status != 303 || !strings.HasPrefix(loc, "/recipients/") {
		t.Fatalf("foreign return followed: %d to %q", r.status, loc)
	}
}

// TestMailingFormRefusesOthersRecipients: a forged form with another
// user's recipient or message is refused with a message, nothing saved.
func TestMailingFormRefusesOthersRecipients(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := newSite(t, dbURL)
		mine := s.seed(t, "active", "Anna")
		theirs := s.seed(t, "other", "Boris")
		r := s.do(t, "active", "POST", "/mailings", url.Values{"message_id": {itoa(mine.M)}, "recipient_ids": {itoa(mine.R) + "," + itoa(theirs.R)}})
		check(t, "other's recipient", r, 422, []string{"Choose only your own recipients.", "Please correct the errors below."}, []string{"Boris"})
		r = s.do(t, "active", "POST", "/mailings/"+itoa(mine.G), url.Values{"message_id": {itoa(theirs.M)}, "recipient_ids": {itoa(mine.R)}})
		check(t, "other's message", r, 422, []string{"Choose one of your messages."}, nil)
		r = s.do(t, "active", "POST", "/mailings", url.Values{"name": {"x"}}, "Accept-Language", "ru")
		check(t, "empty, in Russian", r, 422, []string{"Выберите сообщение.", "Выберите хотя бы одного получателя."}, nil)
		if _, n, _ := s.env.App.ListMailings(context.Background(), s.actor(t, "active"), 0, mailingFilter()); n != 1 {
			t.Fatalf("refused forms saved mailings: %d", n)
		}
	})
}

// TestScheduleInUsersTimeZone: the time typed is the user's local time; a
// time not in the future is refused with a message.
func TestScheduleInUsersTimeZone(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := newSite(t, dbURL)
		ctx := context.Background()
		ac := s.actor(t, "active")
		if err := s.env.App.UpdateProfile(ctx, ac, simplesender.Profile{Name: ac.User.Name, TimeZone: "Asia/Tokyo"}); err != nil {
			t.Fatal(err)
		}
		o := s.seed(t, "active", "Anna")
		tokyo, _ := time.LoadLocation("Asia/Tokyo")
		path := "/mailings/" + itoa(o.G) + "/schedule"
		past := time.Now().In(tokyo).Add(-time.Hour).Format("2006-01-02T15:04")
		check(t, "in the past", s.do(t, "active", "POST", path, url.Values{"send_at": {past}}), 422,
			[]string{"Choose a time in the future.", `value="` + past + `"`, `aria-invalid="true"`}, nil)
		check(t, "in the past, Russian", s.do(t, "active", "POST", path, url.Values{"send_at": {past}}, "Accept-Language", "ru"), 422,
			[]string{"Выберите время в будущем."}, nil)
		check(t, "garbage", s.do(t, "active", "POST", path, url.Values{"send_at": {"tomorrow"}}), 422, []string{"Enter a date and time."}, nil)
		at := time.Now().In(tokyo).Add(48 * time.Hour).Truncate(time.Minute)
		r := s.do(t, "active", "POST", path, url.Values{"send_at": {at.Format("2006-01-02T15:04")}})
		page := s.follow(t, "active", r)
		check(t, "scheduled", page, 200, []string{"The mailing is scheduled.", at.Format("2006-01-02 15:04") + " JST", "scheduled",
			"Change the time", "Asia/Tokyo"}, []string{`http-equiv="refresh"`})
		g, _ := s.env.App.GetMailing(ctx, ac, o.G)
		if g.ScheduledAt == nil || !g.ScheduledAt.Equal(at) {
			t.Fatalf("stored %v, want %v", g.ScheduledAt, at.UTC())
		}
		// Cancel returns it to "created".
		page = s.follow(t, "active", s.do(t, "active", "POST", "/mailings/"+itoa(o.G)+"/cancel", url.Values{}))
		check(t, "cancelled", page, 200, []string{"The mailing is cancelled.", "Created"}, nil)
	})
}

// TestAttemptsPage shows each recipient's state and attempts, with the
// server's reply and the recipient's name escaped, and keeps earlier runs.
func TestAttemptsPage(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := newSite(t, dbURL)
		ctx := context.Background()
		o := s.seed(t, "active", "<script>alert('name')</script>")
		ok := s.recipient(t, "active", "Olga")
		ac := s.actor(t, "active")
		if _, err := s.env.App.UpdateMailing(ctx, ac, o.G, mailingInput(o, ok)); err != nil {
			t.Fatal(err)
		}
		if err := s.env.App.SendNow(ctx, ac, o.G, "now"); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		first := s.run(t, o.G, now, func(email string) outcome {
			if strings.Contains(email, "-1@") {
				return outcome{simplesender.DeliveryFailed, 550, "5.1.1", "<script>alert('reply')</script> no such user"}
			}
			return outcome{simplesender.DeliverySent, 250, "2.0.0", "OK queued"}
		})
		path := "/mailings/" + itoa(o.G) + "/deliveries"
		r := s.do(t, "active", "GET", path, nil)
		check(t, "attempts", r, 200, []string{"#1", "550", "5.1.1", "&lt;script&gt;alert(&#39;reply&#39;)&lt;/script&gt; no such user",
			"&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt;", "Failed", "Sent", "Success", "Failure", "Resend to failed", "2 recipients"},
			[]string{"<script>alert"})
		check(t, "attempts in Russian", s.do(t, "active", "GET", path, nil, "Accept-Language", "ru"), 200,
			[]string{"Успешно", "Не успешно", "Не доставлено", "Отправить повторно неудавшимся"}, nil)
		// A bounce that came back later shows on its delivery, next to
		// its attempts, the remote server's words escaped.
		dp, err := s.env.App.Deliveries(ctx, ac, o.G, first.ID, store.DeliveryFilter{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range dp.Deliveries {
			if strings.Contains(d.Email, "-2@") {
				if err := s.env.DB.Store().AddDeliveryReport(ctx, &store.DeliveryReport{ReceivedAt: now, Source: "smtp", Kind: "hard",
					DeliveryID: d.ID, OwnerID: ac.User.ID, MailingID: o.G, Email: d.Email, Status: "5.1.1",
					Diagnostic: "<b>user unknown</b>", Applied: "bounced"}); err != nil {
					t.Fatal(err)
				}
			}
		}
		check(t, "a report on its delivery", s.do(t, "active", "GET", path, nil), 200,
			[]string{"1 report that came back", "Bounced for good", "the delivery is bounced, the address suppressed",
				"&lt;b&gt;user unknown&lt;/b&gt;"}, []string{"<b>user unknown"})
		check(t, "a report in Russian", s.do(t, "active", "GET", path, nil, "Accept-Language", "ru"), 200,
			[]string{"1 отчёт о возврате", "Постоянный отказ"}, nil)
		check(t, "filtered", s.do(t, "active", "GET", path+"?status=failed", nil), 200, []string{"1 recipient", "no such user"}, []string{"OK queued"})
		check(t, "manager reads", s.do(t, "manager", "GET", path, nil), 200, []string{"no such user"}, []string{"/resend"})
		check(t, "admin may resend", s.do(t, "admin", "GET", path, nil), 200, []string{"no such user", "Resend to failed"}, nil)
		check(t, "mailing page", s.do(t, "active", "GET", "/mailings/"+itoa(o.G), nil), 200,
			[]string{"Finished", `value="2" max="2"`, `data-count="failed">1<`, "Resend to failed", `data-running="false"`}, []string{"<script>alert"})
		// Resend to the failed one: a second run; the first stays visible.
		page := s.follow(t, "active", s.do(t, "active", "POST", "/mailings/"+itoa(o.G)+"/resend", url.Values{"kind": {"failed"}, "next": {path}}))
		check(t, "resend queued", page, 200, []string{"The resend is queued"}, nil)
		s.run(t, o.G, time.Now().Add(time.Second), func(string) outcome { return outcome{simplesender.DeliverySent, 250, "2.0.0", "OK again"} })
		r = s.do(t, "active", "GET", path, nil)
		check(t, "second run", r, 200, []string{"#1", "#2", "resend to failed", "OK again", "1 recipient"}, []string{"no such user"})
		r = s.do(t, "active", "GET", path+"?run="+itoa(first.ID), nil)
		check(t, "first run again", r, 200, []string{"no such user", "OK queued"}, nil)
		check(t, "run of another mailing", s.do(t, "active", "GET", path+"?run=999999", nil), 404, nil, nil)
	})
}

// TestProgressJSON is what app.js polls while a send runs.
func TestProgressJSON(t *testing.T) {
	t.Parallel()
	s := newSite(t, storetest.NewURL(t, "sqlite"))
	o := s.seed(t, "active", "Anna")
	s.recipient(t, "active", "Olga")
	path := "/mailings/" + itoa(o.G) + "/progress.json"
	if err := s.env.App.SendNow(context.Background(), s.actor(t, "active"), o.G, "now"); err != nil {
		t.Fatal(err)
	}
	s.run(t, o.G, time.Now(), nil) // started, nothing sent yet
	var p struct {
		Status            string
		Running           bool
		Total, Done, Sent int
		StatusText        string `json:"status_label"`
	}
	r := s.do(t, "manager", "GET", path, nil, "Accept-Language", "ru")
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Fatalf("progress: %d %s", r.status, r.header.Get("Content-Type"))
	}
	if err := json.Unmarshal([]byte(r.body), &p); err != nil {
		t.Fatal(err)
	}
	if p.Status != "running" || !p.Running || p.Total != 1 || p.Done != 0 || p.StatusText != "Запущена" {
		t.Fatalf("progress = %+v", p)
	}
	if r := s.do(t, "other", "GET", path, nil); r.status != 404 || strings.Contains(r.body, "running") {
		t.Fatalf("another user's progress: %d %s", r.status, r.body)
	}
	page := s.do(t, "active", "GET", "/mailings/"+itoa(o.G), nil)
	check(t, "running page", page, 200, []string{`data-progress-url="` + path + `"`, `data-running="true"`, `<progress value="0" max="1"`,
		"sending", `<noscript><meta http-equiv="refresh"`}, []string{"/mailings/" + itoa(o.G) + "/send"})
}

// TestManagerDisablesMailing: the owner then sees the banner and can only
// delete; the manager's actions are listed on the mailing.
func TestManagerDisablesMailing(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := newSite(t, dbURL)
		o := s.seed(t, "active", "Anna")
		g := "/mailings/" + itoa(o.G)
		if err := s.env.App.SendNow(context.Background(), s.actor(t, "active"), o.G, "now"); err != nil {
			t.Fatal(err)
		}
		check(t, "manager may not cancel", s.do(t, "manager", "POST", g+"/cancel", url.Values{}), 403, []string{"Managers only view data"}, nil)
		page := s.follow(t, "admin", s.do(t, "admin", "POST", g+"/cancel", url.Values{}))
		check(t, "admin cancels", page, 200, []string{"The mailing is cancelled."}, nil)
		page = s.follow(t, "manager", s.do(t, "manager", "POST", g+"/disable", url.Values{}))
		check(t, "manager disables", page, 200, []string{"The mailing is disabled.", "Mailing disabled.", "manager@example.com",
			"disabled the mailing", "cancelled the sending", g + "/enable"}, []string{g + "/disable"})
		owner := s.do(t, "active", "GET", g, nil, "Accept-Language", "ru")
		check(t, "owner sees it disabled", owner, 200, []string{"Рассылка отключена.", g + "/delete"},
			[]string{g + "/send", g + "/edit", g + "/schedule", g + "/cancel", "manager@example.com"})
		check(t, "owner cannot send", s.do(t, "active", "POST", g+"/send", url.Values{}), 409, []string{"disabled by a manager"}, nil)
		check(t, "nor edit", s.do(t, "active", "GET", g+"/edit", nil), 409, nil, nil)
		page = s.follow(t, "admin", s.do(t, "admin", "POST", g+"/enable", url.Values{}))
		check(t, "admin enables", page, 200, []string{"The mailing is enabled again.", "admin@example.com", "enabled the mailing"}, nil)
		check(t, "owner again", s.do(t, "active", "GET", g, nil), 200, []string{g + "/send", g + "/edit"}, []string{"Mailing disabled."})
		// And deletes it, after the confirmation page.
		check(t, "confirm", s.do(t, "active", "GET", g+"/delete", nil), 200, []string{"Delete this mailing", "active news"}, nil)
		page = s.follow(t, "active", s.do(t, "active", "POST", g+"/delete", url.Values{}))
		check(t, "deleted", page, 200, []string{"Mailing deleted.", "You have no mailings yet."}, nil)
	})
}

// TestLateStartIsShown: a run that started after its planned time says by
// how much.
func TestLateStartIsShown(t *testing.T) {
	t.Parallel()
	s := newSite(t, storetest.NewURL(t, "sqlite"))
	o := s.seed(t, "active", "Anna")
	at := time.Now().Add(time.Hour).Truncate(time.Second)
	if err := s.env.App.Schedule(context.Background(), s.actor(t, "active"), o.G, at); err != nil {
		t.Fatal(err)
	}
	s.run(t, o.G, at.Add(7*time.Minute+10*time.Second), nil)
	check(t, "late", s.do(t, "active", "GET", "/mailings/"+itoa(o.G), nil), 200, []string{"started 7 minutes late"}, nil)
	check(t, "late, Russian", s.do(t, "active", "GET", "/mailings/"+itoa(o.G), nil, "Accept-Language", "ru"), 200,
		[]string{"начата с опозданием на 7 минут"}, nil)
}

// TestMailingListFilters by status, with "active" for running ones.
func TestMailingListFilters(t *testing.T) {
	t.Parallel()
	s := newSite(t, storetest.NewURL(t, "sqlite"))
	idle := s.seed(t, "active", "Anna")
	busy := s.seed(t, "active", "Boris")
	if err := s.env.App.SendNow(context.Background(), s.actor(t, "active"), busy.G, "now"); err != nil {
		t.Fatal(err)
	}
	link := func(o objs) string { return `href="/mailings/` + itoa(o.G) + `"` }
	check(t, "active", s.do(t, "active", "GET", "/mailings?status=active", nil), 200, []string{link(busy), "1 mailing"}, []string{link(idle)})
	check(t, "created", s.do(t, "active", "GET", "/mailings?status=created", nil), 200, []string{link(idle)}, []string{link(busy)})
	check(t, "finished", s.do(t, "active", "GET", "/mailings?status=finished", nil), 200, []string{"No mailings found."}, nil)
	check(t, "bad filter is all", s.do(t, "active", "GET", "/mailings?status=bogus", nil), 200, []string{link(idle), link(busy)}, nil)
	check(t, "Russian", s.do(t, "active", "GET", "/mailings", nil, "Accept-Language", "ru"), 200,
		[]string{"2 рассылки", "Создана", "Запущена", "Активные (запущенные)"}, nil)
}

// TestHomeCounters link to the lists; a user without mailings gets a hint.
func TestHomeCounters(t *testing.T) {
	t.Parallel()
	s := newSite(t, storetest.NewURL(t, "sqlite"))
	o := s.seed(t, "active", "Anna")
	s.seed(t, "admin", "Boris")
	if err := s.env.App.SendNow(context.Background(), s.actor(t, "active"), o.G, "now"); err != nil {
		t.Fatal(err)
	}
	counter := func(href, n string) string { return `href="` + href + `"><span class="counter-value">` + n + `</span>` }
	check(t, "owner", s.do(t, "active", "GET", "/", nil), 200, []string{counter("/mailings", "1"), counter("/mailings?status=active", "1"),
		counter("/recipients", "1"), "unique recipient"}, []string{"Create your first mailing"})
	check(t, "manager: everyone's", s.do(t, "manager", "GET", "/", nil), 200, []string{counter("/mailings", "2"),
		counter("/mailings?status=active", "1"), counter("/recipients", "2")}, []string{"Create your first mailing", `href="/mailings/new"`})
	check(t, "first mailing hint", s.do(t, "other", "GET", "/", nil, "Accept-Language", "ru"), 200,
		[]string{"Создайте первую рассылку", `href="/mailings/new"`, `0</span><span class="counter-label">рассылок`}, nil)
	check(t, "anonymous", s.do(t, "", "GET", "/", nil), 200, []string{"Sign up"}, []string{"counter"})
}
