package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/config"
)

// TestBrowserWebhooks: a user adds a webhook endpoint from the profile in
// the browser, sees its secret, sends a test event that the delivery log
// shows, in English and in Russian; screenshots of the list and of the
// endpoint's page at 1280 and 390 px in both languages.
func TestBrowserWebhooks(t *testing.T) {
	exe := findBrowser(t)
	watchdog(t, hangLimit)
	svc := openService(t, map[string]string{config.EnvWebhookAllowPrivate: "true"}, false)
	b := startBrowser(t, exe, svc.URL)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"received":true}`))
	}))
	defer receiver.Close()

	ctx := context.Background()
	run := randomHex(4)
	u, _, err := svc.srv.App.CreateAdmin(ctx, app.System, "hooks-"+run+"@example.com", password)
	if err != nil {
		t.Fatal(err)
	}
	if u, err = svc.srv.App.SetRole(ctx, app.System, u.ID, simplesender.RoleUser); err != nil {
		t.Fatal(err)
	}
	b.setAcceptLanguage("en-US,en;q=0.9")
	b.logIn(u.Email)

	b.open("/profile")
	b.click("open the webhooks", `main a[href="/profile/webhooks"]`)
	if txt := b.mainText(); !strings.Contains(txt, "No webhook endpoints yet") {
		t.Fatalf("empty webhooks page: %s", txt)
	}
	b.fill(map[string]string{"#f-url": receiver.URL + "/simplesender/events"})
	b.click("add the endpoint", `main form[action="/profile/webhooks"] button[type=submit]`)
	path := strings.TrimPrefix(b.location(), b.base)
	if !strings.HasPrefix(b.text("#webhook-secret"), "whsec_") {
		t.Fatalf("no secret on the new endpoint's page: %s", b.mainText())
	}
	b.submit("send a test event", `main form[action$="/test"] button[type=submit]`, path)
	if txt := b.mainText(); !strings.Contains(txt, "The test event was delivered") || !strings.Contains(txt, `{"received":true}`) {
		t.Errorf("the log lacks the test request: %s", txt)
	}
	b.screenshots("webhook-en")
	b.open("/profile/webhooks")
	if txt := b.mainText(); !strings.Contains(txt, receiver.URL) {
		t.Errorf("the list lacks the endpoint: %s", txt)
	}
	b.screenshots("webhooks-en")

	b.setAcceptLanguage("ru-RU,ru;q=0.9")
	b.open(path)
	if txt := b.mainText(); !strings.Contains(txt, "Журнал отправки") || !strings.Contains(txt, "Секрет подписи") {
		t.Errorf("endpoint page in Russian: %s", txt)
	}
	b.screenshots("webhook-ru")
	b.open("/profile/webhooks")
	if txt := b.mainText(); !strings.Contains(txt, "Добавить адрес") {
		t.Errorf("webhooks page in Russian: %s", txt)
	}
	b.screenshots("webhooks-ru")
}
