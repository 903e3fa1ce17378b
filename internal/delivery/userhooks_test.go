package delivery_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/app/apptest"
	"simplesender/internal/bounce"
	"simplesender/internal/store"
	"simplesender/internal/unsubscribe"
	"simplesender/internal/webhook"
)

// receiver is a user's system that takes webhook batches: it checks each
// signature, and answers 500 to the first `fail` requests.
type receiver struct {
	t      *testing.T
	secret func() string
	fail   int

	mu       sync.Mutex
	requests int
	events   []app.Event
	badSig   int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.requests++
	if err := webhook.Verify(rc.secret(), r.Header.Get(webhook.SignatureHeader), body, time.Now(), 5*time.Minute); err != nil {
		rc.badSig++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if rc.requests <= rc.fail {
		http.Error(w, "<b>down for maintenance</b>", http.StatusInternalServerError)
		return
	}
	var b struct {
		Events []app.Event `json:"events"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		rc.t.Errorf("a batch that is no JSON: %v", err)
	}
	rc.events = append(rc.events, b.Events...)
	w.WriteHeader(http.StatusNoContent)
}

// unique returns the events received, each once (by id), as "type email".
func (rc *receiver) unique() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	for _, e := range rc.events {
		if seen[e.ID] {
			continue
		}
		seen[e.ID] = true
		email := ""
		if e.Recipient != nil {
			email = e.Recipient.Email
		}
		out = append(out, e.Type+" "+email)
	}
	sort.Strings(out)
	return out
}

// TestWebhooksFollowDeliveries: a user's endpoint receives, signed, one
// event per delivery sent or failed of a real mailing (none for a
// deferred try), and the bounce, the complaint and the unsubscribe that
// came back, each with its delivery; its first request failed (500) and
// was retried, and the log shows both attempts; another user's endpoint
// gets only that user's events.
func TestWebhooksFollowDeliveries(t *testing.T) {
	verp := bounce.NewVERP([]byte("the secret key of this test, 32+ bytes"), "bounces", "bounce.example.org")
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		env.App.Returns = app.ReturnsConfig{VERP: verp}
		env.App.Webhooks = app.WebhookConfig{AllowPrivate: true, Retry: []time.Duration{100 * time.Millisecond}}
		r := newRigWith(t, env, verp)
		r.smtp.Script = func(rcpt string, n int) apptest.Action {
			switch {
			case strings.HasPrefix(rcpt, "perm"):
				return apptest.Perm
			case strings.HasPrefix(rcpt, "temp") && n == 1:
				return apptest.Temp
			}
			return apptest.Accept
		}
		other := &app.Actor{User: env.User(t, "other@example.com", simplesender.RoleUser, simplesender.StatusActive)}

		var mine, theirs *receiver
		mine = &receiver{t: t, fail: 1}
		theirs = &receiver{t: t}
		srvMine, srvTheirs := httptest.NewServer(mine), httptest.NewServer(theirs)
		defer srvMine.Close()
		defer srvTheirs.Close()
		hook, err := env.App.CreateWebhook(ctx, r.owner, app.WebhookInput{URL: srvMine.URL + "/hooks", Events: app.WebhookEvents, Enabled: true})
		if err != nil {
			t.Fatal(err)
		}
		mine.secret = func() string { return hook.Secret }
		hook2, err := env.App.CreateWebhook(ctx, other, app.WebhookInput{URL: srvTheirs.URL, Events: app.WebhookEvents, Enabled: true})
		if err != nil {
			t.Fatal(err)
		}
		theirs.secret = func() string { return hook2.Secret }

		to := []string{"ok@example.com", "temp@example.com", "perm@example.com", "hard@example.com", "spam@example.com", "unsub@example.com"}
		m, p := runMailing(t, env, r.owner, to)
		if m.Counts.Sent != 5 || m.Counts.Failed != 1 {
			t.Fatalf("mailing counts %+v; want 5 sent, 1 failed", m.Counts)
		}
		mo, _ := runMailing(t, env, other, []string{"x@other.example"})
		if mo.Counts.Sent != 1 {
			t.Fatalf("the other user's mailing: %+v", mo.Counts)
		}
		byEmail := map[string]int64{}
		for _, d := range p.Deliveries {
			byEmail[d.Email] = d.ID
		}
		// What comes back: a hard bounce and a complaint through a
		// provider's webhook, quoting the messages' Message-IDs, and an
		// unsubscribe by the link.
		msgID := func(email string) string {
			msg, err := mail.ReadMessage(strings.NewReader(string(r.smtp.Raw(email)[0])))
			if err != nil {
				t.Fatal(err)
			}
			return msg.Header.Get("Message-Id")
		}
		report := `{"events":[{"type":"bounce","bounce":"hard","recipient":"hard@example.com","status":"5.1.1","diagnostic":"550 user unknown","message_id":"` +
			msgID("hard@example.com") + `"},{"type":"complaint","recipient":"spam@example.com","message_id":"` + msgID("spam@example.com") + `"}]}`
		if err := env.App.SaveWebhook(ctx, "generic", "ev-1", "192.0.2.9", []byte(report)); err != nil {
			t.Fatal(err)
		}
		if _, err := env.App.ProcessReturns(ctx, 100); err != nil {
			t.Fatal(err)
		}
		token := env.App.Links.Keys.Token(unsubscribe.Target{ID: byEmail["unsub@example.com"], Lang: "en"})
		if _, err := env.App.Unsubscribe(ctx, token, "192.0.2.10"); err != nil {
			t.Fatal(err)
		}
		if _, err := env.App.Unsubscribe(ctx, token, "192.0.2.10"); err != nil { // twice: one event
			t.Fatal(err)
		}

		want := []string{"delivery.bounced hard@example.com", "delivery.complained spam@example.com",
			"delivery.failed perm@example.com", "delivery.sent hard@example.com", "delivery.sent ok@example.com",
			"delivery.sent spam@example.com", "delivery.sent temp@example.com", "delivery.sent unsub@example.com",
			"recipient.unsubscribed unsub@example.com"}
		deadline := time.Now().Add(20 * time.Second)
		for len(mine.unique()) < len(want) || len(theirs.unique()) < 1 {
			if time.Now().After(deadline) {
				t.Fatalf("timed out: mine got %v, theirs %v", mine.unique(), theirs.unique())
			}
			if _, err := env.App.DispatchWebhooks(ctx); err != nil {
				t.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		for range 3 { // nothing more comes
			if _, err := env.App.DispatchWebhooks(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if got := mine.unique(); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("the owner's endpoint got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if got := theirs.unique(); len(got) != 1 || got[0] != "delivery.sent x@other.example" {
			t.Errorf("the other user's endpoint got %v; want only their own delivery", got)
		}
		if mine.badSig+theirs.badSig != 0 {
			t.Errorf("%d requests with a bad signature", mine.badSig+theirs.badSig)
		}
		for _, e := range mine.events {
			if e.Recipient == nil || e.DeliveryID != byEmail[e.Recipient.Email] || e.MailingID != m.ID || e.RunID == 0 {
				t.Errorf("event %+v does not name its delivery %d of mailing %d", e, byEmail[e.Recipient.Email], m.ID)
			}
			switch e.Type {
			case app.EventBounced:
				if e.Report == nil || e.Report.Kind != "hard" || !strings.Contains(e.Report.Diagnostic, "user unknown") {
					t.Errorf("bounce event without its report: %+v", e.Report)
				}
			case app.EventSent:
				if e.Reply == nil || e.Reply.Code != 250 {
					t.Errorf("sent event without the server's reply: %+v", e.Reply)
				}
			case app.EventFailed:
				if e.Reply == nil || e.Reply.Code < 500 {
					t.Errorf("failed event without the refusal: %+v", e.Reply)
				}
			}
		}

		// The log: the first request failed with 500 and was sent again.
		logs, n, err := env.App.WebhookLog(ctx, r.owner, hook.ID, 50, 0)
		if err != nil {
			t.Fatal(err)
		}
		var first *store.WebhookLog
		for _, l := range logs {
			if l.Status == 500 {
				first = l
			}
		}
		if n < 2 || first == nil || first.Attempt != 1 || first.Error != "HTTP 500" || !strings.Contains(first.Response, "maintenance") {
			t.Fatalf("the log has no first attempt answered 500: %d entries, %+v", n, first)
		}
		retried := false
		for _, l := range logs {
			if l.BatchID == first.BatchID && l.Attempt == 2 && l.Status == 204 && l.Error == "" {
				retried = true
			}
		}
		if !retried {
			t.Errorf("no second attempt of batch %d in the log: %+v", first.BatchID, logs)
		}
		if _, _, err := env.App.WebhookLog(ctx, other, hook.ID, 50, 0); !simplesender.IsKind(err, simplesender.KindNotFound) {
			t.Errorf("another user reads the log: %v; want NotFound", err)
		}
	})
}
