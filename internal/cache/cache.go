// Package cache keeps computed results for a short time, in this process's
// memory (Memory) or in Redis shared by every instance (Redis), behind one
// small interface.
//
// Invalidation works by version stamps rather than by deleting keys: a write
// that changes a figure bumps its scopes (for example one user's, and the
// one of the staff's views of everyone), and readers put the stamp of the
// scopes they depend on into their keys, so after a bump every older key is
// never read again and simply ages out. A reader must take the stamp before
// it reads the data it will store, and a writer must bump after its
// transaction commits; then no stale value can be stored under a new stamp.
//
// The package knows nothing of users or roles; the caller (package app)
// builds the keys and decides who may read what.
package cache

import (
	"context"
	"time"
)

// Cache stores byte values under string keys for a while, and version stamps
// that retire whole groups of keys at once. Implementations are safe for
// concurrent use. None of the methods fails: a cache that cannot be reached
// behaves as an empty one, and Stamp says so.
type Cache interface {
	// Get returns the value stored under key, if any.
	Get(ctx context.Context, key string) ([]byte, bool)
	// Set stores value under key for ttl (at most; it may be evicted sooner).
	Set(ctx context.Context, key string, value []byte, ttl time.Duration)
	// Stamp returns a token that changes whenever one of scopes is bumped.
	// ok is false when the cache cannot tell (Redis unreachable): then the
	// caller must neither read nor write cached values.
	Stamp(ctx context.Context, scopes ...string) (stamp string, ok bool)
	// Bump moves scopes on. When it returns, every Stamp of those scopes
	// (in every instance sharing the cache) gives a new token.
	Bump(ctx context.Context, scopes ...string)
	// Status says which cache this is and whether it works: "memory",
	// "redis", "redis-down" or "off".
	Status() string
}

// None is a cache that keeps nothing (for measuring the uncached path).
type None struct{}

// Get finds nothing.
func (None) Get(context.Context, string) ([]byte, bool) { return nil, false }

// Set keeps nothing.
func (None) Set(context.Context, string, []byte, time.Duration) {}

// Stamp is never ok, so nothing is cached.
func (None) Stamp(context.Context, ...string) (string, bool) { return "", false }

// Bump does nothing.
func (None) Bump(context.Context, ...string) {}

// Status is "off".
func (None) Status() string { return "off" }
