package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/app/apptest"
	"simplesender/internal/i18n"
)

// whos are the callers every route is tried with: no token, and a token of
// an account in each state and role.
var whos = []string{"anonymous", "pending", "active", "blocked", "manager", "admin"}

// fixture is a running API over a fresh database, with one account and one
// API token per caller of whos (none for anonymous).
type fixture struct {
	env    *apptest.Env
	h      http.Handler
	log    *lockedBuffer
	users  map[string]*simplesender.User
	tokens map[string]string
	seq    atomic.Int64
}

func newFixture(t *testing.T, databaseURL string, opts ...apptest.Options) *fixture {
	t.Helper()
	env := apptest.New(t, databaseURL, opts...)
	logs := &lockedBuffer{}
	f := &fixture{env: env, log: logs, users: map[string]*simplesender.User{}, tokens: map[string]string{},
		h: New(env.App, env.Bundle, slog.New(slog.NewTextHandler(logs, nil))).Handler()}
	for _, who := range whos[1:] {
		role, status := simplesender.RoleUser, simplesender.Status(who)
		if who == "manager" || who == "admin" {
			role, status = simplesender.Role(who), simplesender.StatusActive
		}
		u := f.newUser(t, who+"@example.com", role, status)
		f.users[who] = u
		f.tokens[who] = f.token(t, u)
	}
	return f
}

// token makes an API token for u directly (no password, no throttling).
func (f *fixture) token(t *testing.T, u *simplesender.User) string {
	t.Helper()
	raw, _, err := f.env.App.CreateAPIToken(context.Background(), app.System, u, "test")
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// user creates an account with a unique address.
func (f *fixture) user(t *testing.T, role simplesender.Role, status simplesender.Status) *simplesender.User {
	t.Helper()
	return f.newUser(t, f.email(), role, status)
}

// newUser is apptest's Env.User (password apptest.Password).
func (f *fixture) newUser(t *testing.T, email string, role simplesender.Role, status simplesender.Status) *simplesender.User {
	t.Helper()
	return f.env.User(t, email, role, status)
}

// email returns an address nobody has used in this fixture.
func (f *fixture) email() string {
	return fmt.Sprintf("u%d@example.net", f.seq.Add(1))
}

// ip returns a client address of its own, so that per-IP throttling of one
// request does not affect another.
func (f *fixture) ip() string {
	n := f.seq.Add(1)
	return fmt.Sprintf("10.%d.%d.%d:4000", n>>16&255, n>>8&255, n&255)
}

// req is a request to the API. Path is relative to /api/v1.
type req struct {
	method, path string
	bearer       string // raw token for Authorization: Bearer, if any
	body         string // sent as application/json unless header says otherwise
	header       []string
	ip           string // client address; a fresh one when empty
}

// resp is an answer of the API.
type resp struct {
	status int
	header http.Header
	body   string
}

func (f *fixture) do(t *testing.T, q req) resp {
	t.Helper()
	var body io.Reader
	if q.body != "" {
		body = strings.NewReader(q.body)
	}
	r := httptest.NewRequest(q.method, Prefix+q.path, body)
	if q.body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(q.header); i += 2 {
		r.Header.Set(q.header[i], q.header[i+1])
	}
	if q.bearer != "" {
		r.Header.Set("Authorization", "Bearer "+q.bearer)
	}
	r.RemoteAddr = q.ip
	if r.RemoteAddr == "" {
		r.RemoteAddr = f.ip()
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	res := resp{status: w.Code, header: w.Header(), body: w.Body.String()}
	checkEnvelope(t, q, res)
	checkSchema(t, q, res)
	return res
}

// codes is the error code the API contract (docs/api.md) gives each status (405 is a bad request).
var codes = map[int]string{400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
	405: "bad_request", 409: "conflict", 413: "too_large", 422: "invalid", 429: "rate_limited", 500: "internal",
	503: "unavailable"}

// checkEnvelope checks what holds for every answer: JSON, not cached, and
// for an error the error format with a translated message.
func checkEnvelope(t *testing.T, q req, res resp) {
	t.Helper()
	what := q.method + " " + q.path
	if cc := res.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("%s: Cache-Control %q", what, cc)
	}
	ct := res.header.Get("Content-Type")
	if res.status == http.StatusOK && strings.Contains(strings.SplitN(q.path, "?", 2)[0], ".csv") {
		// A download: CSV, not JSON.
		if ct != "text/csv; charset=utf-8" || !strings.HasPrefix(res.header.Get("Content-Disposition"), "attachment;") {
			t.Errorf("%s: CSV answered with Content-Type %q, Content-Disposition %q", what, ct, res.header.Get("Content-Disposition"))
		}
		return
	}
	if ct != "application/json; charset=utf-8" {
		t.Errorf("%s: Content-Type %q", what, ct)
	}
	if res.status == http.StatusNoContent || res.status == http.StatusNotModified {
		if res.body != "" {
			t.Errorf("%s: %d with body %q", what, res.status, res.body)
		}
		return
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(res.body), &v); err != nil {
		t.Errorf("%s: body is not a JSON object: %v\n%s", what, err, res.body)
		return
	}
	if res.status < 400 {
		if _, ok := v["error"]; ok {
			t.Errorf("%s: %d with an error body: %s", what, res.status, res.body)
		}
		return
	}
	e := res.errorBody(t)
	if want := codes[res.status]; e.Code != want {
		t.Errorf("%s: status %d with code %q, want %q", what, res.status, e.Code, want)
	}
	if e.Message == "" || strings.HasPrefix(e.Message, "error.") {
		t.Errorf("%s: untranslated message %q", what, e.Message)
	}
	for k, m := range e.Fields {
		if m == "" || strings.HasPrefix(m, "error.") {
			t.Errorf("%s: untranslated message %q of field %s", what, m, k)
		}
	}
	if res.status == 401 && !strings.HasPrefix(res.header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("%s: 401 without WWW-Authenticate: Bearer", what)
	}
}

// errorBody decodes an error answer.
func (r resp) errorBody(t *testing.T) errorDetail {
	t.Helper()
	var e struct {
		Error *errorDetail `json:"error"`
	}
	if err := json.Unmarshal([]byte(r.body), &e); err != nil || e.Error == nil || e.Error.Fields == nil {
		t.Fatalf("not an error answer with fields: %v\n%s", err, r.body)
	}
	return *e.Error
}

// decode decodes a JSON answer into v.
func (r resp) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.body), v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// want fails the test unless the answer has status.
func (r resp) want(t *testing.T, status int) resp {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body: %s", r.status, status, r.body)
	}
	return r
}

// has fails the test unless the body contains every fragment.
func (r resp) has(t *testing.T, fragments ...string) resp {
	t.Helper()
	for _, s := range fragments {
		if !strings.Contains(r.body, s) {
			t.Errorf("body lacks %q: %s", s, r.body)
		}
	}
	return r
}

// hasNot fails the test if the body contains any fragment.
func (r resp) hasNot(t *testing.T, fragments ...string) resp {
	t.Helper()
	for _, s := range fragments {
		if strings.Contains(r.body, s) {
			t.Errorf("body has %q: %s", s, r.body)
		}
	}
	return r
}

// confirmToken registers nothing: it asks the app to mail u a confirmation
// link (u must be pending) and returns the link's token.
func (f *fixture) confirmToken(t *testing.T, u *simplesender.User) string {
	t.Helper()
	n := len(f.env.Emails(t, u.Email))
	if err := f.env.App.ResendConfirmation(context.Background(), u.Email, "", f.ip()); err != nil {
		t.Fatal(err)
	}
	return apptest.LinkToken(t, f.env.WaitEmail(t, u.Email, n+1).Body, "/confirm")
}

// resetToken asks the app to mail u a password reset link and returns its
// token.
func (f *fixture) resetToken(t *testing.T, u *simplesender.User) string {
	t.Helper()
	n := len(f.env.Emails(t, u.Email))
	if err := f.env.App.RequestPasswordReset(context.Background(), u.Email, "", f.ip()); err != nil {
		t.Fatal(err)
	}
	return apptest.LinkToken(t, f.env.WaitEmail(t, u.Email, n+1).Body, "/password/reset")
}

// actor is the app actor of u.
func actor(u *simplesender.User) *app.Actor { return &app.Actor{User: u} }

// lockedBuffer is a log destination safe for concurrent writers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newTestLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

func testBundle(t *testing.T) *i18n.Bundle {
	t.Helper()
	b, err := i18n.New()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
