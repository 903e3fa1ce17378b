package api

import (
	"context"
	"net/http"
	"strings"

	"simplesender"
	"simplesender/internal/app"
)

// access says who may call a route.
type access int

const (
	// anyone: no authentication; an Authorization header is ignored.
	anyone access = iota
	// optionalUser: authenticated when an Authorization header is present
	// (and then it must be valid), anonymous otherwise.
	optionalUser
	// user: a valid bearer token of an active account is required.
	user
)

// handlerFunc serves one route. u is the authenticated caller, nil only for
// an anonymous caller of an anyone or optionalUser route. A returned error is
// answered by fail; a handler that returns nil has written its answer.
type handlerFunc func(w http.ResponseWriter, r *http.Request, u *simplesender.User) error

// routes registers every route of the API. Paths are relative to Prefix.
func (x *API) routes() {
	for _, rt := range []struct {
		pattern string
		access  access
		h       handlerFunc
	}{
		{"POST /auth/register", anyone, x.register},
		{"POST /auth/confirm", anyone, x.confirm},
		{"POST /auth/password-reset", anyone, x.requestPasswordReset},
		{"POST /auth/password-reset/confirm", anyone, x.resetPassword},

		{"POST /tokens", optionalUser, x.createToken},
		{"GET /tokens", user, x.listTokens},
		{"DELETE /tokens/{id}", user, x.revokeToken},

		{"GET /me", user, x.me},

		{"GET /users", user, x.listUsers},
		{"GET /users/{id}", user, x.getUser},
		{"PATCH /users/{id}", user, x.patchUser},
		{"POST /users/{id}/block", user, x.blockUser},
		{"POST /users/{id}/unblock", user, x.unblockUser},
	} {
		method, path, _ := strings.Cut(rt.pattern, " ")
		pattern := method + " " + Prefix + path
		x.patterns[pattern] = true
		x.mux.Handle(pattern, x.handle(rt.access, rt.h))
	}
}

// userKey is the context key of the authenticated user.
type userKey struct{}

// requestUser returns the authenticated user of r, or nil.
func requestUser(r *http.Request) *simplesender.User {
	u, _ := r.Context().Value(userKey{}).(*simplesender.User)
	return u
}

// handle authenticates as acc asks, runs h, and answers h's error.
func (x *API) handle(acc access, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var u *simplesender.User
		if acc == user || (acc == optionalUser && r.Header.Get("Authorization") != "") {
			var err error
			if u, err = x.authenticate(w, r); err != nil {
				x.fail(w, r, err)
				return
			}
			r = r.WithContext(context.WithValue(r.Context(), userKey{}, u))
		}
		if err := h(w, r, u); err != nil {
			x.fail(w, r, err)
		}
	})
}

// authenticate returns the active user owning the request's bearer token.
// Errors: Unauthenticated, with a WWW-Authenticate header set on w.
func (x *API) authenticate(w http.ResponseWriter, r *http.Request) (*simplesender.User, error) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil, errUnauthenticated
	}
	u, err := x.app.TokenUser(r.Context(), strings.TrimSpace(token))
	if err == nil && u == nil {
		// Never let a nil user through: to app, an Actor without a user is
		// the system itself.
		err = errUnauthenticated
	}
	if simplesender.IsKind(err, simplesender.KindUnauthenticated) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="simplesender", error="invalid_token"`)
	}
	return u, err
}

// as returns the app actor for the authenticated user u. To app, an Actor
// without a user is the system itself, with every power; so a nil u, which
// only a route wrongly left open to anyone can produce, panics (answered 500)
// rather than act as the system.
func as(u *simplesender.User) *app.Actor {
	if u == nil {
		panic("api: a use case called without an authenticated user")
	}
	return &app.Actor{User: u}
}
