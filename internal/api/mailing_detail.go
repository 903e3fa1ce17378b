package api

import (
	"net/http"

	"simplesender"
	"simplesender/internal/app"
)

// statusDetailJSON is what a mailing is doing now, beside its status:
// phase is new, scheduled, starting, sending or finished; at is the planned
// start (scheduled), the start of the send (sending) or the end of the last
// send (finished); next_at a later planned start after a finished send;
// percent the share done while sending; text the same in words, in the
// caller's language and time zone, as the web pages show it.
type statusDetailJSON struct {
	Phase   string  `json:"phase"`
	At      *string `json:"at"`
	NextAt  *string `json:"next_at"`
	Percent int     `json:"percent"`
	Text    string  `json:"text"`
}

// statusDetailOf returns the status detail of m for the caller of r.
func (x *API) statusDetailOf(r *http.Request, u *simplesender.User, m *simplesender.Mailing) statusDetailJSON {
	now := x.app.Now()
	d := m.Detail(now)
	return statusDetailJSON{Phase: string(d.Phase), At: optTime(d.At), NextAt: optTime(d.Next), Percent: d.Percent,
		Text: app.StatusText(x.bundle.For(x.lang(r)), u.Location(), d, now)}
}

// duplicateMailing makes a copy of a mailing (the same message and
// recipients, named "Copy of ..." in the caller's language, status created)
// and answers 201 with it. Errors: NotFound, Forbidden (read-only staff),
// Conflict (disabled).
func (x *API) duplicateMailing(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	cp, err := x.app.DuplicateMailing(r.Context(), as(u), id, x.lang(r))
	if err != nil {
		return err
	}
	created(w, "/mailings/", cp.ID)
	return x.replyMailing(w, r, u, http.StatusCreated, cp.ID, true)
}

// listMailingRecipients answers a page of a mailing's audience, by id, in
// the shape of GET /recipients. Errors: BadRequest, NotFound.
func (x *API) listMailingRecipients(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	p, err := pagingOf(r)
	if err != nil {
		return err
	}
	m, err := x.app.GetMailing(r.Context(), as(u), id)
	if err != nil {
		return err
	}
	items, err := x.app.MailingRecipients(r.Context(), m, p.PerPage, p.offset())
	if err != nil {
		return err
	}
	total := m.RecipientCount
	out := list[recipientJSON]{Items: make([]recipientJSON, 0, len(items)), Total: total, Page: p.Page, PerPage: p.PerPage, Pages: p.pages(total)}
	for _, it := range items {
		out.Items = append(out.Items, recipientOf(it, nil))
	}
	x.reply(w, http.StatusOK, out)
	return nil
}

// testSendInput is the body of POST /mailings/{id}/test.
type testSendInput struct {
	ToMe        *bool    `json:"to_me"` // absent: true
	To          []string `json:"to"`
	RecipientID *int64   `json:"recipient_id"`
}

// testSendJSON is a test that went out.
type testSendJSON struct {
	SentTo      []string `json:"sent_to"`
	RecipientID *int64   `json:"recipient_id"` // null: sample values
	SentAt      string   `json:"sent_at"`
}

// testMailing sends a test of a mailing to the caller (unless to_me is
// false) and to up to 5 addresses, rendered for recipient_id (default: the
// mailing's first recipient), and answers 200 with where it went. Errors:
// BadRequest, Invalid (to, recipient_id), NotFound, Forbidden, Conflict
// (disabled), RateLimited, Unavailable.
func (x *API) testMailing(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	var in testSendInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	ti := app.TestSendInput{ToMe: in.ToMe == nil || *in.ToMe, To: in.To}
	if in.RecipientID != nil {
		if *in.RecipientID <= 0 {
			return simplesender.Invalid(map[string]string{"recipient_id": "error.mailing.test_recipient"})
		}
		ti.RecipientID = *in.RecipientID
	}
	res, err := x.app.SendTest(r.Context(), as(u), id, ti, x.lang(r))
	if err != nil {
		return err
	}
	out := testSendJSON{SentTo: res.To, SentAt: timeJSON(res.At)}
	if res.Recipient != nil {
		out.RecipientID = &res.Recipient.ID
	}
	x.reply(w, http.StatusOK, out)
	return nil
}
