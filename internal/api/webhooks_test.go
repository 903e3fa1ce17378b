package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"simplesender/internal/app"
	"simplesender/internal/store"
	"simplesender/internal/store/storetest"
)

// TestWebhooksThroughTheAPI: an owner adds an endpoint (and gets its
// secret), tests it, reads its log, changes it and rotates its secret;
// another user sees nothing of it; a manager reads it without the secret
// and may not change it; an admin may; internal addresses are refused
// when the service does not allow them.
func TestWebhooksThroughTheAPI(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		f := newContentFixture(t, dbURL)
		var hits atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			if r.Header.Get("Simplesender-Signature") == "" {
				w.WriteHeader(http.StatusBadRequest)
			}
			w.Write([]byte("thanks <script>"))
		}))
		defer srv.Close()

		// Internal addresses are refused unless the service allows them.
		f.do(t, req{method: "POST", path: "/webhooks", bearer: f.tokens["owner"], body: `{"url":"` + srv.URL + `"}`}).
			want(t, 422).contains(t, `"url"`, "internal network")
		f.do(t, req{method: "POST", path: "/webhooks", bearer: f.tokens["owner"], body: `{"url":"ftp://example.com/"}`}).
			want(t, 422).contains(t, `"url"`)
		f.env.App.Webhooks.AllowPrivate = true
		f.do(t, req{method: "POST", path: "/webhooks", bearer: f.tokens["owner"], body: `{"url":"` + srv.URL + `","events":["delivery.nope"]}`}).
			want(t, 422).contains(t, `"events"`)

		var h struct {
			ID     int64    `json:"id"`
			Secret *string  `json:"secret"`
			Events []string `json:"events"`
		}
		f.do(t, req{method: "POST", path: "/webhooks", bearer: f.tokens["owner"], body: `{"url":"` + srv.URL + `/in"}`}).
			want(t, 201).decode(t, &h)
		if h.Secret == nil || !strings.HasPrefix(*h.Secret, "whsec_") || len(h.Events) != len(app.WebhookEvents) {
			t.Fatalf("new endpoint %+v: want a secret and every event", h)
		}
		path := "/webhooks/" + itoa(h.ID)

		f.do(t, req{method: "POST", path: path + "/test", bearer: f.tokens["owner"]}).want(t, 200).
			contains(t, `"status":200`, `"attempt":1`, `"batch_id":null`, `thanks \u003cscript\u003e`)
		if hits.Load() != 1 {
			t.Errorf("the test reached the endpoint %d times", hits.Load())
		}
		f.do(t, req{method: "GET", path: path + "/log", bearer: f.tokens["owner"]}).want(t, 200).contains(t, `"total":1`, `"status":200`)

		// Others: another user sees nothing; a manager reads without the
		// secret and changes nothing; an admin changes it.
		for _, q := range []req{{method: "GET", path: path}, {method: "GET", path: path + "/log"}, {method: "POST", path: path + "/test"},
			{method: "PATCH", path: path, body: `{"enabled":false}`}, {method: "DELETE", path: path}} {
			q.bearer = f.tokens["other"]
			f.do(t, q).want(t, 404)
		}
		f.do(t, req{method: "GET", path: "/webhooks", bearer: f.tokens["other"]}).want(t, 200).contains(t, `"items":[]`)
		f.do(t, req{method: "GET", path: path, bearer: f.tokens["manager"]}).want(t, 200).contains(t, `"secret":null`)
		f.do(t, req{method: "GET", path: "/webhooks", bearer: f.tokens["manager"]}).want(t, 200).contains(t, srv.URL+"/in")
		f.do(t, req{method: "PATCH", path: path, bearer: f.tokens["manager"], body: `{"enabled":false}`}).want(t, 403)
		f.do(t, req{method: "POST", path: path + "/rotate-secret", bearer: f.tokens["manager"]}).want(t, 403)
		f.do(t, req{method: "PATCH", path: path, bearer: f.tokens["admin"], body: `{"events":["delivery.bounced"]}`}).
			want(t, 200).contains(t, `"events":["delivery.bounced"]`, `"enabled":true`)

		var rotated struct {
			Secret *string `json:"secret"`
		}
		f.do(t, req{method: "POST", path: path + "/rotate-secret", bearer: f.tokens["owner"]}).want(t, 200).decode(t, &rotated)
		if rotated.Secret == nil || *rotated.Secret == *h.Secret {
			t.Errorf("rotating kept the secret")
		}
		f.do(t, req{method: "PATCH", path: path, bearer: f.tokens["owner"], body: `{"enabled":false}`}).
			want(t, 200).contains(t, `"enabled":false`)
		f.do(t, req{method: "DELETE", path: path, bearer: f.tokens["owner"]}).want(t, 204)
		f.do(t, req{method: "GET", path: path, bearer: f.tokens["owner"]}).want(t, 404)
	})
}

// TestDeliveriesCarryTheirReports: the deliveries of a run, and one
// delivery, come with the bounces and complaints that came back about
// them, to their owner only.
func TestDeliveriesCarryTheirReports(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		f := newContentFixture(t, dbURL)
		o := f.sent(t, f.users["owner"])
		p, err := f.env.App.Deliveries(t.Context(), actor(f.users["owner"]), o.G.ID, 0, app.DeliveryFilter{Limit: 10})
		if err != nil || len(p.Deliveries) != 2 {
			t.Fatalf("deliveries %v", err)
		}
		var d int64
		for _, x := range p.Deliveries {
			if x.Email == o.R.Email {
				d = x.ID
			}
		}
		if err := f.env.DB.Store().AddDeliveryReport(t.Context(), &store.DeliveryReport{ReceivedAt: time.Now(), Source: "smtp",
			Kind: "complaint", DeliveryID: d, OwnerID: f.users["owner"].ID, MailingID: o.G.ID, Email: o.R.Email,
			Diagnostic: "abuse report <spam>", Applied: "complained"}); err != nil {
			t.Fatal(err)
		}
		f.do(t, req{method: "GET", path: "/mailings/" + itoa(o.G.ID) + "/deliveries", bearer: f.tokens["owner"]}).want(t, 200).
			contains(t, `"kind":"complaint"`, `abuse report \u003cspam\u003e`, `"reports":[]`)
		f.do(t, req{method: "GET", path: "/deliveries/" + itoa(d), bearer: f.tokens["owner"]}).want(t, 200).
			contains(t, `"kind":"complaint"`, `"applied":"complained"`, `"mailing_id":`+itoa(o.G.ID), `"attempt_list":[{`)
		f.do(t, req{method: "GET", path: "/deliveries/" + itoa(d), bearer: f.tokens["manager"]}).want(t, 200)
		f.do(t, req{method: "GET", path: "/deliveries/" + itoa(d), bearer: f.tokens["other"]}).want(t, 404)
	})
}

// contains fails the test unless the body holds every fragment.
func (r resp) contains(t *testing.T, fragments ...string) resp {
	t.Helper()
	for _, s := range fragments {
		if !strings.Contains(r.body, s) {
			t.Errorf("the answer lacks %q:\n%s", s, r.body)
		}
	}
	return r
}
