package api

import (
	"strings"
	"testing"

	"simplesender/internal/store/storetest"
)

// TestSendingSettings: a user reads and replaces their own footer note and
// postal address; bad input is a 422 naming the field and keeps the saved
// values; anonymous callers get 401.
func TestSendingSettings(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		f := newFixture(t, dbURL)
		tok := f.tokens["active"]
		r := f.do(t, req{method: "GET", path: "/me/sending", bearer: tok})
		if r.status != 200 || !strings.Contains(r.body, `"footer_text":""`) {
			t.Fatalf("GET fresh: %d %s", r.status, r.body)
		}
		r = f.do(t, req{method: "PUT", path: "/me/sending", bearer: tok,
			body: `{"footer_text":"  You signed up at example.com\r\n","postal_address":"1 Main St\nSpringfield"}`})
		if r.status != 200 || !strings.Contains(r.body, `"footer_text":"You signed up at example.com"`) ||
			!strings.Contains(r.body, `"postal_address":"1 Main St\nSpringfield"`) {
			t.Fatalf("PUT: %d %s", r.status, r.body)
		}
		for name, body := range map[string]string{
			"control character": `{"footer_text":"a\u0000b"}`,
			"too long":          `{"postal_address":"` + strings.Repeat("я", 301) + `"}`,
		} {
			r = f.do(t, req{method: "PUT", path: "/me/sending", bearer: tok, body: body})
			if r.status != 422 || !strings.Contains(r.body, `"fields"`) {
				t.Errorf("%s: %d %s; want 422 with the field", name, r.status, r.body)
			}
		}
		r = f.do(t, req{method: "GET", path: "/me/sending", bearer: tok})
		if !strings.Contains(r.body, "You signed up at example.com") {
			t.Errorf("a refused PUT lost the saved settings: %s", r.body)
		}
		other := f.do(t, req{method: "GET", path: "/me/sending", bearer: f.tokens["admin"]})
		if strings.Contains(other.body, "example.com") {
			t.Errorf("another user sees the settings: %s", other.body)
		}
		if r := f.do(t, req{method: "GET", path: "/me/sending"}); r.status != 401 {
			t.Errorf("anonymous: %d", r.status)
		}
	})
}
