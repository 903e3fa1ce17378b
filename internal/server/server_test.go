package server_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"simplesender/internal/server"
	"simplesender/internal/store/storetest"
)

func open(t *testing.T, dbURL string) *server.Server {
	t.Helper()
	return openWith(t, dbURL, nil, server.Options{NoWork: true})
}

func get(h http.Handler, path string, hdr ...string) *http.Response {
	r := httptest.NewRequest("GET", path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

func TestHealthMetricsAndHeaders(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := open(t, dbURL)
		h := s.Handler()
		res := get(h, "/healthz")
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 || !strings.Contains(string(body), `"database":"ok"`) || !strings.Contains(string(body), `"redis":"off"`) {
			t.Fatalf("healthz: %d %s", res.StatusCode, body)
		}
		get(h, "/login")
		get(h, "/api/v1/me")
		if res := get(h, "/metrics"); res.StatusCode != http.StatusNotFound {
			t.Errorf("the public listener serves /metrics: %d", res.StatusCode)
		}
		res = get(s.MetricsHandler(), "/metrics")
		body, _ = io.ReadAll(res.Body)
		for _, want := range []string{`simplesender_http_requests_total{area="web",code="200",method="GET"}`,
			`simplesender_http_requests_total{area="api",code="401",method="GET"}`,
			`simplesender_job_queue_depth{queue="account_email"}`, "go_goroutines"} {
			if !strings.Contains(string(body), want) {
				t.Errorf("metrics lack %s", want)
			}
		}
		res = get(h, "/login", "X-Request-ID", "abc-123")
		for k, want := range map[string]string{
			"Content-Security-Policy": "frame-ancestors 'none'",
			"X-Frame-Options":         "DENY",
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "no-referrer",
			"X-Request-Id":            "abc-123",
		} {
			if !strings.Contains(res.Header.Get(k), want) {
				t.Errorf("header %s = %q, want %q", k, res.Header.Get(k), want)
			}
		}
		if id := get(h, "/login", "X-Request-ID", "bad\x01id").Header.Get("X-Request-Id"); id == "" || strings.Contains(id, "bad") {
			t.Errorf("a malformed request id was echoed: %q", id)
		}
	})
}
