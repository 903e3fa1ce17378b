package web

import (
	"net/http"
	"strconv"
	"strings"

	"simplesender"
	"simplesender/internal/app"
)

// Lists of recipients: /lists shows them with their member counts and a
// form to make one; /lists/{id} shows one list's members, page by page,
// with the forms to rename and delete it. Adding and removing members is a
// bulk action of the recipients page.

type listsData struct {
	Lists  []*simplesender.List
	Owners map[int64]string // staff: owner id -> e-mail
	Query  string
	Pager  pager
}

func (s *Server) lists(w http.ResponseWriter, r *http.Request) {
	s.listsPage(w, r, http.StatusOK, nil)
}

// listsPage renders the lists with the create form in p (nil: empty).
func (s *Server) listsPage(w http.ResponseWriter, r *http.Request, status int, fail error) {
	rc := reqCtx(r)
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	per := perPageParam(r)
	items, total, page, err := listPage(pageParam(r), per, func(off int) ([]*simplesender.List, int, error) {
		return s.app.ListLists(r.Context(), rc.actor(), 0, app.ListFilter{Query: q, Limit: per, Offset: off})
	})
	if err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	owners := make([]int64, len(items))
	for i, x := range items {
		owners[i] = x.OwnerID
	}
	p := &Page{Title: "page.lists.title", Nav: "recipients", Form: map[string]string{"name": r.PostFormValue("name")},
		Data: listsData{Lists: items, Owners: s.ownerEmails(r.Context(), rc.actor(), owners), Query: q, Pager: newPager(r.URL, page, per, total)}}
	if fail != nil {
		s.fail(w, r, fail, "lists", p)
		return
	}
	s.render(w, r, status, "lists", p)
}

func (s *Server) createList(w http.ResponseWriter, r *http.Request) {
	l, err := s.app.CreateList(r.Context(), reqCtx(r).actor(), r.PostFormValue("name"))
	if err != nil {
		if simplesender.IsKind(err, simplesender.KindInvalid) {
			s.listsPage(w, r, http.StatusUnprocessableEntity, err)
			return
		}
		s.fail(w, r, err, "", nil)
		return
	}
	s.redirectFlash(w, r, "/lists/"+strconv.FormatInt(l.ID, 10), "success", "flash.list_created")
}

type listData struct {
	List       *simplesender.List
	Recipients []*simplesender.Recipient
	Pager      pager
	Tag        string
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	s.listPageOf(w, r, nil)
}

func (s *Server) listPageOf(w http.ResponseWriter, r *http.Request, fail error) {
	rc := reqCtx(r)
	l, ok := loadByID(s, w, r, s.app.GetList)
	if !ok {
		return
	}
	tag := strings.TrimSpace(r.URL.Query().Get("tag"))
	per := perPageParam(r)
	members, total, page, err := listPage(pageParam(r), per, func(off int) ([]*simplesender.Recipient, int, error) {
		return s.app.ListRecipients(r.Context(), rc.actor(), 0, app.ListFilter{ListID: l.ID, Tag: tag, Limit: per, Offset: off})
	})
	if err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	p := &Page{Title: "page.list.title", Nav: "recipients", Form: map[string]string{"name": l.Name},
		Data: listData{List: l, Recipients: members, Pager: newPager(r.URL, page, per, total), Tag: tag}}
	if fail != nil {
		p.Form["name"] = r.PostFormValue("name")
		s.fail(w, r, fail, "list", p)
		return
	}
	s.render(w, r, http.StatusOK, "list", p)
}

func (s *Server) renameList(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	if _, err := s.app.RenameList(r.Context(), reqCtx(r).actor(), id, r.PostFormValue("name")); err != nil {
		if simplesender.IsKind(err, simplesender.KindInvalid) {
			s.listPageOf(w, r, err)
			return
		}
		s.fail(w, r, err, "", nil)
		return
	}
	s.redirectFlash(w, r, "/lists/"+strconv.FormatInt(id, 10), "success", "flash.list_saved")
}

func (s *Server) deleteListForm(w http.ResponseWriter, r *http.Request) {
	l, ok := loadByID(s, w, r, s.app.GetList)
	if !ok || s.refused(w, r, app.ActDelete, l.OwnerID) {
		return
	}
	self := "/lists/" + strconv.FormatInt(l.ID, 10)
	s.render(w, r, http.StatusOK, "confirm_delete", &Page{Title: "page.list_delete.title", Nav: "recipients",
		Data: confirmData{Question: "lists.delete_confirm", What: l.Name, Action: self + "/delete", Cancel: self}})
}

func (s *Server) deleteList(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	if err := s.app.DeleteList(r.Context(), reqCtx(r).actor(), id); err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	s.redirectFlash(w, r, "/lists", "success", "flash.list_deleted")
}
