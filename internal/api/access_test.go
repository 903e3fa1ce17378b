package api

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/app/apptest"
	"simplesender/internal/store/storetest"
)

// accessScenario is one route tried by every caller of whos.
type accessScenario struct {
	name         string
	method, path string
	body         string
	// anonymousCall sends no token whoever the caller is: the caller's
	// credentials are in the body instead.
	anonymousCall bool
	// setup prepares one cell and returns values for the {placeholders} of
	// path, body and fragments; {self}, {email} of the caller and {bearer}
	// are always set.
	setup func(t *testing.T, f *fixture, who string) map[string]string
	want  map[string]int // status per caller
	// okHas and okHasNot are fragments a 2xx answer must and must not contain.
	okHas, okHasNot []string
}

// st builds a status table in the order of whos.
func st(anonymous, pending, active, blocked, manager, admin int) map[string]int {
	return map[string]int{"anonymous": anonymous, "pending": pending, "active": active, "blocked": blocked,
		"manager": manager, "admin": admin}
}

func id(u *simplesender.User) string { return strconv.FormatInt(u.ID, 10) }

// target returns a setup that creates a fresh account of role and status,
// named {target}.
func target(role simplesender.Role, status simplesender.Status) func(*testing.T, *fixture, string) map[string]string {
	return func(t *testing.T, f *fixture, _ string) map[string]string {
		u := f.user(t, role, status)
		return map[string]string{"target": id(u), "target_email": u.Email}
	}
}

var accessScenarios = []accessScenario{
	{
		name: "register", method: "POST", path: "/auth/register",
		body:  `{"email":"{new}","password":"a long new password","name":"New Person"}`,
		setup: func(t *testing.T, f *fixture, _ string) map[string]string { return map[string]string{"new": f.email()} },
		want:  st(202, 202, 202, 202, 202, 202), okHas: []string{`"accepted":true`},
	},
	{
		name: "confirm", method: "POST", path: "/auth/confirm", body: `{"token":"{token}"}`,
		setup: func(t *testing.T, f *fixture, _ string) map[string]string {
			u := f.user(t, simplesender.RoleUser, simplesender.StatusPending)
			return map[string]string{"token": f.confirmToken(t, u), "target_email": u.Email}
		},
		want: st(200, 200, 200, 200, 200, 200), okHas: []string{`"email":"{target_email}"`, `"status":"active"`},
	},
	{
		name: "password reset", method: "POST", path: "/auth/password-reset", body: `{"email":"{target_email}"}`,
		setup: target(simplesender.RoleUser, simplesender.StatusActive),
		want:  st(202, 202, 202, 202, 202, 202), okHas: []string{`"accepted":true`},
	},
	{
		name: "password reset confirm", method: "POST", path: "/auth/password-reset/confirm",
		body: `{"token":"{token}","password":"another long password"}`,
		setup: func(t *testing.T, f *fixture, _ string) map[string]string {
			u := f.user(t, simplesender.RoleUser, simplesender.StatusActive)
			return map[string]string{"token": f.resetToken(t, u), "target_email": u.Email}
		},
		want: st(200, 200, 200, 200, 200, 200), okHas: []string{`"email":"{target_email}"`},
	},
	{
		// Whose credentials are sent; anonymous sends an unknown address.
		name: "token with password", method: "POST", path: "/tokens", anonymousCall: true,
		body: `{"email":"{email}","password":"` + apptest.Password + `","name":"script"}`,
		want: st(401, 401, 201, 401, 201, 201), okHas: []string{`"token":"ss_`, `"name":"script"`, `"id":`},
	},
	{
		name: "token for the bearer", method: "POST", path: "/tokens", body: `{"name":"second"}`,
		// Without a bearer, the body lacks the e-mail and password.
		want: st(422, 401, 201, 401, 201, 201), okHas: []string{`"token":"ss_`, `"name":"second"`},
		okHasNot: []string{`"token":"{bearer}"`},
	},
	{
		name: "list tokens", method: "GET", path: "/tokens",
		want: st(401, 401, 200, 401, 200, 200), okHas: []string{`"name":"test"`, `"prefix":"ss_`, `"last_used_at":"20`, `"page":1`},
		okHasNot: []string{"{bearer}", "hash"},
	},
	{
		name: "revoke own token", method: "DELETE", path: "/tokens/{token_id}",
		setup: func(t *testing.T, f *fixture, who string) map[string]string {
			u := f.users[who]
			if u == nil {
				u = f.users["active"]
			}
			_, tok, err := f.env.App.CreateAPIToken(t.Context(), app.System, u, "to revoke")
			if err != nil {
				t.Fatal(err)
			}
			return map[string]string{"token_id": strconv.FormatInt(tok.ID, 10)}
		},
		want: st(401, 401, 204, 401, 204, 204),
	},
	{
		name: "revoke another user's token", method: "DELETE", path: "/tokens/{token_id}",
		setup: func(t *testing.T, f *fixture, _ string) map[string]string {
			u := f.user(t, simplesender.RoleUser, simplesender.StatusActive)
			_, tok, err := f.env.App.CreateAPIToken(t.Context(), app.System, u, "not yours")
			if err != nil {
				t.Fatal(err)
			}
			return map[string]string{"token_id": strconv.FormatInt(tok.ID, 10)}
		},
		want: st(401, 401, 404, 401, 404, 404),
	},
	{
		name: "me", method: "GET", path: "/me",
		want: st(401, 401, 200, 401, 200, 200), okHas: []string{`"id":{self}`, `"email":"{email}"`, `"status":"active"`},
		okHasNot: []string{"password", "hash", "auth_version"},
	},
	{
		name: "list users", method: "GET", path: "/users",
		want:     st(401, 401, 403, 401, 200, 200),
		okHas:    []string{`"items":[`, `"email":"pending@example.com"`, `"page":1`, `"per_page":50`, `"total":`},
		okHasNot: []string{"password", "hash"},
	},
	{
		name: "get self", method: "GET", path: "/users/{self}",
		want: st(401, 401, 200, 401, 200, 200), okHas: []string{`"email":"{email}"`},
	},
	{
		name: "get another user", method: "GET", path: "/users/{target}",
		setup: target(simplesender.RoleUser, simplesender.StatusActive),
		want:  st(401, 401, 404, 401, 200, 200), okHas: []string{`"email":"{target_email}"`},
	},
	{
		name: "get a missing user", method: "GET", path: "/users/987654321",
		want: st(401, 401, 404, 401, 404, 404),
	},
	{
		name: "get a malformed id", method: "GET", path: "/users/abc",
		want: st(401, 401, 404, 401, 404, 404),
	},
	{
		name: "block a user", method: "POST", path: "/users/{target}/block",
		setup: target(simplesender.RoleUser, simplesender.StatusActive),
		want:  st(401, 401, 403, 401, 200, 200), okHas: []string{`"status":"blocked"`, `"blocked_at":"20`},
	},
	{
		name: "unblock a user", method: "POST", path: "/users/{target}/unblock",
		setup: target(simplesender.RoleUser, simplesender.StatusBlocked),
		want:  st(401, 401, 403, 401, 200, 200), okHas: []string{`"status":"active"`, `"blocked_at":null`},
	},
	{
		name: "block a manager", method: "POST", path: "/users/{target}/block",
		setup: target(simplesender.RoleManager, simplesender.StatusActive),
		want:  st(401, 401, 403, 401, 403, 200), okHas: []string{`"status":"blocked"`},
	},
	{
		name: "block an admin", method: "POST", path: "/users/{target}/block",
		setup: target(simplesender.RoleAdmin, simplesender.StatusActive),
		want:  st(401, 401, 403, 401, 403, 200), okHas: []string{`"status":"blocked"`},
	},
	{
		name: "unblock a manager", method: "POST", path: "/users/{target}/unblock",
		setup: target(simplesender.RoleManager, simplesender.StatusBlocked),
		want:  st(401, 401, 403, 401, 403, 200), okHas: []string{`"status":"active"`},
	},
	{
		name: "block self", method: "POST", path: "/users/{self}/block",
		want: st(401, 401, 403, 401, 403, 403),
	},
	{
		name: "block a missing user", method: "POST", path: "/users/987654321/block",
		want: st(401, 401, 403, 401, 404, 404),
	},
	{
		name: "set a role", method: "PATCH", path: "/users/{target}", body: `{"role":"manager"}`,
		setup: target(simplesender.RoleUser, simplesender.StatusActive),
		want:  st(401, 401, 403, 401, 403, 200), okHas: []string{`"role":"manager"`, `"email":"{target_email}"`},
	},
	{
		name: "set own role", method: "PATCH", path: "/users/{self}", body: `{"role":"user"}`,
		want: st(401, 401, 403, 401, 403, 403),
	},
}

// TestAccess tries every route with every kind of caller.
func TestAccess(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, databaseURL string) {
		f := newFixture(t, databaseURL)
		eachCell(t, f, accessScenarios, whos, runAccessCell)
	})
}

// scenario is a row of an access table: its name and the status each
// caller must get.
type scenario interface {
	cells() (name string, want map[string]int)
}

func (sc accessScenario) cells() (string, map[string]int)  { return sc.name, sc.want }
func (sc contentScenario) cells() (string, map[string]int) { return sc.name, sc.want }

// eachCell runs cell on f as a parallel subtest for every scenario and
// caller, named scenario/caller/status.
func eachCell[S scenario](t *testing.T, f *fixture, scenarios []S, whos []string, cell func(t *testing.T, f *fixture, sc S, who string, want int)) {
	for _, sc := range scenarios {
		name, wants := sc.cells()
		for _, who := range whos {
			want := wants[who]
			t.Run(fmt.Sprintf("%s/%s/%d", name, who, want), func(t *testing.T) {
				t.Parallel()
				cell(t, f, sc, who, want)
			})
		}
	}
}

func runAccessCell(t *testing.T, f *fixture, sc accessScenario, who string, want int) {
	vars := map[string]string{"email": "nobody@example.com", "self": id(f.users["active"]), "bearer": f.tokens[who]}
	if u := f.users[who]; u != nil {
		vars["email"], vars["self"] = u.Email, id(u)
	}
	if sc.setup != nil {
		for k, v := range sc.setup(t, f, who) {
			vars[k] = v
		}
	}
	q := req{method: sc.method, path: sc.path, body: sc.body}
	if !sc.anonymousCall {
		q.bearer = f.tokens[who]
	}
	checkCell(t, f, who, want, q, vars, sc.okHas, sc.okHasNot)
}

// checkCell makes the call q of one scenario cell as who, with the
// {placeholders} of its path and body filled from vars, and checks its
// status. For a 2xx answer it checks the fragments (filled too) that it must
// and must not contain, and returns true with the answer and the filler.
func checkCell(t *testing.T, f *fixture, who string, want int, q req, vars map[string]string, has, hasNot []string) (resp, func(string) string, bool) {
	t.Helper()
	fill := func(s string) string {
		for k, v := range vars {
			s = strings.ReplaceAll(s, "{"+k+"}", v)
		}
		return s
	}
	q.path, q.body = fill(q.path), fill(q.body)
	res := f.do(t, q)
	if res.status != want {
		t.Fatalf("%s %s as %s: status %d, want %d; body: %s", q.method, q.path, who, res.status, want, res.body)
	}
	if want >= 300 {
		return res, fill, false
	}
	for _, s := range has {
		res.has(t, fill(s))
	}
	for _, s := range hasNot {
		res.hasNot(t, fill(s))
	}
	return res, fill, true
}
