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
func (x *API) duplicateMailing(w http.ResponseWriter, r *http.Request, u *simplesender.User) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	cp, err := x.app.DuplicateMailing(r.Context(), as(u), id, x.lang(r))
	if err != nil {
		return err
	}
	created(w, "/mailings/", cp.ID)
	return x.replyMailing(w, r, u, http.StatusCreated, cp.ID)
}
