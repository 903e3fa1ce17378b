package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"simplesender/internal/web"
)

func newTestAssets(t *testing.T) *web.Assets {
	t.Helper()
	a, err := web.NewAssets()
	if err != nil {
		t.Fatalf("NewAssets: %v", err)
	}
	return a
}

func assetGet(t *testing.T, h http.Handler, method, target string) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec.Result()
}

// TestAssetsPathIsServed checks that every URL made by Path is served with
// the file's bytes, its type and a cache-forever header.
func TestAssetsPathIsServed(t *testing.T) {
	t.Parallel()
	a := newTestAssets(t)
	mux := http.NewServeMux()
	mux.Handle("GET /static/", a.Handler())

	tests := []struct {
		name, contentType, contains string
	}{
		{"app.css", "text/css; charset=utf-8", ".field-error"},
		{"app.js", "text/javascript; charset=utf-8", "data-confirm"},
		{"vendor/pico/pico.min.css", "text/css; charset=utf-8", "Pico CSS"},
		{"vendor/pico/LICENSE", "text/plain; charset=utf-8", "MIT License"},
		{"vendor/htmx/htmx.min.js", "text/javascript; charset=utf-8", "htmx"},
		{"vendor/htmx/LICENSE", "text/plain; charset=utf-8", "BSD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			url := a.Path(tt.name)
			if !strings.HasPrefix(url, "/static/") || !strings.HasSuffix(url, "/"+tt.name) || url == "/static/"+tt.name {
				t.Fatalf("Path(%q) = %q, want /static/<hash>/%s", tt.name, url, tt.name)
			}
			res := assetGet(t, mux, http.MethodGet, url)
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: status %d, want 200", url, res.StatusCode)
			}
			want, err := os.ReadFile(filepath.Join("static", filepath.FromSlash(tt.name)))
			if err != nil {
				t.Fatal(err)
			}
			if string(body) != string(want) {
				t.Errorf("GET %s: body differs from static/%s", url, tt.name)
			}
			if !strings.Contains(string(body), tt.contains) {
				t.Errorf("GET %s: body lacks %q", url, tt.contains)
			}
			for header, want := range map[string]string{
				"Content-Type":           tt.contentType,
				"Cache-Control":          "public, max-age=31536000, immutable",
				"X-Content-Type-Options": "nosniff",
			} {
				if got := res.Header.Get(header); got != want {
					t.Errorf("GET %s: %s = %q, want %q", url, header, got, want)
				}
			}
		})
	}
}

func TestAssetsHashChangesWithContent(t *testing.T) {
	t.Parallel()
	a := newTestAssets(t)
	css, js := a.Path("app.css"), a.Path("app.js")
	hash := func(u string) string { return strings.Split(u, "/")[2] }
	if len(hash(css)) != 10 || hash(css) == hash(js) {
		t.Errorf("hashes of different files: %q and %q; want two different 10-digit hashes", css, js)
	}
	if again := newTestAssets(t).Path("app.css"); again != css {
		t.Errorf("Path is not stable: %q then %q", css, again)
	}
}

func TestAssetsRevalidationAnswers304(t *testing.T) {
	t.Parallel()
	a := newTestAssets(t)
	url := a.Path("app.css")
	first := assetGet(t, a.Handler(), http.MethodGet, url)
	etag := first.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	req := httptest.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("If-None-Match", etag)
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified {
		t.Errorf("conditional GET: status %d, want 304", rec.Code)
	}
}

func TestAssetsOtherPaths(t *testing.T) {
	t.Parallel()
	a := newTestAssets(t)
	good := a.Path("app.css")
	hash := strings.Split(good, "/")[2]
	tests := []struct {
		name         string
		method, path string
		status       int
		cacheControl string
	}{
		{"unknown file is 404", "GET", a.Path("nope.css"), 404, ""},
		{"unknown name gets an unhashed path", "GET", "/static/nope.css", 404, ""},
		{"unhashed known file is 404", "GET", "/static/app.css", 404, ""},
		{"static root is 404", "GET", "/static/", 404, ""},
		{"hash directory is 404", "GET", "/static/" + hash + "/", 404, ""},
		{"vendor directory is 404", "GET", "/static/" + hash + "/vendor/", 404, ""},
		{"vendor directory without slash is 404", "GET", "/static/" + hash + "/vendor", 404, ""},
		{"malformed hash is 404", "GET", "/static/not-a-hash/app.css", 404, ""},
		{"upper-case hash is 404", "GET", "/static/" + strings.ToUpper("abcdef0123") + "/app.css", 404, ""},
		{"stale hash is served uncached", "GET", "/static/0000000000/app.css", 200, "no-cache"},
		{"HEAD is allowed", "HEAD", good, 200, "public, max-age=31536000, immutable"},
		{"POST is refused", "POST", good, 405, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := assetGet(t, a.Handler(), tt.method, tt.path)
			if res.StatusCode != tt.status {
				t.Errorf("%s %s: status %d, want %d", tt.method, tt.path, res.StatusCode, tt.status)
			}
			if got := res.Header.Get("Cache-Control"); got != tt.cacheControl {
				t.Errorf("%s %s: Cache-Control %q, want %q", tt.method, tt.path, got, tt.cacheControl)
			}
			if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("%s %s: X-Content-Type-Options %q, want nosniff", tt.method, tt.path, got)
			}
		})
	}
}

// TestAssetsAppJSHasNoEval guards the CSP (script-src 'self', no
// unsafe-eval, no inline styles) against the app's own script.
func TestAssetsAppJSHasNoEval(t *testing.T) {
	t.Parallel()
	js, err := os.ReadFile(filepath.Join("static", "app.js"))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"eval(", "new Function", "innerHTML", ".style."} {
		if strings.Contains(string(js), bad) {
			t.Errorf("app.js uses %q, which the CSP forbids or which invites XSS", bad)
		}
	}
}
