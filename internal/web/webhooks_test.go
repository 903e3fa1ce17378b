package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"simplesender/internal/store/storetest"
)

// TestWebhookPages: a user adds an endpoint from the profile (an internal
// address is refused with the address kept, escaped; no event chosen is
// refused too), sees its secret, rotates it, sends a test event that the
// log shows with the endpoint's answer escaped, and disables it; the
// service's notice of a disabling shows; another user gets 404, a manager
// reads the page without the secret or buttons; the page is in Russian
// for a Russian user.
func TestWebhookPages(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := newSite(t, dbURL)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadGateway)
			w.Write([]byte("<i>upstream down</i>"))
		}))
		defer srv.Close()
		check(t, "profile links", s.do(t, "active", "GET", "/profile", nil), 200, []string{`href="/profile/webhooks"`}, nil)
		check(t, "empty list", s.do(t, "active", "GET", "/profile/webhooks", nil), 200,
			[]string{"No webhook endpoints yet", `value="delivery.sent"`, "recipient.unsubscribed: the recipient unsubscribed"}, nil)

		bad := srv.URL + `/"><b>x`
		r := s.do(t, "active", "POST", "/profile/webhooks", url.Values{"url": {bad}, "events": {"delivery.sent"}})
		check(t, "internal address", r, 422, []string{"is on an internal network", "&#34;&gt;&lt;b&gt;x"}, []string{`"><b>x`})
		s.env.App.Webhooks.AllowPrivate = true
		r = s.do(t, "active", "POST", "/profile/webhooks", url.Values{"url": {srv.URL + "/in"}})
		check(t, "no events", r, 422, []string{"Choose at least one event"}, nil)

		r = s.do(t, "active", "POST", "/profile/webhooks", url.Values{"url": {srv.URL + "/in"}, "events": {"delivery.bounced", "recipient.unsubscribed"}})
		loc := r.header.Get("Location")
		r = s.follow(t, "active", r)
		check(t, "created", r, 200, []string{"The endpoint is added", "whsec_", srv.URL + "/in", "Rotate the secret", "No requests yet"}, nil)
		list, err := s.env.App.ListWebhooks(context.Background(), s.actor(t, "active"))
		if err != nil || len(list) != 1 || strings.Join(list[0].Events, ",") != "delivery.bounced,recipient.unsubscribed" {
			t.Fatalf("endpoints %v, %v", list, err)
		}
		secret := list[0].Secret

		r = s.follow(t, "active", s.do(t, "active", "POST", loc+"/rotate", url.Values{}))
		check(t, "rotated", r, 200, []string{"new signing secret"}, []string{secret})
		r = s.follow(t, "active", s.do(t, "active", "POST", loc+"/test", url.Values{}))
		check(t, "test failed", r, 200, []string{"The test event was not delivered", "HTTP 502", "&lt;i&gt;upstream down&lt;/i&gt;", "(test)"},
			[]string{"<i>upstream down</i>"})
		r = s.follow(t, "active", s.do(t, "active", "POST", loc, url.Values{"url": {srv.URL + "/in"}, "events": {"delivery.sent"}}))
		check(t, "disabled", r, 200, []string{"The endpoint is saved", "disabled"}, nil)

		check(t, "other user", s.do(t, "other", "GET", loc, nil), 404, nil, []string{srv.URL})
		check(t, "other user tests", s.do(t, "other", "POST", loc+"/test", url.Values{}), 404, nil, nil)
		check(t, "other user's list", s.do(t, "other", "GET", "/profile/webhooks", nil), 200, []string{"No webhook endpoints yet"}, []string{srv.URL})
		check(t, "manager", s.do(t, "manager", "GET", loc, nil), 200, []string{srv.URL + "/in", "Only the owner and administrators see the secret", "HTTP 502"},
			[]string{"whsec_", "Rotate the secret", `action="` + loc + `/delete"`})
		check(t, "manager rotates", s.do(t, "manager", "POST", loc+"/rotate", url.Values{}), 403, nil, nil)
		check(t, "admin's list", s.do(t, "admin", "GET", "/profile/webhooks", nil), 200, []string{"active@example.com", srv.URL + "/in"}, nil)

		// The service's notice when it gave up on the endpoint.
		if err := s.env.DB.Store().DisableWebhook(context.Background(), list[0].ID, s.env.DB.Now(), "HTTP 502 <b>"); err != nil {
			t.Fatal(err)
		}
		check(t, "notice", s.do(t, "active", "GET", loc, nil), 200, []string{"The service disabled this endpoint", "HTTP 502 &lt;b&gt;"}, nil)
		if err := s.env.App.SetLanguage(context.Background(), s.actor(t, "active"), "ru"); err != nil {
			t.Fatal(err)
		}
		check(t, "notice ru", s.do(t, "active", "GET", loc, nil), 200, []string{"Сервис выключил этот адрес", "Журнал отправки", "Секрет подписи"}, nil)
		check(t, "list ru", s.do(t, "active", "GET", "/profile/webhooks", nil), 200, []string{"Вебхуки", "выключен", "Добавить адрес"}, nil)

		r = s.follow(t, "active", s.do(t, "active", "POST", loc+"/delete", url.Values{}))
		check(t, "deleted", r, 200, []string{"Адрес удалён"}, []string{srv.URL})
	})
}
