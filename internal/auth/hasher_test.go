package auth_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"simplesender/internal/auth"
)

// TestHasherBoundsConcurrentComputations floods a Hasher of 2 slots with 12
// parallel checks and counts, through its trace hook, how many run at once.
func TestHasherBoundsConcurrentComputations(t *testing.T) {
	hash, err := auth.HashPassword("right password 1")
	if err != nil {
		t.Fatal(err)
	}
	h := auth.NewHasher(2, time.Minute)
	var running, peak, total atomic.Int64
	h.Trace = func(d int) {
		n := running.Add(int64(d))
		if d > 0 {
			total.Add(1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
		}
	}
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Go(func() {
			switch i % 3 {
			case 0:
				if ok, err := h.Check(context.Background(), hash, "wrong"); ok || err != nil {
					t.Errorf("Check = %v, %v", ok, err)
				}
			case 1:
				if err := h.CheckDummy(context.Background(), "x"); err != nil {
					t.Error(err)
				}
			default:
				if _, err := h.Hash(context.Background(), "some password"); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if p := peak.Load(); p > 2 || p < 1 {
		t.Errorf("%d computations ran at once, want at most 2", p)
	}
	if n := total.Load(); n != 12 {
		t.Errorf("%d computations ran, want 12", n)
	}
}

// TestHasherGivesUp checks that a caller past a full Hasher gets ErrBusy
// after the wait, or its context's error, and never a computation.
func TestHasherGivesUp(t *testing.T) {
	h := auth.NewHasher(1, 30*time.Millisecond)
	release := make(chan struct{})
	var started atomic.Int64
	h.Trace = func(d int) {
		if d > 0 && started.Add(1) == 1 {
			<-release // the first computation holds the only slot
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = h.Hash(context.Background(), "holder")
	}()
	for started.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	if _, err := h.Hash(context.Background(), "late"); !errors.Is(err, auth.ErrBusy) {
		t.Errorf("Hash on a full hasher: %v, want ErrBusy", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Check(ctx, "x", "y"); !errors.Is(err, context.Canceled) {
		t.Errorf("Check with an ended context: %v, want context.Canceled", err)
	}
	if n := started.Load(); n != 1 {
		t.Errorf("%d computations started, want only the holder's", n)
	}
	close(release)
	<-done
}
