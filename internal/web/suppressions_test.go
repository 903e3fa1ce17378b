package web_test

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/store/storetest"
)

// TestSuppressionPage: a user suppresses an address in the form (a bad
// one is refused with the message next to the field and the input kept),
// sees it on their list and not on anyone else's; another user's removal
// page is 404; a manager sees everyone's entries without the forms and
// cannot remove; removing needs a reason, which the page's history shows.
func TestSuppressionPage(t *testing.T) {
	t.Parallel()
	s := newSite(t, storetest.NewURL(t, "sqlite"))

	bad := s.do(t, "active", "POST", "/suppressions", url.Values{"email": {"not-an-address"}, "reason": {"manual"}, "note": {"<b>x</b>"}})
	check(t, "bad address", bad, http.StatusUnprocessableEntity, []string{`aria-invalid="true"`, "&lt;b&gt;x&lt;/b&gt;"}, []string{"<b>x</b>"})

	r := s.do(t, "active", "POST", "/suppressions", url.Values{"email": {"Gone@Example.org"}, "reason": {"unsubscribed"}, "note": {"<script>x</script>"}})
	page := s.follow(t, "active", r)
	check(t, "list after adding", page, http.StatusOK, []string{"gone@example.org", "unsubscribed", "&lt;script&gt;", `id="suppression-add"`},
		[]string{"<script>x</script>"})
	again := s.follow(t, "active", s.do(t, "active", "POST", "/suppressions", url.Values{"email": {"gone@example.org"}, "reason": {"manual"}}))
	check(t, "adding again", again, http.StatusOK, []string{"already"}, nil)

	list, _, err := s.env.App.ListSuppressions(context.Background(), s.actor(t, "active"), app.SuppressionQuery{})
	if err != nil || len(list) != 1 {
		t.Fatalf("the user's list: %v, %v", list, err)
	}
	removePath := "/suppressions/" + itoa(list[0].ID) + "/remove"

	check(t, "other user's list", s.do(t, "other", "GET", "/suppressions", nil), http.StatusOK, nil, []string{"gone@example.org"})
	check(t, "other user's removal page", s.do(t, "other", "GET", removePath, nil), http.StatusNotFound, nil, nil)
	check(t, "other user's removal", s.do(t, "other", "POST", removePath, url.Values{"reason": {"x"}}), http.StatusNotFound, nil, nil)
	check(t, "manager sees everyone's", s.do(t, "manager", "GET", "/suppressions", nil), http.StatusOK,
		[]string{"gone@example.org", "active@example.com"}, []string{`id="suppression-add"`, removePath})
	check(t, "manager cannot remove", s.do(t, "manager", "POST", removePath, url.Values{"reason": {"x"}}), http.StatusForbidden, nil, nil)
	check(t, "manager cannot add", s.do(t, "manager", "POST", "/suppressions", url.Values{"email": {"m@example.org"}}), http.StatusForbidden, nil, nil)

	check(t, "removal without a reason", s.do(t, "active", "POST", removePath, url.Values{"reason": {" "}}),
		http.StatusUnprocessableEntity, []string{`aria-invalid="true"`}, nil)
	done := s.follow(t, "active", s.do(t, "active", "POST", removePath, url.Values{"reason": {"she asked to come back"}}))
	check(t, "after removal", done, http.StatusOK, []string{"she asked to come back"}, []string{"<td class=\"wrap\">gone@example.org</td>"})

	// The admin's service-wide entry shows on the staff's list as such.
	s.do(t, "admin", "POST", "/suppressions", url.Values{"email": {"abuse@example.net"}, "reason": {"complained"}, "service_wide": {"1"}})
	check(t, "service-wide list", s.do(t, "manager", "GET", "/suppressions?scope=service", nil), http.StatusOK,
		[]string{"abuse@example.net", "service-wide"}, nil)
	check(t, "user does not see it", s.do(t, "active", "GET", "/suppressions", nil), http.StatusOK, nil, []string{"abuse@example.net"})
}

// TestSuppressionImportPage: an uploaded CSV file is suppressed and the
// page reports what was added and which rows were skipped.
func TestSuppressionImportPage(t *testing.T) {
	t.Parallel()
	s := newSite(t, storetest.NewURL(t, "sqlite"))
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "stop.csv")
	fw.Write([]byte("email,note\na@example.org,old list\nbroken,\n"))
	mw.WriteField("reason", "bounced")
	mw.Close()
	req := httptest.NewRequest("POST", "/suppressions/import", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res := s.send("active", req)
	check(t, "import", res, http.StatusOK, []string{"1 added", "Line 3", "<code>broken</code>"}, nil)
	x, err := s.env.App.IsSuppressed(context.Background(), s.ids["active"], "A@example.org")
	if err != nil || x == nil || x.Reason != simplesender.ReasonBounced || x.Note != "old list" {
		t.Errorf("imported entry: %+v, %v", x, err)
	}
	csv := s.do(t, "active", "GET", "/suppressions/export.csv", nil)
	if !strings.Contains(csv.body, "a@example.org,bounced,old list") {
		t.Errorf("export: %s", csv.body)
	}
}
