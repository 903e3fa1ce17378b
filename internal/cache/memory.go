package cache

import (
	"container/list"
	"context"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Memory is an in-process cache: least recently used entries are dropped
// once the values exceed a byte budget, and each entry expires after its
// TTL. Its versions live in this process only, so several instances each
// with a Memory cache do not see each other's bumps (use Redis for that).
type Memory struct {
	mu       sync.Mutex
	max      int64
	size     int64
	lru      *list.List // front: most recently used
	items    map[string]*list.Element
	versions map[string]uint64
	now      func() time.Time
}

type memEntry struct {
	key     string
	value   []byte
	expires time.Time
}

// entryOverhead approximates the bookkeeping bytes of one entry.
const entryOverhead = 96

// NewMemory returns a Memory cache holding up to maxBytes of keys and values
// (64 MiB when maxBytes <= 0). A single value larger than an eighth of that
// is not kept.
func NewMemory(maxBytes int64) *Memory {
	if maxBytes <= 0 {
		maxBytes = 64 << 20
	}
	return &Memory{max: maxBytes, lru: list.New(), items: map[string]*list.Element{},
		versions: map[string]uint64{}, now: time.Now}
}

// SetClock replaces the clock used for expiry (tests).
func (m *Memory) SetClock(now func() time.Time) {
	m.mu.Lock()
	m.now = now
	m.mu.Unlock()
}

// Get returns the value under key unless it expired. The caller must not
// change the returned slice.
func (m *Memory) Get(_ context.Context, key string) ([]byte, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	el := m.items[key]
	if el == nil {
		return nil, false
	}
	e := el.Value.(*memEntry)
	if !m.now().Before(e.expires) {
		m.remove(el)
		return nil, false
	}
	m.lru.MoveToFront(el)
	return e.value, true
}

// Set stores value under key for ttl, evicting the least recently used
// entries when over budget.
func (m *Memory) Set(_ context.Context, key string, value []byte, ttl time.Duration) {
	cost := int64(len(key) + len(value) + entryOverhead)
	if ttl <= 0 || cost > m.max/8 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if el := m.items[key]; el != nil {
		m.remove(el)
	}
	m.items[key] = m.lru.PushFront(&memEntry{key: key, value: value, expires: m.now().Add(ttl)})
	m.size += cost
	for m.size > m.max {
		m.remove(m.lru.Back())
	}
}

func (m *Memory) remove(el *list.Element) {
	e := m.lru.Remove(el).(*memEntry)
	delete(m.items, e.key)
	m.size -= int64(len(e.key) + len(e.value) + entryOverhead)
}

// Len returns the number of entries held (expired ones included until they
// are met).
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lru.Len()
}

// Stamp joins the versions of scopes; it is always ok.
func (m *Memory) Stamp(_ context.Context, scopes ...string) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var b strings.Builder
	b.WriteByte('m')
	for _, s := range scopes {
		b.WriteByte('.')
		b.WriteString(strconv.FormatUint(m.versions[s], 10))
	}
	return b.String(), true
}

// Bump advances the versions of scopes. There is one counter per scope ever
// bumped (a few per user), so they are kept for the process's life.
func (m *Memory) Bump(_ context.Context, scopes ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range scopes {
		m.versions[s]++
	}
}

// Status is "memory".
func (m *Memory) Status() string { return "memory" }
