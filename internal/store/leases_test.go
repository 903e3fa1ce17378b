package store_test

import (
	"testing"
	"time"

	"simplesender/internal/store/storetest"
)

// TestLeases: one instance at a time holds a lease; the holder renews it,
// another takes it only once it has expired or was dropped.
func TestLeases(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, url string) {
		s := storetest.Open(t, url).Store()
		t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
		take := func(holder string, now time.Time) bool {
			t.Helper()
			ok, err := s.TakeLease(ctx, "bounce-mailbox", holder, now, now.Add(time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		if !take("a", t0) {
			t.Fatal("a free lease was not given")
		}
		if take("b", t0.Add(30*time.Second)) {
			t.Fatal("b took a lease a holds")
		}
		if !take("a", t0.Add(50*time.Second)) {
			t.Fatal("a could not renew its lease")
		}
		if take("b", t0.Add(100*time.Second)) {
			t.Fatal("b took a renewed lease before it expired")
		}
		if !take("b", t0.Add(111*time.Second)) {
			t.Fatal("b could not take a lease a let expire")
		}
		if take("a", t0.Add(112*time.Second)) {
			t.Fatal("a took back the lease b holds")
		}
		if err := s.DropLease(ctx, "bounce-mailbox", "a"); err != nil {
			t.Fatal(err)
		}
		if take("a", t0.Add(113*time.Second)) {
			t.Fatal("a dropping a lease it no longer holds freed it")
		}
		if err := s.DropLease(ctx, "bounce-mailbox", "b"); err != nil {
			t.Fatal(err)
		}
		if !take("a", t0.Add(114*time.Second)) {
			t.Fatal("a could not take a dropped lease")
		}
	})
}
