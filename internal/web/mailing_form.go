package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"simplesender"
	"simplesender/internal/app"
)

// maxPickList is how many recipients the mailing form lists at once; the
// search narrows the list, and "select all found" takes every match.
const maxPickList = 500

// maxSelectAll bounds "select all found".
const maxSelectAll = 100_000

// mailingForm is the state of the mailing form. It travels in the query
// string of the form's own URL (state=1), so that searching the recipient
// list, and leaving to create a recipient or a message, keep what the user
// chose without JavaScript and without a draft on the server.
type mailingForm struct {
	Name      string
	MessageID int64
	Selected  []int64
	Query     string // the recipient search
	// IdentityID is the sender chosen; 0: the owner's default.
	IdentityID int64
	// The audience's lists and tags: everyone on IncLists or with a tag of
	// IncTags, minus everyone on ExcLists or with a tag of ExcTags (tags
	// separated by commas).
	IncLists, ExcLists []int64
	// IncSegments and ExcSegments are the segments included and excluded.
	IncSegments, ExcSegments []int64
	IncTags, ExcTags         string
}

// pickThreshold is the number of recipients above which the form lists
// none of them until a search narrows the list: a large audience is built
// from lists and tags, and single people are found by searching.
const pickThreshold = maxPickList

// audience returns the rules of the form's lists and tags.
func (f mailingForm) audience() []simplesender.AudienceRule {
	var out []simplesender.AudienceRule
	for _, id := range f.IncLists {
		out = append(out, simplesender.AudienceRule{Kind: simplesender.AudienceList, ListID: id})
	}
	for _, t := range splitTags(f.IncTags) {
		out = append(out, simplesender.AudienceRule{Kind: simplesender.AudienceTag, Tag: t})
	}
	for _, id := range f.IncSegments {
		out = append(out, simplesender.AudienceRule{Kind: simplesender.AudienceSegment, SegmentID: id})
	}
	for _, id := range f.ExcSegments {
		out = append(out, simplesender.AudienceRule{Kind: simplesender.AudienceSegment, SegmentID: id, Exclude: true})
	}
	for _, id := range f.ExcLists {
		out = append(out, simplesender.AudienceRule{Kind: simplesender.AudienceList, ListID: id, Exclude: true})
	}
	for _, t := range splitTags(f.ExcTags) {
		out = append(out, simplesender.AudienceRule{Kind: simplesender.AudienceTag, Tag: t, Exclude: true})
	}
	return out
}

// withAudience sets the form's lists and tags from rules.
func (f *mailingForm) withAudience(rules []simplesender.AudienceRule) {
	var inc, exc []string
	for _, r := range rules {
		switch {
		case r.Kind == simplesender.AudienceSegment && r.Exclude:
			f.ExcSegments = append(f.ExcSegments, r.SegmentID)
		case r.Kind == simplesender.AudienceSegment:
			f.IncSegments = append(f.IncSegments, r.SegmentID)
		case r.Kind == simplesender.AudienceList && r.Exclude:
			f.ExcLists = append(f.ExcLists, r.ListID)
		case r.Kind == simplesender.AudienceList:
			f.IncLists = append(f.IncLists, r.ListID)
		case r.Exclude:
			exc = append(exc, r.Tag)
		default:
			inc = append(inc, r.Tag)
		}
	}
	f.IncTags, f.ExcTags = strings.Join(inc, ", "), strings.Join(exc, ", ")
}

// splitTags splits a comma-separated field; the app checks each tag.
func splitTags(s string) []string {
	var out []string
	for _, t := range strings.Split(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

func readMailingForm(v url.Values) mailingForm {
	f := mailingForm{Name: v.Get("name"), Query: strings.TrimSpace(v.Get("rq")), IncTags: v.Get("inc_tags"), ExcTags: v.Get("exc_tags")}
	f.IncLists = uniqueIDs(app.ParseIDs(v["inc_list"]))
	f.ExcLists = uniqueIDs(app.ParseIDs(v["exc_list"]))
	f.IncSegments = uniqueIDs(app.ParseIDs(v["inc_segment"]))
	f.ExcSegments = uniqueIDs(app.ParseIDs(v["exc_segment"]))
	f.MessageID, _ = strconv.ParseInt(v.Get("message_id"), 10, 64)
	f.IdentityID, _ = strconv.ParseInt(v.Get("identity_id"), 10, 64)
	seen := map[int64]bool{}
	for _, id := range app.ParseIDs(v["recipient_ids"]) {
		if !seen[id] {
			seen[id] = true
			f.Selected = append(f.Selected, id)
		}
	}
	return f
}

// uniqueIDs drops repeated ids, keeping the first of each.
func uniqueIDs(ids []int64) []int64 {
	seen := make(map[int64]bool, len(ids))
	out := ids[:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

func joinIDs(ids []int64) string {
	var sb strings.Builder
	for i, id := range ids {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(strconv.FormatInt(id, 10))
	}
	return sb.String()
}

// url returns the form's page with this state.
func (f mailingForm) url(path string) string {
	v := url.Values{"state": {"1"}}
	if f.Name != "" {
		v.Set("name", f.Name)
	}
	if f.MessageID != 0 {
		v.Set("message_id", strconv.FormatInt(f.MessageID, 10))
	}
	if len(f.Selected) > 0 {
		v.Set("recipient_ids", joinIDs(f.Selected))
	}
	if f.Query != "" {
		v.Set("rq", f.Query)
	}
	if f.IdentityID != 0 {
		v.Set("identity_id", strconv.FormatInt(f.IdentityID, 10))
	}
	for _, id := range f.IncLists {
		v.Add("inc_list", strconv.FormatInt(id, 10))
	}
	for _, id := range f.ExcLists {
		v.Add("exc_list", strconv.FormatInt(id, 10))
	}
	for _, id := range f.IncSegments {
		v.Add("inc_segment", strconv.FormatInt(id, 10))
	}
	for _, id := range f.ExcSegments {
		v.Add("exc_segment", strconv.FormatInt(id, 10))
	}
	if f.IncTags != "" {
		v.Set("inc_tags", f.IncTags)
	}
	if f.ExcTags != "" {
		v.Set("exc_tags", f.ExcTags)
	}
	return path + "?" + v.Encode()
}

type mailingFormData struct {
	M          *simplesender.Mailing // nil for a new one
	Self       string                // the form's GET URL (searching posts the state there)
	Action     string                // where it saves
	Cancel     string
	Messages   []*simplesender.Message
	MoreMsgs   bool
	MessageID  int64
	Identities []*simplesender.Identity // the owner's senders
	IdentityID int64
	Recipients []*simplesender.Recipient // the ones listed (matching the search)
	Matching   int                       // how many match the search
	Owned      int                       // how many recipients the user has
	Checked    map[int64]bool
	Hidden     string // chosen ids that are not listed, comma-separated
	Selected   int
	Query      string
	// SelectedForms are samples of the "N selected" label, [count, text]
	// pairs in JSON, from which the page's script writes the label for any
	// count as boxes are ticked.
	SelectedForms string
	HiddenCount   int // chosen ids that are not listed
	// Lists are the owner's lists; IncLists and ExcLists the chosen ones;
	// Tags the tags the owner uses, for suggestions.
	Lists              []*simplesender.List
	IncLists, ExcLists map[int64]bool
	IncTags, ExcTags   string
	// Segments are the owner's segments; IncSegments and ExcSegments the
	// chosen ones.
	Segments                 []*simplesender.Segment
	IncSegments, ExcSegments map[int64]bool
	Tags                     []string
	// Large: the owner has too many recipients to list them all; a search
	// lists some.
	Large bool
}

func (s *Server) newMailingForm(w http.ResponseWriter, r *http.Request) {
	if s.refused(w, r, app.ActCreate, reqCtx(r).User.ID) {
		return
	}
	s.mailingFormPage(w, r, nil)
}

func (s *Server) editMailingForm(w http.ResponseWriter, r *http.Request) {
	m, ok := s.loadMailing(w, r)
	if !ok || s.refused(w, r, app.ActEdit, m.OwnerID) {
		return
	}
	if m.Disabled() {
		s.fail(w, r, simplesender.E(simplesender.KindConflict, "error.mailing.disabled"), "", nil)
		return
	}
	s.mailingFormPage(w, r, m)
}

// mailingFormPage shows the form. Its buttons that search, select or leave
// for another form come here as GET with the whole state (formmethod=get).
func (s *Server) mailingFormPage(w http.ResponseWriter, r *http.Request, m *simplesender.Mailing) {
	rc := reqCtx(r)
	q := r.URL.Query()
	self, title := "/mailings/new", "page.mailing_new.title"
	if m != nil {
		self, title = "/mailings/"+strconv.FormatInt(m.ID, 10)+"/edit", "page.mailing_edit.title"
	}
	var f mailingForm
	switch {
	case q.Get("state") != "":
		f = readMailingForm(q)
	case m != nil:
		ids, err := s.app.MailingRecipientIDs(r.Context(), rc.actor(), m.ID)
		if err != nil {
			s.fail(w, r, err, "", nil)
			return
		}
		f = mailingForm{Name: m.Name, MessageID: m.MessageID, Selected: ids}
		rules, err := s.app.MailingAudienceRules(r.Context(), m)
		if err != nil {
			s.fail(w, r, err, "", nil)
			return
		}
		iid, err := s.app.MailingIdentityID(r.Context(), m)
		if err != nil {
			s.fail(w, r, err, "", nil)
			return
		}
		f.withAudience(rules)
		f.IdentityID = iid
	}
	switch q.Get("go") {
	case "recipient":
		redirect(w, r, "/recipients/new?return="+url.QueryEscape(f.url(self)))
		return
	case "message":
		redirect(w, r, "/messages/new?return="+url.QueryEscape(f.url(self)))
		return
	}
	switch q.Get("select") {
	case "all":
		ids, err := s.matchingRecipientIDs(r, formOwner(r, m), f.Query)
		if err != nil {
			s.fail(w, r, err, "", nil)
			return
		}
		f.Selected = uniqueIDs(append(f.Selected, ids...))
	case "none":
		f.Selected = nil
	}
	p, err := s.mailingFormPageData(r, m, f, self, title)
	if err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	s.render(w, r, http.StatusOK, "mailing_form", p)
}

// formOwner is whose messages and recipients the form offers: the
// mailing's owner (an admin may edit anyone's mailing), or the viewer's for
// a new one.
func formOwner(r *http.Request, m *simplesender.Mailing) int64 {
	if m != nil {
		return m.OwnerID
	}
	return reqCtx(r).User.ID
}

// matchingRecipientIDs returns the ids of owner's recipients that match the
// search.
func (s *Server) matchingRecipientIDs(r *http.Request, owner int64, query string) ([]int64, error) {
	rc := reqCtx(r)
	var out []int64
	for off := 0; off < maxSelectAll; off += maxPickList {
		list, total, err := s.app.ListRecipients(r.Context(), rc.actor(), owner, app.ListFilter{Query: query, Limit: maxPickList, Offset: off})
		if err != nil {
			return nil, err
		}
		for _, x := range list {
			out = append(out, x.ID)
		}
		if len(list) == 0 || off+len(list) >= total {
			break
		}
	}
	return out, nil
}

func (s *Server) mailingFormPageData(r *http.Request, m *simplesender.Mailing, f mailingForm, self, title string) (*Page, error) {
	rc := reqCtx(r)
	ctx, ac, me := r.Context(), rc.actor(), formOwner(r, m)
	// The owner's only: a mailing goes to its owner's recipients.
	msgs, nmsgs, err := s.app.ListMessages(ctx, ac, me, app.ListFilter{Limit: maxPickList})
	if err != nil {
		return nil, err
	}
	list, matching, err := s.app.ListRecipients(ctx, ac, me, app.ListFilter{Query: f.Query, Limit: maxPickList, Sort: "email"})
	if err != nil {
		return nil, err
	}
	ids, err := s.app.OwnIdentities(ctx, ac, me)
	if err != nil {
		return nil, err
	}
	owned := matching
	if f.Query != "" {
		if _, owned, err = s.app.ListRecipients(ctx, ac, me, app.ListFilter{Limit: 1}); err != nil {
			return nil, err
		}
	}
	d := &mailingFormData{M: m, Self: self, Action: "/mailings", Cancel: "/mailings", Messages: msgs, MoreMsgs: nmsgs > len(msgs),
		MessageID: f.MessageID, Identities: ids, IdentityID: f.IdentityID, Recipients: list, Matching: matching, Owned: owned, Checked: map[int64]bool{},
		Selected: len(f.Selected), Query: f.Query}
	if m != nil {
		d.Action = "/mailings/" + strconv.FormatInt(m.ID, 10)
		d.Cancel = d.Action
	}
	listed := make(map[int64]bool, len(list))
	for _, x := range list {
		listed[x.ID] = true
	}
	var hidden []int64
	for _, id := range f.Selected {
		if listed[id] {
			d.Checked[id] = true
		} else {
			hidden = append(hidden, id)
		}
	}
	d.Hidden, d.HiddenCount = joinIDs(hidden), len(hidden)
	if d.Lists, _, err = s.app.ListLists(ctx, ac, me, app.ListFilter{Limit: maxChooser}); err != nil {
		return nil, err
	}
	if d.Tags, err = s.app.RecipientTags(ctx, ac); err != nil {
		return nil, err
	}
	d.IncLists, d.ExcLists = map[int64]bool{}, map[int64]bool{}
	for _, id := range f.IncLists {
		d.IncLists[id] = true
	}
	for _, id := range f.ExcLists {
		d.ExcLists[id] = true
	}
	d.IncTags, d.ExcTags = f.IncTags, f.ExcTags
	if d.Segments, _, err = s.app.ListSegments(ctx, ac, me, app.ListFilter{Limit: maxChooser}); err != nil {
		return nil, err
	}
	d.IncSegments, d.ExcSegments = map[int64]bool{}, map[int64]bool{}
	for _, id := range f.IncSegments {
		d.IncSegments[id] = true
	}
	for _, id := range f.ExcSegments {
		d.ExcSegments[id] = true
	}
	if f.Query == "" && owned > pickThreshold {
		// No checkbox per recipient for a large audience: lists and tags,
		// or a search.
		d.Large, d.Recipients, d.Checked = true, nil, map[int64]bool{}
		d.Hidden, d.HiddenCount = joinIDs(f.Selected), len(f.Selected)
	}
	d.SelectedForms = pluralSamples(rc.L, "mailing.selected")
	return &Page{Title: title, Nav: "mailings", Data: d, Form: map[string]string{"name": f.Name}}, nil
}

func (s *Server) createMailing(w http.ResponseWriter, r *http.Request) {
	s.saveMailing(w, r, nil)
}

func (s *Server) updateMailing(w http.ResponseWriter, r *http.Request) {
	m, ok := s.loadMailing(w, r)
	if !ok {
		return
	}
	s.saveMailing(w, r, m)
}

func (s *Server) saveMailing(w http.ResponseWriter, r *http.Request, m *simplesender.Mailing) {
	rc := reqCtx(r)
	f := readMailingForm(r.PostForm)
	in := app.MailingInput{Name: f.Name, MessageID: f.MessageID, RecipientIDs: f.Selected, Audience: f.audience(),
		IdentityID: f.IdentityID}
	var (
		saved *simplesender.Mailing
		err   error
	)
	self, title, key := "/mailings/new", "page.mailing_new.title", "flash.mailing_created"
	if m == nil {
		saved, err = s.app.CreateMailing(r.Context(), rc.actor(), in)
	} else {
		self, title, key = "/mailings/"+strconv.FormatInt(m.ID, 10)+"/edit", "page.mailing_edit.title", "flash.mailing_saved"
		saved, err = s.app.UpdateMailing(r.Context(), rc.actor(), m.ID, in)
	}
	if err != nil {
		if !simplesender.IsKind(err, simplesender.KindInvalid) {
			s.fail(w, r, err, "", nil)
			return
		}
		p, perr := s.mailingFormPageData(r, m, f, self, title)
		if perr != nil {
			s.fail(w, r, perr, "", nil)
			return
		}
		s.fail(w, r, err, "mailing_form", p)
		return
	}
	s.redirectFlash(w, r, "/mailings/"+strconv.FormatInt(saved.ID, 10), "success", key)
}
