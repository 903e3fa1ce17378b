package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"simplesender"
	"simplesender/internal/app"
)

type recipientsData struct {
	Recipients []*simplesender.Recipient
	Owners     map[int64]string // staff: owner id -> e-mail
	Query      string
	Pager      pager
	// Mine is true when the viewer has recipients in the list: they get
	// the bulk actions. MineTotal is how many match the search (the
	// viewer's own, where staff see everyone's).
	Mine      bool
	MineTotal int
	// ListID and Tag filter the page; Lists and Tags are the viewer's own,
	// for the filters and the bulk actions.
	ListID int64
	Tag    string
	Lists  []*simplesender.List
	Tags   []string
	// SegmentID filters the page too; Segments are the viewer's own.
	SegmentID int64
	Segments  []*simplesender.Segment
}

// maxChooser bounds the lists and tags a chooser offers.
const maxChooser = 200

func (s *Server) recipients(w http.ResponseWriter, r *http.Request) {
	rc := reqCtx(r)
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	listID, _ := strconv.ParseInt(r.URL.Query().Get("list"), 10, 64)
	tag, _ := simplesender.NormalizeTag(r.URL.Query().Get("tag"))
	per := perPageParam(r)
	segmentID, _ := strconv.ParseInt(r.URL.Query().Get("segment"), 10, 64)
	filter := app.ListFilter{Query: q, ListID: max(listID, 0), Tag: tag, SegmentID: max(segmentID, 0), Limit: per}
	list, total, page, err := listPage(pageParam(r), per, func(off int) ([]*simplesender.Recipient, int, error) {
		filter.Offset = off
		return s.app.ListRecipients(r.Context(), rc.actor(), 0, filter)
	})
	if err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	owners := make([]int64, len(list))
	for i, x := range list {
		owners[i] = x.OwnerID
	}
	d := recipientsData{Recipients: list, Owners: s.ownerEmails(r.Context(), rc.actor(), owners), Query: q,
		Pager: newPager(r.URL, page, per, total), MineTotal: total, ListID: filter.ListID, Tag: tag,
		SegmentID: filter.SegmentID}
	if d.Lists, _, err = s.app.ListLists(r.Context(), rc.actor(), rc.User.ID, app.ListFilter{Limit: maxChooser}); err == nil {
		d.Tags, err = s.app.RecipientTags(r.Context(), rc.actor())
	}
	if err == nil {
		d.Segments, _, err = s.app.ListSegments(r.Context(), rc.actor(), rc.User.ID, app.ListFilter{Limit: maxChooser})
	}
	if err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	if rc.User.Role.IsStaff() {
		sel := app.RecipientSelection{All: true, Query: q, ListID: filter.ListID, Tag: tag, SegmentID: filter.SegmentID}
		// Another user's segment selects none of the viewer's own.
		if d.MineTotal, err = s.app.CountSelectedRecipients(r.Context(), rc.actor(), sel); simplesender.IsKind(err, simplesender.KindInvalid) {
			d.MineTotal, err = 0, nil
		}
		if err != nil {
			s.fail(w, r, err, "", nil)
			return
		}
	}
	d.Mine = d.MineTotal > 0
	s.render(w, r, http.StatusOK, "recipients", &Page{Title: "page.recipients.title", Nav: "recipients", Data: d})
}

type recipientData struct {
	R      *simplesender.Recipient
	Lists  []*simplesender.List
	Fields []formField // the owner's custom fields
	ownership
}

func (s *Server) recipient(w http.ResponseWriter, r *http.Request) {
	x, ok := s.loadRecipient(w, r)
	if !ok {
		return
	}
	o, ok := s.ownershipOf(w, r, "recipient", x.ID, x.OwnerID)
	if !ok {
		return
	}
	lists, err := s.app.RecipientLists(r.Context(), reqCtx(r).actor(), x.ID)
	if err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	s.render(w, r, http.StatusOK, "recipient", &Page{Title: "page.recipient.title", Nav: "recipients",
		Data: recipientData{x, lists, s.recipientFormFields(r, x.OwnerID), o}})
}

// loadRecipient reads the recipient named in the path, answering 404 when
// the viewer may not see it.
func (s *Server) loadRecipient(w http.ResponseWriter, r *http.Request) (*simplesender.Recipient, bool) {
	return loadByID(s, w, r, s.app.GetRecipient)
}

var recipientFields = []string{"email", "last_name", "first_name", "middle_name", "comment", "tags", "return"}

// recipientFormData tells the form where it posts and where "cancel" goes.
type recipientFormData struct {
	Action, Cancel string
	New            bool
	Fields         []formField // the owner's custom fields, an input each
}

func recipientForm(x *simplesender.Recipient) map[string]string {
	f := map[string]string{"email": x.Email, "last_name": x.LastName, "first_name": x.FirstName,
		"middle_name": x.MiddleName, "comment": x.Comment, "tags": strings.Join(x.Tags, ", ")}
	for k, v := range x.Fields {
		f["fields."+k] = v
	}
	return f
}

// recipientFormValues reads the recipient form, with an input per custom
// field of fields.
func recipientFormValues(r *http.Request, fields []formField) map[string]string {
	form := formValues(r, recipientFields...)
	for _, f := range fields {
		form[f.Name] = r.PostFormValue(f.Name)
	}
	return form
}

func recipientFromForm(f map[string]string) *simplesender.Recipient {
	r := &simplesender.Recipient{Email: f["email"], LastName: f["last_name"], FirstName: f["first_name"],
		MiddleName: f["middle_name"], Comment: f["comment"], Tags: []string{}, Fields: map[string]string{}}
	for k, v := range f {
		if key, ok := strings.CutPrefix(k, "fields."); ok {
			r.Fields[key] = v
		}
	}
	// The app checks each tag; a comma separates them.
	for _, t := range strings.Split(f["tags"], ",") {
		if strings.TrimSpace(t) != "" {
			r.Tags = append(r.Tags, t)
		}
	}
	return r
}

func (s *Server) newRecipientForm(w http.ResponseWriter, r *http.Request) {
	if s.refused(w, r, app.ActCreate, reqCtx(r).User.ID) {
		return
	}
	ret := returnTo(r.URL.Query().Get("return"))
	s.render(w, r, http.StatusOK, "recipient_form", &Page{Title: "page.recipient_new.title", Nav: "recipients",
		Form: map[string]string{"return": ret}, Data: recipientFormData{Action: "/recipients", Cancel: or(ret, "/recipients"), New: true,
			Fields: s.recipientFormFields(r, 0)}})
}

func (s *Server) createRecipient(w http.ResponseWriter, r *http.Request) {
	rc := reqCtx(r)
	fields := s.recipientFormFields(r, 0)
	form := recipientFormValues(r, fields)
	form["return"] = returnTo(form["return"])
	x := recipientFromForm(form)
	if err := s.app.CreateRecipient(r.Context(), rc.actor(), x); err != nil {
		s.fail(w, r, err, "recipient_form", &Page{Title: "page.recipient_new.title", Nav: "recipients", Form: form,
			Data: recipientFormData{Action: "/recipients", Cancel: or(form["return"], "/recipients"), New: true, Fields: fields}})
		return
	}
	if ret := form["return"]; ret != "" {
		s.redirectFlash(w, r, withPick(ret, "recipient_ids", x.ID), "success", "flash.recipient_created")
		return
	}
	s.redirectFlash(w, r, "/recipients/"+strconv.FormatInt(x.ID, 10), "success", "flash.recipient_created")
}

func (s *Server) editRecipientForm(w http.ResponseWriter, r *http.Request) {
	x, ok := s.loadRecipient(w, r)
	if !ok || s.refused(w, r, app.ActEdit, x.OwnerID) {
		return
	}
	self := "/recipients/" + strconv.FormatInt(x.ID, 10)
	s.render(w, r, http.StatusOK, "recipient_form", &Page{Title: "page.recipient_edit.title", Nav: "recipients",
		Form: recipientForm(x), Data: recipientFormData{Action: self, Cancel: self, Fields: s.recipientFormFields(r, x.OwnerID)}})
}

func (s *Server) updateRecipient(w http.ResponseWriter, r *http.Request) {
	rc := reqCtx(r)
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	cur, ok := s.loadRecipient(w, r)
	if !ok {
		return
	}
	fields := s.recipientFormFields(r, cur.OwnerID)
	form := recipientFormValues(r, fields)
	x := recipientFromForm(form)
	x.ID = id
	self := "/recipients/" + strconv.FormatInt(id, 10)
	if err := s.app.UpdateRecipient(r.Context(), rc.actor(), x); err != nil {
		s.fail(w, r, err, formFor(err, "recipient_form"), &Page{Title: "page.recipient_edit.title", Nav: "recipients", Form: form,
			Data: recipientFormData{Action: self, Cancel: self, Fields: fields}})
		return
	}
	s.redirectFlash(w, r, self, "success", "flash.recipient_saved")
}

func (s *Server) deleteRecipientForm(w http.ResponseWriter, r *http.Request) {
	x, ok := s.loadRecipient(w, r)
	if !ok || s.refused(w, r, app.ActDelete, x.OwnerID) {
		return
	}
	d := recipientDeleteData(x, reqCtx(r).L.Lang())
	// Deleting keeps the mailings it is the only recipient of: say so.
	ms, err := s.app.SoleRecipientOf(r.Context(), reqCtx(r).actor(), x.ID)
	if err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	if len(ms) > 0 {
		d.Mailings, d.UsageNote = ms, "recipients.delete_only_recipient"
	}
	s.render(w, r, http.StatusOK, "confirm_delete", &Page{Title: "page.recipient_delete.title", Nav: "recipients", Data: d})
}

func recipientDeleteData(x *simplesender.Recipient, lang string) confirmData {
	self := "/recipients/" + strconv.FormatInt(x.ID, 10)
	what := x.Email
	if n := simplesender.PersonName(lang, x.LastName, x.FirstName, x.MiddleName); n != "" {
		what += " (" + n + ")"
	}
	return confirmData{Question: "recipients.delete_confirm", What: what, Action: self + "/delete", Cancel: self}
}

func (s *Server) deleteRecipient(w http.ResponseWriter, r *http.Request) {
	rc := reqCtx(r)
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	if err := s.app.DeleteRecipient(r.Context(), rc.actor(), id); err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	s.redirectFlash(w, r, "/recipients", "success", "flash.recipient_deleted")
}

// ---- coming back to the mailing form

// returnTo accepts a "return" parameter only when it leads back to a
// mailing form of this site; anything else is dropped.
func returnTo(ret string) string {
	ret = localTarget(ret, "")
	if ret == "" {
		return ""
	}
	u, err := url.Parse(ret)
	if err != nil || !(u.Path == "/mailings/new" || (strings.HasPrefix(u.Path, "/mailings/") && strings.HasSuffix(u.Path, "/edit"))) {
		return ""
	}
	return ret
}

// withPick adds the new object to the mailing form state in ret: a
// recipient joins the selection, a message becomes the chosen one.
func withPick(ret, field string, id int64) string {
	u, err := url.Parse(ret)
	if err != nil {
		return ret
	}
	q := u.Query()
	q.Set("state", "1")
	if field == "message_id" {
		q.Set(field, strconv.FormatInt(id, 10))
	} else {
		q.Add(field, strconv.FormatInt(id, 10))
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// formFor is the form to show again for err: the form for validation
// errors, the error page for the rest (not found, read-only).
func formFor(err error, form string) string {
	if simplesender.IsKind(err, simplesender.KindInvalid) {
		return form
	}
	return ""
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
