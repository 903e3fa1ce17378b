package auth

import (
	"context"
	"errors"
	"runtime"
	"time"
)

// ErrBusy is returned by a Hasher when no computation slot freed within its
// wait: the service is flooded with password checks.
var ErrBusy = errors.New("auth: too many password computations at once")

// Hasher runs the argon2id computations of hashing and checking passwords, at
// most a fixed number at once. Each computation takes about 19 MiB, so the
// bound caps the memory a flood of logins (or registrations, resets, password
// changes) can take, whatever the number of clients; callers past it wait for a
// slot, as long as their context lives and at most the Hasher's wait, and
// then get ErrBusy. It is safe for concurrent use.
type Hasher struct {
	slots   chan struct{}
	maxWait time.Duration
	// Trace, when not nil, is called with +1 just before a computation
	// starts and -1 just after it ends (tests count the computations
	// running at once). It must be safe for concurrent use.
	Trace func(delta int)
}

// DefaultHashLimit is the number of computations a Hasher made by the
// service runs at once: one per CPU, at least 2 and at most 8 (152 MiB).
func DefaultHashLimit() int { return min(max(runtime.GOMAXPROCS(0), 2), 8) }

// NewHasher returns a Hasher that runs at most limit computations at once
// (at least 1) and lets a caller wait at most maxWait for a slot (a minimum of
// one millisecond).
func NewHasher(limit int, maxWait time.Duration) *Hasher {
	return &Hasher{slots: make(chan struct{}, max(limit, 1)), maxWait: max(maxWait, time.Millisecond)}
}

// Limit returns the most computations the Hasher runs at once.
func (h *Hasher) Limit() int { return cap(h.slots) }

// Hash returns an argon2id hash of password (see HashPassword). Errors:
// ErrBusy, or ctx's error when it ends while waiting.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	return HashPassword(password)
}

// Check reports whether password matches hash (see CheckPassword). Errors:
// ErrBusy, ctx's error, or an error for a malformed hash.
func (h *Hasher) Check(ctx context.Context, hash, password string) (bool, error) {
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer h.release()
	return CheckPassword(hash, password)
}

// CheckDummy spends the time of one password check, for an address that has
// no account, so that the answer takes as long as for one that has. Errors:
// ErrBusy, or ctx's error.
func (h *Hasher) CheckDummy(ctx context.Context, password string) error {
	if err := h.acquire(ctx); err != nil {
		return err
	}
	defer h.release()
	CheckDummy(password)
	return nil
}

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
	default:
		t := time.NewTimer(h.maxWait)
		defer t.Stop()
		select {
		case h.slots <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return ErrBusy
		}
	}
	if h.Trace != nil {
		h.Trace(+1)
	}
	return nil
}

func (h *Hasher) release() {
	if h.Trace != nil {
		h.Trace(-1)
	}
	<-h.slots
}
