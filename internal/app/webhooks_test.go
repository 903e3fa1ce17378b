package app_test

import (
	"testing"
	"time"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/app/apptest"
	"simplesender/internal/store"
)

// TestWebhookBatchIsSentByOneInstance: of two instances claiming at once,
// one gets a due batch; the other gets it only once the first one's lease
// has run out (it stopped), as the second attempt, and the first one can
// then no longer record an outcome for it. Old batches and log entries go
// after a week.
func TestWebhookBatchIsSentByOneInstance(t *testing.T) {
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		ctx := t.Context()
		u := env.User(t, "hooks@example.com", simplesender.RoleUser, simplesender.StatusActive)
		env.App.Webhooks.AllowPrivate = true
		h, err := env.App.CreateWebhook(ctx, &app.Actor{User: u}, app.WebhookInput{URL: "http://127.0.0.1:9/", Events: app.WebhookEvents, Enabled: true})
		if err != nil {
			t.Fatal(err)
		}
		st := env.DB.Store()
		if _, err := st.AddWebhookBatch(ctx, h.ID, 1, `{"events":[{"id":"e1"}]}`); err != nil {
			t.Fatal(err)
		}
		now := env.DB.Now()
		a, err := st.ClaimWebhookBatches(ctx, "a", now, now.Add(time.Minute), 10)
		if err != nil || len(a) != 1 || a[0].Attempt != 1 {
			t.Fatalf("instance a claimed %v, %v; want the batch, attempt 1", a, err)
		}
		if b, err := st.ClaimWebhookBatches(ctx, "b", now, now.Add(time.Minute), 10); err != nil || len(b) != 0 {
			t.Fatalf("instance b claimed %d batches while a holds it (%v)", len(b), err)
		}
		later := now.Add(2 * time.Minute)
		b, err := st.ClaimWebhookBatches(ctx, "b", later, later.Add(time.Minute), 10)
		if err != nil || len(b) != 1 || b[0].Attempt != 2 {
			t.Fatalf("after a's lease ran out b claimed %v, %v; want the batch, attempt 2", b, err)
		}
		if err := st.FinishWebhookBatch(ctx, a[0].ID, h.ID, "a", later); !simplesender.IsKind(err, simplesender.KindNotFound) {
			t.Errorf("a recorded an outcome of a batch b holds: %v", err)
		}
		if err := st.FinishWebhookBatch(ctx, b[0].ID, h.ID, "b", later); err != nil {
			t.Fatal(err)
		}
		if err := st.AddWebhookLog(ctx, &store.WebhookLog{WebhookID: h.ID, BatchID: b[0].ID, At: later, Attempt: 2, Events: 1, Status: 200}); err != nil {
			t.Fatal(err)
		}
		if err := st.CleanWebhooks(ctx, later.Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, n, err := st.WebhookLogPage(ctx, h.ID, 10, 0); err != nil || n != 1 {
			t.Errorf("a fresh log entry was cleaned: %d, %v", n, err)
		}
		if err := st.CleanWebhooks(ctx, later.Add(app.WebhookKeep)); err != nil {
			t.Fatal(err)
		}
		if _, n, err := st.WebhookLogPage(ctx, h.ID, 10, 0); err != nil || n != 0 {
			t.Errorf("a log entry past a week is kept: %d, %v", n, err)
		}
		if got, _ := st.GetWebhook(ctx, h.ID); got.Pending != 0 {
			t.Errorf("%d batches still wait", got.Pending)
		}
	})
}

// TestWebhookGivesUpAndIsDisabled: a batch whose retries run out has failed
// and its endpoint is disabled with the reason, which enabling it clears.
func TestWebhookGivesUpAndIsDisabled(t *testing.T) {
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		ctx := t.Context()
		u := env.User(t, "hooks@example.com", simplesender.RoleUser, simplesender.StatusActive)
		ac := &app.Actor{User: u}
		env.App.Webhooks = app.WebhookConfig{AllowPrivate: true, Retry: []time.Duration{time.Nanosecond}}
		// Port 9 (discard) on loopback: nothing listens, the connection is refused.
		h, err := env.App.CreateWebhook(ctx, ac, app.WebhookInput{URL: "http://127.0.0.1:9/", Events: app.WebhookEvents, Enabled: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := env.DB.Store().AddWebhookBatch(ctx, h.ID, 1, `{"events":[{"id":"e1"}]}`); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			time.Sleep(time.Millisecond)
			if n, err := env.App.SendWebhookBatches(ctx); err != nil || n != 1 {
				t.Fatalf("sent %d, %v", n, err)
			}
		}
		got, err := env.App.GetWebhook(ctx, ac, h.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Enabled || got.DisabledAt == nil || got.DisabledReason == "" || got.Pending != 0 {
			t.Fatalf("after the retries ran out: enabled %v, reason %q, %d waiting", got.Enabled, got.DisabledReason, got.Pending)
		}
		logs, n, err := env.App.WebhookLog(ctx, ac, h.ID, 10, 0)
		if err != nil || n != 2 || logs[0].Attempt != 2 || logs[0].Error == "" {
			t.Fatalf("log %d entries, %v", n, err)
		}
		got, err = env.App.UpdateWebhook(ctx, ac, h.ID, app.WebhookInput{URL: got.URL, Events: got.Events, Enabled: true})
		if err != nil || !got.Enabled || got.DisabledReason != "" || got.FailingSince != nil {
			t.Errorf("enabled again: %+v, %v", got, err)
		}
	})
}
