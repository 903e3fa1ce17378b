package server_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"simplesender/internal/app"
	"simplesender/internal/config"
	"simplesender/internal/server"
	"simplesender/internal/store/storetest"
)

// openWith is open with more variables and options.
func openWith(t *testing.T, dbURL string, vars map[string]string, opt server.Options) *server.Server {
	t.Helper()
	env := map[string]string{"SIMPLESENDER_DATA_DIR": t.TempDir(), "SIMPLESENDER_DATABASE_URL": dbURL}
	for k, v := range vars {
		env[k] = v
	}
	cfg, err := config.Load(func(k string) string { return env[k] }, filepath.Join(t.TempDir(), "x.env"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := server.Open(context.Background(), cfg, slog.New(slog.DiscardHandler), opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func post(h http.Handler, path, contentType, body string, hdr ...string) (int, http.Header, string) {
	r := httptest.NewRequest("POST", path, strings.NewReader(body))
	r.Header.Set("Content-Type", contentType)
	r.RemoteAddr = "192.0.2.44:1000"
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code, w.Header(), w.Body.String()
}

// TestMetricsOffThePublicListener: /metrics is served only on a listener of
// its own (SIMPLESENDER_METRICS_ADDR), behind the token when one is set, and
// its counters do not tell which registrations found an account.
func TestMetricsOffThePublicListener(t *testing.T) {
	const token = "metrics-token-0123456789"
	s := openWith(t, storetest.NewURL(t, "sqlite"), map[string]string{
		"SIMPLESENDER_METRICS_ADDR": "127.0.0.1:0", "SIMPLESENDER_METRICS_TOKEN": token}, server.Options{PollInterval: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	var mainAddr string
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.Run(ctx, "127.0.0.1:0", func(a net.Addr) { mainAddr = a.String(); close(ready) })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
	metricsURL := "http://" + s.MetricsAddr() + "/metrics"
	scrape := func(auth string) (int, string) {
		req, _ := http.NewRequest("GET", metricsURL, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}

	res, err := http.Get("http://" + mainAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("the public listener answers /metrics with %d, want 404", res.StatusCode)
	}
	for _, bad := range []string{"", "Bearer wrong", "Bearer " + token + "x", token} {
		if code, _ := scrape(bad); code != http.StatusUnauthorized {
			t.Errorf("metrics with Authorization %q: %d, want 401", bad, code)
		}
	}

	// A registration of a new address and one of a taken address each send
	// one account e-mail; the metrics count both alike.
	if _, _, err := s.App.CreateAdmin(ctx, app.System, "owner@example.com", "purple-kettle-42"); err != nil {
		t.Fatal(err)
	}
	for _, email := range []string{"newcomer@example.com", "owner@example.com"} {
		form := url.Values{"email": {email}, "name": {"X"}, "password": {"another-kettle-7"}, "password2": {"another-kettle-7"}}.Encode()
		if code, _, body := post(s.Handler(), "/register", "application/x-www-form-urlencoded", form); code != 200 {
			t.Fatalf("register %s: %d\n%s", email, code, body)
		}
	}
	var body string
	for deadline := time.Now().Add(20 * time.Second); ; {
		var code int
		code, body = scrape("Bearer " + token)
		if code != http.StatusOK {
			t.Fatalf("metrics with the token: %d", code)
		}
		if strings.Contains(body, `simplesender_emails_sent_total{kind="account"} 2`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the two account e-mails are not counted as such:\n%s", grep(body, "simplesender_emails"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if strings.Contains(body, `kind="account_`) {
		t.Errorf("metrics name kinds of account e-mail:\n%s", grep(body, `kind="account_`))
	}
	for _, want := range []string{`simplesender_job_queue_depth{queue="account_email"}`, "go_goroutines"} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
