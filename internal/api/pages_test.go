package api

import (
	"fmt"
	"testing"

	"simplesender/internal/store/storetest"
)

// TestListsSayHowManyPages: every list answers the number of pages of its
// per_page beside the total, so a client can show page numbers; an empty
// list has none.
func TestListsSayHowManyPages(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, databaseURL string) {
		f := newContentFixture(t, databaseURL)
		for i := range 5 {
			f.do(t, req{method: "POST", path: "/recipients", bearer: f.tokens["owner"],
				body: fmt.Sprintf(`{"email":"page-%d@example.com"}`, i)}).want(t, 201)
		}
		var l struct {
			Items              []map[string]any
			Total, Page, Pages int
			PerPage            int `json:"per_page"`
		}
		f.do(t, req{method: "GET", path: "/recipients?per_page=2&page=3", bearer: f.tokens["owner"]}).want(t, 200).decode(t, &l)
		if len(l.Items) != 1 || l.Total != 5 || l.Page != 3 || l.PerPage != 2 || l.Pages != 3 {
			t.Errorf("page 3 at 2 a page: %d items, total %d, page %d, per_page %d, pages %d; want 1, 5, 3, 2, 3",
				len(l.Items), l.Total, l.Page, l.PerPage, l.Pages)
		}
		f.do(t, req{method: "GET", path: "/recipients", bearer: f.tokens["owner"]}).want(t, 200).has(t, `"pages":1`, `"per_page":50`)
		f.do(t, req{method: "GET", path: "/recipients", bearer: f.tokens["other"]}).want(t, 200).has(t, `"total":0`, `"pages":0`)
		f.do(t, req{method: "GET", path: "/messages?per_page=25", bearer: f.tokens["owner"]}).want(t, 200).has(t, `"pages":0`, `"per_page":25`)
	})
}
