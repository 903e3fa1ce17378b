package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"simplesender/internal/app"
	"simplesender/internal/nettest"
	"simplesender/internal/server"
	"simplesender/internal/store/storetest"
)

// TestLoginWithRedisDown: with Redis unreachable, the API still makes tokens
// (no session needed) and the web login says, in the user's language, that
// sessions are unavailable (503) instead of failing with 500.
func TestLoginWithRedisDown(t *testing.T) {
	s := openWith(t, storetest.NewURL(t, "sqlite"), map[string]string{
		"SIMPLESENDER_REDIS_URL": fmt.Sprintf("redis://%s/15?dial_timeout=200ms&max_retries=-1", nettest.FreeAddr(t))}, server.Options{NoWork: true})
	ctx := context.Background()
	if _, _, err := s.App.CreateAdmin(ctx, app.System, "ada@example.com", "purple-kettle-42"); err != nil {
		t.Fatal(err)
	}
	code, _, body := post(s.Handler(), "/api/v1/tokens", "application/json", `{"email":"ada@example.com","password":"purple-kettle-42"}`)
	if code != http.StatusCreated {
		t.Fatalf("API token with Redis down: %d\n%s", code, body)
	}
	form := url.Values{"email": {"ada@example.com"}, "password": {"purple-kettle-42"}}.Encode()
	for lang, want := range map[string]string{
		"en": "Logging in is not possible right now: the session store does not answer.",
		"ru": "Войти сейчас нельзя: хранилище сессий не отвечает.",
	} {
		code, hdr, body := post(s.Handler(), "/login", "application/x-www-form-urlencoded", form, "Accept-Language", lang)
		if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" || !strings.Contains(body, want) {
			t.Errorf("%s: web login with Redis down: %d (Retry-After %q), want 503 saying %q", lang, code, hdr.Get("Retry-After"), want)
		}
	}
}
