package ratelimit

import (
	"context"
	"fmt"
	"testing"
	"time"

	"simplesender/internal/clocktest"
)

func TestMemoryBoundsKeys(t *testing.T) {
	t.Parallel()
	c := clocktest.New()
	m := NewMemory(c.Now)
	m.maxKeys = 4
	rule := Rule{Name: "login", Limit: 1, Window: time.Minute}

	// Three keys whose calls will have expired, then a live lock-out.
	for i := range 3 {
		allow(t, m, rule, fmt.Sprint("old", i))
	}
	c.Advance(2 * time.Minute)
	exhaust(t, m, rule, "victim")

	// New keys take the expired keys' places, not the live one's.
	for i := range 3 {
		allow(t, m, rule, fmt.Sprint("new", i))
	}
	if d := allow(t, m, rule, "victim"); d.Allowed {
		t.Fatalf("victim after 3 new keys: got %+v, want still refused", d)
	}

	// A flood of distinct keys never holds more than the cap.
	for i := range 1000 {
		allow(t, m, rule, fmt.Sprint("flood", i))
		if n := len(m.entries); n > m.maxKeys || len(m.expiry) != n {
			t.Fatalf("after %d flood keys: %d entries, %d in heap; want equal and at most %d", i+1, n, len(m.expiry), m.maxKeys)
		}
	}
}

func TestMemorySweepsExpiredKeys(t *testing.T) {
	t.Parallel()
	c := clocktest.New()
	m := NewMemory(c.Now)
	short := Rule{Name: "resend", Limit: 3, Window: time.Minute}
	longer := Rule{Name: "login", Limit: 3, Window: time.Hour}
	for i := range 100 {
		allow(t, m, short, fmt.Sprint("k", i))
	}
	allow(t, m, longer, "kept")
	c.Advance(time.Minute)
	allow(t, m, short, "fresh")
	if n := len(m.entries); n != 2 {
		t.Fatalf("after the window: %d entries, want 2 (kept and fresh)", n)
	}
	if d := allow(t, m, longer, "kept"); d.Remaining != 1 {
		t.Fatalf("kept: got %+v, want its earlier call still counted", d)
	}
}

func TestMemoryClockGoingBackwards(t *testing.T) {
	t.Parallel()
	c := clocktest.New()
	m := NewMemory(c.Now)
	rule := Rule{Name: "login", Limit: 2, Window: time.Minute}
	allow(t, m, rule, "k")
	c.Advance(-10 * time.Minute)
	allow(t, m, rule, "k")
	d := allow(t, m, rule, "k")
	if d.Allowed || d.RetryAfter <= 0 || d.RetryAfter > rule.Window {
		t.Fatalf("got %+v, want refused with RetryAfter in (0, %v]", d, rule.Window)
	}
}

func BenchmarkMemoryAllow(b *testing.B) {
	ctx := context.Background()
	rule := Rule{Name: "login", Limit: 10, Window: time.Minute}
	b.Run("same key", func(b *testing.B) {
		m := NewMemory(nil)
		for b.Loop() {
			m.Allow(ctx, rule, "a@example.com")
		}
	})
	b.Run("distinct keys", func(b *testing.B) {
		m := NewMemory(nil)
		i := 0
		for b.Loop() {
			m.Allow(ctx, rule, fmt.Sprint("198.51.", i))
			i++
		}
	})
}
