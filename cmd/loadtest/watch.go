package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"simplesender"
	"simplesender/internal/store"
)

// watchConfig is how the send is started and watched: through the HTTP API
// with an API token, by watchers API clients polling the mailing.
type watchConfig struct {
	api      bool
	watchers int // API clients polling GET /api/v1/mailings/{id}
	pages    int // browsers polling the page's /mailings/{id}/progress.json
	every    time.Duration
}

var watch watchConfig

// apiToken makes an API token for the user with e-mail address email the
// way an operator does, with `simplesender token create`.
func apiToken(bin string, env []string, email string) (string, error) {
	cmd := exec.Command(bin, "token", "create", "--email", email, "--name", "loadtest")
	cmd.Env, cmd.Stderr = env, os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("token create: %w", err)
	}
	for _, f := range strings.Fields(string(out)) {
		if strings.HasPrefix(f, "ss_") {
			return f, nil
		}
	}
	return "", fmt.Errorf("token create printed no token: %q", out)
}

// loadPassword is the password of the load user, for the page watchers'
// session.
const loadPassword = "load-test-password-1"

// login signs the load user in on the web UI and returns the cookies of its
// session, as a browser keeps them.
func login(addr string) ([]*http.Cookie, error) {
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	form := url.Values{"email": {loadUser}, "password": {loadPassword}}
	res, err := client.PostForm("http://"+addr+"/login", form)
	if err != nil {
		return nil, err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther && res.StatusCode != http.StatusFound {
		return nil, fmt.Errorf("login: %s", res.Status)
	}
	return res.Cookies(), nil
}

// apiRequest sends one request with token (an API token, or "" to send
// cookies instead) and answers its status and body.
func apiRequest(method, url, token string, body []byte, cookies ...*http.Cookie) (int, []byte, error) {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

// apiSend starts the send of mailingID with POST /api/v1/mailings/{id}/send.
func apiSend(addr, token string, mailingID int64) error {
	code, body, err := apiRequest("POST", fmt.Sprintf("http://%s/api/v1/mailings/%d/send", addr, mailingID), token, []byte("{}"))
	if err != nil {
		return err
	}
	if code != http.StatusAccepted {
		return fmt.Errorf("POST /mailings/%d/send: %d %s", mailingID, code, body)
	}
	return nil
}

// watchers are API clients polling a mailing while it is sent.
type watchers struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once

	mu      sync.Mutex
	latency []time.Duration
	bytes   int64
	errs    int
	lastErr string
}

// startWatchers starts n clients that each GET /api/v1/mailings/{id}, and
// pages browsers that each GET /mailings/{id}/progress.json with cookies,
// every `every` until stopped.
func startWatchers(addr, token string, cookies []*http.Cookie, mailingID int64, n, pages int, every time.Duration) *watchers {
	ctx, cancel := context.WithCancel(context.Background())
	w := &watchers{cancel: cancel}
	apiURL := fmt.Sprintf("http://%s/api/v1/mailings/%d", addr, mailingID)
	pageURL := fmt.Sprintf("http://%s/mailings/%d/progress.json", addr, mailingID)
	n += pages
	for i := range n {
		url, tok, jar := apiURL, token, []*http.Cookie(nil)
		if i >= n-pages {
			url, tok, jar = pageURL, "", cookies
		}
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			// Spread the watchers over the interval, as independent users are.
			t := time.NewTimer(every * time.Duration(i) / time.Duration(n))
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				t0 := time.Now()
				code, body, err := apiRequest("GET", url, tok, nil, jar...)
				d := time.Since(t0)
				w.mu.Lock()
				switch {
				case err != nil:
					w.errs++
					w.lastErr = err.Error()
				case code != http.StatusOK:
					w.errs++
					w.lastErr = fmt.Sprintf("%d %s", code, body)
				default:
					w.latency = append(w.latency, d)
					w.bytes += int64(len(body))
				}
				w.mu.Unlock()
				t.Reset(every)
			}
		}()
	}
	return w
}

// stop stops the watchers and waits for them; a nil w does nothing.
func (w *watchers) stop() {
	if w == nil {
		return
	}
	w.once.Do(func() { w.cancel(); w.wg.Wait() })
}

// report says how many polls the watchers made and how long they took.
func (w *watchers) report() string {
	if w == nil {
		return "not watched"
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.latency) == 0 && w.errs == 0 {
		return "not watched"
	}
	l := slices.Clone(w.latency)
	slices.Sort(l)
	pct := func(p float64) time.Duration {
		if len(l) == 0 {
			return 0
		}
		return l[min(len(l)-1, int(p*float64(len(l))))].Round(10 * time.Microsecond)
	}
	s := fmt.Sprintf("%d API watchers and %d page watchers every %s: %d polls, %d errors, median %s, p99 %s, max %s, %.1f KB per answer",
		watch.watchers, watch.pages, watch.every, len(l), w.errs, pct(0.5), pct(0.99), pct(1), float64(w.bytes)/float64(max(len(l), 1))/1024)
	if w.errs > 0 {
		s += " (last error: " + w.lastErr + ")"
	}
	return s
}

// sendCounts are the outcomes of a send (the harness reads Sent, Failed and
// Unknown).
type sendCounts = simplesender.DeliveryCounts

// finalCounts counts the deliveries of mailingID's last run by status. It
// reads only tables every version of the schema has, so that the harness
// can measure an older binary (-bin) too.
func finalCounts(ctx context.Context, db *store.DB, mailingID int64) (sendCounts, error) {
	var c sendCounts
	rows, err := db.Writer().QueryContext(ctx, db.Rebind(`SELECT d.status, count(*) FROM deliveries d
		JOIN mailings m ON m.last_run_id = d.run_id WHERE m.id = ? GROUP BY d.status`), mailingID)
	if err != nil {
		return c, err
	}
	defer rows.Close()
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return c, err
		}
		if state, ok := simplesender.DeliveryStatus(st).State(); ok {
			c.Add(state.Counter, n)
		}
	}
	return c, rows.Err()
}
