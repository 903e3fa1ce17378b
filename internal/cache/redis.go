package cache

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a cache in Redis, shared by every instance that uses the same
// server and prefix: a bump in one instance (INCR) changes the stamp every
// other instance reads on its next request.
//
// When Redis does not answer, the cache turns itself off: reads miss, writes
// and bumps are skipped, Stamp is not ok, Status is "redis-down", and the
// outage is logged at most once a minute. A background probe tries again
// every second; when Redis answers it first advances a global epoch that is
// part of every stamp, which retires everything cached before the outage
// (bumps may have been lost meanwhile, or Redis restarted from an old
// snapshot), and then turns the cache back on.
type Redis struct {
	rdb     redis.UniversalClient
	prefix  string
	log     *slog.Logger
	timeout time.Duration

	mu      sync.Mutex
	down    bool
	probing bool
	missed  int       // bumps skipped while down
	logged  time.Time // last outage message
	closed  chan struct{}
	once    sync.Once
}

// NewRedis returns a cache on rdb whose keys all start with prefix (such as
// "ss:c:"). log may be nil.
func NewRedis(rdb redis.UniversalClient, prefix string, log *slog.Logger) *Redis {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Redis{rdb: rdb, prefix: prefix, log: log, timeout: 500 * time.Millisecond, closed: make(chan struct{})}
}

// Close stops the background probe, if one runs. It does not close rdb.
func (r *Redis) Close() { r.once.Do(func() { close(r.closed) }) }

func (r *Redis) up() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.down
}

// failed notes an error from Redis: unless it was the caller's own context
// ending, the cache goes down until the probe finds Redis again.
func (r *Redis) failed(ctx context.Context, err error) {
	if err == nil || errors.Is(err, redis.Nil) || ctx.Err() != nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.down = true
	if time.Since(r.logged) >= time.Minute {
		r.logged = time.Now()
		r.log.Warn("cache: redis unavailable; serving without cache until it answers", "err", err)
	}
	if !r.probing {
		r.probing = true
		go r.probe()
	}
}

// probe tries Redis once a second until it answers, then advances the epoch
// and turns the cache back on.
func (r *Redis) probe() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-r.closed:
			r.mu.Lock()
			r.probing = false
			r.mu.Unlock()
			return
		case <-t.C:
		}
		r.mu.Lock()
		missed := r.missed
		r.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
		err := r.rdb.Incr(ctx, r.prefix+"v:epoch").Err()
		cancel()
		if err != nil {
			continue
		}
		r.mu.Lock()
		if r.missed != missed {
			// A bump was skipped after the epoch moved: move it again.
			r.mu.Unlock()
			continue
		}
		r.down, r.probing = false, false
		r.mu.Unlock()
		r.log.Info("cache: redis answers again; caching resumed")
		return
	}
}

func (r *Redis) opCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, r.timeout)
}

// Get returns the value under key; a miss when Redis is down.
func (r *Redis) Get(ctx context.Context, key string) ([]byte, bool) {
	if !r.up() {
		return nil, false
	}
	octx, cancel := r.opCtx(ctx)
	defer cancel()
	b, err := r.rdb.Get(octx, r.prefix+"d:"+key).Bytes()
	if err != nil {
		r.failed(ctx, err)
		return nil, false
	}
	return b, true
}

// Set stores value under key for ttl; nothing when Redis is down.
func (r *Redis) Set(ctx context.Context, key string, value []byte, ttl time.Duration) {
	if ttl <= 0 || !r.up() {
		return
	}
	octx, cancel := r.opCtx(ctx)
	defer cancel()
	r.failed(ctx, r.rdb.Set(octx, r.prefix+"d:"+key, value, ttl).Err())
}

// Stamp reads the epoch and the versions of scopes in one round trip.
func (r *Redis) Stamp(ctx context.Context, scopes ...string) (string, bool) {
	if !r.up() {
		return "", false
	}
	keys := make([]string, 0, len(scopes)+1)
	keys = append(keys, r.prefix+"v:epoch")
	for _, s := range scopes {
		keys = append(keys, r.prefix+"v:"+s)
	}
	octx, cancel := r.opCtx(ctx)
	defer cancel()
	vals, err := r.rdb.MGet(octx, keys...).Result()
	if err != nil {
		r.failed(ctx, err)
		return "", false
	}
	var b strings.Builder
	b.WriteByte('r')
	for _, v := range vals {
		b.WriteByte('.')
		if s, ok := v.(string); ok {
			b.WriteString(s)
		} else {
			b.WriteByte('0')
		}
	}
	return b.String(), true
}

// Bump increments the versions of scopes. When Redis is down the bump is
// not lost: the epoch advances when Redis answers again.
func (r *Redis) Bump(ctx context.Context, scopes ...string) {
	if len(scopes) == 0 {
		return
	}
	r.mu.Lock()
	if r.down {
		r.missed++
		r.mu.Unlock()
		return
	}
	r.mu.Unlock()
	bctx := context.WithoutCancel(ctx) // a write happened: its bump must not be cut short
	octx, cancel := r.opCtx(bctx)
	defer cancel()
	_, err := r.rdb.Pipelined(octx, func(p redis.Pipeliner) error {
		for _, s := range scopes {
			p.Incr(octx, r.prefix+"v:"+s)
		}
		return nil
	})
	r.failed(bctx, err)
}

// Status is "redis", or "redis-down" while Redis does not answer.
func (r *Redis) Status() string {
	if r.up() {
		return "redis"
	}
	return "redis-down"
}
