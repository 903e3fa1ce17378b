package api

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"simplesender/internal/app"
	"slices"
	"strconv"
	"strings"

	"simplesender"
)

// maxQueryLen bounds ?q=.
const maxQueryLen = 200

// listQuery reads what every list of owned objects accepts: ?page=,
// ?per_page=, ?q= (search), ?sort= (one of sortable, "-" in front for
// descending) and ?owner_id= (staff narrow the list to one user; a regular
// user's lists are their own whatever it says). Errors: BadRequest for a
// malformed page, per_page, q or owner_id; Invalid (field sort) for a sort
// field that is not allowed.
func listQuery(r *http.Request, sortable []string) (paging, app.ListFilter, int64, error) {
	p, err := pagingOf(r)
	if err != nil {
		return p, app.ListFilter{}, 0, err
	}
	q := r.URL.Query()
	f := app.ListFilter{Query: strings.TrimSpace(q.Get("q")), Limit: p.PerPage, Offset: p.offset()}
	bad := simplesender.FieldErrors{}
	if len(f.Query) > maxQueryLen {
		bad.Add("q", "error.query.invalid")
	}
	owner, ok := ownerIDOf(r)
	if !ok {
		bad.Add("owner_id", "error.query.invalid")
	}
	if len(bad) > 0 {
		return p, f, 0, badQuery(bad)
	}
	f.Sort, f.Desc, err = sortOf(r, sortable)
	return p, f, owner, err
}

// ownerIDOf reads ?owner_id=: 0 when absent, false when it is no id.
func ownerIDOf(r *http.Request) (int64, bool) {
	s := r.URL.Query().Get("owner_id")
	if s == "" {
		return 0, true
	}
	owner, err := strconv.ParseInt(s, 10, 64)
	return owner, err == nil && owner > 0
}

// sortOf reads ?sort=field or ?sort=-field. An empty parameter is the
// list's default order. Errors: Invalid, field sort, for a field that is not
// in allowed: a client learns at once that its order is not applied.
func sortOf(r *http.Request, allowed []string) (field string, desc bool, err error) {
	s := r.URL.Query().Get("sort")
	if s == "" {
		return "", false, nil
	}
	field, desc = strings.CutPrefix(s, "-")
	if !slices.Contains(allowed, field) {
		return "", false, simplesender.Invalid(map[string]string{"sort": "error.query.invalid"})
	}
	return field, desc, nil
}

// boolParam reads a boolean query parameter: 1, true, yes / 0, false, no or
// absent (def). Errors: BadRequest naming it.
func boolParam(r *http.Request, name string, def bool) (bool, error) {
	switch strings.ToLower(r.URL.Query().Get(name)) {
	case "":
		return def, nil
	case "1", "true", "yes", "on":
		return true, nil
	case "0", "false", "no", "off":
		return false, nil
	}
	return def, badQuery(simplesender.FieldErrors{name: "error.query.invalid"})
}

// replyObject answers one object with 200 and a strong ETag, a hash of the
// body; a request whose If-None-Match names it gets 304 without a body.
func (x *API) replyObject(w http.ResponseWriter, r *http.Request, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		x.reply(w, http.StatusOK, v) // reply reports the bug
		return
	}
	sum := sha256.Sum256(b)
	etag := `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
	w.Header().Set("ETag", etag)
	if etagMatch(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(append(b, '\n'))
}

// etagMatch reports whether an If-None-Match header names etag, comparing
// weakly as RFC 9110 asks for If-None-Match.
func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

// csvWriter is the ResponseWriter of a CSV download: the CSV headers are
// set on the first write, so an error before it is still answered as JSON.
type csvWriter struct {
	w        http.ResponseWriter
	filename string
	started  bool
}

func (c *csvWriter) Write(b []byte) (int, error) {
	if !c.started {
		c.started = true
		h := c.w.Header()
		h.Set("Content-Type", "text/csv; charset=utf-8")
		h.Set("Content-Disposition", `attachment; filename="`+c.filename+`"`)
		c.w.WriteHeader(http.StatusOK)
	}
	return c.w.Write(b)
}

// finishCSV ends a download written through c: an error before anything was
// written is returned, to be answered as JSON; one after it can only be
// logged, and the client sees a truncated file.
func (x *API) finishCSV(r *http.Request, c *csvWriter, err error) error {
	if err == nil && !c.started {
		_, err = c.Write(nil)
	}
	if err == nil || !c.started {
		return err
	}
	x.logger.ErrorContext(r.Context(), "api: CSV download broken off", "path", r.URL.Path, "err", err)
	return nil
}
