package web_test

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"mime/multipart"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"simplesender/internal/store/storetest"
)

// pngBytes is a w×h opaque PNG.
func pngBytes(t *testing.T, w, h int) []byte {
	t.Helper()
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range m.Pix {
		m.Pix[i] = 0xff
	}
	m.Set(0, 0, color.NRGBA{R: 10, A: 255})
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// upload POSTs a multipart form with fields and the file under fileField.
func (s *site) uploadPicture(t *testing.T, who, path string, fields url.Values, fileField string, file []byte, hdr ...string) resp {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, vs := range fields {
		for _, v := range vs {
			_ = mw.WriteField(k, v)
		}
	}
	switch {
	case fileField != "" && file == nil:
		// What a browser sends for a file input left empty.
		h := make(textproto.MIMEHeader)
		h.Set("Content-Disposition", `form-data; name="`+fileField+`"; filename=""`)
		h.Set("Content-Type", "application/octet-stream")
		_, _ = mw.CreatePart(h)
	case fileField != "":
		fw, _ := mw.CreateFormFile(fileField, "me.png")
		_, _ = fw.Write(file)
	}
	mw.Close()
	r := httptest.NewRequest("POST", path, &body)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	return s.send(who, r, hdr...)
}

var avatarSrc = regexp.MustCompile(`<img class="avatar" src="(/avatars/\d+/\d+)"`)

// A picture uploaded on the profile shows in the navbar and on the profile,
// is served (cache-friendly) to the user and to staff only, and can be
// removed, leaving the default icon.
func TestAvatarUploadShowServeRemove(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := newSite(t, dbURL)
		if r := s.do(t, "active", "GET", "/profile", nil); avatarSrc.MatchString(r.body) || !strings.Contains(r.body, "avatar-default") {
			t.Fatalf("before any upload: want the default icon only")
		}
		bad := s.uploadPicture(t, "active", "/profile/avatar", nil, "avatar", []byte("GIF89a not really"), "Accept-Language", "ru")
		if bad.status != 422 || !strings.Contains(bad.body, "не картинка PNG, JPEG или WebP") {
			t.Errorf("a non-image: %d, want 422 with the reason in Russian", bad.status)
		}
		huge := s.uploadPicture(t, "active", "/profile/avatar", nil, "avatar", append(pngBytes(t, 2, 2), make([]byte, 2<<20)...))
		if huge.status != 422 || !strings.Contains(huge.body, "larger than 2 MB") {
			t.Errorf("a file over 2 MB: %d, want 422 with the reason", huge.status)
		}
		r := s.uploadPicture(t, "active", "/profile/avatar", nil, "avatar", pngBytes(t, 300, 200))
		page := s.follow(t, "active", r)
		m := avatarSrc.FindAllStringSubmatch(page.body, -1)
		if len(m) != 2 || !strings.Contains(page.body, "profile picture is saved") {
			t.Fatalf("after upload: want the picture in the navbar and on the profile, got %d:\n%s", len(m), page.body)
		}
		src := m[0][1]
		img := s.do(t, "active", "GET", src, nil)
		if img.status != 200 || img.header.Get("Content-Type") != "image/jpeg" || !strings.Contains(img.header.Get("Cache-Control"), "immutable") ||
			!strings.Contains(img.header.Get("Cache-Control"), "private") || img.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("picture: %d %v", img.status, img.header)
		}
		if cfg, _, err := image.DecodeConfig(strings.NewReader(img.body)); err != nil || cfg.Width != 200 || cfg.Height != 200 {
			t.Errorf("served picture is not the 200×200 square: %+v %v", cfg, err)
		}
		if r := s.do(t, "other", "GET", src, nil); r.status != 404 {
			t.Errorf("another user got the picture: %d", r.status)
		}
		if r := s.do(t, "", "GET", src, nil); r.status != 303 {
			t.Errorf("anonymous: %d, want a redirect to log in", r.status)
		}
		if r := s.do(t, "manager", "GET", src, nil); r.status != 200 {
			t.Errorf("a manager cannot see the picture: %d", r.status)
		}
		if r := s.do(t, "manager", "GET", "/users/"+itoa(s.ids["active"]), nil); !strings.Contains(r.body, `src="`+src+`"`) {
			t.Errorf("the manager's user page does not show the picture")
		}
		// A new picture gets a new address; the old one leads to it.
		again := s.follow(t, "active", s.uploadPicture(t, "active", "/profile/avatar", nil, "avatar", pngBytes(t, 50, 50)))
		src2 := avatarSrc.FindStringSubmatch(again.body)[1]
		if src2 == src {
			t.Fatalf("a new picture kept the address %s", src)
		}
		if r := s.do(t, "active", "GET", src, nil); r.status != 302 || r.header.Get("Location") != src2 {
			t.Errorf("old address: %d to %q, want 302 to %s", r.status, r.header.Get("Location"), src2)
		}
		gone := s.follow(t, "active", s.do(t, "active", "POST", "/profile/avatar/delete", url.Values{}))
		if avatarSrc.MatchString(gone.body) || !strings.Contains(gone.body, "avatar-default") || !strings.Contains(gone.body, "picture is removed") {
			t.Errorf("after removal: want the default icon:\n%s", gone.body)
		}
		if r := s.do(t, "active", "GET", src2, nil); r.status != 404 {
			t.Errorf("removed picture still served: %d", r.status)
		}
	})
}

// A picture chosen at sign-up is the new account's; one sent with an
// address that has an account already changes nothing.
func TestAvatarAtRegistration(t *testing.T) {
	t.Parallel()
	s := newSite(t, storetest.NewURL(t, "sqlite"))
	form := url.Values{"email": {"pic@example.com"}, "name": {"Pic"}, "password": {"purple-kettle-42"}, "password2": {"purple-kettle-42"}}
	if r := s.uploadPicture(t, "", "/register", form, "avatar", pngBytes(t, 40, 40)); r.status != 200 {
		t.Fatalf("register with a picture: %d\n%s", r.status, r.body)
	}
	u, err := s.env.DB.Store().UserByEmail(t.Context(), "pic@example.com")
	if err != nil || u.AvatarVersion == 0 {
		t.Fatalf("the new account has no picture: %+v %v", u, err)
	}
	form.Set("email", "other@example.com")
	if r := s.uploadPicture(t, "", "/register", form, "avatar", pngBytes(t, 40, 40)); r.status != 200 {
		t.Fatalf("register an existing address: %d", r.status)
	}
	if o, _ := s.env.DB.Store().UserByID(t.Context(), s.ids["other"]); o.AvatarVersion != 0 {
		t.Errorf("signing up with an existing address set its picture")
	}
	form.Set("email", "pic2@example.com")
	r := s.uploadPicture(t, "", "/register", form, "avatar", []byte("not an image"))
	if r.status != 422 || !strings.Contains(r.body, "not a PNG, JPEG or WebP") || !strings.Contains(r.body, `value="pic2@example.com"`) {
		t.Errorf("a bad picture at sign-up: %d, want the form again with the reason", r.status)
	}
	// Without a picture the form still works (the browser sends an empty file part).
	form.Set("email", "nopic@example.com")
	if r := s.uploadPicture(t, "", "/register", form, "avatar", nil); r.status != 200 {
		t.Errorf("register without a picture: %d", r.status)
	}
}
