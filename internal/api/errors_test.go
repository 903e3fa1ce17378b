package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"simplesender/internal/app"
	"simplesender/internal/app/apptest"
	"simplesender/internal/store/storetest"
)

// TestErrors checks the error answers of the API: format, status, headers
// and language.
func TestErrors(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, databaseURL string) {
		f := newFixture(t, databaseURL)
		big := `{"email":"a@example.com","password":"` + strings.Repeat("x", 1<<20) + `"}`
		tests := []struct {
			name   string
			q      req
			status int
			has    []string
			header []string // name, value pairs that must be set
		}{
			{"no token is 401 with a challenge", req{method: "GET", path: "/me"}, 401,
				[]string{`{"error":{"code":"unauthenticated","message":"Please log in.","fields":{}}}`}, []string{"WWW-Authenticate", `Bearer realm="simplesender"`}},
			{"a bad token is 401 invalid_token", req{method: "GET", path: "/me", bearer: "ss_forged"}, 401,
				[]string{`"code":"unauthenticated"`}, []string{"WWW-Authenticate", `Bearer realm="simplesender", error="invalid_token"`}},
			{"another scheme is 401", req{method: "GET", path: "/me", header: []string{"Authorization", "Basic YTpi"}}, 401, nil, nil},
			{"the scheme is case-insensitive", req{method: "GET", path: "/me", header: []string{"Authorization", "bearer " + f.tokens["active"]}}, 200, nil, nil},
			{"a pending user's token is refused", req{method: "GET", path: "/me", bearer: f.tokens["pending"]}, 401, nil, nil},
			{"Accept-Language ru gives Russian", req{method: "GET", path: "/me", header: []string{"Accept-Language", "ru-RU,ru;q=0.9,en;q=0.5"}}, 401,
				[]string{`"message":"Войдите в систему."`}, nil},
			{"the preferred language wins", req{method: "GET", path: "/me", header: []string{"Accept-Language", "de, en;q=0.9, ru;q=0.8"}}, 401,
				[]string{`"message":"Please log in."`}, nil},
			{"field messages are translated", req{method: "POST", path: "/auth/register", header: []string{"Accept-Language", "ru"},
				body: `{"email":"bad","password":"long enough password","name":"Имя"}`}, 422,
				[]string{`"code":"invalid"`, `"message":"Исправьте ошибки ниже."`, `"email":"Введите один правильный адрес`}, nil},
			{"malformed JSON is 400", req{method: "POST", path: "/auth/register", body: `{"email":`}, 400,
				[]string{`"code":"bad_request"`, `"message":"The body is not valid JSON."`}, nil},
			{"no body counts as {}", req{method: "POST", path: "/auth/confirm"}, 422,
				[]string{`"fields":{"token":"This field is required."}`}, nil},
			{"no body may mint a token for the bearer", req{method: "POST", path: "/tokens", bearer: f.tokens["admin"]}, 201,
				[]string{`"token":"ss_`, `"name":""`}, nil},
			{"white space counts as no body", req{method: "POST", path: "/auth/confirm", body: " \n"}, 422,
				[]string{`"token":"This field is required."`}, nil},
			{"null counts as {}", req{method: "POST", path: "/auth/confirm", body: "null"}, 422, nil, nil},
			{"a string is 400", req{method: "POST", path: "/auth/confirm", body: `"token"`}, 400,
				[]string{`"code":"bad_request"`, `"message":"The body is not valid JSON."`}, nil},
			{"a JSON array is 400", req{method: "POST", path: "/auth/confirm", body: `["token"]`}, 400, nil, nil},
			{"a wrong type names the field", req{method: "POST", path: "/auth/confirm", body: `{"token":42}`}, 400,
				[]string{`"fields":{"token":"A field has the wrong type."}`}, nil},
			{"an unknown field is refused", req{method: "POST", path: "/auth/confirm", body: `{"token":"x","admin":true}`}, 400,
				[]string{`"fields":{"admin":"The body has a field this endpoint does not know."}`}, nil},
			{"two JSON values are refused", req{method: "POST", path: "/auth/confirm", body: `{"token":"x"} {"token":"y"}`}, 400, nil, nil},
			{"a bearer may not send a password", req{method: "POST", path: "/tokens", bearer: f.tokens["active"],
				body: `{"email":"active@example.com","password":"x"}`}, 400, []string{`"fields":{"email":`}, nil},
			{"a form body is refused", req{method: "POST", path: "/auth/confirm", body: `token=x`,
				header: []string{"Content-Type", "application/x-www-form-urlencoded"}}, 400,
				[]string{`"code":"bad_request","message":"Send the body as application/json."`}, nil},
			{"JSON in another charset is refused", req{method: "POST", path: "/auth/confirm", body: `{"token":"x"}`,
				header: []string{"Content-Type", "application/json; charset=latin1"}}, 400, nil, nil},
			{"JSON with charset utf-8 is fine", req{method: "POST", path: "/auth/confirm", body: `{"token":"x"}`,
				header: []string{"Content-Type", "Application/JSON; charset=UTF-8"}}, 422, []string{"invalid, used or expired"}, nil},
			{"a body over 1 MiB is 413", req{method: "POST", path: "/auth/register", body: big}, 413,
				[]string{`"code":"too_large"`, `"message":"The request is too large."`}, nil},
			{"an unknown path is 404", req{method: "GET", path: "/nothing/here"}, 404,
				[]string{`{"error":{"code":"not_found","message":"Not found.","fields":{}}}`}, nil},
			{"the bare prefix is 404", req{method: "GET", path: "/"}, 404, nil, nil},
			{"an unclean path is 404, not a redirect", req{method: "GET", path: "//me", bearer: f.tokens["active"]}, 404, nil, nil},
			{"a dot-dot path is 404, not a redirect", req{method: "GET", path: "/users/../me", bearer: f.tokens["active"]}, 404, nil, nil},
			{"a trailing slash is 404", req{method: "GET", path: "/me/", bearer: f.tokens["active"]}, 404, nil, nil},
			{"an unknown path is 404 in Russian", req{method: "GET", path: "/nothing", header: []string{"Accept-Language", "ru"}}, 404,
				[]string{`"message":"Не найдено."`}, nil},
			{"a wrong method is 405 with Allow", req{method: "GET", path: "/auth/register"}, 405,
				[]string{`"code":"bad_request"`, `"message":"This method is not allowed here."`}, []string{"Allow", "POST"}},
			{"405 lists every method of the path", req{method: "PUT", path: "/users/1", bearer: f.tokens["admin"]}, 405,
				nil, []string{"Allow", "GET, HEAD, PATCH"}},
			{"405 comes before authentication", req{method: "DELETE", path: "/me"}, 405, nil, []string{"Allow", "GET, HEAD"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				res := f.do(t, tt.q).want(t, tt.status).has(t, tt.has...)
				for i := 0; i+1 < len(tt.header); i += 2 {
					if got := res.header.Get(tt.header[i]); got != tt.header[i+1] {
						t.Errorf("%s: %q, want %q", tt.header[i], got, tt.header[i+1])
					}
				}
			})
		}
	})
}

// TestLanguageOfUser checks that an authenticated user's own language wins
// over the browser's.
func TestLanguageOfUser(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, databaseURL string) {
		f := newFixture(t, databaseURL)
		u := f.users["active"]
		f.do(t, req{method: "GET", path: "/users", bearer: f.tokens["active"], header: []string{"Accept-Language", "ru"}}).
			want(t, 403).has(t, "У вас нет прав")
		if err := f.env.App.SetLanguage(context.Background(), actor(u), "en"); err != nil {
			t.Fatal(err)
		}
		f.do(t, req{method: "GET", path: "/users", bearer: f.tokens["active"], header: []string{"Accept-Language", "ru"}}).
			want(t, 403).has(t, "You are not allowed to do this.")
		f.do(t, req{method: "GET", path: "/me", bearer: f.tokens["active"]}).want(t, 200).has(t, `"lang":"en"`)
	})
}

// TestBodyTooLargeUnknownLength checks the limit on a body whose length is
// not announced.
func TestBodyTooLargeUnknownLength(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, databaseURL string) {
		f := newFixture(t, databaseURL)
		body := `{"token":"` + strings.Repeat("a", 2<<20) + `"}`
		r := httptest.NewRequest("POST", Prefix+"/auth/confirm", strings.NewReader(body))
		r.ContentLength = -1
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		f.h.ServeHTTP(w, r)
		if w.Code != http.StatusRequestEntityTooLarge || !strings.Contains(w.Body.String(), `"code":"too_large"`) {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
	})
}

// TestInternalError checks that a failure inside is answered with a generic
// message and logged with its cause, which the client never sees.
func TestInternalError(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, databaseURL string) {
		// The app gets a database handle of its own, closed below; the job
		// queue keeps the usual one, so it can stop cleanly.
		db := storetest.Open(t, databaseURL)
		f := newFixture(t, databaseURL, apptest.Options{Deps: func(d *app.Deps) { d.DB = db }})
		db.Close()
		res := f.do(t, req{method: "GET", path: "/me", bearer: f.tokens["active"], header: []string{"Accept-Language", "ru"}}).want(t, 500)
		res.has(t, `{"error":{"code":"internal","message":"На сервере что-то пошло не так. Попробуйте позже.","fields":{}}}`)
		res.hasNot(t, "closed", "sql")
		if log := f.log.String(); !strings.Contains(log, "api: internal error") || !strings.Contains(log, "closed") {
			t.Errorf("the cause is not logged:\n%s", log)
		}
	})
}
