package api

import (
	"fmt"
	"testing"

	"simplesender/internal/store/storetest"
)

// TestSegmentRoutes: a segment is saved, counted, read with its count,
// changed and deleted by its owner; another user gets 404 for it (also as
// a filter of the recipients and in a mailing's audience) and a validation
// error for another user's list in a definition; bad JSON is a 400 and a
// bad definition a 422 naming the condition, in the caller's language; a
// mailing to a segment minus a tag counts the right recipients.
func TestSegmentRoutes(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, databaseURL string) {
		f := newContentFixture(t, databaseURL)
		own, other, mgr := f.tokens["owner"], f.tokens["other"], f.tokens["manager"]
		for i, tags := range []string{`["vip"]`, `[]`, `["vip","new"]`} {
			f.do(t, req{method: "POST", path: "/recipients", bearer: own,
				body: fmt.Sprintf(`{"email":"seg%d@example.com","tags":%s}`, i, tags)}).want(t, 201)
		}
		def := `{"match":"all","conditions":[{"field":"email","op":"starts_with","value":"seg"},{"field":"tag","op":"has","value":"VIP"}]}`
		f.do(t, req{method: "POST", path: "/segments/count", bearer: own, body: `{"definition":` + def + `}`}).want(t, 200).has(t, `{"count":2}`)
		f.do(t, req{method: "POST", path: "/segments/count", bearer: other, body: `{"definition":` + def + `}`}).want(t, 200).has(t, `{"count":0}`)
		var g struct{ ID int64 }
		f.do(t, req{method: "POST", path: "/segments", bearer: own, body: `{"name":"VIP","definition":` + def + `}`}).
			want(t, 201).has(t, `"name":"VIP"`, `"value":"vip"`).decode(t, &g)
		path := fmt.Sprintf("/segments/%d", g.ID)
		f.do(t, req{method: "GET", path: path, bearer: own}).want(t, 200).has(t, `"count":2`)
		f.do(t, req{method: "GET", path: path + "/recipients", bearer: own}).want(t, 200).has(t, `"total":2`, "seg0@", "seg2@").hasNot(t, "seg1@")
		f.do(t, req{method: "GET", path: fmt.Sprintf("/recipients?segment_id=%d&q=seg2", g.ID), bearer: own}).want(t, 200).has(t, `"total":1`, "seg2@")
		f.do(t, req{method: "GET", path: path, bearer: other}).want(t, 404)
		f.do(t, req{method: "GET", path: path + "/recipients", bearer: other}).want(t, 404)
		f.do(t, req{method: "GET", path: fmt.Sprintf("/recipients?segment_id=%d", g.ID), bearer: other}).want(t, 404)
		f.do(t, req{method: "PUT", path: path, bearer: other, body: `{"name":"x","definition":` + def + `}`}).want(t, 404)
		f.do(t, req{method: "DELETE", path: path, bearer: other}).want(t, 404)
		f.do(t, req{method: "GET", path: path, bearer: mgr}).want(t, 200).has(t, `"name":"VIP"`)
		f.do(t, req{method: "PUT", path: path, bearer: mgr, body: `{"name":"x","definition":` + def + `}`}).want(t, 403)

		// Bad input: JSON, then definitions.
		f.do(t, req{method: "POST", path: "/segments", bearer: own, body: `{"name":"x","definition":{"match":"all","conditions":[{"field":"email"`}).want(t, 400)
		f.do(t, req{method: "POST", path: "/segments", bearer: own, body: `{"name":"x","definition":{"conditions":[{"field":"email","op":"contains","value":"a","x":1}]}}`}).
			want(t, 400).has(t, `"x"`)
		f.do(t, req{method: "POST", path: "/segments", bearer: own, body: `{"name":"x","definition":{"match":"all","conditions":[{"field":"email","op":"contains","value":"a"},{"field":"phone","op":"eq","value":"1"}]}}`}).
			want(t, 422).has(t, `"conditions.2":"Condition 2: choose a field`)
		f.do(t, req{method: "POST", path: "/segments/count", bearer: own, header: []string{"Accept-Language", "ru"},
			body: `{"definition":{"match":"all","conditions":[{"field":"created","op":"before","value":"вчера"}]}}`}).
			want(t, 422).has(t, `"conditions.1":"Условие 1: укажите дату`)
		var l struct{ ID int64 }
		f.do(t, req{method: "POST", path: "/lists", bearer: other, body: `{"name":"Theirs"}`}).want(t, 201).decode(t, &l)
		f.do(t, req{method: "POST", path: "/segments/count", bearer: own,
			body: fmt.Sprintf(`{"definition":{"match":"all","conditions":[{"field":"list","op":"in","value":%d}]}}`, l.ID)}).
			want(t, 422).has(t, `"conditions.1":"Condition 1: choose one of your lists."`)
		f.do(t, req{method: "POST", path: "/segments", bearer: own, body: `{"name":"vip","definition":` + def + `}`}).want(t, 422).has(t, `"name":"You already have a segment`)

		// A mailing to the segment minus the tag "new".
		var msg struct{ ID int64 }
		f.do(t, req{method: "POST", path: "/messages", bearer: own, body: `{"subject":"Hi","body_text":"Hi"}`}).want(t, 201).decode(t, &msg)
		var m struct{ ID int64 }
		f.do(t, req{method: "POST", path: "/mailings", bearer: own, body: fmt.Sprintf(
			`{"name":"VIP","message_id":%d,"audience":[{"kind":"segment","segment_id":%d},{"kind":"tag","tag":"new","exclude":true}]}`, msg.ID, g.ID)}).
			want(t, 201).has(t, `"kind":"segment"`, `"segment_name":"VIP"`).decode(t, &m)
		f.do(t, req{method: "GET", path: fmt.Sprintf("/mailings/%d/audience", m.ID), bearer: own}).want(t, 200).has(t, `"count":1`, `"segment":{"match":"all"`)
		var om struct{ ID int64 }
		f.do(t, req{method: "POST", path: "/messages", bearer: other, body: `{"subject":"Hi","body_text":"Hi"}`}).want(t, 201).decode(t, &om)
		f.do(t, req{method: "POST", path: "/mailings", bearer: other, body: fmt.Sprintf(
			`{"name":"x","message_id":%d,"audience":[{"kind":"segment","segment_id":%d}]}`, om.ID, g.ID)}).want(t, 422).has(t, `"audience":"Choose one of your segments."`)

		f.do(t, req{method: "PUT", path: path, bearer: own, body: `{"name":"All seg","definition":{"match":"any","conditions":[{"field":"email","op":"contains","value":"seg"}]}}`}).
			want(t, 200).has(t, `"name":"All seg"`)
		f.do(t, req{method: "GET", path: fmt.Sprintf("/mailings/%d/audience", m.ID), bearer: own}).want(t, 200).has(t, `"count":2`)
		f.do(t, req{method: "DELETE", path: path, bearer: own}).want(t, 204)
		f.do(t, req{method: "GET", path: fmt.Sprintf("/mailings/%d/audience", m.ID), bearer: own}).want(t, 200).hasNot(t, `"kind":"segment"`)
	})
}
