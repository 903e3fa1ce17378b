package web

import (
	"net/http"
	"strconv"
	"strings"

	"simplesender"
	"simplesender/internal/app"
)

type messagesData struct {
	Messages []*simplesender.Message
	Owners   map[int64]string
	Query    string
	Pager    pager
}

func (s *Server) messages(w http.ResponseWriter, r *http.Request) {
	rc := reqCtx(r)
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	per := perPageParam(r)
	list, total, page, err := listPage(pageParam(r), per, func(off int) ([]*simplesender.Message, int, error) {
		return s.app.ListMessages(r.Context(), rc.actor(), 0, app.ListFilter{Query: q, Limit: per, Offset: off})
	})
	if err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	owners := make([]int64, len(list))
	for i, x := range list {
		owners[i] = x.OwnerID
	}
	s.render(w, r, http.StatusOK, "messages", &Page{Title: "page.messages.title", Nav: "messages", Data: messagesData{
		Messages: list, Owners: s.ownerEmails(r.Context(), rc.actor(), owners), Query: q, Pager: newPager(r.URL, page, per, total)}})
}

type messageData struct {
	M *simplesender.Message
	ownership
}

func (s *Server) message(w http.ResponseWriter, r *http.Request) {
	m, ok := s.loadMessage(w, r)
	if !ok {
		return
	}
	o, ok := s.ownershipOf(w, r, "message", m.ID, m.OwnerID)
	if !ok {
		return
	}
	s.render(w, r, http.StatusOK, "message", &Page{Title: "page.message.title", Nav: "messages", Data: messageData{m, o}})
}

func (s *Server) loadMessage(w http.ResponseWriter, r *http.Request) (*simplesender.Message, bool) {
	return loadByID(s, w, r, s.app.GetMessage)
}

var messageFields = []string{"subject", "format", "body_text", "body_html", "body_markdown", "return"}

type messageFormData struct {
	Action, Cancel string
	New            bool
}

// Formats are the message formats the form offers.
func (messageFormData) Formats() []simplesender.MessageFormat { return simplesender.MessageFormats }

// messageOfForm is the message the form describes.
func messageOfForm(id int64, form map[string]string) *simplesender.Message {
	return &simplesender.Message{ID: id, Subject: form["subject"], Format: simplesender.MessageFormat(form["format"]),
		BodyText: form["body_text"], BodyHTML: form["body_html"], BodyMarkdown: form["body_markdown"]}
}

func (s *Server) newMessageForm(w http.ResponseWriter, r *http.Request) {
	if s.refused(w, r, app.ActCreate, reqCtx(r).User.ID) {
		return
	}
	ret := returnTo(r.URL.Query().Get("return"))
	s.render(w, r, http.StatusOK, "message_form", &Page{Title: "page.message_new.title", Nav: "messages",
		Form: map[string]string{"return": ret}, Data: messageFormData{Action: "/messages", Cancel: or(ret, "/messages"), New: true}})
}

func (s *Server) createMessage(w http.ResponseWriter, r *http.Request) {
	form := formValues(r, messageFields...)
	form["return"] = returnTo(form["return"])
	m := messageOfForm(0, form)
	if err := s.app.CreateMessage(r.Context(), reqCtx(r).actor(), m); err != nil {
		s.fail(w, r, err, "message_form", &Page{Title: "page.message_new.title", Nav: "messages", Form: form,
			Data: messageFormData{Action: "/messages", Cancel: or(form["return"], "/messages"), New: true}})
		return
	}
	if ret := form["return"]; ret != "" {
		s.redirectFlash(w, r, withPick(ret, "message_id", m.ID), "success", "flash.message_created")
		return
	}
	s.redirectFlash(w, r, "/messages/"+strconv.FormatInt(m.ID, 10), "success", "flash.message_created")
}

func (s *Server) editMessageForm(w http.ResponseWriter, r *http.Request) {
	m, ok := s.loadMessage(w, r)
	if !ok || s.refused(w, r, app.ActEdit, m.OwnerID) {
		return
	}
	self := "/messages/" + strconv.FormatInt(m.ID, 10)
	s.render(w, r, http.StatusOK, "message_form", &Page{Title: "page.message_edit.title", Nav: "messages",
		Form: map[string]string{"subject": m.Subject, "format": string(m.Format), "body_text": m.BodyText,
			"body_html": m.BodyHTML, "body_markdown": m.BodyMarkdown},
		Data: messageFormData{Action: self, Cancel: self}})
}

func (s *Server) updateMessage(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	form := formValues(r, messageFields...)
	m := messageOfForm(id, form)
	self := "/messages/" + strconv.FormatInt(id, 10)
	if err := s.app.UpdateMessage(r.Context(), reqCtx(r).actor(), m); err != nil {
		s.fail(w, r, err, formFor(err, "message_form"), &Page{Title: "page.message_edit.title", Nav: "messages", Form: form,
			Data: messageFormData{Action: self, Cancel: self}})
		return
	}
	s.redirectFlash(w, r, self, "success", "flash.message_saved")
}

func messageDeleteData(m *simplesender.Message) confirmData {
	self := "/messages/" + strconv.FormatInt(m.ID, 10)
	return confirmData{Question: "messages.delete_confirm", What: m.Subject, Action: self + "/delete", Cancel: self}
}

func (s *Server) deleteMessageForm(w http.ResponseWriter, r *http.Request) {
	m, ok := s.loadMessage(w, r)
	if !ok || s.refused(w, r, app.ActDelete, m.OwnerID) {
		return
	}
	d := messageDeleteData(m)
	if err := s.messageUsage(r, &d); err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	s.render(w, r, http.StatusOK, "confirm_delete", &Page{Title: "page.message_delete.title", Nav: "messages", Data: d})
}

// messageUsage names on d the mailings that use the message: while there
// are any it cannot be deleted, so the page says so instead of offering a
// "Yes, delete" that would be refused.
func (s *Server) messageUsage(r *http.Request, d *confirmData) error {
	id, _ := pathID(r)
	ms, err := s.app.MessageUsers(r.Context(), reqCtx(r).actor(), id)
	if err != nil {
		return err
	}
	if len(ms) > 0 {
		d.Mailings, d.UsageNote, d.Blocked = ms, "messages.delete_in_use", true
	}
	return nil
}

func (s *Server) deleteMessage(w http.ResponseWriter, r *http.Request) {
	rc := reqCtx(r)
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	err := s.app.DeleteMessage(r.Context(), rc.actor(), id)
	if simplesender.IsKind(err, simplesender.KindConflict) {
		// In use by a mailing: ask again, with the reason.
		if m, gerr := s.app.GetMessage(r.Context(), rc.actor(), id); gerr == nil {
			d := messageDeleteData(m)
			if uerr := s.messageUsage(r, &d); uerr == nil {
				s.render(w, r, http.StatusConflict, "confirm_delete", &Page{Title: "page.message_delete.title", Nav: "messages", Data: d})
				return
			}
		}
	}
	if err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	s.redirectFlash(w, r, "/messages", "success", "flash.message_deleted")
}

// ---- preview

// previewRecipients is how many of the owner's recipients the preview's
// list offers; any other can be chosen by its id in the query.
const previewRecipients = 500

type previewData struct {
	M          *simplesender.Message
	P          *app.Preview
	Recipients []*simplesender.Recipient
	Chosen     int64
	FrameURL   string
	More       bool
	// Images: remote images are shown (?images=1); SwitchURL shows the
	// preview with them switched the other way.
	Images    bool
	SwitchURL string
}

// previewImages reports whether a preview request asks for remote images.
func previewImages(r *http.Request) bool { return r.URL.Query().Get("images") == "1" }

// previewURL is the address of the preview page (or, with frame, of its
// frame) of message id as recipient, with or without remote images.
func previewURL(id, recipient int64, frame, images bool) string {
	u := "/messages/" + strconv.FormatInt(id, 10) + "/preview"
	if frame {
		u += ".html"
	}
	u += "?recipient=" + strconv.FormatInt(recipient, 10)
	if images {
		u += "&images=1"
	}
	return u
}

func (s *Server) previewMessage(w http.ResponseWriter, r *http.Request) {
	rc := reqCtx(r)
	m, ok := s.loadMessage(w, r)
	if !ok {
		return
	}
	rid, _ := strconv.ParseInt(r.URL.Query().Get("recipient"), 10, 64)
	p, err := s.app.PreviewMessage(r.Context(), rc.actor(), m.ID, max(rid, 0))
	if err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	list, total, err := s.app.ListRecipients(r.Context(), rc.actor(), m.OwnerID, app.ListFilter{Limit: previewRecipients, Sort: "email"})
	if err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	d := previewData{M: m, P: p, Recipients: list, Chosen: max(rid, 0), More: total > len(list), Images: previewImages(r)}
	if p.HTML != "" {
		d.FrameURL = previewURL(m.ID, d.Chosen, true, d.Images)
		d.SwitchURL = previewURL(m.ID, d.Chosen, false, !d.Images)
	}
	s.render(w, r, http.StatusOK, "message_preview", &Page{Title: "page.message_preview.title", Nav: "messages", Data: d})
}

// previewFrameCSP lets the user's HTML show inline styles and embedded
// images but run nothing: "sandbox" gives the document an opaque origin
// without scripts, forms or plugins, so even a browser that ignores the
// iframe's sandbox attribute cannot run its scripts in our origin. Remote
// images load only when the viewer asks (images): a tracking image would
// otherwise tell its sender who looked at the preview, and when.
func previewFrameCSP(images bool) string {
	img := "img-src 'self' data:"
	if images {
		img += " https:"
	}
	return "sandbox; default-src 'none'; " + img + "; style-src 'unsafe-inline'; frame-ancestors 'self'"
}

// previewHTML serves the rendered HTML body for the preview's frame.
func (s *Server) previewHTML(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	rid, _ := strconv.ParseInt(r.URL.Query().Get("recipient"), 10, 64)
	p, err := s.app.PreviewMessage(r.Context(), reqCtx(r).actor(), id, max(rid, 0))
	if err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	if p.HTML == "" {
		s.errorPage(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", previewFrameCSP(previewImages(r)))
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(p.HTML))
}
