package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/i18n"
)

// Segments: /segments lists them; /segments/new and /segments/{id} are the
// editor, a form of condition rows (field, operator, value). Without
// JavaScript its buttons add a row or count the matches by posting the
// form back; with it, the count follows every change (POST
// /segments/count answers JSON) and each row shows only the inputs its
// field takes.

type segmentsData struct {
	Segments []*simplesender.Segment
	Owners   map[int64]string // staff: owner id -> e-mail
	Query    string
	Pager    pager
}

func (s *Server) segments(w http.ResponseWriter, r *http.Request) {
	rc := reqCtx(r)
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	per := perPageParam(r)
	items, total, page, err := listPage(pageParam(r), per, func(off int) ([]*simplesender.Segment, int, error) {
		return s.app.ListSegments(r.Context(), rc.actor(), 0, app.ListFilter{Query: q, Limit: per, Offset: off})
	})
	if err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	owners := make([]int64, len(items))
	for i, x := range items {
		owners[i] = x.OwnerID
	}
	s.render(w, r, http.StatusOK, "segments", &Page{Title: "page.segments.title", Nav: "recipients",
		Data: segmentsData{Segments: items, Owners: s.ownerEmails(r.Context(), rc.actor(), owners), Query: q, Pager: newPager(r.URL, page, per, total)}})
}

// segmentRow is one condition row of the editor.
type segmentRow struct {
	Field, Op, Value string
	ListID, Mailing  int64
	Error            string
}

// choice is an option of a select: a value and its label.
type choice struct{ Value, Label string }

type segmentFormData struct {
	Segment  *simplesender.Segment // nil for a new one
	Match    string
	Rows     []segmentRow
	Count    int
	Counted  bool // Count holds the count of the definition shown
	Fields   []choice
	Ops      map[string][]choice // field -> its operators
	AllOps   []choice            // every operator, for the page without JS
	Lists    []*simplesender.List
	Mailings []*simplesender.Mailing
	Action   string
	Editable bool
}

// readSegmentForm reads the editor's fields: name, match, and the rows
// cond_field, cond_op, cond_value, cond_list, cond_mailing (parallel; a row
// without a field is left out).
func readSegmentForm(v url.Values) (string, simplesender.SegmentDefinition, []segmentRow) {
	d := simplesender.SegmentDefinition{Match: v.Get("match")}
	var rows []segmentRow
	fields, ops, values, lists, mailings := v["cond_field"], v["cond_op"], v["cond_value"], v["cond_list"], v["cond_mailing"]
	at := func(s []string, i int) string {
		if i < len(s) {
			return strings.TrimSpace(s[i])
		}
		return ""
	}
	for i := range fields {
		row := segmentRow{Field: at(fields, i), Op: at(ops, i), Value: at(values, i)}
		row.ListID, _ = strconv.ParseInt(at(lists, i), 10, 64)
		row.Mailing, _ = strconv.ParseInt(at(mailings, i), 10, 64)
		if row.Field == "" {
			continue
		}
		rows = append(rows, row)
		c := simplesender.Condition{Field: row.Field, Op: row.Op}
		switch {
		case row.Field == simplesender.SegmentFieldHistory:
			c.Mailing = row.Mailing
		case row.Field == simplesender.SegmentFieldList:
			c.Value = strconv.FormatInt(row.ListID, 10)
		case simplesender.NeedsValue(row.Field, row.Op):
			c.Value = row.Value
		}
		d.Conditions = append(d.Conditions, c)
	}
	return v.Get("name"), d, rows
}

// segmentRows is the editor's rows of a saved definition.
func segmentRows(d simplesender.SegmentDefinition) []segmentRow {
	rows := make([]segmentRow, 0, len(d.Conditions))
	for _, c := range d.Conditions {
		row := segmentRow{Field: c.Field, Op: c.Op, Mailing: c.Mailing}
		if c.Field == simplesender.SegmentFieldList {
			row.ListID = c.ListID()
		} else {
			row.Value = c.Text()
		}
		rows = append(rows, row)
	}
	return rows
}

func (s *Server) newSegment(w http.ResponseWriter, r *http.Request) {
	if s.refused(w, r, app.ActCreate, reqCtx(r).User.ID) {
		return
	}
	s.segmentForm(w, r, http.StatusOK, nil, "", simplesender.SegmentDefinition{Match: "all"}, nil, nil, false)
}

func (s *Server) segment(w http.ResponseWriter, r *http.Request) {
	g, ok := loadByID(s, w, r, s.app.GetSegment)
	if !ok {
		return
	}
	s.segmentForm(w, r, http.StatusOK, g, g.Name, g.Definition, segmentRows(g.Definition), nil, true)
}

// saveSegment handles the editor's post: do=add adds a row, do=count
// counts, anything else saves (a new segment, or g).
func (s *Server) saveSegment(w http.ResponseWriter, r *http.Request) {
	rc := reqCtx(r)
	var g *simplesender.Segment
	if r.PathValue("id") != "" {
		var ok bool
		if g, ok = loadByID(s, w, r, s.app.GetSegment); !ok || s.refused(w, r, app.ActEdit, g.OwnerID) {
			return
		}
	} else if s.refused(w, r, app.ActCreate, rc.User.ID) {
		return
	}
	name, d, rows := readSegmentForm(r.PostForm)
	switch r.PostFormValue("do") {
	case "add":
		s.segmentForm(w, r, http.StatusOK, g, name, d, append(rows, segmentRow{}), nil, false)
		return
	case "count":
		s.segmentForm(w, r, http.StatusOK, g, name, d, rows, nil, true)
		return
	}
	var err error
	if g == nil {
		g, err = s.app.CreateSegment(r.Context(), rc.actor(), name, d)
	} else {
		_, err = s.app.UpdateSegment(r.Context(), rc.actor(), g.ID, name, d)
	}
	if simplesender.IsKind(err, simplesender.KindInvalid) {
		if r.PathValue("id") == "" {
			g = nil
		}
		s.segmentForm(w, r, http.StatusUnprocessableEntity, g, name, d, rows, err, false)
		return
	} else if err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	s.redirectFlash(w, r, "/segments/"+strconv.FormatInt(g.ID, 10), "success", "flash.segment_saved")
}

// segmentForm renders the editor of g (nil: a new segment) with name, d
// and rows (nil: d's); count asks for the number of matches, fail is the
// error of a save.
func (s *Server) segmentForm(w http.ResponseWriter, r *http.Request, status int, g *simplesender.Segment, name string,
	d simplesender.SegmentDefinition, rows []segmentRow, fail error, count bool) {
	rc := reqCtx(r)
	ctx := r.Context()
	owner := rc.User.ID
	if g != nil {
		owner = g.OwnerID
	}
	if rows == nil {
		rows = segmentRows(d)
	}
	if len(rows) == 0 {
		rows = []segmentRow{{Field: simplesender.SegmentFieldEmail, Op: "contains"}}
	}
	data := segmentFormData{Segment: g, Match: d.Match, Rows: rows, Action: "/segments/new",
		Editable: rc.actor().Can(app.ActEdit, owner)}
	if data.Match == "" {
		data.Match = "all"
	}
	if g != nil {
		data.Action = "/segments/" + strconv.FormatInt(g.ID, 10)
	}
	s.segmentChoices(rc.L, &data)
	var err error
	if data.Lists, _, err = s.app.ListLists(ctx, rc.actor(), owner, app.ListFilter{Limit: maxChooser}); err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	if data.Mailings, _, err = s.app.ListMailings(ctx, rc.actor(), owner, app.MailingFilter{ListFilter: app.ListFilter{Limit: maxChooser}}); err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	if count && fail == nil {
		if g != nil && g.OwnerID != rc.User.ID {
			data.Count, err = s.app.CountSegment(ctx, g)
		} else {
			data.Count, err = s.app.CountSegmentDefinition(ctx, rc.actor(), d)
		}
		data.Counted = err == nil
		if err != nil && !simplesender.IsKind(err, simplesender.KindInvalid) {
			s.fail(w, r, err, "", nil)
			return
		}
		fail = err
	}
	p := &Page{Title: "page.segment_new.title", Nav: "recipients", Form: map[string]string{"name": name}, Data: data}
	if g != nil {
		p.Title = "page.segment.title"
	}
	if fail != nil {
		markRowErrors(fail, data.Rows, rc.L)
		s.fail(w, r, fail, "segment_form", p)
		return
	}
	s.render(w, r, status, "segment_form", p)
}

// markRowErrors puts the message of each row's error on its row.
func markRowErrors(err error, rows []segmentRow, l *i18n.Localizer) {
	e := simplesender.AsError(err)
	for i := range rows {
		field := "conditions." + strconv.Itoa(i+1)
		if key, ok := e.Fields[field]; ok {
			rows[i].Error = l.T(key, e.FieldArgs[field]...)
		}
	}
}

// segmentChoices fills the fields and operators the editor offers.
func (s *Server) segmentChoices(l *i18n.Localizer, d *segmentFormData) {
	d.Ops = map[string][]choice{}
	seen := map[string]bool{}
	for _, f := range simplesender.SegmentFields {
		d.Fields = append(d.Fields, choice{f, l.T("segments.field." + f)})
		for _, op := range simplesender.SegmentOps(f) {
			c := choice{op, l.T("segments.op." + op)}
			d.Ops[f] = append(d.Ops[f], c)
			if !seen[op] {
				seen[op] = true
				d.AllOps = append(d.AllOps, c)
			}
		}
	}
}

// OpsJSON is the operators of each field, for the editor's script.
func (d segmentFormData) OpsJSON() string {
	b, _ := json.Marshal(d.Ops)
	return string(b)
}

// countSegment answers the editor's live count as JSON: {"count": n}, or
// {"error": message} for a definition that is not valid yet.
func (s *Server) countSegment(w http.ResponseWriter, r *http.Request) {
	rc := reqCtx(r)
	_, d, _ := readSegmentForm(r.PostForm)
	n, err := s.app.CountSegmentDefinition(r.Context(), rc.actor(), d)
	out := map[string]any{"count": n, "text": rc.L.N("segments.count", n)}
	if err != nil {
		e := simplesender.AsError(err)
		if e.Kind != simplesender.KindInvalid {
			out = map[string]any{"error": rc.L.T("error.internal")}
			if e.Kind == simplesender.KindUnauthenticated {
				out["error"] = rc.L.T("error.unauthenticated")
			}
		} else {
			out = map[string]any{"error": firstFieldError(e, rc.L)}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(out)
}

// firstFieldError is the message of e's first field in order, for one line.
func firstFieldError(e *simplesender.Error, l *i18n.Localizer) string {
	keys := []string{"definition"}
	for i := 1; i <= simplesender.MaxSegmentConditions; i++ {
		keys = append(keys, "conditions."+strconv.Itoa(i))
	}
	for _, k := range keys {
		if key, ok := e.Fields[k]; ok {
			return l.T(key, e.FieldArgs[k]...)
		}
	}
	return l.T(e.Message)
}

func (s *Server) deleteSegmentForm(w http.ResponseWriter, r *http.Request) {
	g, ok := loadByID(s, w, r, s.app.GetSegment)
	if !ok || s.refused(w, r, app.ActDelete, g.OwnerID) {
		return
	}
	self := "/segments/" + strconv.FormatInt(g.ID, 10)
	s.render(w, r, http.StatusOK, "confirm_delete", &Page{Title: "page.segment_delete.title", Nav: "recipients",
		Data: confirmData{Question: "segments.delete_confirm", What: g.Name, Action: self + "/delete", Cancel: self}})
}

func (s *Server) deleteSegment(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	if err := s.app.DeleteSegment(r.Context(), reqCtx(r).actor(), id); err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	s.redirectFlash(w, r, "/segments", "success", "flash.segment_deleted")
}

// segmentText describes d in the viewer's language, one condition after
// another, with the names of its lists and mailings as owner sees them.
func (s *Server) segmentText(ctx context.Context, ac *app.Actor, l *i18n.Localizer, d *simplesender.SegmentDefinition) string {
	if d == nil {
		return ""
	}
	parts := make([]string, 0, len(d.Conditions))
	for _, c := range d.Conditions {
		text := l.T("segments.field."+c.Field) + " " + l.T("segments.op."+c.Op)
		switch {
		case c.Field == simplesender.SegmentFieldList:
			name := "#" + c.Text()
			if li, err := s.app.GetList(ctx, ac, c.ListID()); err == nil {
				name = "«" + li.Name + "»"
			}
			text += " " + name
		case c.Field == simplesender.SegmentFieldHistory && c.Mailing != 0:
			name := "#" + strconv.FormatInt(c.Mailing, 10)
			if m, err := s.app.GetMailing(ctx, ac, c.Mailing); err == nil {
				name = "«" + m.Name + "»"
			}
			text += " " + name
		case c.Field == simplesender.SegmentFieldHistory:
			text += " " + l.T("segments.any_mailing")
		case c.Text() != "":
			text += " «" + c.Text() + "»"
		}
		parts = append(parts, text)
	}
	sep := " " + l.T("segments.and") + " "
	if d.Match == "any" {
		sep = " " + l.T("segments.or") + " "
	}
	return strings.Join(parts, sep)
}
