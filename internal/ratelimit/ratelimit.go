// Package ratelimit throttles attempts such as logins, registrations, password
// resets and confirmation resends, per IP address and per account.
//
// # Algorithm
//
// Both limiters use an exact sliding window (a "sliding log"): for every
// (rule name, key) pair they remember the times of the calls they allowed
// during the last Window. A call is allowed, and its time recorded, when fewer
// than Limit calls were allowed during the Window that ends now; otherwise it
// is refused and nothing is recorded. So at most Limit calls are allowed in any
// interval of length Window, a refused call never extends the lock-out, and
// RetryAfter on a refusal is the time until the oldest remembered call leaves
// the window and frees a slot (always in (0, Window]). Slots free one at a
// time, so a caller who waits RetryAfter gets one more attempt, not a fresh
// burst of Limit.
//
// Memory per (rule, key) is at most Limit timestamps, so rules are meant for
// small limits (tens, not thousands), which is what attempt throttling needs.
//
// # Implementations
//
// Memory keeps the state in process, for a single instance. Redis keeps it in
// Redis, updated atomically by a Lua script and timed by the Redis server's
// clock, so all instances sharing a Redis share the limits even when their own
// clocks disagree.
//
// Keys may be user input; they are only ever used as data, and keys longer
// than 64 bytes are replaced by their SHA-256. The service gives keyed hashes
// of e-mail and IP addresses as keys (package app), so that no address is
// ever stored here or in Redis.
package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Rule is a named limit: at most Limit allowed calls per Window for each key.
// Name identifies the rule in storage, so two rules with different names never
// share counts; it must be non-empty and must not contain ':'. Limit must be at
// least 1 and Window at least one millisecond.
type Rule struct {
	Name   string
	Limit  int
	Window time.Duration
}

// Decision is the outcome of Limiter.Allow.
type Decision struct {
	// Allowed reports whether the call may proceed; if so it was counted.
	Allowed bool
	// Remaining is how many more calls the key may make now: 0 when refused.
	Remaining int
	// RetryAfter is, when refused, the time until one slot frees; it is in
	// (0, rule.Window]. It is zero when allowed.
	RetryAfter time.Duration
}

// Limiter decides whether a call may proceed under a rule; Memory and Redis
// implement it.
//
// Allow counts the call for (rule.Name, key) and allows it if fewer than
// rule.Limit calls were allowed in the last rule.Window; a refused call is not
// counted. Reset forgets every call counted for (rule.Name, key), for example
// the failed-login counter of an account after a successful login. Refund
// forgets the newest call counted for (rule.Name, key), if any: a caller that
// counts every attempt up front (so that parallel attempts cannot slip past
// the limit) and only means to limit failures refunds the attempts that
// succeeded.
//
// All return an error, never a refusal, when the rule is invalid or the
// storage cannot be reached; the caller decides whether to fail open and log.
type Limiter interface {
	Allow(ctx context.Context, rule Rule, key string) (Decision, error)
	Reset(ctx context.Context, rule Rule, key string) error
	Refund(ctx context.Context, rule Rule, key string) error
}

// maxRawKey is the longest key stored as is; longer keys are hashed so that
// neither memory nor Redis key names grow with user input.
const maxRawKey = 64

// validate reports why r cannot be used, if it cannot.
func (r Rule) validate() error {
	switch {
	case r.Name == "":
		return errors.New("ratelimit: rule has no name")
	case strings.Contains(r.Name, ":"):
		return fmt.Errorf("ratelimit: rule name %q contains ':'", r.Name)
	case r.Limit < 1:
		return fmt.Errorf("ratelimit: rule %q: limit %d is below 1", r.Name, r.Limit)
	case r.Window < time.Millisecond:
		return fmt.Errorf("ratelimit: rule %q: window %v is below 1ms", r.Name, r.Window)
	}
	return nil
}

// storageKey returns the name under which the calls for (r.Name, key) are kept:
// "name:key", with keys longer than maxRawKey replaced by "sha256:" and their
// hex digest. A hashed form is longer than maxRawKey, so it never equals a raw
// key, and names cannot contain ':', so two (name, key) pairs never collide.
func storageKey(r Rule, key string) string {
	if len(key) > maxRawKey {
		sum := sha256.Sum256([]byte(key))
		key = "sha256:" + hex.EncodeToString(sum[:])
	}
	return r.Name + ":" + key
}

// clampRetry keeps a computed wait within (0, window]: a clock that moved
// backwards could otherwise ask for more than a window, and rounding for zero.
func clampRetry(d, window time.Duration) time.Duration {
	if d <= 0 {
		return time.Millisecond
	}
	return min(d, window)
}
