package web

import (
	"net/http"
	"strconv"

	"simplesender"
	"simplesender/internal/app"
)

type usersData struct {
	Users      []*simplesender.User
	Total      int
	Pager      pager
	Query      string
	Status     string
	CanManage  map[int64]bool
	StatusList []string
}

// users is the managers' list of users. The page is rendered once per
// viewer, language and query, and cached whole by app.StaffPage, which serves
// it to managers and admins only. A flash is per visit, so a page with one is
// never cached: it is rendered apart.
func (s *Server) users(w http.ResponseWriter, r *http.Request) {
	rc := reqCtx(r)
	if !rc.User.Role.IsStaff() {
		s.errorPage(w, r, http.StatusForbidden, "error.forbidden")
		return
	}
	if f := s.takeFlash(w, r); f != nil {
		d, err := s.usersPage(r)
		if err != nil {
			s.fail(w, r, err, "", nil)
			return
		}
		s.render(w, r, http.StatusOK, "users", &Page{Title: "page.users.title", Nav: "users", Data: d, Flash: f})
		return
	}
	key := app.PageKey{Name: "users", Lang: rc.L.Lang(), Variant: r.URL.RawQuery}
	b, err := s.app.StaffPage(r.Context(), rc.actor(), key, func() ([]byte, error) {
		d, err := s.usersPage(r)
		if err != nil {
			return nil, err
		}
		// Filled by hand, not by fillPage: nothing of this visit but the
		// viewer, the language and the query may go into the cached bytes.
		p := &Page{Title: rc.L.T("page.users.title"), Nav: "users", Data: d, L: rc.L, User: rc.User,
			Langs: s.bundle.Languages(), Path: r.URL.RequestURI()}
		return s.renderBytes("users", http.StatusOK, p)
	})
	if err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	writeHTML(w, http.StatusOK, b)
}

// usersPage loads the page of users the query asks for.
func (s *Server) usersPage(r *http.Request) (usersData, error) {
	rc := reqCtx(r)
	q := r.URL.Query()
	status := q.Get("status")
	switch simplesender.Status(status) {
	case simplesender.StatusPending, simplesender.StatusActive, simplesender.StatusBlocked:
	default:
		status = ""
	}
	per := perPageParam(r)
	res, _, page, err := listPage(pageParam(r), per, func(off int) (*app.UserPage, int, error) {
		res, err := s.app.ListUsers(r.Context(), rc.actor(), app.UserFilter{Query: q.Get("q"),
			Status: simplesender.Status(status), Limit: per, Offset: off})
		if err != nil {
			return nil, 0, err
		}
		return res, res.Total, nil
	})
	if err != nil {
		return usersData{}, err
	}
	d := usersData{Users: res.Users, Total: res.Total, Pager: newPager(r.URL, page, per, res.Total), Query: q.Get("q"), Status: status,
		CanManage:  map[int64]bool{},
		StatusList: []string{"pending", "active", "blocked"}}
	for _, u := range res.Users {
		d.CanManage[u.ID] = app.CanManage(rc.actor(), u)
	}
	return d, nil
}

type userData struct {
	Target    *simplesender.User
	CanManage bool
	Audit     []*simplesender.AuditEvent
	DataAudit []*simplesender.AuditEvent // others' actions on the user's recipients, messages, mailings
	Roles     []string
}

func (s *Server) user(w http.ResponseWriter, r *http.Request) {
	rc := reqCtx(r)
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	if !rc.User.Role.IsStaff() {
		// Regular users have no user pages, not even their own: that is /profile.
		s.errorPage(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	u, err := s.app.GetUser(r.Context(), rc.actor(), id)
	if err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	audit, err := s.app.UserAudit(r.Context(), rc.actor(), id)
	if err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	dataAudit, err := s.app.UserDataAudit(r.Context(), rc.actor(), id)
	if err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	s.render(w, r, http.StatusOK, "user", &Page{Title: "page.user.title", Nav: "users", Data: userData{
		Target: u, CanManage: app.CanManage(rc.actor(), u), Audit: audit, DataAudit: dataAudit, Roles: []string{"user", "manager", "admin"}}})
}

func (s *Server) blockUser(w http.ResponseWriter, r *http.Request)   { s.setBlocked(w, r, true) }
func (s *Server) unblockUser(w http.ResponseWriter, r *http.Request) { s.setBlocked(w, r, false) }

func (s *Server) setBlocked(w http.ResponseWriter, r *http.Request, blocked bool) {
	rc := reqCtx(r)
	id, ok := pathID(r)
	if !ok || !rc.User.Role.IsStaff() {
		s.errorPage(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	if _, err := s.app.SetBlocked(r.Context(), rc.actor(), id, blocked); err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	key := "flash.user_unblocked"
	if blocked {
		key = "flash.user_blocked"
	}
	// A form elsewhere (the page of senders) may ask to come back to it.
	s.redirectFlash(w, r, localTarget(r.PostFormValue("next"), "/users/"+strconv.FormatInt(id, 10)), "success", key)
}

func (s *Server) setRole(w http.ResponseWriter, r *http.Request) {
	rc := reqCtx(r)
	id, ok := pathID(r)
	if !ok || !rc.User.Role.IsStaff() {
		s.errorPage(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	if _, err := s.app.SetRole(r.Context(), rc.actor(), id, simplesender.Role(r.PostFormValue("role"))); err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	s.redirectFlash(w, r, "/users/"+strconv.FormatInt(id, 10), "success", "flash.role_changed")
}
