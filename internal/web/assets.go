package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

// assetFS holds the static files: app.css, app.js, and the vendored
// packages under vendor/ (refreshed by scripts/vendor-assets.sh).
//
//go:embed static
var assetFS embed.FS

// assetPrefix is the URL path under which Assets.Handler must be mounted.
const assetPrefix = "/static/"

// assetHashLen is the number of hex digits of a file's SHA-256 put in its URL.
const assetHashLen = 10

// Assets serves the embedded static files under content-hashed URLs, so
// browsers may cache them forever and still see a new version at once. It
// is immutable after NewAssets and safe for concurrent use.
type Assets struct {
	files map[string]*assetFile // by name relative to static/, e.g. "app.css"
}

type assetFile struct {
	data        []byte
	hash        string // first assetHashLen hex digits of the SHA-256 of data
	contentType string
}

// NewAssets reads the embedded static files and hashes their contents. It
// returns an error only if the embedded tree cannot be read.
func NewAssets() (*Assets, error) {
	sub, err := fs.Sub(assetFS, "static")
	if err != nil {
		return nil, fmt.Errorf("web: static assets: %w", err)
	}
	a := &Assets{files: map[string]*assetFile{}}
	err = fs.WalkDir(sub, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(sub, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		a.files[name] = &assetFile{
			data:        data,
			hash:        hex.EncodeToString(sum[:])[:assetHashLen],
			contentType: assetContentType(name),
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: static assets: %w", err)
	}
	return a, nil
}

// assetContentType returns the Content-Type for a file name. The types we
// ship are fixed here so they do not depend on the host's MIME tables.
func assetContentType(name string) string {
	ext := strings.ToLower(path.Ext(name))
	switch ext {
	case ".css":
		return "text/css; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".json", ".map":
		return "application/json"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	case ".ico":
		return "image/x-icon"
	case ".woff2":
		return "font/woff2"
	case "", ".txt", ".md":
		return "text/plain; charset=utf-8" // LICENSE files
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}

// Path returns the URL of the static file name, given relative to the static
// directory ("app.css", "vendor/pico/pico.min.css"), with the file's content
// hash as a path segment: "/static/3f2a9c01de/app.css". For a name that is not
// an embedded file it returns "/static/<name>", which Handler answers with
// 404: it does not panic, so a typo in a template shows up as a broken link
// (and in tests that fetch every asset a page references), not a crash.
func (a *Assets) Path(name string) string {
	f, ok := a.files[name]
	if !ok {
		return assetPrefix + name
	}
	return assetPrefix + f.hash + "/" + name
}

// Handler returns the handler for the URLs made by Path. Mount it, without
// stripping the prefix, as mux.Handle("GET /static/", assets.Handler()).
//
// A file at its current hash is served with "Cache-Control: public,
// max-age=31536000, immutable". A well-formed but different hash (a page
// rendered by an older or newer instance during a deploy) gets the current
// file with "Cache-Control: no-cache", so the page still works but nothing
// caches the mismatch. Every response carries X-Content-Type-Options: nosniff
// and an exact Content-Type; GET and HEAD are allowed, with ETag and Range
// support. Any other path, including directories and unhashed names, is 404.
func (a *Assets) Handler() http.Handler {
	return http.HandlerFunc(a.serve)
}

func (a *Assets) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, assetPrefix)
	hash, name, _ := strings.Cut(rest, "/")
	f := a.files[name]
	if !ok || f == nil || !assetIsHash(hash) {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.contentType)
	h.Set("ETag", `"`+f.hash+`"`)
	if hash == f.hash {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(f.data))
}

// assetIsHash reports whether s looks like a hash made by NewAssets.
func assetIsHash(s string) bool {
	if len(s) != assetHashLen {
		return false
	}
	for _, c := range []byte(s) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
