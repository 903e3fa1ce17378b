package web_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"simplesender/internal/app"
	"simplesender/internal/app/apptest"
	"simplesender/internal/auth"
	"simplesender/internal/store/storetest"
	"simplesender/internal/web"
)

// from sends a request as an anonymous client at address ip, with cookies.
func (s *site) from(t *testing.T, ip, method, path string, form url.Values, cookies []*http.Cookie, hdr ...string) resp {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, path, body)
	r.RemoteAddr = ip + ":5555"
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	for _, c := range cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, r)
	return resp{w.Code, w.Body.String(), w.Header()}
}

// cookie returns the cookie name set by r, or nil.
func (r resp) cookie(name string) *http.Cookie {
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// hashCounter counts, through the Hasher's trace hook, the password
// computations running at once and in all.
type hashCounter struct {
	running, peak, total atomic.Int64
}

func (c *hashCounter) trace(d int) {
	n := c.running.Add(int64(d))
	if d > 0 {
		c.total.Add(1)
		for p := c.peak.Load(); n > p && !c.peak.CompareAndSwap(p, n); p = c.peak.Load() {
		}
	}
}

func (c *hashCounter) reset() {
	c.peak.Store(0)
	c.total.Store(0)
}

// TestLoginFloodThrottledBeforeHashing floods the login form from one client
// with malformed addresses and empty passwords (which once skipped the
// throttle but still hashed), and from many clients with wrong passwords.
func TestLoginFloodThrottledBeforeHashing(t *testing.T) {
	const bound = 2
	var hc hashCounter
	h := auth.NewHasher(bound, time.Minute)
	h.Trace = hc.trace
	s := newSiteOpts(t, storetest.NewURL(t, "sqlite"), web.Config{}, apptest.Options{Deps: func(d *app.Deps) { d.Hasher = h }})
	hc.reset()

	// One client, 40 attempts at once, none with anything to compare.
	codes := parallel(40, func(i int) resp {
		form := url.Values{"email": {fmt.Sprintf("flood%d@@example.com", i)}, "password": {"whatever"}}
		if i%2 == 1 {
			form = url.Values{"email": {fmt.Sprintf("flood%d@example.com", i)}, "password": {""}}
		}
		return s.from(t, "198.51.100.7", "POST", "/login", form, nil)
	})
	if codes[http.StatusTooManyRequests] != 10 || codes[http.StatusUnauthorized] != 30 {
		t.Errorf("40 bad logins from one client: %v, want 30 × 401 and 10 × 429 (30 failures per client)", codes)
	}
	// The client's limit, not the account's: the right password of an
	// account it never tried is refused too.
	r := s.from(t, "198.51.100.7", "POST", "/login", url.Values{"email": {"other@example.com"}, "password": {apptest.Password}}, nil)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
		t.Errorf("the flooding client's next login: %d (Retry-After %q), want 429", r.status, r.header.Get("Retry-After"))
	}
	if n := hc.total.Load(); n != 0 {
		t.Errorf("%d password computations for logins that had nothing to compare", n)
	}

	// Many clients, wrong passwords for addresses without an account: each
	// costs one (dummy) computation, never more than the bound at once.
	codes = parallel(24, func(i int) resp {
		return s.from(t, fmt.Sprintf("203.0.113.%d", i+1), "POST", "/login",
			url.Values{"email": {fmt.Sprintf("nobody%d@example.com", i)}, "password": {"guess-" + strconv.Itoa(i)}}, nil)
	})
	if codes[http.StatusUnauthorized] != 24 {
		t.Errorf("24 wrong logins from 24 clients: %v, want 24 × 401", codes)
	}
	if n := hc.total.Load(); n != 24 {
		t.Errorf("%d password computations, want 24 (one per wrong password)", n)
	}
	if p := hc.peak.Load(); p > bound {
		t.Errorf("%d password computations ran at once, want at most %d", p, bound)
	}
}

// parallel runs f(0..n-1) at once and counts the answers by status.
func parallel(n int, f func(i int) resp) map[int]int {
	var (
		mu    sync.Mutex
		codes = map[int]int{}
		wg    sync.WaitGroup
		start = make(chan struct{})
	)
	for i := range n {
		wg.Go(func() {
			<-start
			r := f(i)
			mu.Lock()
			codes[r.status]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	return codes
}

// TestOwnerWithDeviceCookieLogsInWhileGuesserIsLockedOut: guessers from
// many addresses lock the account for clients it does not know, with 429,
// while the owner's browser, known from an earlier login, logs in.
func TestOwnerWithDeviceCookieLogsInWhileGuesserIsLockedOut(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := newSite(t, dbURL)
		login := func(ip, password string, cookies ...*http.Cookie) resp {
			return s.from(t, ip, "POST", "/login", url.Values{"email": {"other@example.com"}, "password": {password}}, cookies)
		}
		// The owner logged in from this browser once: it keeps a device cookie.
		first := login("192.0.2.50", apptest.Password)
		device := first.cookie("ss_device")
		if first.status != http.StatusSeeOther || device == nil || !device.HttpOnly || device.Path != "/login" || device.MaxAge < 30*24*3600 {
			t.Fatalf("first login: %d, device cookie %+v", first.status, device)
		}
		// Guessers, one wrong password each from ten addresses: the account
		// is now locked for everyone it does not know.
		for i := range 10 {
			if r := login(fmt.Sprintf("198.51.100.%d", i+1), "guess-"+strconv.Itoa(i)); r.status != http.StatusUnauthorized {
				t.Fatalf("guess %d: %d, want 401", i+1, r.status)
			}
		}
		for _, c := range []struct {
			name    string
			ip      string
			cookies []*http.Cookie
		}{
			{"a new guesser", "198.51.100.99", nil},
			{"a guesser with a forged device cookie", "198.51.100.98", []*http.Cookie{{Name: "ss_device", Value: device.Value + "x"}}},
			{"a guesser with a device cookie of another account", "198.51.100.97", []*http.Cookie{s.deviceCookieOf(t, "active@example.com")}},
		} {
			r := login(c.ip, "guess-again")
			if c.cookies != nil {
				r = login(c.ip, "guess-again", c.cookies...)
			}
			if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" || !strings.Contains(r.body, "Too many attempts") {
				t.Errorf("%s: %d (Retry-After %q), want 429", c.name, r.status, r.header.Get("Retry-After"))
			}
		}
		// Even the right password is refused to an unknown browser...
		if r := login("192.0.2.77", apptest.Password); r.status != http.StatusTooManyRequests {
			t.Errorf("right password from an unknown browser of a locked account: %d, want 429", r.status)
		}
		// ...but the owner's browser, from anywhere, logs in.
		r := login("203.0.113.200", apptest.Password, device)
		if r.status != http.StatusSeeOther || r.cookie("ss_session") == nil {
			t.Fatalf("the owner with the device cookie: %d, want 303 with a session\n%s", r.status, r.body)
		}
		if home := s.from(t, "203.0.113.200", "GET", "/", nil, []*http.Cookie{r.cookie("ss_session")}); !strings.Contains(home.body, "Hello, Test other!") {
			t.Error("the owner's new session does not work")
		}
		// A wrong password from the known browser still fails, and counts for
		// that browser only.
		if r := login("203.0.113.200", "typo", r.cookie("ss_device")); r.status != http.StatusUnauthorized {
			t.Errorf("a typo from the owner's browser: %d, want 401", r.status)
		}
	})
}

// deviceCookieOf logs in the account email from a fresh client and returns
// the device cookie it got.
func (s *site) deviceCookieOf(t *testing.T, email string) *http.Cookie {
	t.Helper()
	r := s.from(t, "192.0.2.201", "POST", "/login", url.Values{"email": {email}, "password": {apptest.Password}}, nil)
	if c := r.cookie("ss_device"); c != nil {
		return c
	}
	t.Fatalf("login of %s: %d, no device cookie", email, r.status)
	return nil
}

// TestRateLimitMessagesInWords: a throttled page says how long to wait in
// the user's language, with the right Russian plural; Retry-After keeps
// seconds.
func TestRateLimitMessagesInWords(t *testing.T) {
	s := newSite(t, storetest.NewURL(t, "sqlite"))
	var last resp
	for range 6 { // five failures per (account, client) are allowed
		last = s.do(t, "", "POST", "/login", url.Values{"email": {"other@example.com"}, "password": {"wrong-password"}})
	}
	if last.status != http.StatusTooManyRequests {
		t.Fatalf("6th wrong password from one client: %d, want 429", last.status)
	}
	secs, err := strconv.Atoi(last.header.Get("Retry-After"))
	if err != nil || secs < 14*60 || secs > 15*60 {
		t.Errorf("Retry-After %q, want seconds within 15 minutes", last.header.Get("Retry-After"))
	}
	check(t, "en", last, 429, []string{"Too many attempts. Try again in 15 minutes."}, []string{strconv.Itoa(secs), " s."})
	ru := s.do(t, "", "POST", "/login", url.Values{"email": {"other@example.com"}, "password": {"wrong-password"}}, "Accept-Language", "ru")
	check(t, "ru", ru, 429, []string{"Слишком много попыток. Попробуйте через 15 минут."}, []string{" с."})
	// Another rule, another wait: the hour of registrations from one client.
	for i := range 11 {
		last = s.do(t, "", "POST", "/register", url.Values{"email": {fmt.Sprintf("n%d@example.org", i)}, "name": {"N"},
			"password": {"purple-kettle-42"}, "password2": {"purple-kettle-42"}}, "Accept-Language", "ru")
	}
	if !regexp.MustCompile(`Попробуйте через (1 час|(59|60) минут)\.`).MatchString(last.body) {
		t.Errorf("11th registration in an hour: %d, no wait in words:\n%s", last.status, last.body)
	}
}

// TestCurrentPasswordIsThrottled: guessing the current password on the
// password page is throttled per account and per client.
func TestCurrentPasswordIsThrottled(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := newSite(t, dbURL)
		change := func(who, current string) resp {
			return s.do(t, who, "POST", "/profile/password", url.Values{"current": {current}, "password": {"brand-new-secret-9"}, "password2": {"brand-new-secret-9"}})
		}
		for i := range 5 {
			if r := change("active", "guess-"+strconv.Itoa(i)); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "The current password is wrong.") {
				t.Fatalf("wrong current password %d: %d, want 422", i+1, r.status)
			}
		}
		r := change("active", "guess-5")
		check(t, "6th wrong current password", r, 429, []string{"Too many attempts. Try again in 15 minutes."}, nil)
		if r := change("active", apptest.Password); r.status != http.StatusTooManyRequests {
			t.Errorf("the right password while the account is throttled: %d, want 429", r.status)
		}
		// Per client: the seven attempts so far (refused ones count for the
		// client too) and three guesses against another account from the
		// same address fill the client's ten.
		for i := range 3 {
			if r := change("other", "guess-"+strconv.Itoa(i)); r.status != http.StatusUnprocessableEntity {
				t.Fatalf("other's wrong current password %d: %d, want 422", i+1, r.status)
			}
		}
		if r := change("manager", "guess"); r.status != http.StatusTooManyRequests {
			t.Errorf("a third account's first guess from a client with ten failures: %d, want 429", r.status)
		}
		// The password is unchanged, and a right one from another client works.
		if _, _, err := s.env.App.Login(t.Context(), "active@example.com", apptest.Password, "10.9.9.9", ""); err != nil {
			t.Errorf("the password changed under throttling: %v", err)
		}
	})
}

// TestAccountEmailsCarryNoUnconfirmedText: the name typed at registration
// reaches no e-mail (body or To header) until the address is confirmed, so
// the form cannot mail anybody a text of a stranger's choosing; the
// confirmation resend and a password reset of the pending account neither.
func TestAccountEmailsCarryNoUnconfirmedText(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := newSite(t, dbURL)
		const victim, bait = "victim@example.org", "Claim your prize at evil.example now"
		form := url.Values{"email": {victim}, "name": {bait}, "password": {"purple-kettle-42"}, "password2": {"purple-kettle-42"}}
		if r := s.do(t, "", "POST", "/register", form); r.status != 200 {
			t.Fatalf("register: %d", r.status)
		}
		s.env.WaitEmail(t, victim, 1)
		if r := s.from(t, "192.0.2.31", "POST", "/confirm/resend", url.Values{"email": {victim}}, nil); r.status != 200 {
			t.Fatalf("resend: %d", r.status)
		}
		s.env.WaitEmail(t, victim, 2)
		if r := s.from(t, "192.0.2.32", "POST", "/password/forgot", url.Values{"email": {victim}}, nil); r.status != 200 {
			t.Fatalf("forgot: %d", r.status)
		}
		s.env.WaitEmail(t, victim, 3)
		for _, m := range s.env.Emails(t, victim) {
			raw, err := os.ReadFile(m.Path)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(raw), "evil.example") || strings.Contains(string(raw), "prize") {
				t.Errorf("e-mail %q to the unconfirmed address carries the registration's text:\n%s", m.Subject, raw)
			}
		}
		// Once the address is confirmed, its owner's own name is theirs to see.
		token := apptest.LinkToken(t, s.env.Emails(t, victim)[1].Body, "/confirm")
		if r := s.do(t, "", "POST", "/confirm", url.Values{"token": {token}}); r.status != 303 {
			t.Fatalf("confirm: %d", r.status)
		}
		s.from(t, "192.0.2.33", "POST", "/password/forgot", url.Values{"email": {victim}}, nil)
		if m := s.env.WaitEmail(t, victim, 4); !strings.HasPrefix(m.Body, "Hello, "+bait+"!") {
			t.Errorf("reset e-mail of a confirmed account does not greet by name:\n%s", m.Body)
		}
	})
}
