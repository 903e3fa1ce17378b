package store_test

import (
	"bytes"
	"testing"

	"simplesender"
	"simplesender/internal/store/storetest"
)

// A picture is stored with the account on both engines: every instance
// reads it; a new one gets a greater version; removing it clears it, and the
// user's row tells both.
func TestAvatars(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, url string) {
		s := storetest.Open(t, url).Store()
		u := createUser(t, s, "pic@example.com")
		if _, err := s.AvatarOf(ctx, u.ID); !simplesender.IsKind(err, simplesender.KindNotFound) {
			t.Fatalf("no picture yet: got %v, want NotFound", err)
		}
		data := []byte("\x89PNG\r\n\x1a\n\x00binary\xff")
		v1, err := s.SetAvatar(ctx, u.ID, "image/png", data)
		if err != nil || v1 <= 0 {
			t.Fatalf("SetAvatar = %d, %v", v1, err)
		}
		v2, err := s.SetAvatar(ctx, u.ID, "image/jpeg", []byte{0xff, 0xd8, 0xff})
		if err != nil || v2 <= v1 {
			t.Fatalf("second SetAvatar = %d (first %d), %v: the version must grow", v2, v1, err)
		}
		a, err := s.AvatarOf(ctx, u.ID)
		if err != nil || a.ContentType != "image/jpeg" || !bytes.Equal(a.Data, []byte{0xff, 0xd8, 0xff}) || a.Version != v2 {
			t.Fatalf("AvatarOf = %+v, %v", a, err)
		}
		if got, _ := s.UserByID(ctx, u.ID); got.AvatarVersion != v2 {
			t.Errorf("user's avatar version %d, want %d", got.AvatarVersion, v2)
		}
		if err := s.DeleteAvatar(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AvatarOf(ctx, u.ID); !simplesender.IsKind(err, simplesender.KindNotFound) {
			t.Errorf("after delete: got %v, want NotFound", err)
		}
		if got, _ := s.UserByID(ctx, u.ID); got.AvatarVersion != 0 {
			t.Errorf("user's avatar version after delete %d, want 0", got.AvatarVersion)
		}
		if err := s.DeleteAvatar(ctx, u.ID); err != nil {
			t.Errorf("deleting no picture: %v", err)
		}
		if _, err := s.SetAvatar(ctx, 999999, "image/png", data); !simplesender.IsKind(err, simplesender.KindNotFound) {
			t.Errorf("picture of no user: got %v, want NotFound", err)
		}
	})
}
