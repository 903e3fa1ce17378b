package avatar_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"strings"
	"testing"

	"simplesender/internal/avatar"
)

func picture(w, h int, alpha uint8) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.SetNRGBA(x, y, color.NRGBA{R: uint8(x), G: uint8(y), B: 200, A: alpha})
		}
	}
	return m
}

func encodePNG(t testing.TB, m image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeJPEG(t testing.TB, m image.Image) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, m, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// withExif inserts an APP1 (Exif) segment after the JPEG's SOI marker.
func withExif(j []byte, payload string) []byte {
	seg := append([]byte("Exif\x00\x00"), payload...)
	app1 := []byte{0xFF, 0xE1, byte((len(seg) + 2) >> 8), byte(len(seg) + 2)}
	return append(append(append([]byte{}, j[:2]...), append(app1, seg...)...), j[2:]...)
}

// bomb is a valid small PNG whose header claims w×h pixels.
func bomb(t testing.TB, w, h uint32) []byte {
	b := encodePNG(t, picture(1, 1, 255))
	// IHDR data starts after the 8-byte signature, length and type.
	binary.BigEndian.PutUint32(b[16:], w)
	binary.BigEndian.PutUint32(b[20:], h)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	return b
}

func read(t testing.TB, name string) []byte {
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestProcess(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		in       []byte
		err      error
		wantType string
		wantSide int
	}{
		{"opaque PNG becomes a JPEG square", encodePNG(t, picture(300, 200, 255)), nil, "image/jpeg", 200},
		{"transparent PNG stays PNG", encodePNG(t, picture(40, 40, 128)), nil, "image/png", 40},
		{"big JPEG is scaled down", encodeJPEG(t, picture(1000, 800, 255)), nil, "image/jpeg", avatar.Size},
		{"lossy WebP is read", read(t, "blue-purple-pink.lossy.webp"), nil, "image/jpeg", 0},
		{"WebP with alpha is read", read(t, "gopher-doc.with-alpha.lossless.webp"), nil, "image/png", 0},
		{"empty refused", nil, avatar.ErrEmpty, "", 0},
		{"text refused", []byte("<svg onload=alert(1)>"), avatar.ErrFormat, "", 0},
		{"GIF refused", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"), avatar.ErrFormat, "", 0},
		{"bomb refused before decoding", bomb(t, 100000, 100000), avatar.ErrDimension, "", 0},
		{"too many pixels refused", bomb(t, 4096, 4000), avatar.ErrDimension, "", 0},
		{"over 2 MB refused", append(encodePNG(t, picture(2, 2, 255)), make([]byte, avatar.MaxBytes)...), avatar.ErrTooLarge, "", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			img, err := avatar.Process(bytes.NewReader(c.in))
			if !errors.Is(err, c.err) {
				t.Fatalf("error %v, want %v", err, c.err)
			}
			if c.err != nil {
				return
			}
			if img.ContentType != c.wantType {
				t.Errorf("type %s, want %s", img.ContentType, c.wantType)
			}
			m, format, err := image.Decode(bytes.NewReader(img.Data))
			if err != nil || "image/"+format != img.ContentType {
				t.Fatalf("output does not decode as %s: %v (%s)", img.ContentType, err, format)
			}
			b := m.Bounds()
			if b.Dx() != b.Dy() || b.Dx() > avatar.Size || (c.wantSide != 0 && b.Dx() != c.wantSide) {
				t.Errorf("output %v, want a square of side %d", b, c.wantSide)
			}
		})
	}
}

// Metadata and anything after the image are gone: the pixels are encoded
// afresh.
func TestProcessStripsMetadataAndTrailingData(t *testing.T) {
	t.Parallel()
	j := withExif(encodeJPEG(t, picture(64, 64, 255)), "GPS 55.7558N 37.6173E secret-camera")
	if _, err := jpeg.Decode(bytes.NewReader(j)); err != nil {
		t.Fatalf("the test JPEG with Exif is broken: %v", err)
	}
	p := append(encodePNG(t, picture(64, 64, 255)), "<script>alert(1)</script>"...)
	for _, in := range [][]byte{j, p} {
		img, err := avatar.Process(bytes.NewReader(in))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{"Exif", "secret", "<script>"} {
			if strings.Contains(string(img.Data), s) {
				t.Errorf("output keeps %q", s)
			}
		}
	}
}

func FuzzProcess(f *testing.F) {
	f.Add(encodePNG(f, picture(3, 2, 255)))
	f.Add(encodeJPEG(f, picture(3, 2, 255)))
	f.Add(read(f, "blue-purple-pink.lossy.webp"))
	f.Fuzz(func(t *testing.T, b []byte) {
		img, err := avatar.Process(bytes.NewReader(b))
		if err != nil {
			return
		}
		if _, _, err := image.Decode(bytes.NewReader(img.Data)); err != nil {
			t.Fatalf("accepted input gave an undecodable output: %v", err)
		}
	})
}

func BenchmarkProcessLargest(b *testing.B) {
	in := encodeJPEG(b, picture(4000, 4000, 255))
	for b.Loop() {
		if _, err := avatar.Process(bytes.NewReader(in)); err != nil {
			b.Fatal(err)
		}
	}
}
