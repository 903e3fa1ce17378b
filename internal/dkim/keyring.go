package dkim

import (
	"context"
	"sync"
	"time"

	"simplesender"
)

// LoadFunc returns the active keys of owner's verified domain (none when
// the domain has none or is not verified).
type LoadFunc func(ctx context.Context, owner int64, domain string) ([]*simplesender.DKIMKey, error)

// Keyring keeps a parsed Signer per owner and domain for TTL, so that
// sending a message never opens or parses a key; Forget drops one at once
// (after a change of keys in this process). It is safe for concurrent use.
type Keyring struct {
	load   LoadFunc
	sealer *Sealer
	ttl    time.Duration
	now    func() time.Time

	mu      sync.Mutex
	entries map[ringKey]*ringEntry
}

type ringKey struct {
	owner  int64
	domain string
}

type ringEntry struct {
	signer *Signer // nil: nothing to sign with
	err    error   // a key that cannot be opened or parsed
	until  time.Time
}

// NewKeyring returns a Keyring loading keys with load and opening them with
// sealer; signers are kept for ttl (default 30 s), after which a change of
// keys made by another instance is seen.
func NewKeyring(sealer *Sealer, load LoadFunc, ttl time.Duration) *Keyring {
	if ttl <= 0 {
		ttl = 30 * time.Second
	}
	return &Keyring{load: load, sealer: sealer, ttl: ttl, now: time.Now, entries: map[ringKey]*ringEntry{}}
}

// Signer returns the signer of owner's domain, nil when it has no active
// key. Errors: those of the load (not kept: tried again next time), and a
// key that cannot be opened (kept for the TTL, like a signer).
func (r *Keyring) Signer(ctx context.Context, owner int64, domain string) (*Signer, error) {
	k := ringKey{owner, domain}
	now := r.now()
	r.mu.Lock()
	e := r.entries[k]
	r.mu.Unlock()
	if e != nil && now.Before(e.until) {
		return e.signer, e.err
	}
	keys, err := r.load(ctx, owner, domain)
	if err != nil {
		return nil, err
	}
	e = &ringEntry{until: now.Add(r.ttl)}
	if len(keys) > 0 {
		parsed := make([]Key, 0, len(keys))
		for _, dk := range keys {
			pk, err := r.sealer.ParseKey(dk)
			if err != nil {
				e.err = err
				break
			}
			parsed = append(parsed, pk)
		}
		if e.err == nil {
			e.signer = NewSigner(domain, parsed)
		}
	}
	r.mu.Lock()
	if len(r.entries) > 10000 {
		clear(r.entries)
	}
	r.entries[k] = e
	r.mu.Unlock()
	return e.signer, e.err
}

// Sign returns the DKIM-Signature fields for msg from owner's domain, or
// nil when the domain has no active key. Errors: those of Signer and of
// signing.
func (r *Keyring) Sign(ctx context.Context, owner int64, domain string, msg []byte) ([]byte, error) {
	s, err := r.Signer(ctx, owner, domain)
	if s == nil || err != nil {
		return nil, err
	}
	return s.Sign(msg)
}

// Forget drops the kept signer of owner's domain.
func (r *Keyring) Forget(owner int64, domain string) {
	r.mu.Lock()
	delete(r.entries, ringKey{owner, domain})
	r.mu.Unlock()
}
