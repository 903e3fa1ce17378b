package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"simplesender"
	"simplesender/internal/i18n"
)

var (
	errNotFound        = simplesender.E(simplesender.KindNotFound, "error.not_found")
	errUnauthenticated = simplesender.E(simplesender.KindUnauthenticated, "error.unauthenticated")
	// errInternal is answered for every internal error; fail logs the cause
	// of any other internal error before replacing it with this one.
	errInternal = simplesender.E(simplesender.KindInternal, "error.internal")
)

// methodError is a known path asked with a method it does not serve.
type methodError struct{ allow string }

func (e *methodError) Error() string { return "method not allowed; allowed: " + e.allow }

// errorJSON is the body of every error answer.
type errorJSON struct {
	Error errorDetail `json:"error"`
}

// errorDetail is the inside of an error answer; see docs/api.md.
type errorDetail struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields"` // always present, {} when empty
}

// list is the answer of every list: the contract's {items, total, page,
// per_page, pages}.
type list[T any] struct {
	Items   []T `json:"items"` // never null
	Total   int `json:"total"`
	Page    int `json:"page"`
	PerPage int `json:"per_page"`
	Pages   int `json:"pages"` // of per_page items: 0 for an empty list
}

// fail answers err in the API's error format, with the message and field
// messages in the caller's language. Internal errors (anything that is not a
// *simplesender.Error of a known kind) are logged with their cause and
// answered with a generic message.
func (x *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, d := x.errorOf(w, r, err)
	x.reply(w, status, errorJSON{d})
}

// errorOf returns the status and the body of the answer to err, setting the
// headers it needs (Allow, WWW-Authenticate, Retry-After) on w. An internal
// error is logged here.
func (x *API) errorOf(w http.ResponseWriter, r *http.Request, err error) (int, errorDetail) {
	l := x.bundle.For(x.lang(r))
	if me, ok := errors.AsType[*methodError](err); ok {
		w.Header().Set("Allow", me.allow)
		return http.StatusMethodNotAllowed, errorDetail{
			Code: simplesender.KindBadRequest.String(), Message: l.T("error.method"), Fields: map[string]string{}}
	}
	e := simplesender.AsError(err)
	status := e.Kind.HTTPStatus()
	if status == http.StatusInternalServerError {
		if err != errInternal {
			x.logger.ErrorContext(r.Context(), "api: internal error", "method", r.Method, "path", r.URL.Path, "err", err)
		}
		e, status = errInternal, http.StatusInternalServerError
	}
	def := "error." + e.Kind.String()
	var args []any
	switch e.Kind {
	case simplesender.KindUnauthenticated:
		if w.Header().Get("WWW-Authenticate") == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="simplesender"`)
		}
	case simplesender.KindRateLimited, simplesender.KindUnavailable:
		// Retry-After in seconds for programs; the message in words.
		if secs := e.RetryAfterSeconds; secs > 0 || e.Kind == simplesender.KindRateLimited {
			secs = max(secs, 1)
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			args = []any{"Wait", l.Wait(time.Duration(secs) * time.Second)}
		}
	}
	d := errorDetail{Code: e.Kind.String(), Message: x.text(r.Context(), l, e.Message, def, args...), Fields: map[string]string{}}
	for field, key := range e.Fields {
		d.Fields[field] = x.text(r.Context(), l, key, def, e.FieldArgs[field]...)
	}
	return status, d
}

// text translates key, which may also be plain text safe to show (see
// simplesender.Error). An empty key, or a key the bundle lacks (a bug,
// logged), gives the message def instead, so a client never sees a raw key.
func (x *API) text(ctx context.Context, l *i18n.Localizer, key, def string, args ...any) string {
	switch {
	case key != "" && l.Has(key):
		return l.T(key, args...)
	case key == "" || strings.HasPrefix(key, "error."):
		if key != "" {
			x.logger.WarnContext(ctx, "api: missing message", "key", key, "lang", l.Lang())
		}
		return l.T(def, args...)
	}
	return key
}

// lang returns the caller's language: the authenticated user's setting, else
// the best match of Accept-Language, else English.
func (x *API) lang(r *http.Request) string {
	var userLang string
	if u := requestUser(r); u != nil {
		userLang = u.Lang
	}
	return x.bundle.Match(userLang, r.Header.Get("Accept-Language"))
}

// reply writes v as the JSON body of an answer with status; a nil v (as for
// 204) writes no body.
func (x *API) reply(w http.ResponseWriter, status int, v any) {
	if v == nil {
		w.WriteHeader(status)
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		// Only a bug in a response type gets here.
		x.logger.Error("api: encode answer", "err", err)
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"internal","message":"internal error","fields":{}}}`)
	}
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
