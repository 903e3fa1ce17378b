package auth_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"simplesender"
	"simplesender/internal/auth"
)

func TestPasswordHashing(t *testing.T) {
	h, err := auth.HashPassword("Пароль со словами 1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q is not argon2id with the chosen parameters", h)
	}
	h2, _ := auth.HashPassword("Пароль со словами 1")
	if h == h2 {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	for pw, want := range map[string]bool{"Пароль со словами 1": true, "Пароль со словами 2": false, "": false} {
		if ok, err := auth.CheckPassword(h, pw); ok != want || err != nil {
			t.Errorf("CheckPassword(%q) = %v, %v; want %v", pw, ok, err, want)
		}
	}
	if _, err := auth.CheckPassword("$2a$12$bcrypt", "x"); err == nil {
		t.Error("a foreign hash format was accepted")
	}
}

func TestValidatePassword(t *testing.T) {
	cases := []struct {
		pw, email, want string
	}{
		{"short1", "a@example.com", "error.password.too_short"},
		{"1234567890", "a@example.com", "error.password.all_digits"},
		{"password1", "a@example.com", "error.password.common"},
		{"QWERTY123", "a@example.com", "error.password.common"},
		{"ivan.petrov@mail.ru", "ivan.petrov@mail.ru", "error.password.like_email"},
		{"ivan.petrov1", "ivan.petrov@mail.ru", "error.password.like_email"},
		{"ivan.petrov2024", "ivan.petrov@mail.ru", "error.password.like_email"},
		{"purple-kettle-42", "ivan.petrov@mail.ru", ""},
		{"ёжик в тумане", "a@example.com", ""},
	}
	for _, c := range cases {
		err := auth.ValidatePassword(c.pw, c.email)
		got := ""
		if err != nil {
			got = simplesender.AsError(err).Fields["password"]
		}
		if got != c.want {
			t.Errorf("ValidatePassword(%q, %q) = %q, want %q", c.pw, c.email, got, c.want)
		}
	}
}

func TestTokens(t *testing.T) {
	a, b := auth.NewToken("ss_"), auth.NewToken("ss_")
	if a == b || !strings.HasPrefix(a, "ss_") || len(a) < 40 {
		t.Fatalf("tokens %q %q", a, b)
	}
	if auth.HashToken(a) == a || auth.HashToken(a) != auth.HashToken(a) || len(auth.HashToken(a)) != 64 {
		t.Fatal("HashToken is not a stable SHA-256 hex")
	}
}

// TestRedisSessions runs when SIMPLESENDER_TEST_REDIS_URL is set (CI).
func TestRedisSessions(t *testing.T) {
	u := os.Getenv("SIMPLESENDER_TEST_REDIS_URL")
	if u == "" {
		t.Skip("SIMPLESENDER_TEST_REDIS_URL not set")
	}
	o, err := redis.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(o)
	defer rdb.Close()
	ctx := context.Background()
	prefix := "test:" + auth.NewToken("")[:10] + ":"
	ss := auth.NewRedisSessions(rdb, prefix)
	now := time.Now().UTC()
	for _, id := range []string{"a", "b"} {
		if err := ss.Create(ctx, &simplesender.Session{IDHash: id, UserID: 7, AuthVersion: 1, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ss.Get(ctx, "a")
	if err != nil || got.UserID != 7 {
		t.Fatalf("Get: %+v %v", got, err)
	}
	if ttl := rdb.TTL(ctx, prefix+"sess:a").Val(); ttl <= 0 || ttl > time.Hour {
		t.Fatalf("session key TTL %v: it must expire with the session", ttl)
	}
	later := now.Add(time.Minute)
	if err := ss.Touch(ctx, "a", later); err != nil {
		t.Fatal(err)
	}
	if got, _ := ss.Get(ctx, "a"); !got.LastSeenAt.Equal(later) {
		t.Fatalf("Touch not saved: %v", got.LastSeenAt)
	}
	if err := ss.DeleteUser(ctx, 7); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b"} {
		if _, err := ss.Get(ctx, id); !simplesender.IsKind(err, simplesender.KindNotFound) {
			t.Fatalf("session %s survived DeleteUser: %v", id, err)
		}
	}
}
