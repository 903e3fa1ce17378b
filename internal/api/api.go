// Package api serves the JSON API under /api/v1: accounts, API tokens, user
// administration, recipients (with CSV import and export), messages,
// mailings with their runs, deliveries and attempts, statistics, and the
// OpenAPI document that describes it all (GET /api/v1/openapi.json). It is a thin edge over internal/app, which decides every
// authorization question; this package decodes requests, authenticates the
// bearer token, and turns results and errors into the JSON format that the
// interface contract (docs/api.md) fixes.
//
// The API is authenticated by bearer tokens only, never by cookies, so a
// cross-site page cannot make a browser send an authenticated request on a
// user's behalf: there is no CSRF exposure and no CSRF token.
package api

import (
	"log/slog"
	"net/http"
	"path"
	"runtime/debug"
	"strings"

	"simplesender/internal/app"
	"simplesender/internal/i18n"
)

// Prefix is the path under which the API is mounted.
const Prefix = "/api/v1"

// maxBodyBytes bounds every request body; a larger one is answered 413.
const maxBodyBytes = 1 << 20

// API is the JSON API over one App. It is safe for concurrent use.
type API struct {
	app    *app.App
	bundle *i18n.Bundle
	logger *slog.Logger

	mux      *http.ServeMux
	patterns map[string]bool // the patterns registered on mux
	openapi  []byte          // the OpenAPI document

	// importLimit bounds an uploaded CSV file (the app's limit; tests
	// lower it).
	importLimit int64
}

// New returns the API over a, translating messages with b and logging
// internal errors to logger (discarded when nil).
func New(a *app.App, b *i18n.Bundle, logger *slog.Logger) *API {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	x := &API{app: a, bundle: b, logger: logger, mux: http.NewServeMux(), patterns: map[string]bool{},
		openapi: openAPIDocument()}
	if a != nil {
		x.importLimit, _ = a.ImportLimits()
	}
	x.routes()
	return x
}

// Handler returns the handler of the whole API. It expects the full request
// path (mount it as mux.Handle("/api/v1/", h)). Every answer, errors included,
// is JSON with Cache-Control: no-store; an unknown path is a JSON 404 and a
// known path with another method a JSON 405 with an Allow header.
func (x *API) Handler() http.Handler {
	return http.HandlerFunc(x.serve)
}

func (x *API) serve(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json; charset=utf-8")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	defer x.recoverPanic(w, r)

	// The mux would redirect a path that is not canonical (such as
	// /api/v1//me or /api/v1/x/../me), with a text body; an API names
	// its objects by one path only, so any other is not found.
	if p := r.URL.EscapedPath(); r.Method != http.MethodConnect && cleanPath(p) != p {
		x.fail(w, r, errNotFound)
		return
	}
	h, pattern := x.mux.Handler(r)
	if x.patterns[pattern] {
		x.mux.ServeHTTP(w, r)
		return
	}
	// No route of ours: the mux would answer 404 or 405 in plain text.
	x.fail(w, r, unrouted(h, r))
}

// cleanPath returns the canonical form of p, as http.ServeMux computes it:
// path.Clean, keeping a trailing slash.
func cleanPath(p string) string {
	if p == "" || p[0] != '/' {
		p = "/" + p
	}
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c
}

// unrouted returns the error for a request that matches no route, given the
// handler the mux chose for it: not found, or method not allowed with the
// methods the path does allow.
func unrouted(h http.Handler, r *http.Request) error {
	rec := &headerRecorder{header: http.Header{}}
	h.ServeHTTP(rec, r)
	if rec.status == http.StatusMethodNotAllowed {
		return &methodError{allow: rec.header.Get("Allow")}
	}
	return errNotFound
}

// headerRecorder keeps the status and headers a handler writes and drops the
// body.
type headerRecorder struct {
	header http.Header
	status int
}

func (rr *headerRecorder) Header() http.Header { return rr.header }

func (rr *headerRecorder) WriteHeader(status int) {
	if rr.status == 0 {
		rr.status = status
	}
}

func (rr *headerRecorder) Write(b []byte) (int, error) {
	rr.WriteHeader(http.StatusOK)
	return len(b), nil
}

// recoverPanic answers 500 for a panicking handler and logs the panic.
func (x *API) recoverPanic(w http.ResponseWriter, r *http.Request) {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler {
		panic(v)
	}
	x.logger.ErrorContext(r.Context(), "api: panic", "method", r.Method, "path", r.URL.Path, "panic", v,
		"stack", string(debug.Stack()))
	// If the handler had already written, this only adds to a broken answer;
	// the client sees a truncated body either way.
	x.fail(w, r, errInternal)
}
