package web

import (
	"net/http"
	"strconv"
)

// duplicateMailing makes a copy of the mailing in the path and opens it.
func (s *Server) duplicateMailing(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.errorPage(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	rc := reqCtx(r)
	cp, err := s.app.DuplicateMailing(r.Context(), rc.actor(), id, rc.L.Lang())
	if err != nil {
		s.mailingFail(w, r, id, err)
		return
	}
	s.redirectFlash(w, r, "/mailings/"+strconv.FormatInt(cp.ID, 10), "success", "flash.mailing_duplicated")
}
