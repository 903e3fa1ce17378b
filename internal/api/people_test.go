package api

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/png"
	"mime/multipart"
	"strings"
	"testing"

	"simplesender/internal/store/storetest"
)

// A mailing whose only recipient was deleted is kept, and the API refuses
// to send or schedule it with a message that says why.
func TestSendWithoutRecipientsRefusedClearly(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		f := newContentFixture(t, dbURL)
		o := f.seed(t, f.users["owner"])
		ctx, ac := context.Background(), actor(f.users["owner"])
		for _, id := range []int64{o.R.ID, o.R2.ID} {
			if err := f.env.App.DeleteRecipient(ctx, ac, id); err != nil {
				t.Fatal(err)
			}
		}
		f.do(t, req{method: "GET", path: "/mailings/" + itoa(o.G.ID), bearer: f.tokens["owner"]}).want(t, 200).has(t, `"recipient_count":0`)
		for lang, want := range map[string]string{
			"en": "The mailing has no recipients: add recipients to it before sending or scheduling.",
			"ru": "В рассылке нет получателей: добавьте их, прежде чем отправлять или планировать.",
		} {
			res := f.do(t, req{method: "POST", path: "/mailings/" + itoa(o.G.ID) + "/send", bearer: f.tokens["owner"],
				header: []string{"Accept-Language", lang}}).want(t, 409)
			if e := res.errorBody(t); e.Code != "conflict" || e.Message != want {
				t.Errorf("send without recipients (%s): %+v", lang, e)
			}
		}
	})
}

func apiPNG(t *testing.T, w, h int) string {
	t.Helper()
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range m.Pix {
		m.Pix[i] = 0x80
	}
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// PUT /me/avatar takes the image as the body or as a multipart part, and
// refuses what is not a picture, too large or a decompression bomb, with the
// reason; DELETE removes it.
func TestAPIAvatar(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		f := newFixture(t, dbURL)
		tok := f.tokens["active"]
		put := func(body string, hdr ...string) resp {
			return f.do(t, req{method: "PUT", path: "/me/avatar", bearer: tok, body: body, header: append([]string{"Content-Type", "image/png"}, hdr...)})
		}
		var u struct {
			AvatarVersion int64 `json:"avatar_version"`
		}
		put(apiPNG(t, 64, 32)).want(t, 200).decode(t, &u)
		if u.AvatarVersion == 0 {
			t.Fatal("no avatar_version after PUT")
		}
		var me struct {
			AvatarVersion int64 `json:"avatar_version"`
		}
		f.do(t, req{method: "GET", path: "/me", bearer: tok}).want(t, 200).decode(t, &me)
		if me.AvatarVersion != u.AvatarVersion {
			t.Errorf("GET /me avatar_version %d, want %d", me.AvatarVersion, u.AvatarVersion)
		}

		var mp bytes.Buffer
		mw := multipart.NewWriter(&mp)
		fw, _ := mw.CreateFormFile("file", "me.png")
		_, _ = fw.Write([]byte(apiPNG(t, 10, 10)))
		mw.Close()
		var u2 struct {
			AvatarVersion int64 `json:"avatar_version"`
		}
		f.do(t, req{method: "PUT", path: "/me/avatar", bearer: tok, body: mp.String(), header: []string{"Content-Type", mw.FormDataContentType()}}).
			want(t, 200).decode(t, &u2)
		if u2.AvatarVersion <= u.AvatarVersion {
			t.Errorf("multipart upload: version %d, want more than %d", u2.AvatarVersion, u.AvatarVersion)
		}

		if e := put("%PDF-1.4 not an image").want(t, 422).errorBody(t); e.Fields["avatar"] != "This file is not a PNG, JPEG or WebP picture." {
			t.Errorf("not an image: %+v", e)
		}
		// A valid PNG header claiming 50000×50000 pixels.
		bomb := []byte(apiPNG(t, 1, 1))
		binary.BigEndian.PutUint32(bomb[16:], 50000)
		binary.BigEndian.PutUint32(bomb[20:], 50000)
		binary.BigEndian.PutUint32(bomb[29:], crc32.ChecksumIEEE(bomb[12:29]))
		if e := put(string(bomb)).want(t, 422).errorBody(t); !strings.Contains(e.Fields["avatar"], "4096 × 4096") {
			t.Errorf("bomb: %+v", e)
		}
		for _, n := range []int{2 << 20, 8 << 20} {
			if e := put(apiPNG(t, 2, 2)+strings.Repeat("x", n)).want(t, 422).errorBody(t); !strings.Contains(e.Fields["avatar"], "larger than 2 MB") {
				t.Errorf("%d bytes over: %+v", n, e)
			}
		}

		var gone struct {
			AvatarVersion *int64 `json:"avatar_version"`
		}
		f.do(t, req{method: "DELETE", path: "/me/avatar", bearer: tok}).want(t, 200).decode(t, &gone)
		if gone.AvatarVersion == nil || *gone.AvatarVersion != 0 {
			t.Errorf("after DELETE: avatar_version %v, want 0", gone.AvatarVersion)
		}
		f.do(t, req{method: "PUT", path: "/me/avatar", body: apiPNG(t, 2, 2), header: []string{"Content-Type", "image/png"}}).want(t, 401)
	})
}

// The API's field error names the placeholder and its position.
func TestAPIPlaceholderErrorNamesIt(t *testing.T) {
	t.Parallel()
	f := newFixture(t, storetest.NewURL(t, "sqlite"))
	e := f.do(t, req{method: "POST", path: "/messages", bearer: f.tokens["active"],
		body: `{"subject": "ok", "body_text": "Hello,\n{{first_name"}`}).want(t, 422).errorBody(t)
	if want := "The placeholder “{{first_name” at line 2, position 1 is not closed: add two closing braces after the name."; e.Fields["body_text"] != want {
		t.Errorf("body_text: %q, want %q", e.Fields["body_text"], want)
	}
}
