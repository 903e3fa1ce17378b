package api

import (
	"fmt"
	"testing"

	"simplesender/internal/store/storetest"
)

// TestListRoutes: lists are made, renamed, read and deleted by their owner;
// another user gets 404 and a manager reads but may not change them; bulk
// routes put recipients on a list and tag them; the recipients list filters
// by both; an import puts its file on a list; a mailing's audience is a list
// minus a tag, and its count says so.
func TestListRoutes(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, databaseURL string) {
		f := newContentFixture(t, databaseURL)
		own, other, mgr := f.tokens["owner"], f.tokens["other"], f.tokens["manager"]
		var l struct{ ID int64 }
		f.do(t, req{method: "POST", path: "/lists", bearer: own, body: `{"name":"Clients"}`}).want(t, 201).has(t, `"members":0`).decode(t, &l)
		path := fmt.Sprintf("/lists/%d", l.ID)
		f.do(t, req{method: "POST", path: "/lists", bearer: own, body: `{"name":"clients"}`}).want(t, 422).has(t, `"name":"You already have a list`)
		f.do(t, req{method: "POST", path: "/lists", bearer: mgr, body: `{"name":"Mine"}`}).want(t, 403)
		f.do(t, req{method: "GET", path: path, bearer: other}).want(t, 404)
		f.do(t, req{method: "PATCH", path: path, bearer: other, body: `{"name":"x"}`}).want(t, 404)
		f.do(t, req{method: "DELETE", path: path, bearer: other}).want(t, 404)
		f.do(t, req{method: "GET", path: path + "/recipients", bearer: other}).want(t, 404)
		f.do(t, req{method: "GET", path: path, bearer: mgr}).want(t, 200).has(t, `"name":"Clients"`)
		f.do(t, req{method: "PATCH", path: path, bearer: mgr, body: `{"name":"x"}`}).want(t, 403)
		f.do(t, req{method: "PATCH", path: path, bearer: own, body: `{"name":"Best clients"}`}).want(t, 200).has(t, `"name":"Best clients"`)
		f.do(t, req{method: "GET", path: "/lists", bearer: other}).want(t, 200).has(t, `"total":0`)

		var ids []int64
		for i, tags := range []string{`["vip"]`, `[]`, `["VIP","new"]`} {
			var r struct{ ID int64 }
			f.do(t, req{method: "POST", path: "/recipients", bearer: own,
				body: fmt.Sprintf(`{"email":"c%d@example.com","tags":%s}`, i, tags)}).want(t, 201).decode(t, &r)
			ids = append(ids, r.ID)
		}
		f.do(t, req{method: "GET", path: fmt.Sprintf("/recipients/%d", ids[2]), bearer: own}).want(t, 200).has(t, `"tags":["new","vip"]`)
		f.do(t, req{method: "POST", path: "/recipients/bulk/add-to-list", bearer: other,
			body: fmt.Sprintf(`{"all":true,"target_list_id":%d}`, l.ID)}).want(t, 422).has(t, `"list_id":"Choose one of your lists."`)
		f.do(t, req{method: "POST", path: "/recipients/bulk/add-to-list", bearer: own,
			body: fmt.Sprintf(`{"ids":[%d,%d],"target_list_id":%d}`, ids[0], ids[1], l.ID)}).want(t, 200).has(t, `{"count":2}`)
		f.do(t, req{method: "POST", path: "/recipients/bulk/tag", bearer: own,
			body: fmt.Sprintf(`{"all":true,"list_id":%d,"set_tag":"Club"}`, l.ID)}).want(t, 200).has(t, `{"count":2}`)
		f.do(t, req{method: "POST", path: "/recipients/bulk/tag", bearer: own, body: `{"all":true,"set_tag":"a,b"}`}).want(t, 422).has(t, `"tag"`)
		f.do(t, req{method: "GET", path: "/recipients?tag=club", bearer: own}).want(t, 200).has(t, `"total":2`, "c0@", "c1@").hasNot(t, "c2@")
		f.do(t, req{method: "GET", path: path + "/recipients?tag=vip", bearer: own}).want(t, 200).has(t, `"total":1`, "c0@")
		f.do(t, req{method: "GET", path: fmt.Sprintf("/recipients?list_id=%d", l.ID), bearer: other}).want(t, 404)
		f.do(t, req{method: "POST", path: "/recipients/bulk/untag", bearer: own,
			body: fmt.Sprintf(`{"ids":[%d],"set_tag":"club"}`, ids[1])}).want(t, 200).has(t, `{"count":1}`)
		f.do(t, req{method: "POST", path: "/recipients/bulk/suppress", bearer: mgr, body: `{"all":true}`}).want(t, 403)
		f.do(t, req{method: "POST", path: "/recipients/bulk/suppress", bearer: own,
			body: fmt.Sprintf(`{"ids":[%d,%d]}`, ids[0], ids[1])}).want(t, 200).has(t, `{"count":2}`)
		f.do(t, req{method: "POST", path: "/recipients/bulk/suppress", bearer: own, body: `{"all":true,"tag":"vip"}`}).want(t, 200).has(t, `{"count":1}`)
		f.do(t, req{method: "GET", path: "/suppressions", bearer: own}).want(t, 200).has(t, `"total":3`, `"reason":"manual"`, "c0@", "c1@", "c2@")

		f.do(t, req{method: "POST", path: "/recipients/import?list=Fair", bearer: own, body: "email\nc2@example.com\nnew@example.com\n",
			header: []string{csvHeader, "text/csv"}}).want(t, 200).has(t, `"imported":1`)
		var lists struct {
			Items []struct {
				Name    string
				Members int
			}
		}
		f.do(t, req{method: "GET", path: "/lists?q=fair", bearer: own}).want(t, 200).decode(t, &lists)
		if len(lists.Items) != 1 || lists.Items[0].Members != 2 {
			t.Errorf("the imported list: %+v", lists.Items)
		}
		f.do(t, req{method: "POST", path: fmt.Sprintf("/recipients/import?list_id=%d", l.ID), bearer: other, body: "email\nx@example.com\n",
			header: []string{csvHeader, "text/csv"}}).want(t, 422).has(t, `"list_id"`)

		var msg struct{ ID int64 }
		f.do(t, req{method: "POST", path: "/messages", bearer: own, body: `{"subject":"Hi","body_text":"Hi"}`}).want(t, 201).decode(t, &msg)
		var m struct{ ID int64 }
		f.do(t, req{method: "POST", path: "/mailings", bearer: own, body: fmt.Sprintf(
			`{"name":"Club","message_id":%d,"audience":[{"kind":"list","list_id":%d},{"kind":"tag","tag":"vip","exclude":true}]}`, msg.ID, l.ID)}).
			want(t, 201).has(t, `"audience":[{"kind":"list","exclude":false,"list_id":`, `"list_name":"Best clients"`).decode(t, &m)
		f.do(t, req{method: "GET", path: fmt.Sprintf("/mailings/%d/audience", m.ID), bearer: own}).want(t, 200).has(t, `"count":1`, `"chosen_count":0`)
		f.do(t, req{method: "PATCH", path: fmt.Sprintf("/mailings/%d", m.ID), bearer: own, body: `{"name":"Club 2"}`}).want(t, 200).has(t, `"list_name":"Best clients"`)
		f.do(t, req{method: "GET", path: fmt.Sprintf("/mailings/%d/audience", m.ID), bearer: other}).want(t, 404)
		f.do(t, req{method: "POST", path: "/mailings", bearer: other, body: fmt.Sprintf(
			`{"message_id":1,"audience":[{"kind":"list","list_id":%d}]}`, l.ID)}).want(t, 422).has(t, `"audience"`)

		f.do(t, req{method: "DELETE", path: path, bearer: own}).want(t, 204)
		f.do(t, req{method: "GET", path: path, bearer: own}).want(t, 404)
	})
}
