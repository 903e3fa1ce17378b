package api

import (
	"strings"
	"testing"

	"simplesender"
	"simplesender/internal/app/apptest"
	"simplesender/internal/store/storetest"
)

// TestSignUpToAPI follows a new user from registration to their first
// authenticated call.
func TestSignUpToAPI(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, databaseURL string) {
		f := newFixture(t, databaseURL)
		const email, password = "ivan@example.org", "my own long password"
		f.do(t, req{method: "POST", path: "/auth/register",
			body: `{"email":" Ivan@Example.org ","password":"` + password + `","name":"Ivan","phone":"+7 900 000-00-00","country":"RU","timezone":"Europe/Moscow"}`}).
			want(t, 202).has(t, `"accepted":true`)

		// Not confirmed yet: no token, and the answer says why.
		f.do(t, req{method: "POST", path: "/tokens", body: `{"email":"` + email + `","password":"` + password + `"}`}).
			want(t, 401).has(t, "Confirm your e-mail address first")

		m := f.env.WaitEmail(t, email, 1)
		if !strings.Contains(m.Subject, "Confirm") {
			t.Errorf("first e-mail is %q, want the confirmation", m.Subject)
		}
		token := apptest.LinkToken(t, m.Body, "/confirm")
		f.do(t, req{method: "POST", path: "/auth/confirm", body: `{"token":"` + token + `"}`}).
			want(t, 200).has(t, `"email":"ivan@example.org"`, `"status":"active"`, `"confirmed_at":"20`)
		f.do(t, req{method: "POST", path: "/auth/confirm", body: `{"token":"` + token + `"}`}).
			want(t, 422).has(t, "invalid, used or expired")

		var created struct {
			ID    int64  `json:"id"`
			Token string `json:"token"`
		}
		f.do(t, req{method: "POST", path: "/tokens", body: `{"email":"` + email + `","password":"` + password + `","name":"laptop"}`}).
			want(t, 201).decode(t, &created)
		if created.ID == 0 || !strings.HasPrefix(created.Token, "ss_") {
			t.Fatalf("created token %+v", created)
		}
		f.do(t, req{method: "GET", path: "/me", bearer: created.Token}).want(t, 200).
			has(t, `"email":"ivan@example.org"`, `"name":"Ivan"`, `"phone":"+7 900 000-00-00"`, `"country":"RU"`,
				`"timezone":"Europe/Moscow"`, `"role":"user"`, `"status":"active"`, `"created_at":"20`, `"blocked_at":null`)
		f.do(t, req{method: "GET", path: "/tokens", bearer: created.Token}).want(t, 200).
			has(t, `"name":"laptop"`, `"total":1`, `"prefix":"`+created.Token[:9]+`"`).hasNot(t, created.Token)

		// The token can mint another one, and revoke itself.
		var second struct{ Token string }
		f.do(t, req{method: "POST", path: "/tokens", bearer: created.Token, body: `{"name":"ci"}`}).want(t, 201).decode(t, &second)
		f.do(t, req{method: "DELETE", path: "/tokens/" + itoa(created.ID), bearer: created.Token}).want(t, 204)
		f.do(t, req{method: "GET", path: "/me", bearer: created.Token}).want(t, 401)
		f.do(t, req{method: "GET", path: "/tokens", bearer: second.Token}).want(t, 200).has(t, `"total":1`, `"name":"ci"`)
	})
}

// TestRegisterDoesNotRevealAccounts checks that registering a taken address
// answers exactly as a new one, and only the owner learns of it.
func TestRegisterDoesNotRevealAccounts(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, databaseURL string) {
		f := newFixture(t, databaseURL)
		owner := f.users["active"]
		taken := f.do(t, req{method: "POST", path: "/auth/register",
			body: `{"email":"` + strings.ToUpper(owner.Email) + `","password":"somebody else's password","name":"Intruder"}`}).want(t, 202)
		fresh := f.do(t, req{method: "POST", path: "/auth/register",
			body: `{"email":"new@example.com","password":"somebody else's password","name":"Newcomer"}`}).want(t, 202)
		if taken.body != fresh.body {
			t.Errorf("answers differ: taken %s, new %s", taken.body, fresh.body)
		}
		if m := f.env.WaitEmail(t, owner.Email, 1); !strings.Contains(m.Body, "you already have one") || strings.Contains(m.Body, "token=") {
			t.Errorf("owner got %q:\n%s", m.Subject, m.Body)
		}
		if m := f.env.WaitEmail(t, "new@example.com", 1); !strings.Contains(m.Body, "/confirm?token=") {
			t.Errorf("newcomer got %q:\n%s", m.Subject, m.Body)
		}
		// The owner's account is untouched: old password, old name.
		f.do(t, req{method: "POST", path: "/tokens", body: `{"email":"` + owner.Email + `","password":"` + apptest.Password + `"}`}).want(t, 201)
		f.do(t, req{method: "GET", path: "/me", bearer: f.tokens["active"]}).want(t, 200).has(t, `"name":"`+owner.Name+`"`)
	})
}

// TestRegisterValidation checks that bad input is refused field by field and
// that the name, optional in the API contract, defaults to the mailbox name.
func TestRegisterValidation(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, databaseURL string) {
		f := newFixture(t, databaseURL)
		tests := []struct {
			name, body string
			status     int
			has        []string
		}{
			{"bad address and short password are both reported", `{"email":"not an address","password":"short","name":"X"}`,
				422, []string{`"email":"Enter one valid e-mail address`, `"password":"The password must be at least 8`}},
			{"bad language and time zone are reported", `{"email":"a@example.com","password":"long enough password","lang":"de","timezone":"Mars/Base"}`,
				422, []string{`"lang":"Choose English or Russian."`, `"timezone":"Choose a time zone`}},
			{"a missing name becomes the mailbox name", `{"email":"no.name@example.com","password":"long enough password"}`, 202, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				f.do(t, req{method: "POST", path: "/auth/register", body: tt.body}).want(t, tt.status).has(t, tt.has...)
			})
		}
		tok := f.confirmTokenFor(t, "no.name@example.com")
		f.do(t, req{method: "POST", path: "/auth/confirm", body: `{"token":"` + tok + `"}`}).want(t, 200).has(t, `"name":"no.name"`)
	})
}

// confirmTokenFor waits for the confirmation e-mail to address and returns
// its token.
func (f *fixture) confirmTokenFor(t *testing.T, address string) string {
	t.Helper()
	return apptest.LinkToken(t, f.env.WaitEmail(t, address, 1).Body, "/confirm")
}

// TestPasswordReset resets a forgotten password and checks that the link,
// the old password and the old tokens stop working.
func TestPasswordReset(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, databaseURL string) {
		f := newFixture(t, databaseURL)
		u := f.user(t, simplesender.RoleUser, simplesender.StatusActive)
		old := f.token(t, u)
		f.do(t, req{method: "GET", path: "/me", bearer: old}).want(t, 200)

		known := f.do(t, req{method: "POST", path: "/auth/password-reset", body: `{"email":"` + u.Email + `"}`}).want(t, 202)
		unknown := f.do(t, req{method: "POST", path: "/auth/password-reset", body: `{"email":"nobody@example.com"}`}).want(t, 202)
		if known.body != unknown.body {
			t.Errorf("answers differ: known %s, unknown %s", known.body, unknown.body)
		}
		f.do(t, req{method: "POST", path: "/auth/password-reset", body: `{"email":"not an address"}`}).
			want(t, 422).has(t, `"email":"Enter one valid`)
		token := apptest.LinkToken(t, f.env.WaitEmail(t, u.Email, 1).Body, "/password/reset")

		// A refused password does not use the link up.
		f.do(t, req{method: "POST", path: "/auth/password-reset/confirm", body: `{"token":"` + token + `","password":"12345678901"}`}).
			want(t, 422).has(t, `"password":"The password cannot consist of digits only."`)
		f.do(t, req{method: "POST", path: "/auth/password-reset/confirm", body: `{"token":"` + token + `"}`}).
			want(t, 422).has(t, `"password":"This field is required."`)
		f.do(t, req{method: "POST", path: "/auth/password-reset/confirm", body: `{"token":"` + token + `","password":"brand new secret phrase"}`}).
			want(t, 200).has(t, `"email":"`+u.Email+`"`)
		f.do(t, req{method: "POST", path: "/auth/password-reset/confirm", body: `{"token":"` + token + `","password":"yet another secret phrase"}`}).
			want(t, 422).has(t, `"code":"invalid"`, "invalid, used or expired")

		f.do(t, req{method: "GET", path: "/me", bearer: old}).want(t, 401)
		f.do(t, req{method: "POST", path: "/tokens", body: `{"email":"` + u.Email + `","password":"` + apptest.Password + `"}`}).
			want(t, 401).has(t, "Wrong e-mail or password.")
		f.do(t, req{method: "POST", path: "/tokens", body: `{"email":"` + u.Email + `","password":"brand new secret phrase"}`}).want(t, 201)
		if got := len(f.env.Emails(t, "nobody@example.com")); got != 0 {
			t.Errorf("%d e-mails to an address without an account", got)
		}
	})
}

// TestThrottling checks that repeated registrations of one address are
// refused with a Retry-After, in the caller's language.
func TestThrottling(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, databaseURL string) {
		f := newFixture(t, databaseURL)
		body := `{"email":"flood@example.com","password":"long enough password","name":"Flood"}`
		for range 3 {
			f.do(t, req{method: "POST", path: "/auth/register", body: body}).want(t, 202)
		}
		res := f.do(t, req{method: "POST", path: "/auth/register", body: body, header: []string{"Accept-Language", "ru"}}).want(t, 429)
		ra := res.header.Get("Retry-After")
		if n := atoi(ra); n < 1 || n > 3600 {
			t.Fatalf("Retry-After %q", ra)
		}
		// Retry-After in seconds for programs, the message in words.
		res.has(t, "Слишком много попыток. Попробуйте через 1 час.").hasNot(t, ra)

		// Per IP too: an address of its own does not help one client.
		ip := f.ip()
		for i := range 10 {
			f.do(t, req{method: "POST", path: "/auth/register", ip: ip,
				body: `{"email":"` + f.email() + `","password":"long enough password","name":"N` + itoa(int64(i)) + `"}`}).want(t, 202)
		}
		f.do(t, req{method: "POST", path: "/auth/register", ip: ip,
			body: `{"email":"` + f.email() + `","password":"long enough password","name":"Last"}`}).want(t, 429).has(t, "Too many attempts")
	})
}

// TestRegisterEmailFollowsAcceptLanguage: a caller who sends no "lang" gets
// the confirmation e-mail in the language of Accept-Language.
func TestRegisterEmailFollowsAcceptLanguage(t *testing.T) {
	t.Parallel()
	f := newFixture(t, storetest.NewURL(t, "sqlite"))
	f.do(t, req{method: "POST", path: "/auth/register", header: []string{"Accept-Language", "ru-RU,ru;q=0.9"},
		body: `{"email":"olga@example.org","password":"my own long password","name":"Ольга"}`}).want(t, 202)
	if m := f.env.WaitEmail(t, "olga@example.org", 1); !strings.Contains(m.Subject, "Подтвердите") {
		t.Fatalf("confirmation e-mail subject %q is not Russian", m.Subject)
	}
}

// TestTokenLoginsThrottledPerClient: POST /tokens with addresses that are not
// even addresses counts against the client, which gets 429 after 30
// failures, then even with a right password.
func TestTokenLoginsThrottledPerClient(t *testing.T) {
	t.Parallel()
	f := newFixture(t, storetest.NewURL(t, "sqlite"))
	ip := f.ip()
	for i := range 30 {
		f.do(t, req{method: "POST", path: "/tokens", ip: ip, body: `{"email":"not-an-address-` + itoa(int64(i)) + `","password":"x"}`}).
			want(t, 401)
	}
	res := f.do(t, req{method: "POST", path: "/tokens", ip: ip, body: `{"email":"bad@@example.com","password":"x"}`}).want(t, 429)
	if n := atoi(res.header.Get("Retry-After")); n < 1 || n > 900 {
		t.Errorf("Retry-After %q", res.header.Get("Retry-After"))
	}
	res.has(t, "Try again in 15 minutes.")
	f.do(t, req{method: "POST", path: "/tokens", ip: ip, body: `{"email":"` + f.users["active"].Email + `","password":"` + apptest.Password + `"}`}).
		want(t, 429)
	// Another client is not affected.
	f.do(t, req{method: "POST", path: "/tokens", body: `{"email":"` + f.users["active"].Email + `","password":"` + apptest.Password + `"}`}).
		want(t, 201)
}
