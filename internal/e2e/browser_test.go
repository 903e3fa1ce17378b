package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"simplesender/internal/app/apptest"
	"simplesender/internal/config"
	"simplesender/internal/server"
	"simplesender/internal/store/storetest"
)

// stepTimeout bounds one browser step (a page load, a click and the page it
// leads to, a read), so that a missing element fails the test with its name
// instead of hanging until the test binary's deadline.
const stepTimeout = 15 * time.Second

// hangLimit bounds the whole test, its cleanups included. It usually takes
// 5 to 15 s; a service that deadlocks (a transaction waiting on itself, a job
// that never stops) would otherwise hold CI until go test's own -timeout.
const hangLimit = 3 * time.Minute

// password is accepted by the password rules (long, not common, not like the
// address).
const password = "violet harbour lantern 42"

// TestBrowserSignUpConfirmLogInSwitchLanguageCreateToken walks through the
// service as a person does, in a real browser: sign up in English, open the
// confirmation link from the e-mail, confirm, log in, switch to Russian,
// create an API token and use it; then sign up again from a browser that asks
// for Russian and check that the page and the e-mail are Russian.
func TestBrowserSignUpConfirmLogInSwitchLanguageCreateToken(t *testing.T) {
	svc, b := startBrowsing(t)

	// A suffix makes the addresses unique to this run: on a shared Redis the
	// per-address limits of earlier runs are still counting.
	run := randomHex(4)
	ada := "ada-" + run + "@example.com"
	boris := "boris-" + run + "@example.com"

	// ---- English: sign up, confirm, log in.
	b.setAcceptLanguage("en-US,en;q=0.9")
	b.open("/register")
	b.expect("page language", b.lang(), "en")
	b.expect("sign-up heading", b.text("main h1"), "Sign up")
	b.fill(map[string]string{"#f-email": ada, "#f-name": "Ada Lovelace", "#f-password": password, "#f-password2": password})
	b.submit("sign up", `form[action="/register"] button[type=submit]`, "/register")
	b.expect("heading after sign-up", b.text("main h1"), "Check your e-mail")

	mail := svc.waitEmail(t, ada)
	b.expect("confirmation subject", mail.Subject, "Confirm your address for simpleSENDER")
	// The name is free text anybody could type for any address: it stays
	// out of e-mails until the address is confirmed.
	if !strings.HasPrefix(mail.Body, "Hello!") || strings.Contains(mail.Body, "Ada") {
		t.Errorf("confirmation e-mail is not in English, or has the unconfirmed name:\n%s", mail.Body)
	}
	link := svc.confirmLink(t, mail.Body)

	b.openURL(link)
	b.expect("confirm button", b.text(`form[action="/confirm"] button[type=submit]`), "Confirm my address")
	b.submit("confirm", `form[action="/confirm"] button[type=submit]`, "/login")
	b.expect("flash after confirming", b.text(".flash-success"), "Your address is confirmed. You can log in now.")

	b.fill(map[string]string{"#f-email": ada, "#f-password": password})
	b.submit("log in", `form[action="/login"] button[type=submit]`, "/")
	b.expect("home heading", b.text("main h1"), "Hello, Ada Lovelace!")
	b.expect("log-out button", b.text(`form[action="/logout"] button`), "Log out")

	// ---- The navbar's language switch.
	b.submit("switch to Russian", `form.lang-switch button[value="ru"]`, "/")
	b.expect("page language after the switch", b.lang(), "ru")
	b.expect("home heading in Russian", b.text("main h1"), "Здравствуйте, Ada Lovelace!")
	b.expect("log-out button in Russian", b.text(`form[action="/logout"] button`), "Выйти")
	b.screenshot("home-ru-" + svc.Engine + ".png")

	// ---- An API token, shown once on /tokens, works against the JSON API.
	b.open("/tokens")
	b.fill(map[string]string{"#f-name": "e2e " + run})
	b.submit("create token", `form[action="/tokens"] button[type=submit]`, "/tokens")
	token := strings.TrimSpace(b.text("#new-token"))
	if token == "" {
		t.Fatal("the tokens page shows no new token")
	}
	me, status := svc.me(t, token)
	if status != http.StatusOK {
		t.Fatalf("GET /api/v1/me with the new token: status %d, want 200", status)
	}
	b.expect("API e-mail", me.Email, ada)
	b.expect("API name", me.Name, "Ada Lovelace")
	b.expect("API language (saved by the switch)", me.Lang, "ru")
	if _, status := svc.me(t, token+"x"); status != http.StatusUnauthorized {
		t.Errorf("GET /api/v1/me with a wrong token: status %d, want 401", status)
	}

	// ---- A second visitor whose browser asks for Russian, in a fresh browser
	// context (no cookies from Ada's session or language switch).
	r := b.newVisitor()
	r.setAcceptLanguage("ru-RU,ru;q=0.9")
	r.open("/register")
	r.expect("page language", r.lang(), "ru")
	r.expect("sign-up heading", r.text("main h1"), "Регистрация")
	r.expect("sign-up button", r.text(`form[action="/register"] button[type=submit]`), "Создать учётную запись")
	r.fill(map[string]string{"#f-email": boris, "#f-name": "Борис Пастернак", "#f-password": password, "#f-password2": password})
	r.submit("sign up", `form[action="/register"] button[type=submit]`, "/register")
	r.expect("heading after sign-up", r.text("main h1"), "Проверьте почту")

	mail = svc.waitEmail(t, boris)
	r.expect("confirmation subject", mail.Subject, "Подтвердите адрес для simpleSENDER")
	if !strings.HasPrefix(mail.Body, "Здравствуйте!") || !strings.Contains(mail.Body, "откройте ссылку") || strings.Contains(mail.Body, "Борис") {
		t.Errorf("confirmation e-mail is not in Russian, or has the unconfirmed name:\n%s", mail.Body)
	}
	r.openURL(svc.confirmLink(t, mail.Body))
	r.expect("confirm button", r.text(`form[action="/confirm"] button[type=submit]`), "Подтвердить адрес")
	r.submit("confirm", `form[action="/confirm"] button[type=submit]`, "/login")
	r.expect("flash after confirming", r.text(".flash-success"), "Адрес подтверждён. Теперь можно войти.")
}

// ---- the service

// service is the whole application serving on a loopback port.
type service struct {
	URL    string         // base URL, also the configured SIMPLESENDER_BASE_URL
	Outbox string         // where the e-mails are written
	Engine string         // "sqlite" or "postgres"
	client *http.Client   // for the test's own calls, bounded like a browser step
	srv    *server.Server // for setting up accounts and data directly
}

// startBrowsing starts the service and a browser on it (or skips the test
// where no browser is installed, outside CI), under the hang watchdog.
func startBrowsing(t *testing.T) (*service, *browser) {
	t.Helper()
	exe := findBrowser(t)
	watchdog(t, hangLimit)
	svc := startService(t)
	return svc, startBrowser(t, exe, svc.URL)
}

// startService starts the service as the command does, from configuration
// variables: a fresh data directory, SQLite unless SIMPLESENDER_TEST_POSTGRES
// names a server (then a fresh database on it), Redis when
// SIMPLESENDER_TEST_REDIS_URL is set; no SMTP, so e-mails land in the outbox.
// Everything stops when the test ends.
func startService(t *testing.T) *service {
	t.Helper()
	return openService(t, nil, false)
}

// openService is startService with more configuration (extra) and, with
// engine, the delivery engine running.
func openService(t *testing.T, extra map[string]string, engine bool) *service {
	t.Helper()
	env := map[string]string{
		config.EnvDataDir:  t.TempDir(),
		config.EnvLogLevel: "warn",
	}
	svc := &service{Engine: "sqlite", client: &http.Client{Timeout: stepTimeout}}
	if os.Getenv(storetest.EnvPostgres) != "" {
		svc.Engine = "postgres"
		env[config.EnvDatabaseURL] = storetest.NewURL(t, "postgres")
	}
	if u := os.Getenv(storetest.EnvRedis); u != "" {
		env[config.EnvRedisURL] = u
	}
	for k, v := range extra {
		env[k] = v
	}

	// The listener first, so that the base URL in the e-mails' links is the
	// address the browser reaches.
	ts := httptest.NewUnstartedServer(nil)
	addr := ts.Listener.Addr().String()
	svc.URL = "http://" + addr
	env[config.EnvAddr] = addr
	env[config.EnvBaseURL] = svc.URL
	cfg, err := config.Load(func(k string) string { return env[k] }, "")
	if err != nil {
		ts.Listener.Close()
		t.Fatalf("load configuration: %v", err)
	}
	svc.Outbox = cfg.OutboxDir()

	logs := &apptest.LogBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	t.Cleanup(func() {
		if t.Failed() && logs.Len() > 0 {
			t.Logf("service log (warnings and errors):\n%s", logs)
		}
	})
	ctx, stop := context.WithCancel(context.Background())
	srv, err := server.Open(ctx, cfg, log, server.Options{PollInterval: 50 * time.Millisecond})
	if err != nil {
		stop()
		ts.Listener.Close()
		t.Fatalf("open the service (%s): %v", svc.Engine, err)
	}
	t.Cleanup(srv.Close)
	svc.srv = srv
	if err := srv.StartJobs(ctx); err != nil {
		stop()
		ts.Listener.Close()
		t.Fatalf("start the job queue: %v", err)
	}
	engineDone := make(chan error, 1)
	if engine {
		go func() { engineDone <- srv.Engine.Run(ctx) }()
	} else {
		engineDone <- nil
	}
	t.Cleanup(func() {
		stop()
		<-engineDone
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Queue.Stop(sctx); err != nil {
			t.Errorf("stop the job queue: %v", err)
		}
	})
	ts.Config.Handler = fromPeer(randomPeer(), srv.Handler())
	ts.Start()
	t.Cleanup(ts.Close)
	svc.checkHealth(t, env[config.EnvRedisURL] != "")
	return svc
}

// checkHealth asks /healthz which engine the service runs on and whether it
// has Redis, so that a run meant for PostgreSQL and Redis cannot pass on
// SQLite alone.
func (s *service) checkHealth(t *testing.T, withRedis bool) {
	t.Helper()
	resp, err := s.client.Get(s.URL + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz: %v", err)
	}
	defer resp.Body.Close()
	var h struct{ Status, Engine, Redis string }
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatalf("GET /healthz: decode: %v", err)
	}
	want := struct{ Status, Engine, Redis string }{"ok", s.Engine, "off"}
	if withRedis {
		want.Redis = "ok"
	}
	if resp.StatusCode != http.StatusOK || h != want {
		t.Fatalf("GET /healthz: status %d, %+v; want 200, %+v", resp.StatusCode, h, want)
	}
	t.Logf("service at %s on %s, redis %s", s.URL, h.Engine, h.Redis)
}

// fromPeer serves every request as if it came from ip. The service limits
// sign-ups and log-ins per client address; with Redis those counts outlive
// the test, and every run would come from 127.0.0.1, so runs soon after one
// another would be refused. A fresh documentation-range address per run keeps
// each run's counts its own, as separate visitors' are.
func fromPeer(ip string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.RemoteAddr = "[" + ip + "]:40000"
		h.ServeHTTP(w, r)
	})
}

// randomPeer returns a random address in 2001:db8::/32, the range reserved
// for documentation.
func randomPeer() string {
	h := randomHex(8)
	return "2001:db8:" + h[0:4] + ":" + h[4:8] + ":" + h[8:12] + "::" + h[12:16]
}

// waitEmail waits until the outbox holds an e-mail to `to` and returns the
// newest one.
func (s *service) waitEmail(t *testing.T, to string) apptest.Email {
	t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for {
		entries, _ := os.ReadDir(s.Outbox)
		var names []string
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".eml") {
				names = append(names, e.Name())
			}
		}
		// The names sort by time; the newest to `to` wins.
		sort.Sort(sort.Reverse(sort.StringSlice(names)))
		for _, n := range names {
			m, err := apptest.ReadEmail(filepath.Join(s.Outbox, n))
			if err != nil {
				t.Fatalf("outbox file %s: %v", n, err)
			}
			if strings.EqualFold(m.To, to) {
				return m
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no e-mail to %s in the outbox after %s (%d other e-mails there)", to, stepTimeout, len(names))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// confirmLink returns the confirmation link of an e-mail body and checks that
// it points at the service, as the base URL says.
func (s *service) confirmLink(t *testing.T, body string) string {
	t.Helper()
	token := apptest.LinkToken(t, body, "/confirm")
	want := s.URL + "/confirm?token=" + token
	if !strings.Contains(body, want) {
		t.Fatalf("the e-mail's confirmation link does not point at %s/confirm:\n%s", s.URL, body)
	}
	return want
}

// apiUser is the part of GET /api/v1/me the test reads.
type apiUser struct {
	Email string `json:"email"`
	Name  string `json:"name"`
	Lang  string `json:"lang"`
}

// me calls GET /api/v1/me with a bearer token, as a script would.
func (s *service) me(t *testing.T, token string) (apiUser, int) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.URL+"/api/v1/me", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("GET /api/v1/me: %v", err)
	}
	defer resp.Body.Close()
	var u apiUser
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&u); err != nil {
			t.Fatalf("GET /api/v1/me: decode: %v", err)
		}
	}
	return u, resp.StatusCode
}

// ---- the browser

// findBrowser returns the Chromium to use. Without one the test skips, except
// in CI (CI=true), where a missing browser is a failure: CI must not pass
// without having run it.
func findBrowser(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no Chromium found (/usr/bin/chromium or chromium in PATH); CI=true needs it: apt-get install chromium")
	}
	t.Skip("no Chromium found (/usr/bin/chromium or chromium in PATH); apt-get install chromium to run this test")
	return ""
}

// browser is one visitor: a tab in its own browser context (cookies).
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string
}

// startBrowser starts a headless Chromium with a fresh profile, stopped when
// the test ends, and returns its first tab.
func startBrowser(t *testing.T, exe, base string) *browser {
	t.Helper()
	profile := t.TempDir() // removed after the browser has exited (cleanups run last-in first-out)
	out := &apptest.LogBuffer{}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox, // the tests run as root in CI
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		// The machine's network is closed: no calls home (already in the
		// defaults, restated because a hang here costs minutes).
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1280, 900),
		chromedp.UserDataDir(profile),
		chromedp.CombinedOutput(out),
	)
	// The whole browser dies at this deadline whatever happens, so a hang
	// cannot outlive the test by much.
	life, cancelLife := context.WithTimeout(context.Background(), 2*time.Minute)
	actx, cancelAlloc := chromedp.NewExecAllocator(life, opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc() // waits for the browser to exit
		cancelLife()
		if t.Failed() {
			t.Logf("chromium output (last 3 KB):\n%s", tail(out, 3<<10))
		}
	})
	start := time.Now()
	// The first Do starts the browser; its context must not be a step's
	// timeout, or the browser would end with the step.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v\n%s", exe, err, tail(out, 3<<10))
	}
	t.Logf("browser %s started in %s", exe, time.Since(start).Round(time.Millisecond))
	return &browser{t: t, ctx: ctx, base: base}
}

// newVisitor opens a tab in a new browser context of the same browser: a
// second person, with no cookies of the first.
func (b *browser) newVisitor() *browser {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	b.t.Cleanup(cancel)
	// As for the first tab: the first Do binds the tab to its context, so
	// it must not be a step's timeout.
	if err := chromedp.Do(ctx); err != nil {
		b.t.Fatalf("open a tab in a new browser context: %v", err)
	}
	return &browser{t: b.t, ctx: ctx, base: b.base}
}

// setAcceptLanguage makes the tab send this Accept-Language header, as a
// browser set up in that language does.
func (b *browser) setAcceptLanguage(v string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	_, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders,
		network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Accept-Language": v}})
	if err != nil {
		b.t.Fatalf("set Accept-Language %q: %v", v, err)
	}
}

// do runs actions as one step.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v (page %s)", what, err, b.location())
	}
}

// open loads a path of the service and requires a 200.
func (b *browser) open(path string) {
	b.t.Helper()
	b.openURL(b.base + path)
}

// openURL loads a URL and requires a 200.
func (b *browser) openURL(u string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(u))
	if err != nil {
		b.t.Fatalf("open %s: %v", u, err)
	}
	if resp == nil || resp.Status != http.StatusOK {
		b.t.Fatalf("open %s: status %v, want 200\n%s", u, statusOf(resp), b.mainText())
	}
}

// submit clicks a form's button, waits for the page it leads to (after any
// redirect), and requires a 200 at path.
func (b *browser) submit(what, button, path string) {
	b.t.Helper()
	b.click(what, button)
	if got, want := b.location(), b.base+path; got != want {
		b.t.Fatalf("%s: landed on %s, want %s\n%s", what, got, want, b.mainText())
	}
}

// click clicks a button that loads a page, and requires a 200 (after any
// redirect).
func (b *browser) click(what, button string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(button)))
	if err != nil {
		b.t.Fatalf("%s (click %s): %v (page %s)", what, button, err, b.location())
	}
	if resp == nil || resp.Status != http.StatusOK {
		b.t.Fatalf("%s: status %v, want 200 (page %s)\n%s", what, statusOf(resp), b.location(), b.mainText())
	}
}

// fill types into form fields, by CSS selector, in a stable order.
func (b *browser) fill(fields map[string]string) {
	b.t.Helper()
	sels := make([]string, 0, len(fields))
	for sel := range fields {
		sels = append(sels, sel)
	}
	sort.Strings(sels)
	var actions []chromedp.Action[chromedp.Void]
	for _, sel := range sels {
		actions = append(actions, chromedp.SendKeys(chromedp.CSS(sel), fields[sel]))
	}
	b.do("fill "+strings.Join(sels, ", "), actions...)
}

// text returns the visible text of the first element matching a CSS selector,
// waiting for it to appear.
func (b *browser) text(css string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css), chromedp.NodeVisible))
	if err != nil {
		b.t.Fatalf("read %s: %v (page %s)\n%s", css, err, b.location(), b.mainText())
	}
	return strings.TrimSpace(s)
}

// lang returns the page's <html lang>.
func (b *browser) lang() string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string]("document.documentElement.lang"))
	if err != nil {
		b.t.Fatalf("read the page language: %v", err)
	}
	return s
}

// location returns the tab's URL, or a note when it cannot be read.
func (b *browser) location() string {
	ctx, cancel := context.WithTimeout(b.ctx, 3*time.Second)
	defer cancel()
	u, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "(unknown: " + err.Error() + ")"
	}
	return u
}

// mainText returns the page's main text for failure messages.
func (b *browser) mainText() string {
	ctx, cancel := context.WithTimeout(b.ctx, 3*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector("main") || document.body || {innerText: ""}).innerText`))
	if err != nil {
		return "(page text unavailable: " + err.Error() + ")"
	}
	return "page text:\n" + s
}

// expect reports a mismatch of something the visitor sees.
func (b *browser) expect(what, got, want string) {
	b.t.Helper()
	if got != want {
		b.t.Errorf("%s: got %q, want %q (page %s)", what, got, want, b.location())
	}
}

// screenshot saves a PNG of the whole page for a person to look at: into
// $E2E_SCREENSHOT_DIR when set, else into the test's temporary directory.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	dir := os.Getenv("E2E_SCREENSHOT_DIR")
	if dir == "" {
		dir = b.t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatalf("screenshot directory: %v", err)
	}
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG")) {
		b.t.Fatalf("screenshot: not a PNG (%d bytes)", len(png))
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	b.t.Logf("screenshot of %s: %s (%d KB)", b.location(), path, len(png)>>10)
}

func statusOf(resp *network.Response) string {
	if resp == nil {
		return "none"
	}
	return fmt.Sprint(resp.Status)
}

// ---- small helpers

// watchdog ends the test binary with every goroutine's stack when the test,
// with its cleanups, runs longer than limit: a hang then fails in minutes
// and shows where it hangs. go test's -timeout does the same, later.
func watchdog(t *testing.T, limit time.Duration) {
	if dl, ok := t.Deadline(); ok && time.Until(dl) < limit {
		return // go test's own -timeout comes first
	}
	name := t.Name()
	timer := time.AfterFunc(limit, func() {
		buf := make([]byte, 4<<20)
		buf = buf[:runtime.Stack(buf, true)]
		fmt.Fprintf(os.Stderr, "%s is still running after %s: the service or the browser hangs.\n\n%s\n", name, limit, buf)
		panic(name + " hung for " + limit.String())
	})
	// Registered first, so it stops last: it watches the cleanups too.
	t.Cleanup(func() { timer.Stop() })
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// tail returns the last n bytes of l, without Chromium's complaints about
// the missing D-Bus, which every run on a server prints and which never
// matter.
func tail(l *apptest.LogBuffer, n int) string {
	var keep []string
	for line := range strings.Lines(l.String()) {
		if !strings.Contains(line, "dbus/") {
			keep = append(keep, line)
		}
	}
	s := strings.Join(keep, "")
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return s
}
