package api

import (
	"net/http"
	"strings"

	"simplesender"
	"simplesender/internal/app"
)

// suppressionJSON is a suppression as the API shows it.
type suppressionJSON struct {
	ID          int64  `json:"id"`
	OwnerID     *int64 `json:"owner_id"` // null: service-wide
	OwnerEmail  string `json:"owner_email"`
	Email       string `json:"email"`
	Reason      string `json:"reason"`
	Note        string `json:"note"`
	MailingID   *int64 `json:"mailing_id"`
	CreatedAt   string `json:"created_at"`
	CreatedBy   *int64 `json:"created_by"`
	CreatedByEm string `json:"created_by_email"`
	Created     *bool  `json:"created,omitempty"` // in the answer to POST only
}

func optID(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

func suppressionOf(x *simplesender.Suppression) suppressionJSON {
	return suppressionJSON{ID: x.ID, OwnerID: optID(x.OwnerID), OwnerEmail: x.OwnerEmail, Email: x.Email, Reason: string(x.Reason),
		Note: x.Note, MailingID: optID(x.MailingID), CreatedAt: timeJSON(x.CreatedAt), CreatedBy: optID(x.CreatedBy),
		CreatedByEm: x.CreatedByEmail}
}

// suppressionQuery reads ?q=, ?reason=, ?owner_id= and ?service_wide= and
// the page. Errors: BadRequest naming the parameter.
func suppressionQuery(r *http.Request) (paging, app.SuppressionQuery, error) {
	p, err := pagingOf(r)
	if err != nil {
		return p, app.SuppressionQuery{}, err
	}
	q := r.URL.Query()
	sq := app.SuppressionQuery{Query: strings.TrimSpace(q.Get("q")), Reason: simplesender.SuppressionReason(q.Get("reason")),
		Limit: p.PerPage, Offset: p.offset()}
	bad := simplesender.FieldErrors{}
	if len(sq.Query) > maxQueryLen {
		bad.Add("q", "error.query.invalid")
	}
	if sq.Reason != "" && !sq.Reason.Valid() {
		bad.Add("reason", "error.query.invalid")
	}
	owner, ok := ownerIDOf(r)
	if !ok {
		bad.Add("owner_id", "error.query.invalid")
	}
	sq.Owner = owner
	wide, err := boolParam(r, "service_wide", false)
	if err != nil {
		bad.Add("service_wide", "error.query.invalid")
	}
	if wide {
		sq.Owner = app.ServiceWide
	}
	if len(bad) > 0 {
		return p, sq, badQuery(bad)
	}
	return p, sq, nil
}

// listSuppressions answers a page of suppressions, newest first: the
// caller's own; staff everyone's and the service-wide ones (?owner_id= or
// ?service_wide=1 narrow it).
func (x *API) listSuppressions(w http.ResponseWriter, r *http.Request, u *simplesender.User) error {
	p, q, err := suppressionQuery(r)
	if err != nil {
		return err
	}
	items, total, err := x.app.ListSuppressions(r.Context(), as(u), q)
	if err != nil {
		return err
	}
	out := list[suppressionJSON]{Items: make([]suppressionJSON, 0, len(items)), Total: total, Page: p.Page, PerPage: p.PerPage, Pages: p.pages(total)}
	for _, it := range items {
		out.Items = append(out.Items, suppressionOf(it))
	}
	x.reply(w, http.StatusOK, out)
	return nil
}

// suppressionInput is the body of POST /suppressions.
type suppressionInput struct {
	Email       string `json:"email"`
	Reason      string `json:"reason"`
	Note        string `json:"note"`
	OwnerID     int64  `json:"owner_id"`
	ServiceWide bool   `json:"service_wide"`
}

// addSuppression suppresses an address by hand; an address already on the
// list keeps its first record (created false). Errors: BadRequest,
// Invalid, Forbidden (managers; the service-wide list for non-admins),
// NotFound (owner_id of nobody, or of another user for a regular user).
func (x *API) addSuppression(w http.ResponseWriter, r *http.Request, u *simplesender.User) error {
	var in suppressionInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if strings.TrimSpace(in.Email) == "" {
		return simplesender.Invalid(map[string]string{"email": "error.required"})
	}
	s, made, err := x.app.AddSuppression(r.Context(), as(u), app.SuppressionInput{Email: in.Email,
		Reason: simplesender.SuppressionReason(in.Reason), Note: in.Note, Owner: in.OwnerID, ServiceWide: in.ServiceWide})
	if err != nil {
		return err
	}
	out := suppressionOf(s)
	out.Created = &made
	x.reply(w, http.StatusOK, out)
	return nil
}

// getSuppression answers one suppression. Errors: NotFound (also another
// user's for a regular user).
func (x *API) getSuppression(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	s, err := x.app.GetSuppression(r.Context(), as(u), id)
	if err != nil {
		return err
	}
	x.reply(w, http.StatusOK, suppressionOf(s))
	return nil
}

// removeSuppression takes an address off its list for ?reason=, which the
// audit log keeps, and answers 204. Errors: Invalid (no reason), NotFound,
// Forbidden.
func (x *API) removeSuppression(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	if _, err := x.app.RemoveSuppression(r.Context(), as(u), id, r.URL.Query().Get("reason")); err != nil {
		return err
	}
	x.reply(w, http.StatusNoContent, nil)
	return nil
}

// exportSuppressions downloads the suppressions the caller may see as CSV,
// selected as by listSuppressions.
func (x *API) exportSuppressions(w http.ResponseWriter, r *http.Request, u *simplesender.User) error {
	opts, err := exportOptions(r)
	if err != nil {
		return err
	}
	_, q, err := suppressionQuery(r)
	if err != nil {
		return err
	}
	cw := &csvWriter{w: w, filename: "suppressions.csv"}
	_, err = x.app.ExportSuppressions(r.Context(), as(u), q, cw, opts)
	return x.finishCSV(r, cw, err)
}

// suppressionImportJSON is the outcome of an import of suppressions.
type suppressionImportJSON struct {
	Rows    int             `json:"rows"`
	Added   int             `json:"added"`
	Already int             `json:"already"`
	Invalid int             `json:"invalid"`
	Errors  []importRowJSON `json:"errors"`
}

// importSuppressions adds the addresses of a CSV file (the body, or the
// part named file) to the caller's list, with ?reason= and ?note= (admins:
// ?owner_id= or ?service_wide=1). Errors: BadRequest, Invalid (a file that
// is not CSV, a bad reason), TooLarge, Forbidden, NotFound.
func (x *API) importSuppressions(w http.ResponseWriter, r *http.Request, u *simplesender.User) error {
	q := r.URL.Query()
	in := app.SuppressionInput{Reason: simplesender.SuppressionReason(q.Get("reason")), Note: q.Get("note")}
	owner, ok := ownerIDOf(r)
	wide, err := boolParam(r, "service_wide", false)
	if !ok || err != nil {
		return badQuery(simplesender.FieldErrors{"owner_id": "error.query.invalid"})
	}
	in.Owner, in.ServiceWide = owner, wide
	if r.ContentLength > x.importLimit+(1<<20) {
		return x.tooLarge(r)
	}
	src, _, err := uploadSource(w, r, x.importLimit)
	if err != nil {
		return x.uploadError(r, err)
	}
	res, err := x.app.ImportSuppressions(r.Context(), as(u), in, src)
	if err != nil {
		return x.uploadError(r, err)
	}
	l := x.bundle.For(x.lang(r))
	out := suppressionImportJSON{Rows: res.Rows, Added: res.Added, Already: res.Already, Invalid: res.Invalid,
		Errors: make([]importRowJSON, 0, len(res.Errors))}
	for _, e := range res.Errors {
		row := importRowJSON{Line: e.Line, Email: e.Email, Fields: map[string]string{}}
		for field, key := range e.Fields {
			row.Fields[field] = x.text(r.Context(), l, key, "error.invalid")
		}
		out.Errors = append(out.Errors, row)
	}
	x.reply(w, http.StatusOK, out)
	return nil
}
