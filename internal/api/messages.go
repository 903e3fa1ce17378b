package api

import (
	"net/http"

	"simplesender"
)

// messageJSON is a message as the API shows it.
type messageJSON struct {
	ID           int64  `json:"id"`
	OwnerID      int64  `json:"owner_id"`
	Subject      string `json:"subject"`
	Format       string `json:"format"`
	BodyText     string `json:"body_text"`
	BodyHTML     string `json:"body_html"`
	BodyMarkdown string `json:"body_markdown"`
	CreatedAt    string `json:"created_at"`
	UpdatedAt    string `json:"updated_at"`
}

func messageOf(m *simplesender.Message) messageJSON {
	return messageJSON{ID: m.ID, OwnerID: m.OwnerID, Subject: m.Subject, Format: string(m.Format), BodyText: m.BodyText,
		BodyHTML: m.BodyHTML, BodyMarkdown: m.BodyMarkdown, CreatedAt: timeJSON(m.CreatedAt), UpdatedAt: timeJSON(m.UpdatedAt)}
}

// messageInput is the body of POST and PATCH /messages; nil is absent.
type messageInput struct {
	Subject      *string `json:"subject"`
	Format       *string `json:"format"`
	BodyText     *string `json:"body_text"`
	BodyHTML     *string `json:"body_html"`
	BodyMarkdown *string `json:"body_markdown"`
}

func (in messageInput) apply(m *simplesender.Message) {
	for _, f := range []struct{ dst, v *string }{{&m.Subject, in.Subject}, {&m.BodyText, in.BodyText},
		{&m.BodyHTML, in.BodyHTML}, {&m.BodyMarkdown, in.BodyMarkdown}} {
		if f.v != nil {
			*f.dst = *f.v
		}
	}
	if in.Format != nil {
		m.Format = simplesender.MessageFormat(*in.Format)
	}
}

// messageSorts are the fields a message list may be sorted by.
var messageSorts = []string{"id", "subject", "created_at", "updated_at"}

// listMessages answers a page of messages, newest first by default, like
// listRecipients; ?q= searches the subject and text.
func (x *API) listMessages(w http.ResponseWriter, r *http.Request, u *simplesender.User) error {
	p, f, owner, err := listQuery(r, messageSorts)
	if err != nil {
		return err
	}
	items, total, err := x.app.ListMessages(r.Context(), as(u), owner, f)
	if err != nil {
		return err
	}
	out := list[messageJSON]{Items: make([]messageJSON, 0, len(items)), Total: total, Page: p.Page, PerPage: p.PerPage, Pages: p.pages(total)}
	for _, it := range items {
		out.Items = append(out.Items, messageOf(it))
	}
	x.reply(w, http.StatusOK, out)
	return nil
}

// createMessage adds a message and answers 201 with it. Errors: BadRequest,
// Invalid (subject, format, body_text, body_html, body_markdown; a broken
// placeholder, HTML that fails the check).
func (x *API) createMessage(w http.ResponseWriter, r *http.Request, u *simplesender.User) error {
	var in messageInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	m := &simplesender.Message{}
	in.apply(m)
	if err := x.app.CreateMessage(r.Context(), as(u), m); err != nil {
		return err
	}
	created(w, "/messages/", m.ID)
	x.reply(w, http.StatusCreated, messageOf(m))
	return nil
}

// getMessage answers one message, with an ETag. Errors: NotFound.
func (x *API) getMessage(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	m, err := x.app.GetMessage(r.Context(), as(u), id)
	if err != nil {
		return err
	}
	x.replyObject(w, r, messageOf(m))
	return nil
}

// patchMessage changes the fields present in the body. A run in progress
// keeps the text it started with. Errors: BadRequest, Invalid, NotFound,
// Forbidden.
func (x *API) patchMessage(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	var in messageInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	m, err := x.app.GetMessage(r.Context(), as(u), id)
	if err != nil {
		return err
	}
	in.apply(m)
	if err := x.app.UpdateMessage(r.Context(), as(u), m); err != nil {
		return err
	}
	if m, err = x.app.GetMessage(r.Context(), as(u), id); err != nil {
		return err
	}
	x.reply(w, http.StatusOK, messageOf(m))
	return nil
}

// deleteMessage removes a message and answers 204. Errors: NotFound,
// Forbidden, Conflict (a mailing uses it).
func (x *API) deleteMessage(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	if err := x.app.DeleteMessage(r.Context(), as(u), id); err != nil {
		return err
	}
	x.reply(w, http.StatusNoContent, nil)
	return nil
}
