package ratelimit

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// defaultMaxKeys bounds the number of (rule, key) pairs a Memory tracks. With
// small limits this is a few tens of megabytes at most.
const defaultMaxKeys = 100_000

// Memory is a Limiter that keeps its state in process. It suits a single
// instance; several instances each count on their own. It is safe for
// concurrent use.
//
// Its memory is bounded: a pair whose calls have all left their window is
// dropped on a later call, and at most 100,000 pairs are tracked. When that
// many are live and a new key arrives, the pair whose window ends soonest is
// forgotten, so a flood of distinct keys (random IP addresses) costs bounded
// memory; the price is that such a flood can shorten other keys' lock-outs.
type Memory struct {
	clock   func() time.Time
	maxKeys int

	mu      sync.Mutex
	entries map[string]*entry
	expiry  expiryHeap // the entries, soonest expiry first
}

// entry holds the allowed calls of one (rule, key) pair.
type entry struct {
	key     string
	events  []int64 // Unix nanoseconds of allowed calls in the window, oldest first
	expires int64   // when the newest call leaves the window; the entry is then empty
	index   int     // position in Memory.expiry
}

// NewMemory returns an empty Memory that reads the time from clock, or from
// time.Now if clock is nil. Tests pass a fake clock to move time on.
func NewMemory(clock func() time.Time) *Memory {
	if clock == nil {
		clock = time.Now
	}
	return &Memory{
		clock:   clock,
		maxKeys: defaultMaxKeys,
		entries: make(map[string]*entry),
	}
}

// Allow counts a call for (rule.Name, key) and allows it if fewer than
// rule.Limit calls were allowed in the last rule.Window (see the package doc).
// It returns an error only for an invalid rule.
func (m *Memory) Allow(_ context.Context, rule Rule, key string) (Decision, error) {
	if err := rule.validate(); err != nil {
		return Decision{}, err
	}
	k := storageKey(rule, key)
	window := int64(rule.Window)

	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clock().UnixNano()
	m.sweep(now)

	e := m.entries[k]
	if e == nil {
		if len(m.entries) >= m.maxKeys {
			// sweep left only live entries: forget the one that would go first.
			m.remove(m.expiry[0])
		}
		e = &entry{key: k}
		m.entries[k] = e
		heap.Push(&m.expiry, e)
	}
	if n := len(e.events); n > 0 && now < e.events[n-1] {
		// The clock went backwards; keep the log ordered and judge from its end.
		now = e.events[n-1]
	}

	// Drop the calls that have left the window, reusing the backing array.
	i := 0
	for i < len(e.events) && e.events[i] <= now-window {
		i++
	}
	e.events = append(e.events[:0], e.events[i:]...)

	if n := len(e.events); n >= rule.Limit {
		// The Limit-th newest call is the one whose departure frees a slot
		// (the log is longer than Limit only if the rule's limit was lowered).
		oldest := e.events[n-rule.Limit]
		return Decision{RetryAfter: clampRetry(time.Duration(oldest+window-now), rule.Window)}, nil
	}
	e.events = append(e.events, now)
	e.expires = now + window
	heap.Fix(&m.expiry, e.index)
	return Decision{Allowed: true, Remaining: rule.Limit - len(e.events)}, nil
}

// Reset forgets the calls counted for (rule.Name, key). It returns an error
// only for an invalid rule.
func (m *Memory) Reset(_ context.Context, rule Rule, key string) error {
	if err := rule.validate(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if e := m.entries[storageKey(rule, key)]; e != nil {
		m.remove(e)
	}
	return nil
}

// Refund forgets the newest call counted for (rule.Name, key), if any. It
// returns an error only for an invalid rule.
func (m *Memory) Refund(_ context.Context, rule Rule, key string) error {
	if err := rule.validate(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.entries[storageKey(rule, key)]
	if e == nil {
		return nil
	}
	if len(e.events) <= 1 {
		m.remove(e)
		return nil
	}
	e.events = e.events[:len(e.events)-1]
	e.expires = e.events[len(e.events)-1] + int64(rule.Window)
	heap.Fix(&m.expiry, e.index)
	return nil
}

// sweep drops the entries whose calls have all left their window. Each entry is
// swept once, so the cost is amortised over the calls that created them.
func (m *Memory) sweep(now int64) {
	for len(m.expiry) > 0 && m.expiry[0].expires <= now {
		m.remove(m.expiry[0])
	}
}

// remove forgets e.
func (m *Memory) remove(e *entry) {
	heap.Remove(&m.expiry, e.index)
	delete(m.entries, e.key)
}

// expiryHeap orders entries by expiry time, soonest first (container/heap).
type expiryHeap []*entry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].expires < h[j].expires }

func (h expiryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}

func (h *expiryHeap) Push(x any) {
	e := x.(*entry)
	e.index = len(*h)
	*h = append(*h, e)
}

func (h *expiryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}
