package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"simplesender"
	"simplesender/internal/app"
)

// Bulk actions on recipients: the list posts the ticked rows (id=…) or
// scope=all with the search (q=…) and the action; a page names the count
// and asks; its button posts the same selection to /recipients/bulk/delete
// or /recipients/bulk/export. Only the viewer's own recipients are ever
// selected (app.RecipientSelection).

// bulkData is the page that asks before a bulk action.
type bulkData struct {
	Action string // "delete", "export", or an app.BulkOp
	Count  int
	All    bool
	Query  string
	ListID int64 // the list filter of the selection
	// SegmentID is the segment filter of the selection.
	SegmentID int64
	Tag       string // the tag filter of the selection
	IDs       []int64
	Back      string // the list the selection came from
	// Target is the list of add_to_list and remove_from_list; SetTag the
	// tag of tag and untag.
	Target *simplesender.List
	SetTag string
}

// isBulkOp reports whether action is one of the list and tag operations.
func isBulkOp(action string) bool {
	switch app.BulkOp(action) {
	case app.BulkAddToList, app.BulkRemoveFromList, app.BulkTag, app.BulkUntag, app.BulkSuppress:
		return true
	}
	return false
}

// bulkSelection reads the selection a bulk form posts, and the list to go
// back to; a form that cannot be read gets the bad-request page (ok false).
func (s *Server) bulkSelection(w http.ResponseWriter, r *http.Request) (sel app.RecipientSelection, back string, ok bool) {
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "error.bad_request")
		return sel, "", false
	}
	q := strings.TrimSpace(r.PostFormValue("q"))
	sel = app.RecipientSelection{All: r.PostFormValue("scope") == "all", Query: q}
	sel.ListID, _ = strconv.ParseInt(r.PostFormValue("list"), 10, 64)
	sel.ListID = max(sel.ListID, 0)
	sel.Tag, _ = simplesender.NormalizeTag(r.PostFormValue("tag"))
	sel.SegmentID, _ = strconv.ParseInt(r.PostFormValue("segment"), 10, 64)
	sel.SegmentID = max(sel.SegmentID, 0)
	for _, v := range r.PostForm["id"] {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil && id > 0 && len(sel.IDs) <= 1000 {
			sel.IDs = append(sel.IDs, id)
		}
	}
	back = "/recipients"
	v := url.Values{}
	if q != "" {
		v.Set("q", q)
	}
	if sel.ListID != 0 {
		v.Set("list", strconv.FormatInt(sel.ListID, 10))
	}
	if sel.Tag != "" {
		v.Set("tag", sel.Tag)
	}
	if sel.SegmentID != 0 {
		v.Set("segment", strconv.FormatInt(sel.SegmentID, 10))
	}
	if len(v) > 0 {
		back += "?" + v.Encode()
	}
	return sel, back, true
}

// bulkFailed answers err of a bulk action, if any: a refused selection goes
// back to the list with the reason, anything else to the error page.
func (s *Server) bulkFailed(w http.ResponseWriter, r *http.Request, back string, err error) bool {
	if err == nil {
		return false
	}
	if e := simplesender.AsError(err); e.Kind == simplesender.KindInvalid {
		flash := "flash.bulk_none"
		switch {
		case e.Fields["ids"] == "error.bulk.too_many":
			flash = "flash.bulk_too_many"
		case e.Fields["list_id"] != "":
			flash = "flash.bulk_no_list"
		case e.Fields["tag"] != "":
			flash = "flash.bulk_bad_tag"
		}
		s.redirectFlash(w, r, back, "error", flash)
		return true
	}
	s.fail(w, r, err, "", nil)
	return true
}

// bulkRecipients asks before a bulk action: it names how many recipients
// the selection holds. Nothing selected goes back to the list with the
// reason.
func (s *Server) bulkRecipients(w http.ResponseWriter, r *http.Request) {
	rc := reqCtx(r)
	sel, back, ok := s.bulkSelection(w, r)
	if !ok {
		return
	}
	action := r.PostFormValue("action")
	if action != "delete" && action != "export" && !isBulkOp(action) {
		s.errorPage(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	n, err := s.app.CountSelectedRecipients(r.Context(), rc.actor(), sel)
	if err == nil && n == 0 {
		err = simplesender.Invalid(map[string]string{"ids": "error.bulk.none"})
	}
	if s.bulkFailed(w, r, back, err) {
		return
	}
	d := bulkData{Action: action, Count: n, All: sel.All, Query: sel.Query, ListID: sel.ListID, Tag: sel.Tag, SegmentID: sel.SegmentID, Back: back}
	if !sel.All {
		d.IDs = sel.IDs
	}
	switch app.BulkOp(action) {
	case app.BulkAddToList, app.BulkRemoveFromList:
		id, _ := strconv.ParseInt(r.PostFormValue("target_list"), 10, 64)
		l, err := s.app.GetList(r.Context(), rc.actor(), id)
		if err != nil || l.OwnerID != rc.User.ID {
			err = simplesender.Invalid(map[string]string{"list_id": "error.list.unknown"})
		}
		if s.bulkFailed(w, r, back, err) {
			return
		}
		d.Target = l
	case app.BulkTag, app.BulkUntag:
		tag, ok := simplesender.NormalizeTag(r.PostFormValue("set_tag"))
		if !ok {
			s.bulkFailed(w, r, back, simplesender.Invalid(map[string]string{"tag": "error.tag.invalid"}))
			return
		}
		d.SetTag = tag
	}
	s.render(w, r, http.StatusOK, "recipients_bulk", &Page{Title: "page.recipients_bulk." + action, Nav: "recipients", Data: d})
}

// bulkApplyRecipients adds the selection to a list, takes it off, tags or
// untags it, once asked.
func (s *Server) bulkApplyRecipients(w http.ResponseWriter, r *http.Request) {
	rc := reqCtx(r)
	sel, back, ok := s.bulkSelection(w, r)
	if !ok {
		return
	}
	op := r.PostFormValue("op")
	if !isBulkOp(op) {
		s.errorPage(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	target, _ := strconv.ParseInt(r.PostFormValue("target_list"), 10, 64)
	_, err := s.app.ApplyToSelected(r.Context(), rc.actor(), sel, app.BulkOp(op), app.BulkTarget{ListID: target, Tag: r.PostFormValue("set_tag")})
	if s.bulkFailed(w, r, back, err) {
		return
	}
	s.redirectFlash(w, r, back, "success", bulkDone[app.BulkOp(op)])
}

// bulkDone are the messages that say a bulk operation is done.
var bulkDone = map[app.BulkOp]string{
	app.BulkAddToList:      "flash.bulk_add_to_list",
	app.BulkRemoveFromList: "flash.bulk_remove_from_list",
	app.BulkTag:            "flash.bulk_tag",
	app.BulkUntag:          "flash.bulk_untag",
	app.BulkSuppress:       "flash.bulk_suppress",
}

// bulkDeleteRecipients deletes the selection once asked.
func (s *Server) bulkDeleteRecipients(w http.ResponseWriter, r *http.Request) {
	rc := reqCtx(r)
	sel, back, ok := s.bulkSelection(w, r)
	if !ok {
		return
	}
	_, err := s.app.DeleteSelectedRecipients(r.Context(), rc.actor(), sel)
	if s.bulkFailed(w, r, back, err) {
		return
	}
	s.redirectFlash(w, r, back, "success", "flash.bulk_deleted")
}

// bulkExportRecipients downloads the selection as CSV (for Excel with
// bom=1), like the export of the whole list.
func (s *Server) bulkExportRecipients(w http.ResponseWriter, r *http.Request) {
	rc := reqCtx(r)
	sel, _, ok := s.bulkSelection(w, r)
	if !ok {
		return
	}
	name := "recipients-" + s.app.Now().In(rc.User.Location()).Format(time.DateOnly) + ".csv"
	out := newCSVResponse(w, name)
	_, err := s.app.ExportSelectedRecipients(r.Context(), rc.actor(), sel, out, app.ExportOptions{BOM: r.PostFormValue("bom") == "1"})
	s.endCSV(w, r, out, err)
}
