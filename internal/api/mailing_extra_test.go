package api

import (
	"context"
	"testing"
	"time"

	"simplesender/internal/app"
	"simplesender/internal/store/storetest"
)

// TestMailingStatusDetailField gives API clients the detail beside the
// status: phase and times, and the same words the pages show, in the
// caller's language.
func TestMailingStatusDetailField(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, databaseURL string) {
		f := newContentFixture(t, databaseURL)
		owner := f.users["owner"]
		o := f.sent(t, owner)
		g, err := f.env.App.GetMailing(context.Background(), actor(owner), o.G.ID)
		if err != nil || g.FinishedAt == nil {
			t.Fatalf("not finished: %v", err)
		}
		next := time.Now().Add(2 * time.Hour).UTC().Truncate(time.Second)
		f.do(t, req{method: "POST", path: "/mailings/" + itoa(o.G.ID) + "/schedule", bearer: f.tokens["owner"],
			body: `{"send_at":"` + next.Format(time.RFC3339) + `"}`}).want(t, 200)
		now := f.env.App.Now()
		text := "finished " + app.ShortTime(time.UTC, g.FinishedAt, now) + ", next at " + app.ShortTime(time.UTC, &next, now)
		var one struct {
			Status       string           `json:"status"`
			StatusDetail statusDetailJSON `json:"status_detail"`
		}
		f.do(t, req{method: "GET", path: "/mailings/" + itoa(o.G.ID), bearer: f.tokens["owner"]}).want(t, 200).decode(t, &one)
		if one.Status != "running" || one.StatusDetail.Phase != "finished" || one.StatusDetail.Text != text ||
			one.StatusDetail.NextAt == nil || *one.StatusDetail.NextAt != next.Format(time.RFC3339) {
			t.Errorf("GET /mailings/{id}: %+v, want running with finished detail %q", one, text)
		}
		f.do(t, req{method: "GET", path: "/mailings", bearer: f.tokens["owner"]}).want(t, 200).
			has(t, `"status_detail":{"phase":"finished"`, `"text":"`+text+`"`)
		f.do(t, req{method: "GET", path: "/mailings", bearer: f.tokens["owner"], header: []string{"Accept-Language", "ru"}}).
			want(t, 200).has(t, "завершена "+app.ShortTime(time.UTC, g.FinishedAt, now))
	})
}
