package web_test

import (
	"net/url"
	"strings"
	"testing"

	"simplesender"
	"simplesender/internal/store/storetest"
)

// TestSegmentEditor: a user builds a segment with the form (without
// JavaScript: "Add a condition" and "Count" post it back), sees the count,
// a bad row's error next to it in their language, saves it, filters the
// recipients page by it and sends a mailing to it whose page shows the
// definition and the count; the editor's script gets the live count as
// JSON. Another user gets 404 for the segment; a manager reads it without
// the save button.
func TestSegmentEditor(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := newSite(t, dbURL)
		anna, boris := s.recipient(t, "active", "Anna"), s.recipient(t, "active", "Boris")
		s.do(t, "active", "POST", "/recipients/bulk/apply", url.Values{"op": {"tag"}, "id": {itoa(anna)}, "set_tag": {"vip"}})

		check(t, "the empty editor", s.do(t, "active", "GET", "/segments/new", nil), 200,
			[]string{`name="cond_field"`, `data-segment-editor`, "Add a condition", `<option value="history">History</option>`}, nil)
		row := url.Values{"name": {"VIP <b>"}, "match": {"all"}, "cond_field": {"tag"}, "cond_op": {"has"}, "cond_value": {"VIP"},
			"cond_list": {"0"}, "cond_mailing": {"0"}}
		added := withDo(row, "add")
		check(t, "add a row without JS", s.do(t, "active", "POST", "/segments/new", added), 200, nil, nil)
		if n := strings.Count(s.do(t, "active", "POST", "/segments/new", added).body, `name="cond_field"`); n != 2 {
			t.Errorf("after adding a row: %d rows, want 2", n)
		}
		check(t, "count without JS", s.do(t, "active", "POST", "/segments/new", withDo(row, "count")), 200, []string{"1 recipient matches now"}, nil)
		bad := url.Values{"name": {"Bad"}, "match": {"all"}, "cond_field": {"created", "tag"}, "cond_op": {"before", "has"},
			"cond_value": {"yesterday", "vip"}, "cond_list": {"0", "0"}, "cond_mailing": {"0", "0"}}
		ru := s.do(t, "active", "POST", "/segments/new", withDo(bad, "save"), "Accept-Language", "ru")
		check(t, "a bad date, in Russian", ru, 422, []string{"Условие 1: укажите дату в виде ГГГГ-ММ-ДД.", `value="yesterday"`}, nil)

		saved := s.do(t, "active", "POST", "/segments/new", withDo(row, "save"))
		if saved.status != 303 {
			t.Fatalf("save: %d\n%s", saved.status, saved.body)
		}
		segURL := saved.header.Get("Location")
		id := strings.TrimPrefix(segURL, "/segments/")
		check(t, "the saved segment", s.follow(t, "active", saved), 200, []string{"VIP &lt;b&gt;", "The segment is saved.", `value="vip"`}, []string{"<b>"})
		check(t, "the list of segments", s.do(t, "active", "GET", "/segments", nil), 200, []string{"VIP &lt;b&gt;", "1 condition"}, nil)
		live := s.do(t, "active", "POST", "/segments/count", row)
		check(t, "the live count", live, 200, []string{`"count":1`, `"text":"1 recipient matches now"`}, nil)
		check(t, "the live count of a bad row", s.do(t, "active", "POST", "/segments/count", bad), 200, []string{`"error":"Condition 1: give a date`}, nil)

		filtered := s.do(t, "active", "GET", "/recipients?segment="+id, nil)
		a, _ := s.env.App.GetRecipient(t.Context(), s.actor(t, "active"), anna)
		b, _ := s.env.App.GetRecipient(t.Context(), s.actor(t, "active"), boris)
		check(t, "the recipients page by segment", filtered, 200, []string{a.Email, `<input type="hidden" name="segment" value="` + id + `">`}, []string{b.Email})

		check(t, "another user", s.do(t, "other", "GET", segURL, nil), 404, nil, nil)
		check(t, "another user's filter", s.do(t, "other", "GET", "/recipients?segment="+id, nil), 404, nil, nil)
		check(t, "another user saves", s.do(t, "other", "POST", segURL, withDo(row, "save")), 404, nil, nil)
		check(t, "a manager reads", s.do(t, "manager", "GET", segURL, nil), 200, []string{"VIP &lt;b&gt;"}, []string{`value="save"`, "/delete"})

		form := s.do(t, "active", "GET", "/mailings/new", nil)
		check(t, "the mailing form offers segments", form, 200, []string{`name="inc_segment" value="` + id + `"`, `name="exc_segment" value="` + id + `"`}, nil)
		msg := &simplesender.Message{Subject: "Hello", BodyText: "Hi"}
		if err := s.env.App.CreateMessage(t.Context(), s.actor(t, "active"), msg); err != nil {
			t.Fatal(err)
		}
		m := s.do(t, "active", "POST", "/mailings", url.Values{"name": {"VIPs"}, "message_id": {itoa(msg.ID)}, "inc_segment": {id}})
		if m.status != 303 {
			t.Fatalf("save mailing: %d\n%s", m.status, m.body)
		}
		check(t, "the mailing page", s.follow(t, "active", m), 200, []string{`href="/segments/` + id + `">VIP &lt;b&gt;</a>`, "Tag has «vip»", "1 recipient"}, nil)
		gone := s.do(t, "active", "POST", segURL+"/delete", nil)
		check(t, "deleted", s.follow(t, "active", gone), 200, []string{"The segment is deleted"}, nil)
	})
}

func withDo(v url.Values, do string) url.Values {
	out := url.Values{}
	for k, x := range v {
		out[k] = x
	}
	out.Set("do", do)
	return out
}
