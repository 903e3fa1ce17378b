package web_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/app/apptest"
	"simplesender/internal/delivery"
	"simplesender/internal/mailer"
	"simplesender/internal/store"
	"simplesender/internal/store/storetest"
	"simplesender/internal/unsubscribe"
	"simplesender/internal/web"
)

// oneClick posts to link exactly what Gmail and Yahoo post (RFC 8058): the
// form List-Unsubscribe=One-Click, urlencoded or as multipart/form-data,
// with no cookie, no Origin, no CSRF token, and does not follow redirects.
func oneClick(t *testing.T, link string, multi bool) (int, string, http.Header) {
	t.Helper()
	var body bytes.Buffer
	ct := "application/x-www-form-urlencoded"
	if multi {
		mw := multipart.NewWriter(&body)
		mw.WriteField("List-Unsubscribe", "One-Click")
		mw.Close()
		ct = mw.FormDataContentType()
	} else {
		body.WriteString("List-Unsubscribe=One-Click")
	}
	req, err := http.NewRequest("POST", link, &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), res.Header
}

// TestOneClickUnsubscribeEndToEnd: a mailing goes through a real SMTP
// server; the List-Unsubscribe link of one recipient's message, posted to
// as a mailbox provider does, unsubscribes them (200, idempotent, no
// cookie); sent again, the mailing reaches the others and marks that
// recipient suppressed, with no message to them.
func TestOneClickUnsubscribeEndToEnd(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		srv := httptest.NewUnstartedServer(nil)
		base, _ := url.Parse("http://" + srv.Listener.Addr().String())
		env := apptest.New(t, dbURL, apptest.Options{Deps: func(d *app.Deps) {
			d.BaseURL, d.RepeatWindow = base, -1
		}})
		ui, err := web.New(env.App, env.Bundle, slog.New(slog.DiscardHandler), web.Config{})
		if err != nil {
			t.Fatal(err)
		}
		srv.Config.Handler = ui.Handler()
		srv.Start()
		t.Cleanup(srv.Close)

		smtpSrv := apptest.NewSMTPServer(t)
		smtp, err := mailer.NewSMTP(smtpSrv.URL(), mailer.SMTPOptions{CommandTimeout: 3 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		e := delivery.New(env.DB, delivery.NewPool(smtp, 2), delivery.Config{From: mailer.Address{Email: "news@example.com"},
			Conns: 2, Poll: 20 * time.Millisecond, Unsubscribe: env.App.Links, Words: app.FooterWords(env.Bundle)})
		env.App.Waker = e
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { e.Run(rctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })

		owner := &app.Actor{User: env.User(t, "owner@example.com", simplesender.RoleUser, simplesender.StatusActive)}
		emails := []string{"ann@example.net", "bob@example.net", "cid@example.net"}
		m := env.MailingOf(t, owner, "News", &simplesender.Message{Subject: "News for {{first_name|you}}",
			BodyText: "Hello!", BodyHTML: "<p>Hello!</p>"}, emails...)
		var lastStart time.Time
		sendAndWait := func(run int) *simplesender.Mailing {
			t.Helper()
			if err := env.App.SendNow(ctx, owner, m.ID, "now"); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(15 * time.Second)
			for {
				got, err := env.App.GetMailing(ctx, owner, m.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.Status == simplesender.MailingFinished && got.StartedAt != nil && got.StartedAt.After(lastStart) {
					lastStart = *got.StartedAt
					return got
				}
				if time.Now().After(deadline) {
					t.Fatalf("run %d did not finish: %+v", run, got)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		sendAndWait(1)
		raw := smtpSrv.Raw("bob@example.net")
		if len(raw) != 1 {
			t.Fatalf("bob got %d messages, want 1", len(raw))
		}
		msg := apptest.ParseSent(t, raw[0])
		link := apptest.UnsubscribeURL(t, msg.Header)
		if !strings.HasPrefix(link, base.String()+"/u/") {
			t.Fatalf("link %q is not under %s", link, base)
		}
		if !strings.Contains(msg.Text, link) || !strings.Contains(msg.HTML, link) {
			t.Errorf("the bodies do not show the link %s:\n%s\n%s", link, msg.Text, msg.HTML)
		}

		// A link scanner's GET changes nothing.
		res, err := http.Get(link)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if x, _ := env.DB.Store().IsSuppressed(ctx, owner.User.ID, "bob@example.net"); res.StatusCode != 200 || x != nil {
			t.Fatalf("GET answered %d and suppressed %+v; want 200 and nothing", res.StatusCode, x)
		}

		for i, multi := range []bool{false, true} {
			status, body, hdr := oneClick(t, link, multi)
			if status != http.StatusOK || hdr.Get("Set-Cookie") != "" || hdr.Get("Location") != "" {
				t.Fatalf("one-click post %d: status %d, cookie %q, location %q; want 200 and neither:\n%s",
					i+1, status, hdr.Get("Set-Cookie"), hdr.Get("Location"), body)
			}
		}
		x, err := env.DB.Store().IsSuppressed(ctx, owner.User.ID, "bob@example.net")
		if err != nil || x == nil || x.Reason != simplesender.ReasonUnsubscribed || x.MailingID != m.ID {
			t.Fatalf("bob's suppression = %+v, %v; want unsubscribed from mailing %d", x, err, m.ID)
		}

		got := sendAndWait(2)
		if got.Counts.Sent != 2 || got.Counts.Suppressed != 1 {
			t.Errorf("second run counts %+v; want 2 sent, 1 suppressed", got.Counts)
		}
		if n := len(smtpSrv.Raw("bob@example.net")); n != 1 {
			t.Errorf("bob got %d messages in all, want only the first", n)
		}
		for _, other := range []string{"ann@example.net", "cid@example.net"} {
			if n := len(smtpSrv.Raw(other)); n != 2 {
				t.Errorf("%s got %d messages, want 2", other, n)
			}
		}
		p, err := env.App.Deliveries(ctx, owner, m.ID, 0, store.DeliveryFilter{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range p.Deliveries {
			want := simplesender.DeliverySent
			if d.Email == "bob@example.net" {
				want = simplesender.DeliverySuppressed
			}
			if d.Status != want {
				t.Errorf("%s: %s in the second run, want %s", d.Email, d.Status, want)
			}
		}
	})
}

// TestUnsubscribePage: the page of a link in both languages, what GET and
// POST do, forged links, other owners and test messages.
func TestUnsubscribePage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		s := newSite(t, dbURL)
		o := s.seed(t, "active", "Ann")
		other := s.seed(t, "other", "Olga")
		sent := func(string) outcome { return outcome{status: simplesender.DeliverySent, code: 250} }
		for _, who := range []string{"active", "other"} {
			g := map[string]int64{"active": o.G, "other": other.G}[who]
			if err := s.env.App.SendNow(ctx, s.actor(t, who), g, "now"); err != nil {
				t.Fatal(err)
			}
		}
		run := s.run(t, o.G, s.env.App.Now(), sent)
		s.run(t, other.G, s.env.App.Now(), sent)
		p, err := s.env.App.Deliveries(ctx, s.actor(t, "active"), o.G, run.ID, store.DeliveryFilter{Limit: 10})
		if err != nil || len(p.Deliveries) != 1 {
			t.Fatalf("deliveries: %v, %v", p, err)
		}
		d := p.Deliveries[0]
		keys := s.env.App.Links.Keys
		token := keys.Token(unsubscribe.Target{ID: d.ID, Lang: "en"})
		path := "/u/" + token
		suppressed := func(owner string, email string) *simplesender.Suppression {
			t.Helper()
			x, err := s.env.DB.Store().IsSuppressed(ctx, s.ids[owner], email)
			if err != nil {
				t.Fatal(err)
			}
			return x
		}

		r := s.do(t, "", "GET", path, nil)
		check(t, "GET", r, 200, []string{"Unsubscribe from these mailings?", d.Email, `name="List-Unsubscribe" value="One-Click"`}, nil)
		if suppressed("active", d.Email) != nil {
			t.Fatal("a GET unsubscribed")
		}
		ru := s.do(t, "", "GET", "/u/"+keys.Token(unsubscribe.Target{ID: d.ID, Lang: "ru"}), nil)
		check(t, "GET in Russian", ru, 200, []string{"Отписаться от этих рассылок?", `lang="ru"`}, nil)

		// Logged in as someone else, the page still concerns the link's
		// recipient and changes nothing of the visitor's.
		r = s.do(t, "other", "POST", path, url.Values{"List-Unsubscribe": {"One-Click"}})
		check(t, "POST one-click", r, 200, []string{"You are unsubscribed", "Subscribe again"}, nil)
		if r.header.Get("Set-Cookie") != "" {
			t.Errorf("the one-click answer sets a cookie: %q", r.header.Get("Set-Cookie"))
		}
		if x := suppressed("active", d.Email); x == nil || x.Reason != simplesender.ReasonUnsubscribed {
			t.Fatalf("after one-click: %+v", x)
		}
		if x := suppressed("other", d.Email); x != nil {
			t.Errorf("another owner's list got %+v", x)
		}
		r = s.do(t, "", "POST", path, url.Values{"List-Unsubscribe": {"One-Click"}})
		check(t, "POST one-click again", r, 200, []string{"You are unsubscribed"}, nil)

		r = s.do(t, "", "POST", path, url.Values{"action": {"resubscribe"}})
		check(t, "resubscribe", r, 200, []string{"You are subscribed again.", "Unsubscribe from these mailings?"}, nil)
		if x := suppressed("active", d.Email); x != nil {
			t.Fatalf("after resubscribe: %+v", x)
		}

		// A bounce (or any suppression not made by the link) is never lifted.
		if _, _, err := s.env.DB.Store().Suppress(ctx, s.ids["active"], d.Email, simplesender.ReasonBounced, 0, 0, ""); err != nil {
			t.Fatal(err)
		}
		r = s.do(t, "", "POST", path, url.Values{"action": {"resubscribe"}})
		check(t, "resubscribe after a bounce", r, 200, []string{"No more mailings"}, []string{"Subscribe again"})
		if x := suppressed("active", d.Email); x == nil || x.Reason != simplesender.ReasonBounced {
			t.Fatalf("the bounce was lifted: %+v", x)
		}

		// Forged and damaged links are 404 and change nothing.
		bad := []string{token[:len(token)-1], token[:10] + "A" + token[11:], strings.Repeat("A", len(token)),
			unsubscribe.NewKeys([]byte("another install")).Token(unsubscribe.Target{ID: d.ID, Lang: "en"})}
		for _, b := range bad {
			if b == token {
				continue
			}
			r := s.do(t, "", "POST", "/u/"+b, url.Values{"List-Unsubscribe": {"One-Click"}})
			check(t, "forged "+b, r, 404, []string{"This unsubscribe link is not valid"}, []string{d.Email})
		}
		r = s.do(t, "", "POST", path, url.Values{"other": {"x"}})
		check(t, "a post without One-Click", r, 400, []string{"List-Unsubscribe=One-Click"}, nil)

		// A test message's link changes nothing.
		test := keys.Token(unsubscribe.Target{ID: o.G, Test: true})
		r = s.do(t, "", "POST", "/u/"+test, url.Values{"List-Unsubscribe": {"One-Click"}})
		check(t, "a test link", r, 200, []string{"This was a test message"}, nil)
		n, err := s.env.DB.Store().CountSuppressions(ctx, store.SuppressionFilter{Everyone: true})
		if err != nil || n != 1 {
			t.Errorf("%d suppressions in all, %v; want only the bounce", n, err)
		}
	})
}

// TestSendingSettingsPage: the footer note and postal address are saved
// from the profile's sending settings page and previewed; bad input shows
// a message by the field and keeps what was typed.
func TestSendingSettingsPage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := newSite(t, dbURL)
		check(t, "profile links it", s.do(t, "active", "GET", "/profile", nil), 200, []string{`href="/profile/sending"`}, nil)
		check(t, "fresh page", s.do(t, "active", "GET", "/profile/sending", nil), 200,
			[]string{"Footer note", "You receive this e-mail because you are on this sender", "Unsubscribe: http"}, nil)
		r := s.do(t, "active", "POST", "/profile/sending", url.Values{"footer_text": {"Bad \x01 <b>note</b>"},
			"postal_address": {"1 Main St"}})
		check(t, "control character", r, 422, []string{"Use plain text: no control characters.", "1 Main St", "&lt;b&gt;note&lt;/b&gt;"}, []string{"<b>note</b>"})
		r = s.do(t, "active", "POST", "/profile/sending", url.Values{"footer_text": {"You signed up at <example.com>"},
			"postal_address": {"1 Main St\r\nSpringfield"}})
		check(t, "saved", s.follow(t, "active", r), 200, []string{"Sending settings saved.",
			"You signed up at &lt;example.com&gt;\nUnsubscribe: http", "Springfield"}, nil)
		st, err := s.env.App.SendingSettings(context.Background(), s.actor(t, "active"))
		if err != nil || st.PostalAddress != "1 Main St\nSpringfield" {
			t.Errorf("saved %+v, %v", st, err)
		}
		r = s.do(t, "", "POST", "/profile/sending", url.Values{"footer_text": {"x"}})
		if r.status != 401 {
			t.Errorf("anonymous post: %d", r.status)
		}
	})
}

// TestTestMessageLinkChangesNothing: a test of a mailing carries the
// headers and the footer, and its link's page says it was a test, also
// when posted to.
func TestTestMessageLinkChangesNothing(t *testing.T) {
	s := newSite(t, storetest.NewURL(t, "sqlite"))
	o := s.seed(t, "active", "Ann")
	ctx := context.Background()
	if _, err := s.env.App.SendTest(ctx, s.actor(t, "active"), o.G, app.TestSendInput{ToMe: true}, "en"); err != nil {
		t.Fatal(err)
	}
	e := s.env.WaitEmail(t, "active@example.com", 1)
	raw, err := os.ReadFile(e.Path)
	if err != nil {
		t.Fatal(err)
	}
	msg := apptest.ParseSent(t, raw)
	link := apptest.UnsubscribeURL(t, msg.Header)
	if msg.Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" || !strings.Contains(msg.Text, "Unsubscribe: "+link) {
		t.Fatalf("the test lacks the one-click header or the footer:\n%s", raw)
	}
	path := link[strings.Index(link, "/u/"):]
	check(t, "GET", s.do(t, "", "GET", path, nil), 200, []string{"This was a test message"}, []string{"One-Click"})
	check(t, "POST", s.do(t, "", "POST", path, url.Values{"List-Unsubscribe": {"One-Click"}}), 200, []string{"This was a test message"}, nil)
	if n, _ := s.env.DB.Store().CountSuppressions(ctx, store.SuppressionFilter{Everyone: true}); n != 0 {
		t.Errorf("a test link suppressed %d addresses", n)
	}
}

// TestUnsubscribeGuessingIsThrottled: a client that tries links that do not
// open is refused after 20 (429 with Retry-After), while a valid link
// from another address still works.
func TestUnsubscribeGuessingIsThrottled(t *testing.T) {
	s := newSite(t, storetest.NewURL(t, "sqlite"))
	status := 0
	for i := range 21 {
		r := httptest.NewRequest("GET", "/u/"+strings.Repeat("A", 42)+string(rune('a'+i%26)), nil)
		r.RemoteAddr = "198.51.100.7:1234"
		w := httptest.NewRecorder()
		s.h.ServeHTTP(w, r)
		status = w.Code
		if i < 20 && status != 404 {
			t.Fatalf("guess %d: %d, want 404", i+1, status)
		}
	}
	if status != http.StatusTooManyRequests {
		t.Errorf("the 21st guess: %d, want 429", status)
	}
	test := s.env.App.Links.Keys.Token(unsubscribe.Target{ID: 1, Test: true, Lang: "en"})
	check(t, "another client", s.do(t, "", "GET", "/u/"+test, nil), 200, []string{"This was a test message"}, nil)
}
