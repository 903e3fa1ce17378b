package app_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/app/apptest"
	"simplesender/internal/jobs"
	"simplesender/internal/ratelimit"
	"simplesender/internal/store/storetest"
)

// opLog records, in order, what a request did that another party could
// observe: the limiter's calls and the jobs it queued.
type opLog struct {
	mu  sync.Mutex
	ops []string
	raw []string // the keys given to the limiter, as given
}

func (l *opLog) add(op, rawKey string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ops = append(l.ops, op)
	if rawKey != "" {
		l.raw = append(l.raw, rawKey)
	}
}

// take returns the operations recorded so far and forgets them.
func (l *opLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	ops := l.ops
	l.ops = nil
	return ops
}

func (l *opLog) keys() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.raw)
}

// recordingLimiter passes calls to a Limiter and records them.
type recordingLimiter struct {
	ratelimit.Limiter
	log *opLog
}

func (r recordingLimiter) Allow(ctx context.Context, rule ratelimit.Rule, key string) (ratelimit.Decision, error) {
	r.log.add("limiter allow "+rule.Name, key)
	return r.Limiter.Allow(ctx, rule, key)
}

func (r recordingLimiter) Reset(ctx context.Context, rule ratelimit.Rule, key string) error {
	r.log.add("limiter reset "+rule.Name, key)
	return r.Limiter.Reset(ctx, rule, key)
}

func (r recordingLimiter) Refund(ctx context.Context, rule ratelimit.Rule, key string) error {
	r.log.add("limiter refund "+rule.Name, key)
	return r.Limiter.Refund(ctx, rule, key)
}

// recordingQueue passes inserts to the queue and records them, with the
// address a job names replaced by a placeholder (the requests compared name
// different addresses).
type recordingQueue struct {
	app.Enqueuer
	log *opLog
}

func (q recordingQueue) InsertTx(ctx context.Context, tx *sql.Tx, args river.JobArgs) error {
	if a, ok := args.(jobs.AccountEmailArgs); ok {
		if a.Email != "" {
			a.Email = "ADDRESS"
		}
		q.log.add(fmt.Sprintf("queue %s %+v", args.Kind(), a), "")
	} else {
		q.log.add("queue "+args.Kind(), "")
	}
	return q.Enqueuer.InsertTx(ctx, tx, args)
}

// recordingEnv is an app whose limiter and queue record what they are asked.
func recordingEnv(t *testing.T, url string) (*apptest.Env, *opLog) {
	log := &opLog{}
	env := apptest.New(t, url, apptest.Options{
		Deps: func(d *app.Deps) {
			if d.Limiter == nil {
				d.Limiter = ratelimit.NewMemory(nil)
			}
			d.Limiter = recordingLimiter{d.Limiter, log}
		},
		Queue: func(q app.Enqueuer) app.Enqueuer { return recordingQueue{q, log} },
	})
	return env, log
}

// TestResetRequestDoesTheSameWorkForEveryAddress: asking for a password reset
// (or a new confirmation link) performs the same operations whether the
// address has an active, pending or blocked account or none, so that its
// timing cannot tell them apart; the e-mails still go only where they should.
func TestResetRequestDoesTheSameWorkForEveryAddress(t *testing.T) {
	storetest.Each(t, func(t *testing.T, url string) {
		env, log := recordingEnv(t, url)
		env.User(t, "active@example.com", simplesender.RoleUser, simplesender.StatusActive)
		env.User(t, "pending@example.com", simplesender.RoleUser, simplesender.StatusPending)
		env.User(t, "blocked@example.com", simplesender.RoleUser, simplesender.StatusBlocked)
		addrs := []string{"active@example.com", "pending@example.com", "blocked@example.com", "nobody@example.com"}
		for _, req := range []struct {
			name string
			do   func(email string) error
		}{
			{"password reset", func(e string) error { return env.App.RequestPasswordReset(ctx, e, "en", "192.0.2.1") }},
			{"confirmation resend", func(e string) error { return env.App.ResendConfirmation(ctx, e, "en", "192.0.2.2") }},
		} {
			var want []string
			for i, e := range addrs {
				log.take()
				if err := req.do(e); err != nil {
					t.Fatalf("%s for %s: %v", req.name, e, err)
				}
				got := log.take()
				if i == 0 {
					want = got
					if !slices.ContainsFunc(got, func(op string) bool { return strings.HasPrefix(op, "queue account_email") }) {
						t.Fatalf("%s queued no e-mail job: %q", req.name, got)
					}
					continue
				}
				if !slices.Equal(got, want) {
					t.Errorf("%s: for %s the request did\n%q\nfor %s\n%q", req.name, e, got, addrs[0], want)
				}
			}
		}
		// The jobs decide: a reset for the active and the pending account, a
		// confirmation for the pending one; nothing for the others.
		env.WaitEmail(t, "active@example.com", 1)
		env.WaitEmail(t, "pending@example.com", 2)
		time.Sleep(300 * time.Millisecond) // the other jobs ran by now
		for _, e := range []string{"blocked@example.com", "nobody@example.com"} {
			if n := len(env.Emails(t, e)); n != 0 {
				t.Errorf("%d e-mails to %s", n, e)
			}
		}
		if n := len(env.Emails(t, "active@example.com")); n != 1 {
			t.Errorf("%d e-mails to the active account, want the reset only", n)
		}
	})
}

// TestRateLimitKeysHoldNoAddresses: the limiter (in memory, and in Redis when
// SIMPLESENDER_TEST_REDIS_URL is set) is given, and stores, keyed hashes,
// never an e-mail or IP address.
func TestRateLimitKeysHoldNoAddresses(t *testing.T) {
	storetest.Each(t, func(t *testing.T, url string) {
		env, log := recordingEnv(t, url)
		env.User(t, "secret.person@example.com", simplesender.RoleUser, simplesender.StatusActive)
		const ip = "198.51.100.23"
		a := env.App
		_, _, _ = a.Login(ctx, "Secret.Person@example.com", "wrong password", ip, "")
		_, _, _ = a.Login(ctx, "secret.person@example.com", apptest.Password, ip, "")
		_ = a.RequestPasswordReset(ctx, "secret.person@example.com", "en", ip)
		_ = a.ResendConfirmation(ctx, "secret.person@example.com", "en", ip)
		_ = a.Register(ctx, reg("secret.person@example.com"), ip)
		keys := log.keys()
		if len(keys) < 8 {
			t.Fatalf("only %d limiter calls recorded: %q", len(keys), keys)
		}
		leaks := func(k string) bool {
			k = strings.ToLower(k)
			return strings.Contains(k, "secret") || strings.Contains(k, "example") || strings.Contains(k, "@") ||
				strings.Contains(k, "198.51") || strings.Contains(k, ip)
		}
		for _, k := range keys {
			if leaks(k) {
				t.Errorf("the limiter was given the key %q", k)
			}
		}
		if env.Redis == nil {
			return
		}
		stored, err := env.Redis.Keys(ctx, env.RedisPrefix+"rl:*").Result()
		if err != nil {
			t.Fatal(err)
		}
		if len(stored) < 5 {
			t.Fatalf("only %d rate-limit keys in Redis under %s: %q", len(stored), env.RedisPrefix, stored)
		}
		for _, k := range stored {
			if leaks(strings.TrimPrefix(k, env.RedisPrefix)) {
				t.Errorf("Redis holds the key %q", k)
			}
		}
	})
}
