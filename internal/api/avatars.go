package api

import (
	"errors"
	"net/http"

	"simplesender"
	"simplesender/internal/avatar"
)

var errAvatarTooLarge = simplesender.E(simplesender.KindTooLarge, "error.avatar.too_large")

// putAvatar replaces the caller's profile picture with the body (the image
// itself) or the part named file of a multipart/form-data body, and answers
// the account with its new avatar_version.
func (x *API) putAvatar(w http.ResponseWriter, r *http.Request, u *simplesender.User) error {
	// One byte over the limit reaches app, which refuses it by name.
	src, _, err := uploadSource(w, r, avatar.MaxBytes+1)
	if err != nil {
		if errors.Is(err, errTooLarge) {
			return errAvatarTooLarge
		}
		return err
	}
	v, err := x.app.SetAvatar(r.Context(), as(u), src)
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok || errors.Is(err, errFileTooLarge) {
		return errAvatarTooLarge
	}
	if err != nil {
		return err
	}
	u.AvatarVersion = v
	x.reply(w, http.StatusOK, userOf(u))
	return nil
}

// deleteAvatar removes the caller's profile picture.
func (x *API) deleteAvatar(w http.ResponseWriter, r *http.Request, u *simplesender.User) error {
	if err := x.app.DeleteAvatar(r.Context(), as(u)); err != nil {
		return err
	}
	u.AvatarVersion = 0
	x.reply(w, http.StatusOK, userOf(u))
	return nil
}
