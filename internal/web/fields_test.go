package web_test

import (
	"net/url"
	"strings"
	"testing"

	"simplesender/internal/store/storetest"
)

// TestFieldsPages: a user defines custom fields on /fields (a bad key
// answered in place with the form kept), fills them in on the recipient
// form with an input per type, gets a clear error for a bad number with
// everything typed kept, sees the values on the recipient's page and in
// the import preview's mapping; another user sees none of it.
func TestFieldsPages(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := newSite(t, dbURL)
		check(t, "no fields yet", s.do(t, "active", "GET", "/fields", nil), 200, []string{"No custom fields yet.", `action="/fields"`}, nil)
		check(t, "a bad key", s.do(t, "active", "POST", "/fields", url.Values{"key": {"Город"}, "name": {"City <b>"}, "type": {"text"}}), 422,
			[]string{"A key is 1 to 40 Latin lower-case letters", `value="City &lt;b&gt;"`}, []string{"City <b>"})
		for _, f := range []url.Values{
			{"key": {"city"}, "name": {"City <b>"}, "type": {"text"}},
			{"key": {"age"}, "name": {"Age"}, "type": {"number"}},
			{"key": {"vip"}, "name": {"VIP"}, "type": {"bool"}},
		} {
			if r := s.do(t, "active", "POST", "/fields", f); r.status != 303 {
				t.Fatalf("create %v: %d %s", f, r.status, r.body)
			}
		}
		check(t, "the fields", s.do(t, "active", "GET", "/fields", nil), 200,
			[]string{"<code>{{city}}</code>", `value="City &lt;b&gt;"`, "Number", "Yes/no"}, []string{"City <b>"})
		check(t, "in Russian", s.do(t, "active", "GET", "/fields", nil, "Accept-Language", "ru"), 200, []string{"Дополнительные поля"}, nil)
		check(t, "another user's fields", s.do(t, "other", "GET", "/fields", nil), 200, []string{"No custom fields yet."}, []string{"<code>{{city}}</code>"})

		id := s.recipient(t, "active", "Anna")
		path := "/recipients/" + itoa(id)
		check(t, "the form", s.do(t, "active", "GET", path+"/edit", nil), 200,
			[]string{`name="fields.city"`, `name="fields.age" value="" autocomplete="off" inputmode="decimal"`, `<select id="f-vip" name="fields.vip"`}, nil)
		bad := url.Values{"email": {"anna@example.com"}, "first_name": {"Anna"}, "fields.city": {"Тверь"}, "fields.age": {"forty"}, "fields.vip": {"true"}}
		check(t, "a bad number", s.do(t, "active", "POST", path, bad), 422,
			[]string{"Enter a number, such as 42 or 3,5.", `value="Тверь"`, `value="forty"`, `<option value="true" selected>`}, nil)
		r, err := s.env.App.GetRecipient(t.Context(), s.actor(t, "active"), id)
		if err != nil || len(r.Fields) != 0 {
			t.Errorf("after a refused form: %v, %v", r.Fields, err)
		}
		bad.Set("fields.age", "30,5")
		if got := s.do(t, "active", "POST", path, bad); got.status != 303 {
			t.Fatalf("save: %d %s", got.status, got.body)
		}
		check(t, "the recipient's page", s.do(t, "active", "GET", path, nil), 200,
			[]string{"City &lt;b&gt;", `<dd data-field="city">Тверь</dd>`, `<dd data-field="age">30.5</dd>`, `<dd data-field="vip">Yes</dd>`}, nil)
		check(t, "another user's recipient", s.do(t, "other", "GET", path, nil), 404, nil, []string{"Тверь"})

		up := s.upload(t, "active", "people.csv", []byte("email,City <b>,age,tags,notes2\nx@example.com,Omsk,7,a;b,zzz\n"))
		preview := s.follow(t, "active", up)
		check(t, "the import preview", preview, 200, []string{`<option value="field:city" selected>Field: City &lt;b&gt;</option>`,
			`<option value="tags" selected>Tags</option>`, "Ignored: not imported.", "<td>Omsk</td>", "<td>a, b</td>"}, nil)
		if strings.Contains(preview.body, "City <b>") {
			t.Errorf("the field's name is not escaped")
		}
	})
}
