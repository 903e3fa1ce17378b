package api

import (
	"context"
	"net/http"
	"strings"

	"simplesender"
	"simplesender/internal/app"
)

// selectionInput is the body of the bulk routes of recipients: ids of the
// caller's recipients, or all=true for every one matching q (every one
// when q is empty).
type selectionInput struct {
	IDs    []int64 `json:"ids"`
	All    bool    `json:"all"`
	Query  string  `json:"q"`
	ListID int64   `json:"list_id"`
	Tag    string  `json:"tag"`
	// SegmentID keeps, with all, only the recipients the caller's segment
	// matches.
	SegmentID int64 `json:"segment_id"`
}

// selection decodes the body into a selection. Errors: BadRequest for a
// malformed body; Invalid (field q) for a search too long.
func selection(w http.ResponseWriter, r *http.Request) (app.RecipientSelection, error) {
	var in selectionInput
	if err := decode(w, r, &in); err != nil {
		return app.RecipientSelection{}, err
	}
	return in.selection()
}

// selection checks in. Errors: Invalid (q: too long; tag: not a tag).
func (in selectionInput) selection() (app.RecipientSelection, error) {
	q := strings.TrimSpace(in.Query)
	if len(q) > maxQueryLen {
		return app.RecipientSelection{}, simplesender.Invalid(map[string]string{"q": "error.query.invalid"})
	}
	sel := app.RecipientSelection{IDs: in.IDs, All: in.All, Query: q, ListID: in.ListID, SegmentID: in.SegmentID}
	if strings.TrimSpace(in.Tag) != "" {
		tag, ok := simplesender.NormalizeTag(in.Tag)
		if !ok {
			return sel, simplesender.Invalid(map[string]string{"tag": "error.tag.invalid"})
		}
		sel.Tag = tag
	}
	return sel, nil
}

// countJSON answers how many recipients a selection holds, or held.
type countJSON struct {
	Count int `json:"count"`
}

// replyCount runs do on the selection in the body and answers the count it
// returns.
func (x *API) replyCount(w http.ResponseWriter, r *http.Request, u *simplesender.User,
	do func(context.Context, *app.Actor, app.RecipientSelection) (int, error)) error {
	sel, err := selection(w, r)
	if err != nil {
		return err
	}
	n, err := do(r.Context(), as(u), sel)
	if err != nil {
		return err
	}
	x.reply(w, http.StatusOK, countJSON{n})
	return nil
}

// countSelectedRecipients answers how many of the caller's recipients a
// selection holds: what a delete or an export of it would cover. Errors:
// BadRequest; Invalid (ids) for none or more than 1000 ids.
func (x *API) countSelectedRecipients(w http.ResponseWriter, r *http.Request, u *simplesender.User) error {
	return x.replyCount(w, r, u, x.app.CountSelectedRecipients)
}

// deleteSelectedRecipients deletes the caller's recipients a selection
// holds and answers how many went. Errors: BadRequest; Invalid (ids) for
// none, more than 1000, or ids none of which is the caller's; Forbidden for
// a caller who may not change their data.
func (x *API) deleteSelectedRecipients(w http.ResponseWriter, r *http.Request, u *simplesender.User) error {
	return x.replyCount(w, r, u, x.app.DeleteSelectedRecipients)
}

// exportSelectedRecipients answers the caller's recipients a selection
// holds as CSV, like GET /recipients.csv. Errors: BadRequest; Invalid (ids).
func (x *API) exportSelectedRecipients(w http.ResponseWriter, r *http.Request, u *simplesender.User) error {
	opts, err := exportOptions(r)
	if err != nil {
		return err
	}
	sel, err := selection(w, r)
	if err != nil {
		return err
	}
	cw := &csvWriter{w: w, filename: "recipients.csv"}
	_, err = x.app.ExportSelectedRecipients(r.Context(), as(u), sel, cw, opts)
	return x.finishCSV(r, cw, err)
}
