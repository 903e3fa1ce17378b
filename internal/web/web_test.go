package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"simplesender/internal/app"
	"strings"
	"testing"

	"simplesender"
	"simplesender/internal/app/apptest"
	"simplesender/internal/store/storetest"
	"simplesender/internal/web"
)

// site is the web UI over a fresh database with a few users.
type site struct {
	env     *apptest.Env
	h       http.Handler
	cookies map[string]string // who -> session cookie value
	ids     map[string]int64
	seq     int // makes seeded addresses unique
}

func newSite(t *testing.T, url string) *site {
	t.Helper()
	return newSiteWith(t, url, web.Config{})
}

// newSiteWith is newSite with the UI's configuration cfg (and the app's
// options, when given).
func newSiteWith(t *testing.T, url string, cfg web.Config, opts ...apptest.Options) *site {
	t.Helper()
	o := apptest.Options{}
	if len(opts) > 0 {
		o = opts[0]
	}
	return newSiteOpts(t, url, cfg, o)
}

// newSiteOpts is newSite with the UI's configuration cfg and the app's
// options opts.
func newSiteOpts(t testing.TB, url string, cfg web.Config, opts apptest.Options) *site {
	t.Helper()
	env := apptest.New(t, url, opts)
	ui, err := web.New(env.App, env.Bundle, slog.New(slog.DiscardHandler), cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := &site{env: env, h: ui.Handler(), cookies: map[string]string{}, ids: map[string]int64{}}
	ctx := context.Background()
	for _, who := range []struct {
		name   string
		role   simplesender.Role
		status simplesender.Status
	}{
		{"active", simplesender.RoleUser, simplesender.StatusActive},
		{"other", simplesender.RoleUser, simplesender.StatusActive},
		{"pending", simplesender.RoleUser, simplesender.StatusPending},
		{"blocked", simplesender.RoleUser, simplesender.StatusActive},
		{"manager", simplesender.RoleManager, simplesender.StatusActive},
		{"manager2", simplesender.RoleManager, simplesender.StatusActive},
		{"admin", simplesender.RoleAdmin, simplesender.StatusActive},
	} {
		u := env.User(t, who.name+"@example.com", who.role, who.status)
		s.ids[who.name] = u.ID
		if who.status == simplesender.StatusActive {
			raw, _, err := env.App.Login(ctx, u.Email, apptest.Password, "10.0.0."+who.name[:1], "test")
			if err != nil {
				t.Fatalf("log in %s: %v", who.name, err)
			}
			s.cookies[who.name] = raw
		}
	}
	// "blocked" logged in while active; blocking must end that session.
	if _, err := env.App.SetBlocked(ctx, app.System, s.ids["blocked"], true); err != nil {
		t.Fatal(err)
	}
	return s
}

type resp struct {
	status int
	body   string
	header http.Header
}

// do sends a request as who ("" = anonymous); form bodies are url-encoded.
func (s *site) do(t *testing.T, who, method, path string, form url.Values, hdr ...string) resp {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, path, body)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return s.send(who, r, hdr...)
}

// send serves r as who ("" = anonymous) from 192.0.2.10, with the header
// fields of hdr (name, value, ...) set.
func (s *site) send(who string, r *http.Request, hdr ...string) resp {
	r.RemoteAddr = "192.0.2.10:1234"
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	if c := s.cookies[who]; c != "" {
		r.AddCookie(&http.Cookie{Name: "ss_session", Value: c})
	}
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, r)
	return resp{w.Code, w.Body.String(), w.Header()}
}

func TestRoutesByRole(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := newSite(t, dbURL)
		id := func(who string) string { return itoa(s.ids[who]) }
		cases := []struct {
			who, method, path string
			form              url.Values
			status            int
			want, notWant     []string
		}{
			{"", "GET", "/", nil, 200, []string{"Log in", "Sign up"}, []string{"Log out"}},
			{"active", "GET", "/", nil, 200, []string{"Hello, Test active!", "Log out"}, []string{">Users<"}},
			{"manager", "GET", "/", nil, 200, []string{">Users<"}, nil},
			{"blocked", "GET", "/", nil, 200, []string{"Log in"}, []string{"Log out", "Hello"}},
			{"", "GET", "/register", nil, 200, []string{`name="password2"`}, nil},
			{"", "GET", "/login", nil, 200, []string{`name="password"`}, nil},
			{"", "GET", "/password/forgot", nil, 200, []string{`name="email"`}, nil},
			{"", "GET", "/confirm/resend", nil, 200, []string{`name="email"`}, nil},
			{"", "GET", "/confirm?token=abc", nil, 404, []string{"invalid, already used or expired", `href="/confirm/resend"`}, []string{`value="abc"`}},
			{"", "GET", "/password/reset?token=abc", nil, 404, []string{"invalid, already used or expired", `href="/password/forgot"`}, []string{`value="abc"`, `name="password"`}},
			{"", "GET", "/profile", nil, 303, nil, nil},
			{"blocked", "GET", "/profile", nil, 303, nil, nil},
			{"active", "GET", "/profile", nil, 200, []string{"active@example.com"}, nil},
			{"", "GET", "/tokens", nil, 303, nil, nil},
			{"active", "GET", "/tokens", nil, 200, []string{"You have no tokens yet."}, nil},
			{"", "GET", "/users", nil, 303, nil, nil},
			{"active", "GET", "/users", nil, 403, []string{"not allowed"}, []string{"other@example.com"}},
			{"manager", "GET", "/users", nil, 200, []string{"other@example.com", "admin@example.com", "Blocked"}, nil},
			{"admin", "GET", "/users?status=blocked", nil, 200, []string{"blocked@example.com"}, []string{"other@example.com"}},
			{"manager", "GET", "/users?q=PENDING", nil, 200, []string{"pending@example.com"}, []string{"other@example.com"}},
			{"active", "GET", "/users/" + id("other"), nil, 404, nil, []string{"other@example.com"}},
			{"manager", "GET", "/users/" + id("other"), nil, 200, []string{"other@example.com", "Block"}, nil},
			{"manager", "GET", "/users/" + id("admin"), nil, 200, []string{"admin@example.com"}, []string{`/users/` + id("admin") + `/block`}},
			{"manager", "GET", "/users/999999", nil, 404, nil, nil},
			{"active", "POST", "/users/" + id("other") + "/block", url.Values{}, 404, nil, nil},
			{"", "POST", "/users/" + id("other") + "/block", url.Values{}, 401, nil, nil},
			{"manager", "POST", "/users/" + id("manager2") + "/block", url.Values{}, 403, nil, nil},
			{"manager", "POST", "/users/" + id("admin") + "/block", url.Values{}, 403, nil, nil},
			{"manager", "POST", "/users/" + id("other") + "/role", url.Values{"role": {"admin"}}, 403, nil, nil},
			{"admin", "POST", "/users/" + id("admin") + "/role", url.Values{"role": {"user"}}, 403, []string{"own role"}, nil},
			{"", "GET", "/no/such/page", nil, 404, []string{"Not found."}, nil},
			{"", "DELETE", "/login", nil, 405, []string{"not allowed here"}, nil},
			{"", "GET", "/static/app.css", nil, 404, nil, nil},
		}
		for _, c := range cases {
			r := s.do(t, c.who, c.method, c.path, c.form)
			if r.status != c.status {
				t.Errorf("%s %s as %q: status %d, want %d", c.method, c.path, c.who, r.status, c.status)
			}
			for _, w := range c.want {
				if !strings.Contains(r.body, w) {
					t.Errorf("%s %s as %q: body lacks %q", c.method, c.path, c.who, w)
				}
			}
			for _, w := range c.notWant {
				if strings.Contains(r.body, w) {
					t.Errorf("%s %s as %q: body has %q", c.method, c.path, c.who, w)
				}
			}
		}
	})
}

func itoa(n int64) string { return strconvI(n) }

func TestManagerBlocksUserAndSessionEnds(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := newSite(t, dbURL)
		if r := s.do(t, "other", "GET", "/profile", nil); r.status != 200 {
			t.Fatalf("before block: %d", r.status)
		}
		r := s.do(t, "manager", "POST", "/users/"+itoa(s.ids["other"])+"/block", url.Values{})
		if r.status != 303 {
			t.Fatalf("block: %d %s", r.status, r.body)
		}
		if r := s.do(t, "other", "GET", "/profile", nil); r.status != 303 || !strings.HasPrefix(r.header.Get("Location"), "/login") {
			t.Fatalf("blocked user's session still works: %d", r.status)
		}
		page := s.do(t, "manager", "GET", "/users/"+itoa(s.ids["other"]), nil)
		if !strings.Contains(page.body, "manager@example.com") || !strings.Contains(page.body, "blocked") {
			t.Errorf("the block is not recorded with who did it:\n%s", page.body)
		}
		// Logging in again is refused with a clear message, even with the right password.
		lr := s.do(t, "", "POST", "/login", url.Values{"email": {"other@example.com"}, "password": {apptest.Password}})
		if lr.status != 401 || !strings.Contains(lr.body, "blocked") {
			t.Fatalf("blocked login: %d", lr.status)
		}
	})
}

func TestRegisterConfirmLoginFlow(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := newSite(t, dbURL)
		form := url.Values{"email": {"New.User@Example.com"}, "name": {"Анна <b>"}, "password": {"purple-kettle-42"}, "password2": {"purple-kettle-42"}}
		r := s.do(t, "", "POST", "/register", form, "Accept-Language", "ru-RU,ru;q=0.9")
		if r.status != 200 || !strings.Contains(r.body, "Проверьте почту") {
			t.Fatalf("register: %d\n%s", r.status, r.body)
		}
		mail := s.env.WaitEmail(t, "new.user@example.com", 1)
		if !strings.Contains(mail.Subject, "Подтвердите") || !strings.HasPrefix(mail.Body, "Здравствуйте!") || strings.Contains(mail.Body, "Анна") {
			t.Fatalf("confirmation e-mail not in Russian, or has the unconfirmed name: %q\n%s", mail.Subject, mail.Body)
		}
		token := apptest.LinkToken(t, mail.Body, "/confirm")
		// Before confirming, logging in says to confirm first.
		lr := s.do(t, "", "POST", "/login", url.Values{"email": {"new.user@example.com"}, "password": {"purple-kettle-42"}})
		if lr.status != 401 || !strings.Contains(lr.body, "Confirm your e-mail address first") {
			t.Fatalf("pending login: %d", lr.status)
		}
		if r := s.do(t, "", "POST", "/confirm", url.Values{"token": {token}}); r.status != 303 {
			t.Fatalf("confirm: %d %s", r.status, r.body)
		}
		if r := s.do(t, "", "POST", "/confirm", url.Values{"token": {token}}); r.status != 422 || !strings.Contains(r.body, "invalid, used or expired") {
			t.Fatalf("second confirm with the same token: %d", r.status)
		}
		lr = s.do(t, "", "POST", "/login", url.Values{"email": {"NEW.USER@example.com"}, "password": {"purple-kettle-42"}, "next": {"/tokens"}})
		if lr.status != 303 || lr.header.Get("Location") != "/tokens" {
			t.Fatalf("login: %d to %q", lr.status, lr.header.Get("Location"))
		}
		var session string
		for _, c := range (&http.Response{Header: lr.header}).Cookies() {
			if c.Name == "ss_session" {
				session = c.Value
				if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
					t.Errorf("session cookie flags: %+v", c)
				}
			}
		}
		s.cookies["new"] = session
		home := s.do(t, "new", "GET", "/", nil)
		if !strings.Contains(home.body, "Здравствуйте, Анна &lt;b&gt;!") {
			t.Fatalf("home after login is not Russian or the name is not escaped:\n%s", home.body)
		}
	})
}

func TestRegisterExistingAddressLooksTheSame(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := newSite(t, dbURL)
		form := func(email string) url.Values {
			return url.Values{"email": {email}, "name": {"X"}, "password": {"purple-kettle-42"}, "password2": {"purple-kettle-42"}}
		}
		a := s.do(t, "", "POST", "/register", form("fresh@example.com"))
		b := s.do(t, "", "POST", "/register", form("other@example.com"))
		if a.status != b.status || a.body != b.body {
			t.Fatalf("answers differ for a new (%d) and an existing (%d) address", a.status, b.status)
		}
		m := s.env.WaitEmail(t, "other@example.com", 1)
		if !strings.Contains(m.Subject, "tried to sign up") {
			t.Fatalf("owner got %q", m.Subject)
		}
	})
}

func TestFormErrorsAreTranslatedAndKeepInput(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := newSite(t, dbURL)
		r := s.do(t, "", "POST", "/register", url.Values{"email": {"a@b.c, d@e.f"}, "name": {"Иван"}, "password": {"12345678"}, "password2": {"12345678"}}, "Accept-Language", "ru")
		if r.status != 422 {
			t.Fatalf("status %d", r.status)
		}
		for _, want := range []string{"Введите один правильный адрес", "только из цифр", `value="Иван"`} {
			if !strings.Contains(r.body, want) {
				t.Errorf("body lacks %q", want)
			}
		}
		if strings.Contains(r.body, "12345678") {
			t.Error("the password was echoed back into the page")
		}
	})
}

func TestCrossSitePostRefused(t *testing.T) {
	t.Parallel()
	s := newSite(t, storetest.NewURL(t, "sqlite"))
	r := s.do(t, "active", "POST", "/tokens", url.Values{"name": {"x"}}, "Sec-Fetch-Site", "cross-site")
	if r.status != 403 || !strings.Contains(r.body, "another site") {
		t.Fatalf("cross-site POST: %d", r.status)
	}
	if r := s.do(t, "active", "POST", "/tokens", url.Values{"name": {"x"}}, "Sec-Fetch-Site", "same-origin"); r.status != 200 {
		t.Fatalf("same-origin POST: %d", r.status)
	}
}

func TestTokensShownOnceAndRevoked(t *testing.T) {
	t.Parallel()
	s := newSite(t, storetest.NewURL(t, "sqlite"))
	r := s.do(t, "active", "POST", "/tokens", url.Values{"name": {"deploy <script>"}})
	m := regexp.MustCompile(`<code class="token" id="new-token">(ss_[A-Za-z0-9_-]+)</code>`).FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("new token not shown:\n%s", r.body)
	}
	if strings.Contains(r.body, "deploy <script>") || !strings.Contains(r.body, "deploy &lt;script&gt;") {
		t.Error("token name not escaped")
	}
	if u, err := s.env.App.TokenUser(context.Background(), m[1]); err != nil || u.ID != s.ids["active"] {
		t.Fatalf("token does not authenticate: %v", err)
	}
	list := s.do(t, "active", "GET", "/tokens", nil)
	if strings.Contains(list.body, m[1]) {
		t.Fatal("the token is shown again on the list")
	}
	tokID := regexp.MustCompile(`/tokens/(\d+)/delete`).FindStringSubmatch(list.body)
	if tokID == nil {
		t.Fatal("no revoke button")
	}
	if r := s.do(t, "other", "POST", "/tokens/"+tokID[1]+"/delete", url.Values{}); r.status != 404 {
		t.Fatalf("another user revoked the token: %d", r.status)
	}
	if r := s.do(t, "active", "POST", "/tokens/"+tokID[1]+"/delete", url.Values{}); r.status != 303 {
		t.Fatalf("revoke: %d", r.status)
	}
	if _, err := s.env.App.TokenUser(context.Background(), m[1]); err == nil {
		t.Fatal("revoked token still works")
	}
}

func TestLanguageSwitch(t *testing.T) {
	t.Parallel()
	s := newSite(t, storetest.NewURL(t, "sqlite"))
	r := s.do(t, "", "POST", "/lang", url.Values{"lang": {"ru"}, "next": {"//evil.example/"}})
	if r.status != 303 || r.header.Get("Location") != "/" {
		t.Fatalf("switch: %d to %q (an outside next must not be followed)", r.status, r.header.Get("Location"))
	}
	var lang string
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == "ss_lang" {
			lang = c.Value
		}
	}
	req := httptest.NewRequest("GET", "/login", nil)
	req.AddCookie(&http.Cookie{Name: "ss_lang", Value: lang})
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, req)
	if !strings.Contains(w.Body.String(), "Вход") {
		t.Fatal("the switch did not change the language")
	}
	// A logged-in user's choice is saved in the profile.
	s.do(t, "active", "POST", "/lang", url.Values{"lang": {"ru"}})
	if u, _ := s.env.DB.Store().UserByID(context.Background(), s.ids["active"]); u.Lang != "ru" {
		t.Fatalf("user's language = %q", u.Lang)
	}
}

func TestLoginThrottled(t *testing.T) {
	t.Parallel()
	s := newSite(t, storetest.NewURL(t, "sqlite"))
	var last resp
	for range 12 {
		last = s.do(t, "", "POST", "/login", url.Values{"email": {"other@example.com"}, "password": {"wrong-password"}})
	}
	if last.status != 429 || last.header.Get("Retry-After") == "" || !strings.Contains(last.body, "Too many attempts") {
		t.Fatalf("12th wrong password: %d, Retry-After %q", last.status, last.header.Get("Retry-After"))
	}
}

func TestForgedFlashIsIgnored(t *testing.T) {
	t.Parallel()
	s := newSite(t, storetest.NewURL(t, "sqlite"))
	// A real flash, as set by a redirect, is shown.
	lo := s.do(t, "", "POST", "/logout", url.Values{})
	var flashVal string
	for _, c := range (&http.Response{Header: lo.header}).Cookies() {
		if c.Name == "ss_flash" {
			flashVal = c.Value
		}
	}
	show := func(v string) string {
		req := httptest.NewRequest("GET", "/", nil)
		req.AddCookie(&http.Cookie{Name: "ss_flash", Value: v})
		w := httptest.NewRecorder()
		s.h.ServeHTTP(w, req)
		return w.Body.String()
	}
	if !strings.Contains(show(flashVal), "You are logged out.") {
		t.Fatal("a genuine flash is not shown")
	}
	if strings.Contains(show("success:flash.password_changed"), "Your password is changed") {
		t.Fatal("an unsigned flash cookie was shown")
	}
}
