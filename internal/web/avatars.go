package web

import (
	"net/http"
	"strconv"

	"simplesender"
)

// maxAvatarPost bounds a form that carries a picture: the picture may be
// refused for its size (2 MB) with a message on the form up to this size;
// beyond it the request is cut.
const maxAvatarPost = 8 << 20

// avatarPaths are the POST paths whose form may carry a picture (multipart).
var avatarPaths = map[string]bool{"/register": true, "/profile/avatar": true}

// AvatarURL is the address of u's picture, "" when there is none. The
// version in it changes with every upload, so the picture may be cached
// for good.
func AvatarURL(u *simplesender.User) string {
	if u == nil || u.AvatarVersion == 0 {
		return ""
	}
	return "/avatars/" + strconv.FormatInt(u.ID, 10) + "/" + strconv.FormatInt(u.AvatarVersion, 10)
}

// avatarImage serves a picture to whoever may see its owner's profile.
func (s *Server) avatarImage(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	v, err := strconv.ParseInt(r.PathValue("v"), 10, 64)
	if !ok || err != nil {
		s.errorPage(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	a, err := s.app.AvatarOf(r.Context(), reqCtx(r).actor(), id)
	if err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	if a.Version != v {
		// An old address: the current picture has another one.
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, "/avatars/"+strconv.FormatInt(id, 10)+"/"+strconv.FormatInt(a.Version, 10), http.StatusFound)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.ContentType)
	h.Set("Content-Length", strconv.Itoa(len(a.Data)))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	// Private: only the owner and staff may see it. Immutable: a new
	// picture gets a new address.
	h.Set("Cache-Control", "private, max-age=31536000, immutable")
	_, _ = w.Write(a.Data)
}

// uploadAvatar replaces the viewer's picture from the profile page.
func (s *Server) uploadAvatar(w http.ResponseWriter, r *http.Request) {
	rc := reqCtx(r)
	f, _, err := r.FormFile("avatar")
	if err != nil {
		p := s.profilePage(rc.User)
		s.fail(w, r, simplesender.Invalid(map[string]string{"avatar": "error.avatar.empty"}), "profile", p)
		return
	}
	defer f.Close()
	if _, err := s.app.SetAvatar(r.Context(), rc.actor(), f); err != nil {
		s.fail(w, r, err, "profile", s.profilePage(rc.User))
		return
	}
	s.redirectFlash(w, r, "/profile", "success", "flash.avatar_saved")
}

// deleteAvatar removes the viewer's picture.
func (s *Server) deleteAvatar(w http.ResponseWriter, r *http.Request) {
	if err := s.app.DeleteAvatar(r.Context(), reqCtx(r).actor()); err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	s.redirectFlash(w, r, "/profile", "success", "flash.avatar_removed")
}
