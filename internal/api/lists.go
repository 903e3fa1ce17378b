package api

import (
	"net/http"
	"strconv"
	"strings"

	"simplesender"
	"simplesender/internal/app"
)

// listJSON is a list of recipients as the API shows it.
type listJSON struct {
	ID        int64  `json:"id"`
	OwnerID   int64  `json:"owner_id"`
	Name      string `json:"name"`
	Members   int    `json:"members"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

func listOfJSON(l *simplesender.List) listJSON {
	return listJSON{ID: l.ID, OwnerID: l.OwnerID, Name: l.Name, Members: l.Members, CreatedAt: timeJSON(l.CreatedAt), UpdatedAt: timeJSON(l.UpdatedAt)}
}

// listInput is the body of POST and PATCH /lists.
type listInput struct {
	Name string `json:"name"`
}

// listLists answers a page of lists by name: the caller's own, everyone's
// for staff (?owner_id= narrows it). Errors: BadRequest.
func (x *API) listLists(w http.ResponseWriter, r *http.Request, u *simplesender.User) error {
	p, f, owner, err := listQuery(r, nil)
	if err != nil {
		return err
	}
	items, total, err := x.app.ListLists(r.Context(), as(u), owner, f)
	if err != nil {
		return err
	}
	out := list[listJSON]{Items: make([]listJSON, 0, len(items)), Total: total, Page: p.Page, PerPage: p.PerPage, Pages: p.pages(total)}
	for _, it := range items {
		out.Items = append(out.Items, listOfJSON(it))
	}
	x.reply(w, http.StatusOK, out)
	return nil
}

// createList makes a list and answers 201 with it. Errors: BadRequest,
// Invalid (name), Forbidden (managers).
func (x *API) createList(w http.ResponseWriter, r *http.Request, u *simplesender.User) error {
	var in listInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	l, err := x.app.CreateList(r.Context(), as(u), in.Name)
	if err != nil {
		return err
	}
	created(w, "/lists/", l.ID)
	x.reply(w, http.StatusCreated, listOfJSON(l))
	return nil
}

// getList answers one list with its member count. Errors: NotFound.
func (x *API) getList(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	l, err := x.app.GetList(r.Context(), as(u), id)
	if err != nil {
		return err
	}
	x.replyObject(w, r, listOfJSON(l))
	return nil
}

// patchList renames a list. Errors: BadRequest, Invalid, NotFound, Forbidden.
func (x *API) patchList(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	var in listInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if _, err := x.app.RenameList(r.Context(), as(u), id, in.Name); err != nil {
		return err
	}
	l, err := x.app.GetList(r.Context(), as(u), id)
	if err != nil {
		return err
	}
	x.reply(w, http.StatusOK, listOfJSON(l))
	return nil
}

// deleteList removes a list (its recipients stay) and answers 204. Errors:
// NotFound, Forbidden.
func (x *API) deleteList(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	if err := x.app.DeleteList(r.Context(), as(u), id); err != nil {
		return err
	}
	x.reply(w, http.StatusNoContent, nil)
	return nil
}

// listListRecipients answers a page of a list's members in the shape of GET
// /recipients. Errors: BadRequest, NotFound.
func (x *API) listListRecipients(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	r.URL.RawQuery = setQuery(r, "list_id", strconv.FormatInt(id, 10))
	return x.listRecipients(w, r, u)
}

func setQuery(r *http.Request, k, v string) string {
	q := r.URL.Query()
	q.Set(k, v)
	return q.Encode()
}

// recipientFilter reads ?list_id=, ?segment_id= and ?tag= of a recipients
// list into f.
func recipientFilter(r *http.Request, f *app.ListFilter) error {
	q := r.URL.Query()
	if s := q.Get("segment_id"); s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return badQuery(simplesender.FieldErrors{"segment_id": "error.query.invalid"})
		}
		f.SegmentID = id
	}
	if s := q.Get("list_id"); s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return badQuery(simplesender.FieldErrors{"list_id": "error.query.invalid"})
		}
		f.ListID = id
	}
	if s := strings.TrimSpace(q.Get("tag")); s != "" {
		tag, ok := simplesender.NormalizeTag(s)
		if !ok {
			return badQuery(simplesender.FieldErrors{"tag": "error.query.invalid"})
		}
		f.Tag = tag
	}
	return nil
}

// bulkInput is the body of the bulk list and tag routes: a selection as
// for /recipients/bulk/count, and the list or the tag.
type bulkInput struct {
	selectionInput
	Target int64  `json:"target_list_id"`
	SetTag string `json:"set_tag"`
}

// bulkApply answers a route that applies op to the selection in the body.
func (x *API) bulkApply(op app.BulkOp) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, u *simplesender.User) error {
		var in bulkInput
		if err := decode(w, r, &in); err != nil {
			return err
		}
		sel, err := in.selection()
		if err != nil {
			return err
		}
		n, err := x.app.ApplyToSelected(r.Context(), as(u), sel, op, app.BulkTarget{ListID: in.Target, Tag: in.SetTag})
		if err != nil {
			return err
		}
		x.reply(w, http.StatusOK, countJSON{n})
		return nil
	}
}

// audienceRuleJSON is one rule of a mailing's audience.
type audienceRuleJSON struct {
	Kind     string `json:"kind"`
	Exclude  bool   `json:"exclude"`
	ListID   int64  `json:"list_id"`
	ListName string `json:"list_name"`
	Tag      string `json:"tag"`
	// SegmentID, SegmentName and Segment (its definition) for a segment.
	SegmentID   int64                           `json:"segment_id,omitempty"`
	SegmentName string                          `json:"segment_name,omitempty"`
	Segment     *simplesender.SegmentDefinition `json:"segment,omitempty"`
}

// audienceInput is a rule in a mailing's body.
type audienceInput struct {
	Kind      string `json:"kind"`
	Exclude   bool   `json:"exclude"`
	ListID    int64  `json:"list_id"`
	Tag       string `json:"tag"`
	SegmentID int64  `json:"segment_id"`
}

func audienceOf(rules []simplesender.AudienceRule) []audienceRuleJSON {
	out := make([]audienceRuleJSON, 0, len(rules))
	for _, r := range rules {
		out = append(out, audienceRuleJSON{Kind: string(r.Kind), Exclude: r.Exclude, ListID: r.ListID, ListName: r.ListName, Tag: r.Tag,
			SegmentID: r.SegmentID, SegmentName: r.SegmentName, Segment: r.Segment})
	}
	return out
}

func audienceRules(in []audienceInput) []simplesender.AudienceRule {
	out := make([]simplesender.AudienceRule, 0, len(in))
	for _, r := range in {
		out = append(out, simplesender.AudienceRule{Kind: simplesender.AudienceKind(r.Kind), Exclude: r.Exclude, ListID: r.ListID, Tag: r.Tag,
			SegmentID: r.SegmentID})
	}
	return out
}

// getMailingAudience answers the lists and tags of a mailing's audience and
// how many recipients a run starting now would be sent to. Errors:
// NotFound.
func (x *API) getMailingAudience(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	m, err := x.app.GetMailing(r.Context(), as(u), id)
	if err != nil {
		return err
	}
	rules, n, err := x.app.MailingAudience(r.Context(), m)
	if err != nil {
		return err
	}
	x.reply(w, http.StatusOK, struct {
		Rules          []audienceRuleJSON `json:"rules"`
		RecipientCount int                `json:"chosen_count"`
		Count          int                `json:"count"`
	}{audienceOf(rules), m.RecipientCount, n})
	return nil
}
