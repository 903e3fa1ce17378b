// Package avatar turns an uploaded picture into a small, clean profile
// image: it accepts PNG, JPEG and WebP, refuses oversized files and
// decompression bombs before decoding, and re-encodes the pixels (so no
// metadata, trailing data or anything that is not an image survives).
package avatar

import (
	"bytes"
	"errors"
	"image"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/draw"
	_ "golang.org/x/image/webp" // registers the WebP decoder
)

// Limits of an upload.
const (
	MaxBytes  = 2 << 20    // the file
	MaxSide   = 4096       // pixels, either side
	MaxPixels = 16_000_000 // width × height
	// Size is the side of the square image kept.
	Size = 256
)

// Errors of Process, each a reason the uploader can act on.
var (
	ErrEmpty     = errors.New("avatar: empty file")
	ErrTooLarge  = errors.New("avatar: file larger than 2 MB")
	ErrFormat    = errors.New("avatar: not a PNG, JPEG or WebP image")
	ErrDimension = errors.New("avatar: image dimensions too large")
)

// Image is a processed avatar.
type Image struct {
	Data        []byte
	ContentType string // image/png or image/jpeg
}

// Process reads at most MaxBytes from r and returns the picture cropped to
// its centre square and scaled to Size×Size, encoded afresh: PNG when it
// has transparency, JPEG otherwise. It checks the declared dimensions with
// image.DecodeConfig before decoding, so a small file that claims a huge
// canvas is refused without allocating it. Errors: ErrEmpty, ErrTooLarge,
// ErrFormat, ErrDimension.
func Process(r io.Reader) (*Image, error) {
	buf, err := io.ReadAll(io.LimitReader(r, MaxBytes+1))
	if err != nil {
		return nil, err
	}
	switch {
	case len(buf) == 0:
		return nil, ErrEmpty
	case len(buf) > MaxBytes:
		return nil, ErrTooLarge
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(buf))
	if err != nil || (format != "png" && format != "jpeg" && format != "webp") {
		return nil, ErrFormat
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > MaxSide || cfg.Height > MaxSide || cfg.Width*cfg.Height > MaxPixels {
		return nil, ErrDimension
	}
	src, _, err := image.Decode(bytes.NewReader(buf))
	if err != nil {
		return nil, ErrFormat
	}
	b := src.Bounds()
	if b.Dx() != cfg.Width || b.Dy() != cfg.Height {
		return nil, ErrFormat // the header lied about the size
	}
	side := min(b.Dx(), b.Dy())
	crop := image.Rect(0, 0, side, side).Add(b.Min).Add(image.Pt((b.Dx()-side)/2, (b.Dy()-side)/2))
	out := min(side, Size)
	if side > 4*Size {
		// A big picture is first shrunk cheaply to 4×Size: Catmull-Rom over
		// 16 megapixels costs a second, over a megapixel a tenth of that,
		// and from 4× down it still smooths away the aliasing.
		mid := image.NewNRGBA(image.Rect(0, 0, 4*Size, 4*Size))
		draw.ApproxBiLinear.Scale(mid, mid.Bounds(), src, crop, draw.Src, nil)
		src, crop = mid, mid.Bounds()
	}
	dst := image.NewNRGBA(image.Rect(0, 0, out, out))
	draw.CatmullRom.Scale(dst, dst.Bounds(), src, crop, draw.Src, nil)

	var enc bytes.Buffer
	if opaque(dst) {
		// JPEG has no alpha; flatten is not needed as every pixel is opaque.
		if err := jpeg.Encode(&enc, dst, &jpeg.Options{Quality: 88}); err != nil {
			return nil, err
		}
		return &Image{Data: enc.Bytes(), ContentType: "image/jpeg"}, nil
	}
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&enc, dst); err != nil {
		return nil, err
	}
	return &Image{Data: enc.Bytes(), ContentType: "image/png"}, nil
}

func opaque(m *image.NRGBA) bool {
	for i := 3; i < len(m.Pix); i += 4 {
		if m.Pix[i] != 0xff {
			return false
		}
	}
	return true
}
