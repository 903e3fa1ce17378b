package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"simplesender"
	"simplesender/internal/app"
)

// perPage is the length of a page of every list.
const perPage = app.DefaultPerPage

// pager is the position in a paginated list, with links to the pages
// before and after that keep every other parameter of the query.
type pager struct {
	Page, Pages, Total int
	PrevURL, NextURL   string
}

// pageParam returns the 1-based page number asked for in ?page=: 1 when it
// is missing or no whole number from 1 (a page past the last is shown as
// the last by listPage).
func pageParam(r *http.Request) int {
	if p, ok := app.PageNumber(r.URL.Query().Get("page")); ok {
		return p
	}
	return 1
}

// offset is where page p starts.
func offset(p int) int { return app.Offset(p, perPage) }

// listPage loads page p of a list with load, which returns what it loaded
// from an offset and the total of the list. A page past the last loads the
// last page instead, so an old link or a number typed by hand shows the end
// of the list. It returns the result, the total and the page shown.
func listPage[T any](p int, load func(offset int) (T, int, error)) (T, int, int, error) {
	res, total, err := load(offset(p))
	if err == nil {
		if last := app.LastPage(total, perPage); p > last {
			p = last
			res, total, err = load(offset(p))
		}
	}
	return res, total, p, err
}

// newPager builds the pager of page p of total items for the request's URL.
func newPager(u *url.URL, p, total int) pager {
	pg := pager{Page: p, Total: total, Pages: app.LastPage(total, perPage)}
	link := func(n int) string {
		q := u.Query()
		if n == 1 {
			q.Del("page")
		} else {
			q.Set("page", strconv.Itoa(n))
		}
		if len(q) == 0 {
			return u.Path
		}
		return u.Path + "?" + q.Encode()
	}
	if p > 1 {
		pg.PrevURL = link(min(p-1, pg.Pages))
	}
	if p < pg.Pages {
		pg.NextURL = link(p + 1)
	}
	return pg
}

// ownerEmails maps the owners of objects on a page to their e-mail
// addresses, for staff who see every user's data. For anyone else it
// returns nil: they see their own objects only.
func (s *Server) ownerEmails(ctx context.Context, ac *app.Actor, owners []int64) map[int64]string {
	if ac.User == nil || !ac.User.Role.IsStaff() {
		return nil
	}
	out := map[int64]string{}
	for _, id := range owners {
		if _, ok := out[id]; ok {
			continue
		}
		out[id] = "#" + strconv.FormatInt(id, 10)
		if u, err := s.app.GetUser(ctx, ac, id); err == nil {
			out[id] = u.Email
		}
	}
	return out
}

// refused answers the app's refusal, and reports true, when the viewer may
// not do act to content of the user owner: a form is not shown to someone
// who could not submit it (the use case checks again on submit).
func (s *Server) refused(w http.ResponseWriter, r *http.Request, act app.Action, owner int64) bool {
	err := reqCtx(r).actor().Check(act, owner)
	if err == nil {
		return false
	}
	s.fail(w, r, err, "", nil)
	return true
}

// confirmData is the data of the page that asks before deleting.
type confirmData struct {
	Question string // message key
	What     string // the object, as the user knows it
	Action   string // POST target
	Cancel   string // where "no" goes
	// Mailings are named under the question with the note UsageNote (a
	// message key): the mailings that use the object, or that it is the
	// only recipient of.
	Mailings  []*simplesender.Mailing
	UsageNote string
	// Blocked: the object cannot be deleted now (UsageNote says why), so
	// the page offers no "Yes, delete".
	Blocked bool
}
