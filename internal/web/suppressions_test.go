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
	"time"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/store"
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

// TestSuppressedDeliveriesOnMailingAndReportPages: a delivery the claim
// finds suppressed shows on the mailing page and the report page as
// suppressed, with its reason, in the viewer's language.
func TestSuppressedDeliveriesOnMailingAndReportPages(t *testing.T) {
	t.Parallel()
	s := newSite(t, storetest.NewURL(t, "sqlite"))
	ctx := context.Background()
	o := s.seed(t, "active", "Anna")
	r, err := s.env.App.GetRecipient(ctx, s.actor(t, "active"), o.R)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.env.App.SuppressAddress(ctx, s.ids["active"], strings.ToUpper(r.Email), simplesender.ReasonUnsubscribed, o.G, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.env.App.SendNow(ctx, s.actor(t, "active"), o.G, "now"); err != nil {
		t.Fatal(err)
	}
	at := s.env.DB.Now().Add(time.Second)
	run := s.env.StartDue(t, o.G, at)
	claimed, err := s.env.DB.ClaimDeliveries(ctx, "test", at, 10)
	if err != nil || len(claimed) != 1 || claimed[0].Suppressed != simplesender.ReasonUnsubscribed {
		t.Fatalf("claim: %+v, %v", claimed, err)
	}
	// What the engine records for a suppressed claim.
	if err := s.env.DB.RecordOutcomes(ctx, []store.Outcome{{DeliveryID: claimed[0].ID, RunID: run.ID, MailingID: o.G,
		OwnerID: run.OwnerID, Email: r.Email, Status: simplesender.DeliverySuppressed, Cause: simplesender.CauseSuppressed, At: at,
		Response: simplesender.SuppressedPrefix + string(simplesender.ReasonUnsubscribed)}}); err != nil {
		t.Fatal(err)
	}
	check(t, "mailing page", s.do(t, "active", "GET", o.path("/mailings/{G}"), nil), http.StatusOK,
		[]string{`data-count="suppressed">1<`, "unsubscribed — 1"}, nil)
	check(t, "mailing page in Russian", s.do(t, "active", "GET", o.path("/mailings/{G}"), nil, "Accept-Language", "ru"), http.StatusOK,
		[]string{"отписался — 1"}, nil)
	check(t, "report page", s.do(t, "active", "GET", "/reports", nil), http.StatusOK,
		[]string{`data-figure="suppressed">1<`, "unsubscribed — 1"}, nil)
}
