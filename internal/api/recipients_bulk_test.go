package api

import (
	"fmt"
	"strings"
	"testing"

	"simplesender/internal/store/storetest"
)

// TestBulkRoutesOfRecipients counts, exports and deletes a selection of the
// caller's recipients, by ids or as every one matching a search; another
// user's ids select nothing.
func TestBulkRoutesOfRecipients(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, databaseURL string) {
		f := newContentFixture(t, databaseURL)
		add := func(who, email, first string) int64 {
			var r struct{ ID int64 }
			f.do(t, req{method: "POST", path: "/recipients", bearer: f.tokens[who],
				body: fmt.Sprintf(`{"email":%q,"first_name":%q}`, email, first)}).want(t, 201).decode(t, &r)
			return r.ID
		}
		a1, a2 := add("owner", "ann1@example.com", "Ann"), add("owner", "ann2@example.com", "Ann")
		add("owner", "zoe1@example.com", "Zoe")
		add("owner", "zoe2@example.com", "Zoe")
		theirs := add("other", "zoe3@example.com", "Zoe")
		own := f.tokens["owner"]

		f.do(t, req{method: "POST", path: "/recipients/bulk/count", bearer: own,
			body: fmt.Sprintf(`{"ids":[%d,%d,%d]}`, a1, a2, theirs)}).want(t, 200).has(t, `{"count":2}`)
		f.do(t, req{method: "POST", path: "/recipients/bulk/count", bearer: own, body: `{"all":true,"q":"ZOE"}`}).want(t, 200).has(t, `{"count":2}`)
		f.do(t, req{method: "POST", path: "/recipients/bulk/count", bearer: own, body: `{"ids":[]}`}).want(t, 422).has(t, `"ids":"Select at least one`)
		f.do(t, req{method: "POST", path: "/recipients/bulk/count", bearer: own, body: `{"ids":[1],"color":"red"}`}).want(t, 400)
		f.do(t, req{method: "POST", path: "/recipients/bulk/count", body: `{"all":true}`}).want(t, 401)
		many := strings.TrimSuffix(strings.Repeat("7,", 1001), ",")
		f.do(t, req{method: "POST", path: "/recipients/bulk/count", bearer: own, body: `{"ids":[` + many + `]}`}).want(t, 200).has(t, `{"count":`)
		big := make([]string, 1001)
		for i := range big {
			big[i] = fmt.Sprint(i + 1)
		}
		f.do(t, req{method: "POST", path: "/recipients/bulk/count", bearer: own, body: `{"ids":[` + strings.Join(big, ",") + `]}`}).
			want(t, 422).has(t, `"ids":"Select at most 1000`)

		csv := f.do(t, req{method: "POST", path: "/recipients/bulk/export.csv?bom=1", bearer: own, body: `{"all":true,"q":"zoe"}`}).want(t, 200)
		if !strings.HasPrefix(csv.header.Get("Content-Type"), "text/csv") || !strings.HasPrefix(csv.body, "\ufeffemail,") ||
			strings.Count(csv.body, "@example.com") != 2 || strings.Contains(csv.body, "zoe3@") {
			t.Errorf("export of my Zoes: %s\n%s", csv.header.Get("Content-Type"), csv.body)
		}

		f.do(t, req{method: "POST", path: "/recipients/bulk/delete", bearer: own, body: fmt.Sprintf(`{"ids":[%d]}`, theirs)}).want(t, 422)
		f.do(t, req{method: "POST", path: "/recipients/bulk/delete", bearer: f.tokens["manager"], body: `{"all":true}`}).want(t, 403)
		f.do(t, req{method: "POST", path: "/recipients/bulk/delete", bearer: own,
			body: fmt.Sprintf(`{"ids":[%d,%d,%d]}`, a1, a2, theirs)}).want(t, 200).has(t, `{"count":2}`)
		f.do(t, req{method: "GET", path: "/recipients", bearer: own}).want(t, 200).has(t, `"total":2`).hasNot(t, "ann1@")
		f.do(t, req{method: "GET", path: "/recipients", bearer: f.tokens["other"]}).want(t, 200).has(t, "zoe3@example.com")
		f.do(t, req{method: "POST", path: "/recipients/bulk/delete", bearer: own, body: `{"all":true}`}).want(t, 200).has(t, `{"count":2}`)
		f.do(t, req{method: "GET", path: "/recipients", bearer: own}).want(t, 200).has(t, `"total":0`)
	})
}
