package web_test

import (
	"net/url"
	"strings"
	"testing"

	"simplesender"
	"simplesender/internal/store/storetest"
)

// TestListsPagesAndAudience: a user makes a list, ticks recipients and
// adds them to it after a page that names the count, tags them, filters the
// recipients page by list and tag, and builds a mailing to "the list minus
// a tag" whose page shows the definition and the count. Another user gets
// 404 for the list; a manager sees it without the forms.
func TestListsPagesAndAudience(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := newSite(t, dbURL)
		a, b, c := s.recipient(t, "active", "Anna"), s.recipient(t, "active", "Boris"), s.recipient(t, "active", "Clara")

		made := s.do(t, "active", "POST", "/lists", url.Values{"name": {"Customers <b>"}})
		if made.status != 303 {
			t.Fatalf("create list: %d %s", made.status, made.body)
		}
		listURL := made.header.Get("Location")
		id := strings.TrimPrefix(listURL, "/lists/")
		check(t, "the new list", s.follow(t, "active", made), 200, []string{"Customers &lt;b&gt;", "Nobody is on this list yet."}, []string{"<b>"})
		check(t, "the same name again", s.do(t, "active", "POST", "/lists", url.Values{"name": {"customers <B>"}}), 422,
			[]string{"You already have a list with this name."}, nil)

		ask := s.do(t, "active", "POST", "/recipients/bulk", url.Values{"action": {"add_to_list"}, "scope": {"ticked"},
			"id": {itoa(a), itoa(b)}, "target_list": {id}})
		check(t, "asked before adding", ask, 200, []string{"Put 2 recipients on the list “Customers &lt;b&gt;”?", `action="/recipients/bulk/apply"`,
			`name="op" value="add_to_list"`}, nil)
		done := s.follow(t, "active", s.do(t, "active", "POST", "/recipients/bulk/apply", url.Values{"op": {"add_to_list"},
			"id": {itoa(a), itoa(b)}, "target_list": {id}}))
		check(t, "added", done, 200, []string{"the selected recipients are on the list"}, nil)
		tagged := s.follow(t, "active", s.do(t, "active", "POST", "/recipients/bulk/apply", url.Values{"op": {"tag"}, "scope": {"all"},
			"list": {id}, "set_tag": {"VIP"}}))
		check(t, "tagged the list", tagged, 200, []string{"have the tag"}, nil)
		s.do(t, "active", "POST", "/recipients/bulk/apply", url.Values{"op": {"untag"}, "id": {itoa(b)}, "set_tag": {"vip"}})
		check(t, "the list's page", s.do(t, "active", "GET", listURL, nil), 200, []string{"2 recipients on this list", `class="tag">vip</span>`}, nil)
		filtered := s.do(t, "active", "GET", "/recipients?list="+id+"&tag=vip", nil)
		check(t, "filtered by list and tag", filtered, 200, []string{"1 recipient", `<input type="hidden" name="list" value="` + id + `">`,
			`<option value="all">All found: 1</option>`}, nil)
		r, _ := s.env.App.GetRecipient(t.Context(), s.actor(t, "active"), c)
		if strings.Contains(filtered.body, r.Email) {
			t.Errorf("Clara, on no list, is shown")
		}

		check(t, "another user", s.do(t, "other", "GET", listURL, nil), 404, nil, nil)
		check(t, "another user's filter", s.do(t, "other", "GET", "/recipients?list="+id, nil), 404, nil, nil)
		check(t, "another user renames", s.do(t, "other", "POST", listURL, url.Values{"name": {"x"}}), 404, nil, nil)
		check(t, "a manager reads", s.do(t, "manager", "GET", listURL, nil), 200, []string{"Customers &lt;b&gt;"}, []string{"/delete", `action="` + listURL + `"`})
		check(t, "a manager renames", s.do(t, "manager", "POST", listURL, url.Values{"name": {"x"}}), 403, nil, nil)

		// The mailing form offers the lists; the mailing page shows the
		// definition and the count.
		form := s.do(t, "active", "GET", "/mailings/new", nil)
		check(t, "the mailing form", form, 200, []string{`name="inc_list" value="` + id + `"`, `name="exc_tags"`}, nil)
		msg := &simplesender.Message{Subject: "Hello", BodyText: "Hi"}
		if err := s.env.App.CreateMessage(t.Context(), s.actor(t, "active"), msg); err != nil {
			t.Fatal(err)
		}
		saved := s.do(t, "active", "POST", "/mailings", url.Values{"name": {"Club"}, "message_id": {itoa(msg.ID)},
			"inc_list": {id}, "exc_tags": {"vip"}, "recipient_ids": {itoa(c)}})
		if saved.status != 303 {
			t.Fatalf("save mailing: %d\n%s", saved.status, saved.body)
		}
		page := s.follow(t, "active", saved, "Accept-Language", "ru")
		check(t, "the mailing page", page, 200, []string{"Customers &lt;b&gt;</a>", `class="tag" href="/recipients?tag=vip">vip</a>`,
			"2 получателя при отправке сейчас", "1 выбранный получатель"}, nil)
		edit := s.do(t, "active", "GET", strings.TrimPrefix(saved.header.Get("Location"), "")+"/edit", nil)
		check(t, "the edit form keeps the audience", edit, 200, []string{`name="inc_list" value="` + id + `" checked`, `name="exc_tags" value="vip"`}, nil)
		bad := s.do(t, "active", "POST", "/mailings", url.Values{"name": {"Bad"}, "message_id": {itoa(msg.ID)}, "inc_tags": {"a;b"}})
		check(t, "a bad tag", bad, 422, []string{"A tag is up to 50 letters"}, nil)
	})
}

// TestMailingFormLargeAudience: an owner with more recipients than the form
// lists gets no checkbox per recipient until a search narrows them, and the
// lists chooser; a search lists the matching ones to tick.
func TestMailingFormLargeAudience(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := newSite(t, dbURL)
		owner := s.actor(t, "active").User.ID
		if err := s.env.DB.Store().BulkRecipients(t.Context(), owner, 520, func(i int) simplesender.Recipient {
			return simplesender.Recipient{Email: "many" + itoa(int64(i)) + "@example.com"}
		}); err != nil {
			t.Fatal(err)
		}
		form := s.do(t, "active", "GET", "/mailings/new", nil)
		check(t, "the form", form, 200, []string{"You have 520 recipients: choose lists and tags above"}, []string{`name="recipient_ids" value=`})
		found := s.do(t, "active", "GET", "/mailings/new?state=1&rq=many51", nil)
		check(t, "a search", found, 200, []string{"many51@example.com", "many519@example.com", `name="recipient_ids" value=`}, []string{"many52@example.com"})
		if n := strings.Count(found.body, `type="checkbox" name="recipient_ids"`); n != 11 {
			t.Errorf("the search lists %d checkboxes, want 11", n)
		}
	})
}
