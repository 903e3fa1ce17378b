package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// allowScript runs one Allow atomically. KEYS[1] is a list of the times, in
// Redis server milliseconds, of the calls allowed in the window, newest first.
// ARGV[1] is the limit and ARGV[2] the window in milliseconds. It returns
// {allowed (0 or 1), remaining, retry after in milliseconds}.
//
// The time comes from the server (TIME), so instances with skewed clocks agree.
// A refused call writes nothing; an allowed one keeps only the calls still in
// the window and sets the key to expire when the newest call leaves it, so no
// key outlives its window. TIME before a write needs scripts replicated by
// effects, the default since Redis 5.
const allowScript = `
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local events = redis.call('LRANGE', key, 0, limit - 1)
if #events > 0 and tonumber(events[1]) > now then
  -- The server clock went backwards: judge from the newest call.
  now = tonumber(events[1])
end
local n = 0
while n < #events and tonumber(events[n + 1]) > now - window do
  n = n + 1
end
if n >= limit then
  return {0, 0, tonumber(events[limit]) + window - now}
end
redis.call('LPUSH', key, now)
redis.call('LTRIM', key, 0, n)
redis.call('PEXPIRE', key, window)
return {1, limit - n - 1, 0}
`

// Redis is a Limiter that keeps its state in Redis, so every instance using the
// same Redis and prefix shares the limits. It is safe for concurrent use.
type Redis struct {
	client redis.UniversalClient
	prefix string
	script *redis.Script
}

// NewRedis returns a Redis limiter that stores the calls for (rule.Name, key)
// under the Redis key prefix+rule.Name+":"+key (keys longer than 64 bytes are
// hashed). Instances that must share limits use the same prefix, for example
// "simplesender:ratelimit:".
func NewRedis(client redis.UniversalClient, prefix string) *Redis {
	return &Redis{client: client, prefix: prefix, script: redis.NewScript(allowScript)}
}

// Allow counts a call for (rule.Name, key) and allows it if fewer than
// rule.Limit calls were allowed in the last rule.Window, as timed by the Redis
// server (see the package doc). The window is rounded up to a millisecond. It
// returns an error for an invalid rule or when Redis fails or cannot be
// reached; the caller decides whether to fail open.
func (r *Redis) Allow(ctx context.Context, rule Rule, key string) (Decision, error) {
	if err := rule.validate(); err != nil {
		return Decision{}, err
	}
	window := rule.Window.Milliseconds()
	if time.Duration(window)*time.Millisecond < rule.Window {
		window++
	}
	// Run tries EVALSHA and falls back to EVAL when the script is not cached.
	res, err := r.script.Run(ctx, r.client, []string{r.key(rule, key)}, rule.Limit, window).Int64Slice()
	if err != nil {
		return Decision{}, fmt.Errorf("ratelimit: redis: rule %q: %w", rule.Name, err)
	}
	if len(res) != 3 {
		return Decision{}, fmt.Errorf("ratelimit: redis: rule %q: script returned %d values, want 3", rule.Name, len(res))
	}
	if res[0] == 1 {
		return Decision{Allowed: true, Remaining: int(res[1])}, nil
	}
	return Decision{RetryAfter: clampRetry(time.Duration(res[2])*time.Millisecond, rule.Window)}, nil
}

// Reset forgets the calls counted for (rule.Name, key). It returns an error for
// an invalid rule or when Redis fails or cannot be reached.
func (r *Redis) Reset(ctx context.Context, rule Rule, key string) error {
	if err := rule.validate(); err != nil {
		return err
	}
	if err := r.client.Del(ctx, r.key(rule, key)).Err(); err != nil {
		return fmt.Errorf("ratelimit: redis: reset rule %q: %w", rule.Name, err)
	}
	return nil
}

// Refund forgets the newest call counted for (rule.Name, key), if any (the
// list keeps the newest call first). It returns an error for an invalid rule
// or when Redis fails or cannot be reached.
func (r *Redis) Refund(ctx context.Context, rule Rule, key string) error {
	if err := rule.validate(); err != nil {
		return err
	}
	if err := r.client.LPop(ctx, r.key(rule, key)).Err(); err != nil && err != redis.Nil {
		return fmt.Errorf("ratelimit: redis: refund rule %q: %w", rule.Name, err)
	}
	return nil
}

// key returns the Redis key for (rule.Name, key).
func (r *Redis) key(rule Rule, key string) string {
	return r.prefix + storageKey(rule, key)
}
