package api

import (
	"net/http"
	"strconv"

	"simplesender"
)

// segmentJSON is a segment as the API shows it.
type segmentJSON struct {
	ID         int64                          `json:"id"`
	OwnerID    int64                          `json:"owner_id"`
	Name       string                         `json:"name"`
	Definition simplesender.SegmentDefinition `json:"definition"`
	Count      *int                           `json:"count,omitempty"`
	CreatedAt  string                         `json:"created_at"`
	UpdatedAt  string                         `json:"updated_at"`
}

func segmentOfJSON(g *simplesender.Segment) segmentJSON {
	return segmentJSON{ID: g.ID, OwnerID: g.OwnerID, Name: g.Name, Definition: g.Definition,
		CreatedAt: timeJSON(g.CreatedAt), UpdatedAt: timeJSON(g.UpdatedAt)}
}

// segmentInput is the body of POST and PUT /segments.
type segmentInput struct {
	Name       string                         `json:"name"`
	Definition simplesender.SegmentDefinition `json:"definition"`
}

// listSegments answers a page of segments by name: the caller's own,
// everyone's for staff (?owner_id= narrows it). Errors: BadRequest.
func (x *API) listSegments(w http.ResponseWriter, r *http.Request, u *simplesender.User) error {
	p, f, owner, err := listQuery(r, nil)
	if err != nil {
		return err
	}
	items, total, err := x.app.ListSegments(r.Context(), as(u), owner, f)
	if err != nil {
		return err
	}
	out := list[segmentJSON]{Items: make([]segmentJSON, 0, len(items)), Total: total, Page: p.Page, PerPage: p.PerPage, Pages: p.pages(total)}
	for _, it := range items {
		out.Items = append(out.Items, segmentOfJSON(it))
	}
	x.reply(w, http.StatusOK, out)
	return nil
}

// createSegment saves a segment and answers 201 with it. Errors:
// BadRequest, Invalid (name, definition, conditions.N), Forbidden.
func (x *API) createSegment(w http.ResponseWriter, r *http.Request, u *simplesender.User) error {
	var in segmentInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	g, err := x.app.CreateSegment(r.Context(), as(u), in.Name, in.Definition)
	if err != nil {
		return err
	}
	created(w, "/segments/", g.ID)
	x.reply(w, http.StatusCreated, segmentOfJSON(g))
	return nil
}

// getSegment answers one segment with the number of recipients it matches
// now. Errors: NotFound.
func (x *API) getSegment(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	g, err := x.app.GetSegment(r.Context(), as(u), id)
	if err != nil {
		return err
	}
	n, err := x.app.CountSegment(r.Context(), g)
	if err != nil {
		return err
	}
	out := segmentOfJSON(g)
	out.Count = &n
	x.reply(w, http.StatusOK, out)
	return nil
}

// putSegment replaces a segment's name and definition. Errors: BadRequest,
// Invalid, NotFound, Forbidden.
func (x *API) putSegment(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	var in segmentInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	g, err := x.app.UpdateSegment(r.Context(), as(u), id, in.Name, in.Definition)
	if err != nil {
		return err
	}
	x.reply(w, http.StatusOK, segmentOfJSON(g))
	return nil
}

// deleteSegment removes a segment and answers 204. Errors: NotFound,
// Forbidden.
func (x *API) deleteSegment(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	if err := x.app.DeleteSegment(r.Context(), as(u), id); err != nil {
		return err
	}
	x.reply(w, http.StatusNoContent, nil)
	return nil
}

// countSegment answers how many of the caller's recipients a definition,
// saved or not, matches now. Errors: BadRequest, Invalid.
func (x *API) countSegment(w http.ResponseWriter, r *http.Request, u *simplesender.User) error {
	var in struct {
		Definition simplesender.SegmentDefinition `json:"definition"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	n, err := x.app.CountSegmentDefinition(r.Context(), as(u), in.Definition)
	if err != nil {
		return err
	}
	x.reply(w, http.StatusOK, countJSON{n})
	return nil
}

// listSegmentRecipients answers a page of the recipients a segment matches
// now, in the shape of GET /recipients. Errors: BadRequest, NotFound.
func (x *API) listSegmentRecipients(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	r.URL.RawQuery = setQuery(r, "segment_id", strconv.FormatInt(id, 10))
	return x.listRecipients(w, r, u)
}
