package server_test

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/server"
	"simplesender/internal/store/storetest"
)

// TestCacheModes starts the service with each SIMPLESENDER_CACHE mode and
// checks what /healthz says and whether figures are really cached: a
// recipient added behind the app's back (no invalidation) shows on the home
// figures at once only when caching is off.
func TestCacheModes(t *testing.T) {
	redisURL := os.Getenv(storetest.EnvRedis)
	cases := []struct {
		name        string
		env         map[string]string
		wantHealthz string
		wantCached  bool
	}{
		{name: "default is memory", env: nil, wantHealthz: `"cache":"memory"`, wantCached: true},
		{name: "memory", env: map[string]string{"SIMPLESENDER_CACHE": "memory"}, wantHealthz: `"cache":"memory"`, wantCached: true},
		{name: "off", env: map[string]string{"SIMPLESENDER_CACHE": "off"}, wantHealthz: `"cache":"off"`, wantCached: false},
		{name: "redis by default with a Redis URL", env: map[string]string{"SIMPLESENDER_REDIS_URL": redisURL},
			wantHealthz: `"cache":"redis"`, wantCached: true},
		{name: "off with a Redis URL", env: map[string]string{"SIMPLESENDER_REDIS_URL": redisURL, "SIMPLESENDER_CACHE": "off"},
			wantHealthz: `"cache":"off"`, wantCached: false},
		{name: "memory with a Redis URL", env: map[string]string{"SIMPLESENDER_REDIS_URL": redisURL, "SIMPLESENDER_CACHE": "MEMORY"},
			wantHealthz: `"cache":"memory"`, wantCached: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, ok := c.env["SIMPLESENDER_REDIS_URL"]; ok && redisURL == "" {
				t.Skip(storetest.EnvRedis + " not set")
			}
			s := openWith(t, storetest.NewURL(t, "sqlite"), c.env, server.Options{NoWork: true})
			res := get(s.Handler(), "/healthz")
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != 200 || !strings.Contains(string(body), c.wantHealthz) {
				t.Fatalf("/healthz: %d %s, want %s", res.StatusCode, body, c.wantHealthz)
			}
			ctx := context.Background()
			u, _, err := s.App.CreateAdmin(ctx, app.System, "ada@example.com", "purple-kettle-42")
			if err != nil {
				t.Fatal(err)
			}
			ac := &app.Actor{User: u}
			before, err := s.App.HomeCounters(ctx, ac)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.DB.Store().CreateRecipient(ctx, &simplesender.Recipient{OwnerID: u.ID, Email: "behind@example.com"}); err != nil {
				t.Fatal(err)
			}
			after, err := s.App.HomeCounters(ctx, ac)
			if err != nil {
				t.Fatal(err)
			}
			if cached := after.Recipients == before.Recipients; cached != c.wantCached {
				t.Errorf("recipients before %d, after %d: cached = %v, want %v", before.Recipients, after.Recipients, cached, c.wantCached)
			}
		})
	}
}
