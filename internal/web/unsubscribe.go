package web

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"strings"

	"simplesender/internal/app"
)

// maxUnsubscribeBody bounds the body of a post to an unsubscribe link: a
// mailbox provider posts "List-Unsubscribe=One-Click", as a form or as
// multipart/form-data.
const maxUnsubscribeBody = 16 << 10

// unsubscribeToken returns the TOKEN of path /u/TOKEN, the one path served
// without the session, the cross-origin check or any cookie set (RFC 8058:
// a mailbox provider posts with none), and whether path is one.
func unsubscribeToken(path string) (string, bool) {
	token, ok := strings.CutPrefix(path, "/u/")
	return token, ok && token != "" && !strings.Contains(token, "/")
}

// unsubscribeRoutes serves /u/{token}: GET shows the page and changes
// nothing (link scanners fetch it); POST with List-Unsubscribe=One-Click
// unsubscribes at once and answers 200 with no redirect (RFC 8058); POST
// with action=resubscribe undoes it. The page speaks the recipient's
// language (the token carries it) unless they chose one with the switch;
// a session is not even read.
func (s *Server) unsubscribeRoutes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /u/{token}", s.unsubscribePage)
	mux.HandleFunc("POST /u/{token}", s.unsubscribePost)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, _ := unsubscribeToken(r.URL.Path)
		var cookieLang string
		if c, err := r.Cookie(langCookie); err == nil {
			cookieLang = c.Value
		}
		rc := &requestCtx{L: s.bundle.For(s.bundle.Match(cookieLang, s.app.UnsubscribeLang(token), r.Header.Get("Accept-Language")))}
		w.Header().Set("Content-Language", rc.L.Lang())
		w.Header().Set("X-Robots-Tag", "noindex, nofollow")
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, rc))
		if _, pattern := mux.Handler(r); pattern == "" {
			w.Header().Set("Allow", "GET, HEAD, POST")
			s.errorPage(w, r, http.StatusMethodNotAllowed, "error.method")
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// unsubscribeView is the data of the unsubscribe page.
type unsubscribeView struct {
	Token string
	State *app.UnsubscribeState
	Done  string // what the last post did: "unsubscribed", "resubscribed" or ""
}

func (s *Server) unsubscribePage(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	st, err := s.app.UnsubscribeStatus(r.Context(), token, clientIP(r))
	s.unsubscribeAnswer(w, r, token, st, err, "")
}

func (s *Server) unsubscribePost(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	r.Body = http.MaxBytesReader(w, r.Body, maxUnsubscribeBody)
	var err error
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		err = r.ParseMultipartForm(maxUnsubscribeBody)
	} else {
		err = r.ParseForm()
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			s.errorPage(w, r, http.StatusRequestEntityTooLarge, "error.too_large")
			return
		}
		s.errorPage(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	var st *app.UnsubscribeState
	var done string
	switch {
	case r.PostFormValue("action") == "resubscribe":
		st, err = s.app.Resubscribe(r.Context(), token, clientIP(r))
		done = "resubscribed"
	case r.PostFormValue("List-Unsubscribe") == "One-Click":
		st, err = s.app.Unsubscribe(r.Context(), token, clientIP(r))
		done = "unsubscribed"
	default:
		s.errorPage(w, r, http.StatusBadRequest, "error.unsubscribe.bad_post")
		return
	}
	s.unsubscribeAnswer(w, r, token, st, err, done)
}

// unsubscribeAnswer shows the page of token, or the error: a link that is
// not ours is a 404 that names no address and changes nothing.
func (s *Server) unsubscribeAnswer(w http.ResponseWriter, r *http.Request, token string, st *app.UnsubscribeState, err error, done string) {
	if err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	title := "page.unsubscribe.title"
	if st.Test {
		title = "page.unsubscribe.test_title"
	}
	if st.Test {
		done = ""
	}
	s.render(w, r, http.StatusOK, "unsubscribe", &Page{Title: title, Data: &unsubscribeView{Token: token, State: st, Done: done}})
}
