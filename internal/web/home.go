package web

import (
	"net/http"

	"simplesender/internal/app"
)

// home welcomes visitors; a logged-in user gets the figures of their
// mailings (managers: everyone's), each linking to its list.
func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	rc := reqCtx(r)
	p := &Page{Title: "page.home.title", Nav: "home"}
	if rc.User != nil {
		c, err := s.app.HomeCounters(r.Context(), rc.actor())
		if err != nil {
			s.fail(w, r, err, "", nil)
			return
		}
		p.Data = homeData{Counters: c}
	}
	s.render(w, r, http.StatusOK, "home", p)
}

type homeData struct {
	app.Counters
}
