package api

import (
	"net/http"
	"strings"
	"time"

	"simplesender"
	"simplesender/internal/app"
)

// userJSON is an account as the API shows it.
type userJSON struct {
	ID          int64   `json:"id"`
	Email       string  `json:"email"`
	Name        string  `json:"name"`
	Phone       string  `json:"phone"`
	Country     string  `json:"country"`
	Lang        string  `json:"lang"`
	TimeZone    string  `json:"timezone"`
	Role        string  `json:"role"`
	Status      string  `json:"status"`
	CreatedAt   string  `json:"created_at"`
	ConfirmedAt *string `json:"confirmed_at"`
	BlockedAt   *string `json:"blocked_at"`
	// AvatarVersion is 0 without a profile picture; it changes with each.
	AvatarVersion int64 `json:"avatar_version"`
}

func userOf(u *simplesender.User) userJSON {
	return userJSON{ID: u.ID, Email: u.Email, Name: u.Name, Phone: u.Phone, Country: u.Country, Lang: u.Lang,
		TimeZone: u.TimeZone, Role: string(u.Role), Status: string(u.Status()), CreatedAt: timeJSON(u.CreatedAt),
		ConfirmedAt: optTime(u.ConfirmedAt), BlockedAt: optTime(u.BlockedAt), AvatarVersion: u.AvatarVersion}
}

// timeJSON formats t as RFC 3339 in UTC, to the second.
func timeJSON(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// optTime is timeJSON for an optional time: nil (JSON null) when unset.
func optTime(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := timeJSON(*t)
	return &s
}

// listUsers answers a page of users for managers and admins, filtered by
// ?q= (part of the address or name), ?status= and ?role=. Errors: Forbidden,
// BadRequest (a malformed parameter).
func (x *API) listUsers(w http.ResponseWriter, r *http.Request, u *simplesender.User) error {
	p, err := pagingOf(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := app.UserFilter{Query: strings.TrimSpace(q.Get("q")), Status: simplesender.Status(q.Get("status")),
		Role: simplesender.Role(q.Get("role")), Limit: p.PerPage, Offset: p.offset()}
	bad := simplesender.FieldErrors{}
	switch f.Status {
	case "", simplesender.StatusPending, simplesender.StatusActive, simplesender.StatusBlocked:
	default:
		bad.Add("status", "error.query.invalid")
	}
	if f.Role != "" && !f.Role.Valid() {
		bad.Add("role", "error.query.invalid")
	}
	if len(f.Query) > 200 {
		bad.Add("q", "error.query.invalid")
	}
	if len(bad) > 0 {
		return badQuery(bad)
	}
	page, err := x.app.ListUsers(r.Context(), as(u), f)
	if err != nil {
		return err
	}
	out := list[userJSON]{Items: make([]userJSON, 0, len(page.Users)), Total: page.Total, Page: p.Page, PerPage: p.PerPage, Pages: p.pages(page.Total)}
	for _, u := range page.Users {
		out.Items = append(out.Items, userOf(u))
	}
	x.reply(w, http.StatusOK, out)
	return nil
}

// getUser answers one user: any for managers and admins, only themself for a
// regular user. Errors: NotFound (also another user's id for a regular user).
func (x *API) getUser(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	target, err := x.app.GetUser(r.Context(), as(u), id)
	if err != nil {
		return err
	}
	x.reply(w, http.StatusOK, userOf(target))
	return nil
}

// patchUser changes a user's role ({role}); admins only, not their own.
// Errors: Forbidden, Invalid, NotFound, BadRequest.
func (x *API) patchUser(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	var req struct {
		Role *string `json:"role"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.Role == nil {
		return simplesender.Invalid(map[string]string{"role": "error.required"})
	}
	target, err := x.app.SetRole(r.Context(), as(u), id, simplesender.Role(*req.Role))
	if err != nil {
		return err
	}
	x.reply(w, http.StatusOK, userOf(target))
	return nil
}

// blockUser blocks a user and answers 200 with the user; their tokens stop
// working at once. Managers may block regular users only, admins anyone but
// themselves. Errors: Forbidden, NotFound.
func (x *API) blockUser(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	return x.setBlocked(w, r, u, id, true)
}

// unblockUser unblocks a user, with the rules of blockUser.
func (x *API) unblockUser(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	return x.setBlocked(w, r, u, id, false)
}

func (x *API) setBlocked(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64, blocked bool) error {
	target, err := x.app.SetBlocked(r.Context(), as(u), id, blocked)
	if err != nil {
		return err
	}
	x.reply(w, http.StatusOK, userOf(target))
	return nil
}
