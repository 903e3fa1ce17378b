package cache_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"simplesender/internal/cache"
)

var ctx = context.Background()

// redisURL is the test server, when there is one.
func redisURL(t *testing.T) string {
	u := os.Getenv("SIMPLESENDER_TEST_REDIS_URL")
	if u == "" {
		t.Skip("SIMPLESENDER_TEST_REDIS_URL not set")
	}
	return u
}

func newClient(t *testing.T, url string) *redis.Client {
	t.Helper()
	o, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(o)
	t.Cleanup(func() { c.Close() })
	return c
}

func prefix() string {
	b := make([]byte, 6)
	rand.Read(b)
	return "test:" + hex.EncodeToString(b) + ":c:"
}

// each runs fn with a fresh cache of every kind available: memory, and
// Redis when a test server is given.
func each(t *testing.T, fn func(t *testing.T, c cache.Cache)) {
	t.Run("memory", func(t *testing.T) { fn(t, cache.NewMemory(0)) })
	t.Run("redis", func(t *testing.T) {
		r := cache.NewRedis(newClient(t, redisURL(t)), prefix(), nil)
		t.Cleanup(r.Close)
		fn(t, r)
	})
}

func TestValuesAndStamps(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, c cache.Cache) {
		if _, ok := c.Get(ctx, "k"); ok {
			t.Fatal("an empty cache found a value")
		}
		c.Set(ctx, "k", []byte("v"), time.Minute)
		if b, ok := c.Get(ctx, "k"); !ok || string(b) != "v" {
			t.Fatalf("Get = %q, %v", b, ok)
		}
		a1, ok := c.Stamp(ctx, "u:1", "all")
		if !ok {
			t.Fatal("stamp not ok")
		}
		b1, _ := c.Stamp(ctx, "u:2")
		c.Bump(ctx, "u:1")
		a2, _ := c.Stamp(ctx, "u:1", "all")
		b2, _ := c.Stamp(ctx, "u:2")
		if a1 == a2 {
			t.Fatalf("stamp of a bumped scope did not change: %s", a1)
		}
		if b1 != b2 {
			t.Fatalf("stamp of another scope changed: %s -> %s", b1, b2)
		}
		c.Bump(ctx, "all")
		if a3, _ := c.Stamp(ctx, "u:1", "all"); a3 == a2 {
			t.Fatal("stamp did not follow its second scope")
		}
		if s := c.Status(); s != "memory" && s != "redis" {
			t.Fatalf("status %q", s)
		}
	})
}

func TestMemoryExpiresAndStaysWithinItsBudget(t *testing.T) {
	t.Parallel()
	m := cache.NewMemory(64 << 10)
	now := time.Now()
	m.SetClock(func() time.Time { return now })
	m.Set(ctx, "short", []byte("x"), time.Second)
	now = now.Add(2 * time.Second)
	if _, ok := m.Get(ctx, "short"); ok {
		t.Fatal("an expired entry was served")
	}
	value := make([]byte, 1000)
	for i := range 1000 {
		m.Set(ctx, "k"+string(rune('a'+i%26))+strings.Repeat("x", i%7)+time.Duration(i).String(), value, time.Hour)
	}
	if n := m.Len(); n == 0 || n*1000 > 64<<10 {
		t.Fatalf("%d entries of 1000 bytes in a 64 KiB cache", n)
	}
	m.Set(ctx, "huge", make([]byte, 32<<10), time.Hour)
	if _, ok := m.Get(ctx, "huge"); ok {
		t.Fatal("a value of half the budget was kept")
	}
}

// TestRedisInstancesShareBumps: two caches (two instances) on one Redis see
// each other's bumps at once.
func TestRedisInstancesShareBumps(t *testing.T) {
	t.Parallel()
	url, p := redisURL(t), prefix()
	a := cache.NewRedis(newClient(t, url), p, nil)
	b := cache.NewRedis(newClient(t, url), p, nil)
	t.Cleanup(a.Close)
	t.Cleanup(b.Close)
	s1, _ := b.Stamp(ctx, "u:7")
	a.Bump(ctx, "u:7")
	if s2, _ := b.Stamp(ctx, "u:7"); s2 == s1 {
		t.Fatal("the second instance did not see the bump")
	}
	a.Set(ctx, "shared", []byte("1"), time.Minute)
	if v, ok := b.Get(ctx, "shared"); !ok || string(v) != "1" {
		t.Fatal("the second instance did not see the value")
	}
}

// proxy forwards TCP to Redis and can be cut and restored, to play an
// outage.
type proxy struct {
	t      *testing.T
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	p := &proxy{t: t, target: target}
	p.up()
	t.Cleanup(p.down)
	return p
}

func (p *proxy) up() {
	addr := p.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { io.Copy(s, c); s.Close() }()
			go func() { io.Copy(c, s); c.Close() }()
		}
	}()
}

func (p *proxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// countingHandler counts log records at warning level.
type countingHandler struct{ warns atomic.Int64 }

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		h.warns.Add(1)
	}
	return nil
}
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countingHandler) WithGroup(string) slog.Handler      { return h }

// TestRedisOutage: while Redis does not answer the cache serves nothing,
// says so, and logs once; a bump made meanwhile is not lost, because the
// epoch moves when Redis is back, for every instance.
func TestRedisOutage(t *testing.T) {
	t.Parallel()
	url, p := redisURL(t), prefix()
	o, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	px := newProxy(t, o.Addr)
	po := *o
	po.Addr = px.addr
	po.MaxRetries = -1
	viaProxy := redis.NewClient(&po)
	t.Cleanup(func() { viaProxy.Close() })
	logs := &countingHandler{}
	a := cache.NewRedis(viaProxy, p, slog.New(logs))
	t.Cleanup(a.Close)
	other := cache.NewRedis(newClient(t, url), p, nil) // another instance, which never loses Redis
	t.Cleanup(other.Close)

	before, ok := other.Stamp(ctx, "u:1")
	if !ok {
		t.Fatal("stamp not ok")
	}
	a.Set(ctx, "k", []byte("v"), time.Minute)
	px.down()
	for range 50 {
		if _, ok := a.Get(ctx, "k"); ok {
			t.Fatal("a value was served while Redis was away")
		}
		a.Bump(ctx, "nothing") // lost
	}
	if _, ok := a.Stamp(ctx, "u:1"); ok {
		t.Fatal("stamp ok while Redis is away")
	}
	if s := a.Status(); s != "redis-down" {
		t.Fatalf("status %q while Redis is away", s)
	}
	if n := logs.warns.Load(); n != 1 {
		t.Fatalf("%d warnings for one outage, want 1", n)
	}
	px.up()
	deadline := time.Now().Add(5 * time.Second)
	for a.Status() != "redis" {
		if time.Now().After(deadline) {
			t.Fatal("the cache did not come back within 5s of Redis")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if after, _ := other.Stamp(ctx, "u:1"); after == before {
		t.Fatal("stamps did not change after an outage in which bumps were lost")
	}
	if v, ok := a.Get(ctx, "k"); !ok || string(v) != "v" {
		t.Fatalf("after the outage: %q %v", v, ok)
	}
}

func TestNoneKeepsNothing(t *testing.T) {
	t.Parallel()
	var c cache.None
	c.Set(ctx, "k", []byte("v"), time.Minute)
	if _, ok := c.Get(ctx, "k"); ok {
		t.Fatal("None kept a value")
	}
	if _, ok := c.Stamp(ctx, "x"); ok {
		t.Fatal("None stamp ok")
	}
}
