package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"simplesender"
	"simplesender/internal/app/apptest"
)

// FuzzDecode checks that any body either decodes or is refused as a bad
// request or too large, and never panics.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"email":"a@b.c","password":"p","name":"n"}`, `{"email":1}`, `{"x":1}`, `{`, ``,
		`null`, `[]`, `{"email":"a"} x`, `{"name":"\u0000"}`, "{\"email\":\"\xff\"}", `{"EMAIL":"a"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		var dst struct {
			Email    string `json:"email"`
			Password string `json:"password"`
			Name     string `json:"name"`
		}
		err := decode(httptest.NewRecorder(), r, &dst)
		if err == nil {
			return
		}
		if k := simplesender.ErrorKind(err); k != simplesender.KindBadRequest && k != simplesender.KindTooLarge {
			t.Fatalf("kind %v for %q: %v", k, body, err)
		}
		if e := simplesender.AsError(err); len(e.Fields) > 1 {
			t.Fatalf("fields %v", e.Fields)
		}
	})
}

// TestIsJSON lists the Content-Type values taken as JSON.
func TestIsJSON(t *testing.T) {
	t.Parallel()
	for ct, want := range map[string]bool{
		"application/json": true, "application/json; charset=utf-8": true, "APPLICATION/JSON;charset=UTF-8": true,
		"": false, "text/plain": false, "application/json; charset=latin1": false, "application/jsonx": false,
		"multipart/form-data; boundary=x": false, "application/x-www-form-urlencoded": false, "application/json;;": false,
	} {
		if got := isJSON(ct); got != want {
			t.Errorf("isJSON(%q) = %v, want %v", ct, got, want)
		}
	}
}

// TestCleanPath checks that canonical paths are left alone.
func TestCleanPath(t *testing.T) {
	t.Parallel()
	for p, want := range map[string]string{"/api/v1/me": "/api/v1/me", "/api/v1//me": "/api/v1/me",
		"/api/v1/x/../me": "/api/v1/me", "/api/v1/": "/api/v1/", "/api/v1/./me": "/api/v1/me", "": "/"} {
		if got := cleanPath(p); got != want {
			t.Errorf("cleanPath(%q) = %q, want %q", p, got, want)
		}
	}
}

// TestPanic checks that a panicking handler is answered with a JSON 500.
func TestPanic(t *testing.T) {
	t.Parallel()
	logs := &apptest.LogBuffer{}
	x := &API{logger: newTestLogger(logs), mux: http.NewServeMux(), patterns: map[string]bool{}}
	x.bundle = testBundle(t)
	x.mux.HandleFunc("GET /api/v1/boom", func(http.ResponseWriter, *http.Request) { panic("boom secret") })
	x.patterns["GET /api/v1/boom"] = true
	w := httptest.NewRecorder()
	x.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/api/v1/boom", nil))
	if w.Code != 500 || !strings.Contains(w.Body.String(), `"code":"internal"`) || strings.Contains(w.Body.String(), "secret") {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if !strings.Contains(logs.String(), "boom secret") {
		t.Errorf("panic not logged: %s", logs)
	}
}
