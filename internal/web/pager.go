package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"simplesender"
	"simplesender/internal/app"
)

// perPageChoices are the page lengths every list offers (?per_page=);
// app.DefaultPerPage is the one shown without a choice.
var perPageChoices = []int{25, 50, 100, 500}

// pager is the position in a paginated list, with links to the first, the
// previous, the neighbouring, the next and the last pages and to the other
// page lengths, each keeping every other parameter of the query.
type pager struct {
	Page, Pages, Total, PerPage         int
	FirstURL, PrevURL, NextURL, LastURL string
	// Links are the numbered pages: the first, the last, and two either
	// side of the current one, with a gap (…) where numbers are left out.
	Links []pageLink
	// Sizes are the page lengths to choose from, when the list is longer
	// than the shortest of them.
	Sizes []pageLink
}

// pageLink is a numbered page or a page length in a pager.
type pageLink struct {
	N       int
	URL     string
	Current bool
	Gap     bool // a run of numbers left out; N and URL are empty
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

// perPageParam returns the page length asked for in ?per_page=: one of
// perPageChoices, else app.DefaultPerPage.
func perPageParam(r *http.Request) int {
	if n, ok := app.PageNumber(r.URL.Query().Get("per_page")); ok && slices.Contains(perPageChoices, n) {
		return n
	}
	return app.DefaultPerPage
}

// listPage loads page p of a list of per items a page with load, which
// returns what it loaded from an offset and the total of the list. A page
// past the last loads the last page instead, so an old link or a number
// typed by hand shows the end of the list. It returns the result, the total
// and the page shown.
func listPage[T any](p, per int, load func(offset int) (T, int, error)) (T, int, int, error) {
	res, total, err := load(app.Offset(p, per))
	if err == nil {
		if last := app.LastPage(total, per); p > last {
			p = last
			res, total, err = load(app.Offset(p, per))
		}
	}
	return res, total, p, err
}

// newPager builds the pager of page p of total items, per a page, for the
// request's URL.
func newPager(u *url.URL, p, per, total int) pager {
	pg := pager{Page: p, Total: total, PerPage: per, Pages: app.LastPage(total, per)}
	link := func(n, size int) string {
		q := u.Query()
		if n == 1 {
			q.Del("page")
		} else {
			q.Set("page", strconv.Itoa(n))
		}
		if size == app.DefaultPerPage {
			q.Del("per_page")
		} else {
			q.Set("per_page", strconv.Itoa(size))
		}
		if len(q) == 0 {
			return u.Path
		}
		return u.Path + "?" + q.Encode()
	}
	if p > 1 {
		pg.FirstURL = link(1, per)
		pg.PrevURL = link(min(p-1, pg.Pages), per)
	}
	if p < pg.Pages {
		pg.NextURL = link(p+1, per)
		pg.LastURL = link(pg.Pages, per)
	}
	const around = 2
	nums := []int{1}
	for n := max(2, p-around); n <= min(pg.Pages-1, p+around); n++ {
		nums = append(nums, n)
	}
	if pg.Pages > 1 {
		nums = append(nums, pg.Pages)
	}
	for i, n := range nums {
		if i > 0 && n > nums[i-1]+1 {
			pg.Links = append(pg.Links, pageLink{Gap: true})
		}
		pg.Links = append(pg.Links, pageLink{N: n, URL: link(n, per), Current: n == p})
	}
	if total > perPageChoices[0] {
		for _, size := range perPageChoices {
			// The first item of the page stays on the page of the new length.
			first := app.Offset(p, per)
			pg.Sizes = append(pg.Sizes, pageLink{N: size, URL: link(first/size+1, size), Current: size == per})
		}
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
