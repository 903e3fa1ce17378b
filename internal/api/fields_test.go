package api

import (
	"fmt"
	"testing"

	"simplesender/internal/store/storetest"
)

// TestFieldRoutes: custom fields are defined, renamed and deleted by their
// owner, another user gets 404 and sees none; recipients show their values
// typed (a number as a number, yes/no as a boolean) and take them on
// create and PATCH; a bad number is 422 under fields.age and changes
// nothing; an import maps columns to the fields and the export writes them.
func TestFieldRoutes(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, databaseURL string) {
		f := newContentFixture(t, databaseURL)
		own, other, mgr := f.tokens["owner"], f.tokens["other"], f.tokens["manager"]
		var city struct{ ID int64 }
		f.do(t, req{method: "POST", path: "/fields", bearer: own, body: `{"key":"city","name":"City","type":"text"}`}).
			want(t, 201).has(t, `"key":"city"`, `"type":"text"`, `"position":1`).decode(t, &city)
		f.do(t, req{method: "POST", path: "/fields", bearer: own, body: `{"key":"age","type":"number"}`}).want(t, 201).has(t, `"name":"age"`)
		f.do(t, req{method: "POST", path: "/fields", bearer: own, body: `{"key":"vip","name":"VIP","type":"bool"}`}).want(t, 201)
		f.do(t, req{method: "POST", path: "/fields", bearer: own, body: `{"key":"city","type":"text"}`}).want(t, 422).has(t, `"key":"You already have a field`)
		f.do(t, req{method: "POST", path: "/fields", bearer: own, body: `{"key":"email","type":"text"}`}).want(t, 422).has(t, `"key":"This key is a built-in name`)
		f.do(t, req{method: "POST", path: "/fields", bearer: mgr, body: `{"key":"x","type":"text"}`}).want(t, 403)
		path := fmt.Sprintf("/fields/%d", city.ID)
		f.do(t, req{method: "GET", path: path, bearer: other}).want(t, 404)
		f.do(t, req{method: "PATCH", path: path, bearer: other, body: `{"name":"x"}`}).want(t, 404)
		f.do(t, req{method: "DELETE", path: path, bearer: other}).want(t, 404)
		f.do(t, req{method: "GET", path: "/fields", bearer: other}).want(t, 200).has(t, `{"items":[]}`)
		f.do(t, req{method: "GET", path: "/fields", bearer: mgr}).want(t, 200).has(t, `"key":"city"`)
		f.do(t, req{method: "PATCH", path: path, bearer: own, body: `{"name":"Town"}`}).want(t, 200).has(t, `"name":"Town"`, `"key":"city"`)

		var r struct{ ID int64 }
		f.do(t, req{method: "POST", path: "/recipients", bearer: own,
			body: `{"email":"ivan@example.com","first_name":"Иван","fields":{"city":"Moscow","age":42,"vip":true}}`}).
			want(t, 201).has(t, `"fields":{"age":42,"city":"Moscow","vip":true}`).decode(t, &r)
		rpath := fmt.Sprintf("/recipients/%d", r.ID)
		f.do(t, req{method: "PATCH", path: rpath, bearer: own, body: `{"first_name":"Ваня","fields":{"age":"forty"}}`}).
			want(t, 422).has(t, `"fields.age":"Enter a number`)
		f.do(t, req{method: "GET", path: rpath, bearer: own}).want(t, 200).has(t, `"first_name":"Иван"`, `"age":42`)
		f.do(t, req{method: "PATCH", path: rpath, bearer: own, body: `{"fields":{"age":"42,5","vip":null}}`}).
			want(t, 200).has(t, `"fields":{"age":42.5,"city":"Moscow"}`)
		f.do(t, req{method: "POST", path: "/recipients", bearer: other, body: `{"email":"x@example.com","fields":{"city":"Omsk"}}`}).
			want(t, 422).has(t, `"fields.city":"You have no custom field with this key."`)
		f.do(t, req{method: "GET", path: "/recipients", bearer: own}).want(t, 200).has(t, `"fields":{"age":42.5,"city":"Moscow"}`)

		f.do(t, req{method: "POST", path: "/recipients/import", bearer: own, body: "email,Town,age,vip,tags\nolga@example.com,Omsk,7,yes,a;b\n",
			header: []string{csvHeader, "text/csv"}}).want(t, 200).has(t, `"imported":1`)
		f.do(t, req{method: "GET", path: "/recipients?q=olga", bearer: own}).want(t, 200).
			has(t, `"tags":["a","b"]`, `"fields":{"age":7,"city":"Omsk","vip":true}`)
		f.do(t, req{method: "GET", path: "/recipients.csv", bearer: own}).want(t, 200).
			has(t, "email,last_name,first_name,middle_name,comment,tags,city,age,vip\r\n", "olga@example.com,,,,,a; b,Omsk,7,true\r\n")
		f.do(t, req{method: "DELETE", path: path, bearer: own}).want(t, 204)
		f.do(t, req{method: "GET", path: rpath, bearer: own}).want(t, 200).has(t, `"fields":{"age":42.5}`)
	})
}
