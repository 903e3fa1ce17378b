package ratelimit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"simplesender/internal/clocktest"
	"simplesender/internal/nettest"
)

var (
	_ Limiter = (*Memory)(nil)
	_ Limiter = (*Redis)(nil)
)

// redisURLEnv names the variable that, when set, makes the shared tests also
// run against Redis, e.g. redis://127.0.0.1:6379/15.
const redisURLEnv = "SIMPLESENDER_TEST_REDIS_URL"

// harness is one fresh limiter under test.
type harness struct {
	l Limiter
	// window is the window of the cases that wait for it to pass: long on a
	// fake clock, short (1s) on a real one.
	window time.Duration
	// wait lets d pass: it moves a fake clock, or sleeps a little longer than d
	// on a real one, whose time Redis rounds to milliseconds.
	wait func(d time.Duration)
}

// backend makes harnesses for one implementation.
type backend struct {
	name string
	new  func(t *testing.T) harness
}

func backends(t *testing.T) []backend {
	bs := []backend{{name: "memory", new: func(t *testing.T) harness {
		c := clocktest.New()
		return harness{l: NewMemory(c.Now), window: time.Minute, wait: c.Advance}
	}}}
	if os.Getenv(redisURLEnv) != "" {
		bs = append(bs, backend{name: "redis", new: func(t *testing.T) harness {
			return harness{
				l:      NewRedis(newRedisClient(t), testPrefix(t)),
				window: time.Second,
				wait:   func(d time.Duration) { time.Sleep(d + 20*time.Millisecond) },
			}
		}})
	} else {
		t.Logf("%s not set: Redis limiter not tested", redisURLEnv)
	}
	return bs
}

// long is a window no test waits for.
const long = time.Hour

func TestLimiter(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		run  func(t *testing.T, h harness)
	}{
		{"refuses past the limit with RetryAfter within the window", func(t *testing.T, h harness) {
			rule := Rule{Name: "login", Limit: 3, Window: long}
			for i := range 3 {
				d := allow(t, h.l, rule, "a@example.com")
				if want := 3 - i - 1; !d.Allowed || d.Remaining != want || d.RetryAfter != 0 {
					t.Fatalf("call %d: got %+v, want allowed with %d remaining", i+1, d, want)
				}
			}
			for range 3 {
				d := allow(t, h.l, rule, "a@example.com")
				if d.Allowed || d.Remaining != 0 || d.RetryAfter <= 0 || d.RetryAfter > rule.Window {
					t.Fatalf("past the limit: got %+v, want refused with RetryAfter in (0, %v]", d, rule.Window)
				}
			}
		}},
		{"allows again once the window has passed", func(t *testing.T, h harness) {
			rule := Rule{Name: "login", Limit: 2, Window: h.window}
			exhaust(t, h.l, rule, "k")
			d := allow(t, h.l, rule, "k")
			if d.Allowed {
				t.Fatalf("got %+v, want refused", d)
			}
			h.wait(d.RetryAfter)
			if d := allow(t, h.l, rule, "k"); !d.Allowed {
				t.Fatalf("after RetryAfter: got %+v, want allowed", d)
			}
		}},
		{"refused calls do not extend the lock-out", func(t *testing.T, h harness) {
			rule := Rule{Name: "login", Limit: 2, Window: h.window}
			exhaust(t, h.l, rule, "k")
			first := allow(t, h.l, rule, "k")
			h.wait(first.RetryAfter / 2)
			for range 5 {
				if d := allow(t, h.l, rule, "k"); d.Allowed {
					t.Fatalf("during lock-out: got %+v, want refused", d)
				}
			}
			h.wait(first.RetryAfter - first.RetryAfter/2)
			if d := allow(t, h.l, rule, "k"); !d.Allowed {
				t.Fatalf("after the first RetryAfter: got %+v, want allowed", d)
			}
		}},
		{"frees slots one at a time", func(t *testing.T, h harness) {
			rule := Rule{Name: "reset", Limit: 2, Window: h.window}
			allow(t, h.l, rule, "k")
			h.wait(h.window / 2)
			allow(t, h.l, rule, "k")
			d := allow(t, h.l, rule, "k")
			if d.Allowed {
				t.Fatalf("got %+v, want refused", d)
			}
			h.wait(d.RetryAfter)
			if d := allow(t, h.l, rule, "k"); !d.Allowed {
				t.Fatalf("after the oldest call left: got %+v, want allowed", d)
			}
			// The second call is still in the window: one slot, not a new burst.
			if d := allow(t, h.l, rule, "k"); d.Allowed || d.RetryAfter <= 0 || d.RetryAfter >= rule.Window {
				t.Fatalf("got %+v, want refused until the second call leaves", d)
			}
		}},
		{"keeps keys independent", func(t *testing.T, h harness) {
			rule := Rule{Name: "login", Limit: 2, Window: long}
			exhaust(t, h.l, rule, "198.51.100.7")
			if d := allow(t, h.l, rule, "198.51.100.8"); !d.Allowed || d.Remaining != 1 {
				t.Fatalf("other key: got %+v, want allowed with 1 remaining", d)
			}
		}},
		{"keeps rule names independent", func(t *testing.T, h harness) {
			login := Rule{Name: "login", Limit: 2, Window: long}
			resend := Rule{Name: "resend", Limit: 2, Window: long}
			exhaust(t, h.l, login, "a@example.com")
			if d := allow(t, h.l, resend, "a@example.com"); !d.Allowed || d.Remaining != 1 {
				t.Fatalf("other rule: got %+v, want allowed with 1 remaining", d)
			}
		}},
		{"Reset clears only its key", func(t *testing.T, h harness) {
			rule := Rule{Name: "login", Limit: 2, Window: long}
			exhaust(t, h.l, rule, "a@example.com")
			exhaust(t, h.l, rule, "b@example.com")
			if err := h.l.Reset(ctx, rule, "a@example.com"); err != nil {
				t.Fatal(err)
			}
			if d := allow(t, h.l, rule, "a@example.com"); !d.Allowed || d.Remaining != 1 {
				t.Fatalf("after Reset: got %+v, want allowed with 1 remaining", d)
			}
			if d := allow(t, h.l, rule, "b@example.com"); d.Allowed {
				t.Fatalf("other key after Reset: got %+v, want refused", d)
			}
			if err := h.l.Reset(ctx, rule, "never-seen"); err != nil {
				t.Fatalf("Reset of an unknown key: %v", err)
			}
		}},
		{"Refund gives back the newest call only", func(t *testing.T, h harness) {
			rule := Rule{Name: "login", Limit: 2, Window: long}
			exhaust(t, h.l, rule, "a@example.com")
			exhaust(t, h.l, rule, "b@example.com")
			if err := h.l.Refund(ctx, rule, "a@example.com"); err != nil {
				t.Fatal(err)
			}
			if d := allow(t, h.l, rule, "a@example.com"); !d.Allowed || d.Remaining != 0 {
				t.Fatalf("after Refund: got %+v, want allowed with 0 remaining", d)
			}
			if d := allow(t, h.l, rule, "a@example.com"); d.Allowed {
				t.Fatalf("Refund gave back more than one call: %+v", d)
			}
			if d := allow(t, h.l, rule, "b@example.com"); d.Allowed {
				t.Fatalf("other key after Refund: got %+v, want refused", d)
			}
			for range 3 { // more refunds than calls leave an empty count, not a debt
				if err := h.l.Refund(ctx, rule, "a@example.com"); err != nil {
					t.Fatal(err)
				}
			}
			exhaust(t, h.l, rule, "a@example.com")
			if err := h.l.Refund(ctx, rule, "never-seen"); err != nil {
				t.Fatalf("Refund of an unknown key: %v", err)
			}
		}},
		{"allows exactly Limit of 50 concurrent calls", func(t *testing.T, h harness) {
			rule := Rule{Name: "register", Limit: 7, Window: long}
			if n := allowConcurrently(t, []Limiter{h.l}, rule, "203.0.113.9", 50); n != rule.Limit {
				t.Fatalf("allowed %d of 50 concurrent calls, want %d", n, rule.Limit)
			}
		}},
		{"treats keys as data", func(t *testing.T, h harness) {
			rule := Rule{Name: "login", Limit: 1, Window: long}
			keys := []string{
				"a@example.com\r\nFLUSHDB\r\n",
				"x' or '1'='1",
				"",
				strings.Repeat("l", 1000) + "1",
				strings.Repeat("l", 1000) + "2",
				"émile@exämple.com",
			}
			for _, k := range keys {
				if d := allow(t, h.l, rule, k); !d.Allowed {
					t.Fatalf("first call for %.20q: got %+v, want allowed", k, d)
				}
			}
			for _, k := range keys {
				if d := allow(t, h.l, rule, k); d.Allowed {
					t.Fatalf("second call for %.20q: got %+v, want refused", k, d)
				}
			}
		}},
		{"rejects invalid rules", func(t *testing.T, h harness) {
			for _, rule := range []Rule{
				{Name: "", Limit: 1, Window: time.Minute},
				{Name: "a:b", Limit: 1, Window: time.Minute},
				{Name: "login", Limit: 0, Window: time.Minute},
				{Name: "login", Limit: 1, Window: 0},
				{Name: "login", Limit: 1, Window: time.Microsecond},
			} {
				if d, err := h.l.Allow(ctx, rule, "k"); err == nil {
					t.Errorf("Allow(%+v) = %+v, want an error", rule, d)
				}
				if err := h.l.Reset(ctx, rule, "k"); err == nil {
					t.Errorf("Reset(%+v): want an error", rule)
				}
				if err := h.l.Refund(ctx, rule, "k"); err == nil {
					t.Errorf("Refund(%+v): want an error", rule)
				}
			}
		}},
	}
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					t.Parallel()
					tt.run(t, b.new(t))
				})
			}
		})
	}
}

// TestRedisInstancesShareLimits checks that limiters built on separate clients
// with the same prefix, as on separate instances, share their counts.
func TestRedisInstancesShareLimits(t *testing.T) {
	if os.Getenv(redisURLEnv) == "" {
		t.Skipf("%s not set", redisURLEnv)
	}
	t.Parallel()
	ctx := context.Background()
	prefix := testPrefix(t)
	a := NewRedis(newRedisClient(t), prefix)
	b := NewRedis(newRedisClient(t), prefix)
	other := NewRedis(newRedisClient(t), testPrefix(t))
	rule := Rule{Name: "login", Limit: 6, Window: long}

	if n := allowConcurrently(t, []Limiter{a, b}, rule, "a@example.com", 50); n != rule.Limit {
		t.Fatalf("two instances allowed %d of 50 calls, want %d in all", n, rule.Limit)
	}
	if d := allow(t, other, rule, "a@example.com"); !d.Allowed {
		t.Fatalf("another prefix: got %+v, want allowed", d)
	}
	if err := a.Reset(ctx, rule, "a@example.com"); err != nil {
		t.Fatal(err)
	}
	if d := allow(t, b, rule, "a@example.com"); !d.Allowed {
		t.Fatalf("after Reset on the other instance: got %+v, want allowed", d)
	}
}

// TestRedisKeys checks the key layout and that every key expires.
func TestRedisKeys(t *testing.T) {
	if os.Getenv(redisURLEnv) == "" {
		t.Skipf("%s not set", redisURLEnv)
	}
	t.Parallel()
	ctx := context.Background()
	client := newRedisClient(t)
	prefix := testPrefix(t)
	l := NewRedis(client, prefix)
	rule := Rule{Name: "login", Limit: 3, Window: 90 * time.Second}

	long := strings.Repeat("x", 200) + "@example.com"
	allow(t, l, rule, "a@example.com")
	allow(t, l, rule, long)
	keys, err := client.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 {
		t.Fatalf("keys = %q, want 2", keys)
	}
	for _, k := range keys {
		if k != prefix+"login:a@example.com" && !strings.HasPrefix(k, prefix+"login:sha256:") {
			t.Errorf("unexpected key %q", k)
		}
		if len(k) > len(prefix)+100 {
			t.Errorf("key %q is %d bytes long: long keys must be hashed", k, len(k))
		}
		ttl, err := client.PTTL(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		if ttl <= 0 || ttl > rule.Window {
			t.Errorf("TTL of %q = %v, want in (0, %v]", k, ttl, rule.Window)
		}
	}
}

// TestRedisUnreachable checks that a Redis that cannot be reached is an error,
// not a decision, so the caller can choose to fail open.
func TestRedisUnreachable(t *testing.T) {
	t.Parallel()
	client := redis.NewClient(&redis.Options{
		Addr:        nettest.FreeAddr(t),
		DialTimeout: 500 * time.Millisecond,
		MaxRetries:  -1,
		// Fail after one dial, not after go-redis's default five.
		DialerRetries:      1,
		DialerRetryTimeout: 10 * time.Millisecond,
	})
	t.Cleanup(func() { client.Close() })
	l := NewRedis(client, "unreachable:")
	rule := Rule{Name: "login", Limit: 1, Window: time.Minute}

	if d, err := l.Allow(context.Background(), rule, "k"); err == nil {
		t.Fatalf("Allow = %+v, want an error", d)
	}
	if err := l.Reset(context.Background(), rule, "k"); err == nil {
		t.Fatal("Reset: want an error")
	}
}

// allow calls l.Allow and fails the test on error.
func allow(t *testing.T, l Limiter, rule Rule, key string) Decision {
	t.Helper()
	d, err := l.Allow(context.Background(), rule, key)
	if err != nil {
		t.Fatalf("Allow(%s, %.20q): %v", rule.Name, key, err)
	}
	return d
}

// exhaust makes rule.Limit allowed calls for key.
func exhaust(t *testing.T, l Limiter, rule Rule, key string) {
	t.Helper()
	for i := range rule.Limit {
		if d := allow(t, l, rule, key); !d.Allowed {
			t.Fatalf("call %d of %d: got %+v, want allowed", i+1, rule.Limit, d)
		}
	}
}

// allowConcurrently makes n simultaneous calls, spread over the limiters, and
// returns how many were allowed.
func allowConcurrently(t *testing.T, ls []Limiter, rule Rule, key string, n int) int {
	t.Helper()
	var (
		allowed atomic.Int64
		wg      sync.WaitGroup
		start   = make(chan struct{})
		errs    = make(chan error, n)
	)
	for i := range n {
		wg.Go(func() {
			<-start
			d, err := ls[i%len(ls)].Allow(context.Background(), rule, key)
			if err != nil {
				errs <- err
				return
			}
			if d.Allowed {
				allowed.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return int(allowed.Load())
}

// newRedisClient connects to the test Redis and closes the client at the end.
func newRedisClient(t *testing.T) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(os.Getenv(redisURLEnv))
	if err != nil {
		t.Fatalf("%s: %v", redisURLEnv, err)
	}
	client := redis.NewClient(opts)
	t.Cleanup(func() { client.Close() })
	if err := client.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("Redis at %s: %v", opts.Addr, err)
	}
	return client
}

// testPrefix returns a key prefix no other test uses, and deletes its keys at
// the end of the test.
func testPrefix(t *testing.T) string {
	t.Helper()
	b := make([]byte, 8)
	rand.Read(b)
	prefix := "simplesender-test:ratelimit:" + hex.EncodeToString(b) + ":"
	opts, err := redis.ParseURL(os.Getenv(redisURLEnv))
	if err != nil {
		t.Fatalf("%s: %v", redisURLEnv, err)
	}
	t.Cleanup(func() {
		client := redis.NewClient(opts)
		defer client.Close()
		ctx := context.Background()
		iter := client.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			client.Del(ctx, iter.Val())
		}
		if err := iter.Err(); err != nil {
			t.Errorf("cleaning up %s*: %v", prefix, err)
		}
	})
	return prefix
}

func ExampleMemory() {
	l := NewMemory(nil)
	rule := Rule{Name: "login", Limit: 2, Window: time.Minute}
	for range 3 {
		d, _ := l.Allow(context.Background(), rule, "a@example.com")
		fmt.Println(d.Allowed, d.Remaining, d.RetryAfter > 0)
	}
	// Output:
	// true 1 false
	// true 0 false
	// false 0 true
}
