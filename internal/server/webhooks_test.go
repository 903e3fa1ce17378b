package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"simplesender/internal/bounce"
	"simplesender/internal/server"
	"simplesender/internal/store/storetest"
)

// TestWebhooksCheckTheirSignatures: a provider's webhook is off until
// configured (404); a request with a bad signature is refused (401), counted
// in the metrics, and stores nothing; a good one is stored once however
// often it comes, and read.
func TestWebhooksCheckTheirSignatures(t *testing.T) {
	const secret = "generic-webhook-secret-0123"
	s := openWith(t, storetest.NewURL(t, "sqlite"), map[string]string{
		"SIMPLESENDER_BOUNCE_DOMAIN": "bounce.example.org", "SIMPLESENDER_WEBHOOK_SECRET": secret},
		server.Options{NoWork: true})
	h := s.Handler()
	body := `{"events":[{"type":"bounce","bounce":"hard","recipient":"gone@example.com","message_id":"<x@y>","diagnostic":"550 user unknown"}]}`
	postHook := func(provider, sig, body string) int {
		r := httptest.NewRequest("POST", "/hooks/"+provider, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set(bounce.GenericSignatureHeader, sig)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	if code := postHook("sendgrid", "", body); code != http.StatusNotFound {
		t.Errorf("a provider not configured: %d, want 404", code)
	}
	if code := postHook("generic", bounce.SignGeneric([]byte(body), []byte("another secret!!"), time.Now()), body); code != http.StatusUnauthorized {
		t.Errorf("a bad signature: %d, want 401", code)
	}
	if code := postHook("generic", bounce.SignGeneric([]byte(body), []byte(secret), time.Now().Add(-time.Hour)), body); code != http.StatusUnauthorized {
		t.Errorf("an hour-old signature: %d, want 401", code)
	}
	bad := `{"events":[{"type":"opened"}]}`
	if code := postHook("generic", bounce.SignGeneric([]byte(bad), []byte(secret), time.Now()), bad); code != http.StatusBadRequest {
		t.Errorf("an event it cannot read: %d, want 400", code)
	}
	ctx := context.Background()
	if pending, _ := s.DB.Store().PendingInbound(ctx, 10); len(pending) != 0 {
		t.Fatalf("refused webhooks were stored: %d", len(pending))
	}
	good := bounce.SignGeneric([]byte(body), []byte(secret), time.Now())
	for i := 0; i < 2; i++ {
		if code := postHook("generic", good, body); code != http.StatusOK {
			t.Fatalf("a good webhook: %d, want 200", code)
		}
	}
	if n, err := s.App.ProcessReturns(ctx, 10); err != nil || n != 1 {
		t.Fatalf("processed %d, %v; want the webhook once", n, err)
	}
	if reps, n, _ := s.DB.Store().UnmatchedReports(ctx, 10, 0); n != 1 || reps[0].Source != "webhook:generic" || reps[0].Kind != "hard" {
		t.Errorf("stored report %+v (%d)", reps, n)
	}
	w := httptest.NewRecorder()
	s.MetricsHandler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{`simplesender_webhooks_refused_total{provider="generic",reason="signature"} 1`,
		`simplesender_webhooks_refused_total{provider="generic",reason="stale"} 1`,
		`simplesender_webhooks_refused_total{provider="generic",reason="unreadable"} 1`} {
		if !strings.Contains(w.Body.String(), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
