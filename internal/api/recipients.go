package api

import (
	"net/http"
	"strconv"

	"simplesender"
)

// recipientJSON is a recipient as the API shows it.
type recipientJSON struct {
	ID         int64    `json:"id"`
	OwnerID    int64    `json:"owner_id"`
	Email      string   `json:"email"`
	FirstName  string   `json:"first_name"`
	LastName   string   `json:"last_name"`
	MiddleName string   `json:"middle_name"`
	Comment    string   `json:"comment"`
	Tags       []string `json:"tags"`
	// Fields are the custom field values by key, typed.
	Fields    map[string]any `json:"fields"`
	CreatedAt string         `json:"created_at"`
	UpdatedAt string         `json:"updated_at"`
}

// recipientOf is r as the API shows it, its custom field values typed by
// types (the owner's field types by key).
func recipientOf(r *simplesender.Recipient, types map[string]simplesender.FieldType) recipientJSON {
	out := recipientJSON{ID: r.ID, OwnerID: r.OwnerID, Email: r.Email, FirstName: r.FirstName, LastName: r.LastName,
		MiddleName: r.MiddleName, Comment: r.Comment, Tags: r.Tags, Fields: typedValues(r.Fields, types),
		CreatedAt: timeJSON(r.CreatedAt), UpdatedAt: timeJSON(r.UpdatedAt)}
	if out.Tags == nil {
		out.Tags = []string{}
	}
	return out
}

// oneRecipient is rec as the API shows it, with its field types.
func (x *API) oneRecipient(r *http.Request, u *simplesender.User, rec *simplesender.Recipient) (recipientJSON, error) {
	types, err := x.fieldTypes(r, u, rec)
	if err != nil {
		return recipientJSON{}, err
	}
	return recipientOf(rec, types[rec.OwnerID]), nil
}

// recipientInput is the body of POST and PATCH /recipients: a nil field is
// absent (PATCH keeps its value; POST takes it as empty).
type recipientInput struct {
	Email      *string `json:"email"`
	FirstName  *string `json:"first_name"`
	LastName   *string `json:"last_name"`
	MiddleName *string `json:"middle_name"`
	Comment    *string `json:"comment"`
	// Tags, when present, replace the recipient's tags.
	Tags *[]string `json:"tags"`
	// Fields set the custom field values they name (null or "" removes
	// one); the others stay.
	Fields map[string]any `json:"fields"`
}

// apply sets the present fields on r. Errors: Invalid for a custom field
// value that is an array or an object.
func (in recipientInput) apply(r *simplesender.Recipient) error {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&r.Email, in.Email)
	set(&r.FirstName, in.FirstName)
	set(&r.LastName, in.LastName)
	set(&r.MiddleName, in.MiddleName)
	set(&r.Comment, in.Comment)
	r.Tags = nil // absent: kept
	if in.Tags != nil {
		r.Tags = append([]string{}, *in.Tags...)
	}
	r.Fields = nil // absent: kept
	if in.Fields != nil {
		r.Fields = make(map[string]string, len(in.Fields))
		for k, v := range in.Fields {
			t, err := valueText(k, v)
			if err != nil {
				return err
			}
			r.Fields[k] = t
		}
	}
	return nil
}

// recipientSorts are the fields a recipient list may be sorted by.
var recipientSorts = []string{"id", "email", "last_name", "first_name", "created_at"}

// listRecipients answers a page of recipients: the caller's own, everyone's
// for staff (?owner_id= narrows it). ?q= searches the address and names;
// ?list_id= and ?tag= keep the members of a list and those with a tag.
// Errors: BadRequest, Invalid (sort).
func (x *API) listRecipients(w http.ResponseWriter, r *http.Request, u *simplesender.User) error {
	p, f, owner, err := listQuery(r, recipientSorts)
	if err != nil {
		return err
	}
	if err := recipientFilter(r, &f); err != nil {
		return err
	}
	items, total, err := x.app.ListRecipients(r.Context(), as(u), owner, f)
	if err != nil {
		return err
	}
	types, err := x.fieldTypes(r, u, items...)
	if err != nil {
		return err
	}
	out := list[recipientJSON]{Items: make([]recipientJSON, 0, len(items)), Total: total, Page: p.Page, PerPage: p.PerPage, Pages: p.pages(total)}
	for _, it := range items {
		out.Items = append(out.Items, recipientOf(it, types[it.OwnerID]))
	}
	x.reply(w, http.StatusOK, out)
	return nil
}

// createRecipient adds a recipient to the caller's list and answers 201
// with it. Errors: BadRequest, Invalid (also an address the caller already
// has).
func (x *API) createRecipient(w http.ResponseWriter, r *http.Request, u *simplesender.User) error {
	var in recipientInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if in.Email == nil || *in.Email == "" {
		return simplesender.Invalid(map[string]string{"email": "error.required"})
	}
	rec := &simplesender.Recipient{}
	if err := in.apply(rec); err != nil {
		return err
	}
	if err := x.app.CreateRecipient(r.Context(), as(u), rec); err != nil {
		return err
	}
	out, err := x.oneRecipient(r, u, rec)
	if err != nil {
		return err
	}
	created(w, "/recipients/", rec.ID)
	x.reply(w, http.StatusCreated, out)
	return nil
}

// getRecipient answers one recipient, with an ETag. Errors: NotFound.
func (x *API) getRecipient(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	rec, err := x.app.GetRecipient(r.Context(), as(u), id)
	if err != nil {
		return err
	}
	out, err := x.oneRecipient(r, u, rec)
	if err != nil {
		return err
	}
	x.replyObject(w, r, out)
	return nil
}

// patchRecipient changes the fields present in the body and answers the
// recipient. Errors: BadRequest, Invalid, NotFound, Forbidden (staff on
// another user's recipient).
func (x *API) patchRecipient(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	var in recipientInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	rec, err := x.app.GetRecipient(r.Context(), as(u), id)
	if err != nil {
		return err
	}
	if err := in.apply(rec); err != nil {
		return err
	}
	if err := x.app.UpdateRecipient(r.Context(), as(u), rec); err != nil {
		return err
	}
	if rec, err = x.app.GetRecipient(r.Context(), as(u), id); err != nil {
		return err
	}
	out, err := x.oneRecipient(r, u, rec)
	if err != nil {
		return err
	}
	x.reply(w, http.StatusOK, out)
	return nil
}

// deleteRecipient removes a recipient and answers 204; the delivery history
// keeps its copy of the address. Errors: NotFound, Forbidden.
func (x *API) deleteRecipient(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	if err := x.app.DeleteRecipient(r.Context(), as(u), id); err != nil {
		return err
	}
	x.reply(w, http.StatusNoContent, nil)
	return nil
}

// created sets the Location of an object just made.
func created(w http.ResponseWriter, path string, id int64) {
	w.Header().Set("Location", Prefix+path+strconv.FormatInt(id, 10))
}
