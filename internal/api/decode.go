package api

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"

	"simplesender"
	"simplesender/internal/app"
)

// decode reads the request body, one JSON object, into dst. It is the one
// decoding path of the API. No body at all counts as {}, leaving dst as it
// is, so that the fields' own checks say what is missing. Errors
// (KindBadRequest unless said otherwise):
//   - a Content-Type other than application/json (charset, if given, utf-8):
//     400 rather than 415, so that every error code is one of the contract's (docs/api.md);
//   - a body over maxBodyBytes: KindTooLarge (413);
//   - malformed JSON, an empty body, more than one value;
//   - a field dst does not have, or a value of the wrong JSON type; Fields
//     names the field.
func decode(w http.ResponseWriter, r *http.Request, dst any) error {
	if r.ContentLength == 0 {
		return nil
	}
	if !isJSON(r.Header.Get("Content-Type")) {
		return simplesender.E(simplesender.KindBadRequest, "error.content_type")
	}
	if r.ContentLength > maxBodyBytes {
		return errTooLarge
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err == io.EOF {
		return nil // an empty body of unannounced length
	} else if err != nil {
		return decodeError(err)
	}
	// Exactly one value: anything after it but white space is malformed.
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			err = errors.New("data after the JSON value")
		}
		return decodeError(err)
	}
	return nil
}

var (
	errTooLarge = simplesender.E(simplesender.KindTooLarge, "error.too_large")
	errJSON     = simplesender.E(simplesender.KindBadRequest, "error.json")
)

// decodeError turns an error of encoding/json or of the body reader into a
// domain error.
func decodeError(err error) error {
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return errTooLarge
	}
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok && te.Field != "" {
		return &simplesender.Error{Kind: simplesender.KindBadRequest, Message: "error.json", Cause: err,
			Fields: map[string]string{fieldName(te.Field): "error.json.type"}}
	}
	// encoding/json has no error type for unknown fields, only this text.
	if name, ok := strings.CutPrefix(err.Error(), `json: unknown field "`); ok {
		return &simplesender.Error{Kind: simplesender.KindBadRequest, Message: "error.json", Cause: err,
			Fields: map[string]string{fieldName(strings.TrimSuffix(name, `"`)): "error.json.unknown_field"}}
	}
	return &simplesender.Error{Kind: simplesender.KindBadRequest, Message: "error.json", Cause: err}
}

// fieldName bounds a field name taken from the request before it is echoed
// back.
func fieldName(s string) string {
	if len(s) > 64 {
		return s[:64]
	}
	return s
}

// isJSON reports whether a Content-Type header names JSON in UTF-8.
func isJSON(contentType string) bool {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "application/json" {
		return false
	}
	cs, ok := params["charset"]
	return !ok || strings.EqualFold(cs, "utf-8")
}

// pathID returns the {id} of the path; a value that is not a positive
// integer names no object, so it is NotFound.
func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, errNotFound
	}
	return id, nil
}

// paging is a requested page of a list.
type paging struct {
	Page, PerPage int
}

// pages returns the number of pages of total items: 0 for none.
func (p paging) pages(total int) int {
	if total <= 0 {
		return 0
	}
	return app.LastPage(total, p.PerPage)
}

// offset returns the number of items before the page.
func (p paging) offset() int { return app.Offset(p.Page, p.PerPage) }

// pagingOf reads ?page= (default 1) and ?per_page= (default 50; above 500
// counts as 500): whole numbers from 1. A page past the last is an empty
// page, whatever its number (app.Offset). Errors: BadRequest naming the
// parameter that is not a whole number from 1.
func pagingOf(r *http.Request) (paging, error) {
	p := paging{Page: 1, PerPage: app.DefaultPerPage}
	q := r.URL.Query()
	f := simplesender.FieldErrors{}
	var ok bool
	if s := q.Get("page"); s != "" {
		if p.Page, ok = app.PageNumber(s); !ok {
			f.Add("page", "error.query.page")
		}
	}
	if s := q.Get("per_page"); s != "" {
		if p.PerPage, ok = app.PageNumber(s); !ok {
			f.Add("per_page", "error.query.per_page")
		}
		p.PerPage = min(p.PerPage, app.MaxPerPage)
	}
	if len(f) > 0 {
		return p, badQuery(f)
	}
	return p, nil
}

// badQuery is the error for malformed query parameters.
func badQuery(f simplesender.FieldErrors) error {
	return &simplesender.Error{Kind: simplesender.KindBadRequest, Message: "error.bad_request", Fields: f}
}

// clientIP is the address throttling counts a request against: the host part
// of RemoteAddr. Forwarding headers (X-Forwarded-For, Forwarded) are not
// trusted, since any client can set them to dodge the limits; behind a
// reverse proxy every client therefore shares the proxy's address.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
