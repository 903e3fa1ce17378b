package web_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"simplesender"

	"simplesender/internal/app"
	"simplesender/internal/store"
	"simplesender/internal/store/storetest"
)

func mailingFilter() store.MailingFilter { return store.MailingFilter{} }

func mailingInput(o objs, more ...int64) app.MailingInput {
	return app.MailingInput{Name: "active news", MessageID: o.M, RecipientIDs: append([]int64{o.R}, more...)}
}

// TestRecipientsCRUD goes through the recipient pages as their owner.
func TestRecipientsCRUD(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := newSite(t, dbURL)
		r := s.do(t, "active", "POST", "/recipients", url.Values{"email": {"Ivan@Example.org"}, "last_name": {"Петров"},
			"first_name": {"<script>x</script>"}, "middle_name": {"Сергеевич"}, "comment": {"line one\nline two"}})
		page := s.follow(t, "active", r)
		check(t, "created", page, 200, []string{"Recipient added.", "Ivan@example.org", "&lt;script&gt;x&lt;/script&gt;", "Сергеевич", "line one\nline two"},
			[]string{"<script>x"})
		self := r.header.Get("Location")
		check(t, "list", s.do(t, "active", "GET", "/recipients", nil), 200, []string{"&lt;script&gt;x&lt;/script&gt; Сергеевич Петров", "1 recipient"}, []string{"<script>x"})
		// Errors keep the input and are translated.
		bad := s.do(t, "active", "POST", "/recipients", url.Values{"email": {"a@b.c\r\nBcc: x@y.z"}, "first_name": {"Oleg"}}, "Accept-Language", "ru")
		check(t, "bad address", bad, 422, []string{"Введите один правильный адрес", `value="Oleg"`}, nil)
		dup := s.do(t, "active", "POST", "/recipients", url.Values{"email": {"ivan@example.ORG"}})
		check(t, "duplicate", dup, 422, []string{"already have a recipient with this address"}, nil)
		// Edit.
		check(t, "edit form", s.do(t, "active", "GET", self+"/edit", nil), 200, []string{`value="Ivan@example.org"`, "line one\nline two</textarea>"}, nil)
		page = s.follow(t, "active", s.do(t, "active", "POST", self, url.Values{"email": {"ivan@example.org"}, "first_name": {"Иван"}}))
		check(t, "saved", page, 200, []string{"Recipient saved.", "Иван"}, []string{"Сергеевич"})
		check(t, "edit error", s.do(t, "active", "POST", self, url.Values{"email": {""}}), 422, []string{"Enter one valid e-mail address"}, nil)
		// Delete after the confirmation page.
		check(t, "confirm", s.do(t, "active", "GET", self+"/delete", nil, "Accept-Language", "ru"), 200, []string{"Удалить этого получателя?", "Да, удалить"}, nil)
		page = s.follow(t, "active", s.do(t, "active", "POST", self+"/delete", url.Values{}))
		check(t, "deleted", page, 200, []string{"Recipient deleted.", "You have no recipients yet."}, nil)
		check(t, "gone", s.do(t, "active", "GET", self, nil), 404, nil, nil)
	})
}

// TestRecipientsSearchAndPages: 50 a page, the total with its plural, and
// search in addresses and names.
func TestRecipientsSearchAndPages(t *testing.T) {
	t.Parallel()
	s := newSite(t, storetest.NewURL(t, "sqlite"))
	for range 61 {
		s.recipient(t, "active", "Anna")
	}
	s.recipient(t, "active", "Zinaida")
	p1 := s.do(t, "active", "GET", "/recipients", nil)
	check(t, "page 1", p1, 200, []string{"62 recipients", "Page 1 of 2", `href="/recipients?page=2"`, "active-50@example.net"}, []string{"active-51@example.net"})
	p2 := s.do(t, "active", "GET", "/recipients?page=2", nil)
	check(t, "page 2", p2, 200, []string{"active-51@example.net", "active-62@example.net", `href="/recipients"`}, []string{"active-50@example.net<"})
	if n := strings.Count(p2.body, `">active-`); n != 12 {
		t.Errorf("page 2 lists %d recipients, want 12", n)
	}
	check(t, "search", s.do(t, "active", "GET", "/recipients?q=zinA", nil), 200, []string{"1 recipient", "Zinaida"}, []string{"Anna"})
	check(t, "search, Russian plural", s.do(t, "active", "GET", "/recipients?q=anna", nil, "Accept-Language", "ru"), 200, []string{"61 получатель"}, nil)
	check(t, "nobody", s.do(t, "active", "GET", "/recipients?q=nobody", nil), 200, []string{"Nobody found."}, nil)
	check(t, "another user sees none", s.do(t, "other", "GET", "/recipients", nil), 200, []string{"0 recipients"}, []string{"Anna"})
	// Russian plural forms, on another user's growing list.
	have := 0
	for _, c := range []struct {
		n    int
		want string
	}{{1, "1 получатель"}, {3, "3 получателя"}, {5, "5 получателей"}, {22, "22 получателя"}} {
		for ; have < c.n; have++ {
			s.recipient(t, "other", "X")
		}
		check(t, c.want, s.do(t, "other", "GET", "/recipients", nil, "Accept-Language", "ru"), 200, []string{c.want}, nil)
	}
}

// TestMessagesCRUD: placeholders documented on the form, a broken one
// refused when saving, and a message in use not deleted.
func TestMessagesCRUD(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := newSite(t, dbURL)
		form := s.do(t, "active", "GET", "/messages/new", nil, "Accept-Language", "ru")
		check(t, "form", form, 200, []string{"Подстановки", "{{email}}", "{{first_name}}", "{{full_name}}", "{{first_name|друг}}"}, nil)
		bad := s.do(t, "active", "POST", "/messages", url.Values{"subject": {"Hi {{nickname}}"}, "body_text": {"Hello {{first_name"}})
		check(t, "broken placeholder", bad, 422, []string{"Unknown placeholder", `value="Hi {{nickname}}"`}, nil)
		check(t, "empty", s.do(t, "active", "POST", "/messages", url.Values{}), 422, []string{"Enter a subject.", "Enter the text of the message."}, nil)
		// HTML with a script is refused, naming it and its line, and kept in the form.
		bad = s.do(t, "active", "POST", "/messages", url.Values{"subject": {"Hi {{first_name|there}}"}, "body_text": {"Text"},
			"body_html": {"<p>Hi <b>{{first_name}}</b></p>\n<script>parent.alert(1)</script>"}})
		check(t, "script refused", bad, 422, []string{"&lt;script&gt; at line 2 is not allowed in an e-mail",
			"&lt;p&gt;Hi &lt;b&gt;{{first_name}}&lt;/b&gt;&lt;/p&gt;\n&lt;script&gt;parent.alert(1)&lt;/script&gt;</textarea>"}, []string{"<script>parent"})
		r := s.do(t, "active", "POST", "/messages", url.Values{"subject": {"Hi {{first_name|there}}"}, "body_text": {"Text"},
			"body_html": {"<p>Hi <b>{{first_name}}</b> &amp; <i>friends</i></p>"}})
		page := s.follow(t, "active", r)
		self := r.header.Get("Location")
		check(t, "created", page, 200, []string{"Message created.", "Hi {{first_name|there}}", "&lt;i&gt;friends&lt;/i&gt;"}, []string{"<i>friends"})
		page = s.follow(t, "active", s.do(t, "active", "POST", self, url.Values{"subject": {"Changed"}, "body_text": {"New text"}}))
		check(t, "saved", page, 200, []string{"Message saved.", "Changed", "New text"}, []string{"friends"})
		// Used by a mailing: refused on the confirmation page, in the user's language.
		rid := s.recipient(t, "active", "Anna")
		mid := atoi(t, strings.TrimPrefix(self, "/messages/"))
		if _, err := s.env.App.CreateMailing(t.Context(), s.actor(t, "active"), app.MailingInput{MessageID: mid, RecipientIDs: []int64{rid}}); err != nil {
			t.Fatal(err)
		}
		check(t, "in use", s.do(t, "active", "POST", self+"/delete", url.Values{}, "Accept-Language", "ru"), 409,
			[]string{"Это сообщение нельзя удалить", "Рассылка №"}, []string{"Да, удалить"})
		check(t, "still there", s.do(t, "active", "GET", self, nil), 200, nil, nil)
		spare := s.do(t, "active", "POST", "/messages", url.Values{"subject": {"Spare"}, "body_text": {"x"}}).header.Get("Location")
		page = s.follow(t, "active", s.do(t, "active", "POST", spare+"/delete", url.Values{}))
		check(t, "deleted", page, 200, []string{"Message deleted."}, []string{"Spare"})
	})
}

// TestPreviewBlocksRemoteImages: the preview's frame loads no image from
// another site (a tracking pixel would tell its sender who looked) unless the
// viewer switches them on, for the owner and for staff alike; the page offers
// the switch in both languages, and the frame stays sandboxed either way.
func TestPreviewBlocksRemoteImages(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := newSite(t, dbURL)
		o := s.seed(t, "active", "Anna")
		pixel := &simplesender.Message{ID: o.M, Subject: "Hi", BodyText: "Hi",
			BodyHTML: `<p>Hi {{first_name}}</p><img src="https://tracker.example/p.gif?u={{email}}" alt="">`}
		if err := s.env.App.UpdateMessage(t.Context(), s.actor(t, "active"), pixel); err != nil {
			t.Fatal(err)
		}
		const (
			blocked = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; frame-ancestors 'self'"
			allowed = "sandbox; default-src 'none'; img-src 'self' data: https:; style-src 'unsafe-inline'; frame-ancestors 'self'"
		)
		for _, who := range []string{"active", "manager", "admin"} {
			page := s.do(t, who, "GET", o.path("/messages/{M}/preview?recipient={R}"), nil)
			check(t, who+": preview page", page, 200, []string{
				o.path(`src="/messages/{M}/preview.html?recipient={R}"`), `sandbox=""`,
				"Images from other sites are not loaded", o.path(`href="/messages/{M}/preview?recipient={R}&amp;images=1"`), "Show images",
			}, []string{"images=1\" sandbox", "Hide images", "allow-scripts"})
			frame := s.do(t, who, "GET", o.path("/messages/{M}/preview.html?recipient={R}"), nil)
			if got := frame.header.Get("Content-Security-Policy"); frame.status != 200 || got != blocked {
				t.Errorf("%s: frame %d with CSP %q, want %q", who, frame.status, got, blocked)
			}
			if !strings.Contains(frame.body, "https://tracker.example/p.gif") {
				t.Errorf("%s: the author's HTML is rewritten: %s", who, frame.body)
			}

			page = s.do(t, who, "GET", o.path("/messages/{M}/preview?recipient={R}&images=1"), nil)
			check(t, who+": preview page with images", page, 200, []string{
				o.path(`src="/messages/{M}/preview.html?recipient={R}&amp;images=1" sandbox=""`),
				"Images from other sites are shown", o.path(`href="/messages/{M}/preview?recipient={R}"`), "Hide images",
				`<input type="hidden" name="images" value="1">`,
			}, []string{"Show images", "allow-scripts"})
			frame = s.do(t, who, "GET", o.path("/messages/{M}/preview.html?recipient={R}&images=1"), nil)
			if got := frame.header.Get("Content-Security-Policy"); frame.status != 200 || got != allowed {
				t.Errorf("%s: frame with images %d with CSP %q, want %q", who, frame.status, got, allowed)
			}
			if got := frame.header.Get("Referrer-Policy"); got != "no-referrer" {
				t.Errorf("%s: frame Referrer-Policy %q", who, got)
			}
		}
		check(t, "Russian", s.do(t, "active", "GET", o.path("/messages/{M}/preview"), nil, "Accept-Language", "ru"), 200,
			[]string{"Показать изображения", "Изображения с других сайтов не загружаются"}, nil)
		check(t, "Russian with images", s.do(t, "active", "GET", o.path("/messages/{M}/preview?images=1"), nil, "Accept-Language", "ru"), 200,
			[]string{"Скрыть изображения"}, nil)
		check(t, "another's frame with images", s.do(t, "other", "GET", o.path("/messages/{M}/preview.html?images=1"), nil), 404,
			nil, []string{"tracker.example"})
	})
}

// TestPreviewIsSandboxed: the HTML is served by its own route with a
// sandbox policy, so its scripts never run in our origin.
func TestPreviewIsSandboxed(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := newSite(t, dbURL)
		o := s.seed(t, "active", "<b>Anna</b>")
		frame := o.path("/messages/{M}/preview.html?recipient={R}")
		r := s.do(t, "active", "GET", frame, nil)
		if r.status != 200 {
			t.Fatalf("frame: %d", r.status)
		}
		if got := r.header.Get("Content-Security-Policy"); got != "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; frame-ancestors 'self'" {
			t.Errorf("frame CSP = %q", got)
		}
		if r.header.Get("X-Frame-Options") != "SAMEORIGIN" || r.header.Get("X-Content-Type-Options") != "nosniff" ||
			!strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
			t.Errorf("frame headers: %v", r.header)
		}
		// The recipient's name is escaped into the HTML; the author's own markup is kept.
		if !strings.Contains(r.body, "<b>&lt;b&gt;Anna&lt;/b&gt;</b>") || !strings.Contains(r.body, "<script>parent.alert(1)</script>") {
			t.Errorf("frame body: %s", r.body)
		}
		page := s.do(t, "active", "GET", o.path("/messages/{M}/preview?recipient={R}"), nil)
		if !regexp.MustCompile(`<iframe class="preview-frame" src="[^"]+" sandbox="" `).MatchString(page.body) || strings.Contains(page.body, "allow-scripts") {
			t.Errorf("the preview page's frame is not sandboxed:\n%s", page.body)
		}
		if strings.Contains(page.body, "<script>parent") {
			t.Error("the HTML body is inlined into the page")
		}
		check(t, "preview of another user's recipient", s.do(t, "active", "GET", o.path("/messages/{M}/preview?recipient=")+itoa(s.seed(t, "other", "B").R), nil), 404, nil, nil)
		// Plain-text messages have no frame.
		plain := &simplesender.Message{ID: o.M, Subject: "Hello, {{first_name|friend}}", BodyText: "Plain."}
		if err := s.env.App.UpdateMessage(t.Context(), s.actor(t, "active"), plain); err != nil {
			t.Fatal(err)
		}
		check(t, "no HTML", s.do(t, "active", "GET", o.path("/messages/{M}/preview"), nil), 200, []string{"Hello, Иван", "Plain."}, []string{"<iframe"})
		check(t, "no HTML frame", s.do(t, "active", "GET", frame, nil), 404, nil, nil)
	})
}
