package app

import (
	"context"
	"errors"
	"io"
	"strconv"
	"time"

	"simplesender"
	"simplesender/internal/avatar"
	"simplesender/internal/ratelimit"
	"simplesender/internal/store"
)

// Avatar is a user's stored profile picture.
type Avatar = store.Avatar

// ruleAvatarUser bounds how often one account may upload a picture: each
// upload costs a decode and a re-encode.
var ruleAvatarUser = ratelimit.Rule{Name: "avatar-user", Limit: 30, Window: time.Hour}

// processAvatar checks and re-encodes an uploaded picture (package avatar).
// Errors: Invalid (field "avatar", with the reason).
func processAvatar(r io.Reader) (*avatar.Image, error) {
	img, err := avatar.Process(r)
	if err == nil {
		return img, nil
	}
	key := "error.avatar.format"
	switch {
	case errors.Is(err, avatar.ErrEmpty):
		key = "error.avatar.empty"
	case errors.Is(err, avatar.ErrTooLarge):
		key = "error.avatar.too_large"
	case errors.Is(err, avatar.ErrDimension):
		key = "error.avatar.dimensions"
	case !errors.Is(err, avatar.ErrFormat):
		return nil, err // reading the upload failed
	}
	return nil, simplesender.Invalid(map[string]string{"avatar": key})
}

// SetAvatar replaces the actor's profile picture with the PNG, JPEG or WebP
// image read from r (at most 2 MB and 4096×4096 pixels), re-encoded, and
// returns the new version. Errors: Invalid (field "avatar"),
// Unauthenticated, RateLimited.
func (a *App) SetAvatar(ctx context.Context, ac *Actor, r io.Reader) (int64, error) {
	if ac.anonymous() {
		return 0, errUnauthenticated
	}
	if err := a.throttle(ctx, ruleAvatarUser, strconv.FormatInt(ac.id(), 10)); err != nil {
		return 0, err
	}
	img, err := processAvatar(r)
	if err != nil {
		return 0, err
	}
	var v int64
	err = a.DB.InTx(ctx, func(s *store.Store) error {
		// The version and the picture change together.
		v, err = s.SetAvatar(ctx, ac.id(), img.ContentType, img.Data)
		return err
	})
	if err == nil {
		a.usersChanged(ctx, ac.id())
	}
	return v, err
}

// DeleteAvatar removes the actor's profile picture; having none is not an
// error. Errors: Unauthenticated.
func (a *App) DeleteAvatar(ctx context.Context, ac *Actor) error {
	if ac.anonymous() {
		return errUnauthenticated
	}
	err := a.DB.InTx(ctx, func(s *store.Store) error { return s.DeleteAvatar(ctx, ac.id()) })
	if err == nil {
		a.usersChanged(ctx, ac.id())
	}
	return err
}

// AvatarOf returns the profile picture of user id, for the user and for
// managers and admins (who see every profile). Errors: NotFound (no picture,
// or somebody else's for a regular user), Unauthenticated.
func (a *App) AvatarOf(ctx context.Context, ac *Actor, id int64) (*Avatar, error) {
	if ac.anonymous() {
		return nil, errUnauthenticated
	}
	if ac.id() != id && !ac.role().IsStaff() {
		return nil, simplesender.E(simplesender.KindNotFound, "error.not_found")
	}
	return a.DB.Store().AvatarOf(ctx, id)
}
