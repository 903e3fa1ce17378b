package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"simplesender"
)

// SessionStore keeps login sessions. The database store (store.Sessions) and
// RedisSessions implement it.
type SessionStore interface {
	Create(ctx context.Context, s *simplesender.Session) error
	// Get returns the session or a NotFound error.
	Get(ctx context.Context, idHash string) (*simplesender.Session, error)
	Touch(ctx context.Context, idHash string, at time.Time) error
	Delete(ctx context.Context, idHash string) error
	DeleteUser(ctx context.Context, userID int64) error
}

// RedisSessions keeps sessions in Redis, shared by every instance. Each
// session is a key that expires at the session's absolute end; a set per user
// lists the user's sessions so that all of them can be ended at once.
type RedisSessions struct {
	rdb    redis.UniversalClient
	prefix string
}

// NewRedisSessions returns a Redis session store with keys under prefix.
func NewRedisSessions(rdb redis.UniversalClient, prefix string) *RedisSessions {
	return &RedisSessions{rdb: rdb, prefix: prefix}
}

func (r *RedisSessions) key(h string) string { return r.prefix + "sess:" + h }
func (r *RedisSessions) userKey(id int64) string {
	return r.prefix + "usess:" + strconv.FormatInt(id, 10)
}

// Create implements SessionStore.
func (r *RedisSessions) Create(ctx context.Context, s *simplesender.Session) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	ttl := time.Until(s.ExpiresAt)
	if ttl <= 0 {
		ttl = time.Second
	}
	_, err = r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, r.key(s.IDHash), b, ttl)
		p.SAdd(ctx, r.userKey(s.UserID), s.IDHash)
		p.Expire(ctx, r.userKey(s.UserID), 60*24*time.Hour)
		return nil
	})
	if err != nil {
		return fmt.Errorf("create session in redis: %w", err)
	}
	return nil
}

// Get implements SessionStore.
func (r *RedisSessions) Get(ctx context.Context, idHash string) (*simplesender.Session, error) {
	b, err := r.rdb.Get(ctx, r.key(idHash)).Bytes()
	if err == redis.Nil {
		return nil, simplesender.E(simplesender.KindNotFound, "error.not_found")
	}
	if err != nil {
		return nil, fmt.Errorf("get session from redis: %w", err)
	}
	var s simplesender.Session
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("decode session: %w", err)
	}
	return &s, nil
}

// Touch implements SessionStore.
func (r *RedisSessions) Touch(ctx context.Context, idHash string, at time.Time) error {
	s, err := r.Get(ctx, idHash)
	if err != nil {
		return err
	}
	s.LastSeenAt = at
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return r.rdb.SetArgs(ctx, r.key(idHash), b, redis.SetArgs{KeepTTL: true, Mode: "XX"}).Err()
}

// Delete implements SessionStore.
func (r *RedisSessions) Delete(ctx context.Context, idHash string) error {
	return r.rdb.Del(ctx, r.key(idHash)).Err()
}

// DeleteUser implements SessionStore.
func (r *RedisSessions) DeleteUser(ctx context.Context, userID int64) error {
	ids, err := r.rdb.SMembers(ctx, r.userKey(userID)).Result()
	if err != nil {
		return fmt.Errorf("list user's sessions: %w", err)
	}
	keys := []string{r.userKey(userID)}
	for _, id := range ids {
		keys = append(keys, r.key(id))
	}
	return r.rdb.Del(ctx, keys...).Err()
}
