package store_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"simplesender"
	"simplesender/internal/store"
	"simplesender/internal/store/storetest"
)

func newUser(email string) *simplesender.User {
	return &simplesender.User{Email: email, Name: "Иван", PasswordHash: "x", Role: simplesender.RoleUser}
}

// createUser stores newUser(email) through s.
func createUser(t testing.TB, s *store.Store, email string) *simplesender.User {
	t.Helper()
	u := newUser(email)
	if err := s.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestUsers(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, url string) {
		db := storetest.Open(t, url)
		s := db.Store()
		u := createUser(t, s, "ivan@example.com")
		if err := s.CreateUser(ctx, newUser("ivan@example.com")); !simplesender.IsKind(err, simplesender.KindConflict) {
			t.Fatalf("second account with the same address: got %v, want Conflict", err)
		}
		got, err := s.UserByEmail(ctx, "ivan@example.com")
		if err != nil || got.ID != u.ID || got.Name != "Иван" || got.Status() != simplesender.StatusPending {
			t.Fatalf("UserByEmail = %+v, %v", got, err)
		}
		if _, err := s.UserByID(ctx, 999999); !simplesender.IsKind(err, simplesender.KindNotFound) {
			t.Fatalf("missing user: got %v, want NotFound", err)
		}
		if err := s.Confirm(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.SetBlocked(ctx, u.ID, true); err != nil {
			t.Fatal(err)
		}
		got, _ = s.UserByID(ctx, u.ID)
		if got.Status() != simplesender.StatusBlocked || got.AuthVersion != u.AuthVersion+1 {
			t.Fatalf("after block: status %s, version %d", got.Status(), got.AuthVersion)
		}
		// Confirming again (a stale link) must not unblock.
		if err := s.Confirm(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		got, _ = s.UserByID(ctx, u.ID)
		if got.Status() != simplesender.StatusBlocked {
			t.Fatalf("confirm unblocked the user: %s", got.Status())
		}
		if err := s.SetBlocked(ctx, u.ID, false); err != nil {
			t.Fatal(err)
		}
		got, _ = s.UserByID(ctx, u.ID)
		if got.Status() != simplesender.StatusActive {
			t.Fatalf("after unblock: %s, want active", got.Status())
		}
		for _, e := range []string{"anna@example.com", "pyotr_100%@example.com"} {
			if err := s.CreateUser(ctx, newUser(e)); err != nil {
				t.Fatal(err)
			}
		}
		list, total, err := s.ListUsers(ctx, store.UserFilter{Query: "100%"})
		if err != nil || total != 1 || len(list) != 1 || list[0].Email != "pyotr_100%@example.com" {
			t.Fatalf("search with a wildcard character: %d users, total %d, %v", len(list), total, err)
		}
		_, total, _ = s.ListUsers(ctx, store.UserFilter{Status: simplesender.StatusPending})
		if total != 2 {
			t.Fatalf("pending users = %d, want 2", total)
		}
	})
}

func TestOneTimeTokens(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, url string) {
		db := storetest.Open(t, url)
		now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		db.SetClock(func() time.Time { return now })
		s := db.Store()
		u := createUser(t, s, "t@example.com")
		tok := &store.OneTimeToken{UserID: u.ID, Purpose: "confirm", Hash: "h1", ExpiresAt: now.Add(48 * time.Hour)}
		if err := s.CreateOneTimeToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UseOneTimeToken(ctx, "reset", "h1"); err == nil {
			t.Fatal("a confirmation token worked as a reset token")
		}
		if got, err := s.UseOneTimeToken(ctx, "confirm", "h1"); err != nil || got.UserID != u.ID {
			t.Fatalf("first use: %v", err)
		}
		if _, err := s.UseOneTimeToken(ctx, "confirm", "h1"); !simplesender.IsKind(err, simplesender.KindNotFound) {
			t.Fatalf("second use: got %v, want NotFound", err)
		}
		late := &store.OneTimeToken{UserID: u.ID, Purpose: "confirm", Hash: "h2", ExpiresAt: now.Add(time.Hour)}
		if err := s.CreateOneTimeToken(ctx, late); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Hour + time.Second)
		if _, err := s.UseOneTimeToken(ctx, "confirm", "h2"); !simplesender.IsKind(err, simplesender.KindNotFound) {
			t.Fatalf("expired token: got %v, want NotFound", err)
		}
	})
}

func TestSessionsAndAPITokens(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, url string) {
		db := storetest.Open(t, url)
		s := db.Store()
		u := createUser(t, s, "s@example.com")
		now := db.Now()
		ss := db.Sessions()
		sess := &simplesender.Session{IDHash: "abc", UserID: u.ID, AuthVersion: 1, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := ss.Create(ctx, sess); err != nil {
			t.Fatal(err)
		}
		got, err := ss.Get(ctx, "abc")
		if err != nil || got.UserID != u.ID || !got.ExpiresAt.Equal(sess.ExpiresAt) {
			t.Fatalf("Get = %+v, %v", got, err)
		}
		if err := ss.DeleteUser(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := ss.Get(ctx, "abc"); !simplesender.IsKind(err, simplesender.KindNotFound) {
			t.Fatalf("session survived DeleteUser: %v", err)
		}
		tok := &store.APIToken{UserID: u.ID, Name: "ci", Hash: "th", Prefix: "ss_ab"}
		if err := s.CreateAPIToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if got, owner, err := s.APITokenUser(ctx, "th"); err != nil || got.ID != tok.ID || got.Name != "ci" || owner.ID != u.ID || owner.Email != u.Email {
			t.Fatalf("APITokenUser = %+v, %+v, %v; want the token and its owner", got, owner, err)
		}
		other := createUser(t, s, "o@example.com")
		if err := s.DeleteAPIToken(ctx, other.ID, tok.ID); !simplesender.IsKind(err, simplesender.KindNotFound) {
			t.Fatalf("another user deleted the token: %v", err)
		}
		if err := s.DeleteAPIToken(ctx, u.ID, tok.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.APITokenUser(ctx, "th"); !simplesender.IsKind(err, simplesender.KindNotFound) {
			t.Fatalf("revoked token still found: %v", err)
		}
	})
}

// TestInTxRollsBack checks that a failing transaction leaves nothing behind.
func TestInTxRollsBack(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, url string) {
		db := storetest.Open(t, url)
		err := db.InTx(ctx, func(s *store.Store) error {
			if err := s.CreateUser(ctx, newUser("tx@example.com")); err != nil {
				return err
			}
			return s.CreateUser(ctx, newUser("tx@example.com"))
		})
		if !simplesender.IsKind(err, simplesender.KindConflict) {
			t.Fatalf("got %v, want Conflict", err)
		}
		if _, err := db.Store().UserByEmail(ctx, "tx@example.com"); !simplesender.IsKind(err, simplesender.KindNotFound) {
			t.Fatalf("half-written user found after rollback: %v", err)
		}
	})
}

// TestMigrationsMatch checks that both dialects create the same tables and
// columns, by reading the migration files.
func TestMigrationsMatch(t *testing.T) {
	t.Parallel()
	schema := func(dir string) map[string][]string {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		tables := map[string][]string{}
		create := regexp.MustCompile(`(?s)CREATE TABLE (\w+) \((.*?)\n\);`)
		for _, e := range entries {
			b, _ := os.ReadFile(dir + "/" + e.Name())
			for _, m := range create.FindAllStringSubmatch(string(b), -1) {
				tables[m[1]] = nil // a table rebuilt by a later migration (SQLite cannot change a CHECK)
				for _, line := range strings.Split(m[2], "\n") {
					f := strings.Fields(line)
					if len(f) > 0 && f[0] != "UNIQUE" && f[0] != "PRIMARY" && f[0] != "CHECK" {
						tables[m[1]] = append(tables[m[1]], f[0])
					}
				}
				sort.Strings(tables[m[1]])
			}
			alter := regexp.MustCompile(`ALTER TABLE (\w+) ADD COLUMN (\w+)`)
			for _, m := range alter.FindAllStringSubmatch(string(b), -1) {
				tables[m[1]] = append(tables[m[1]], m[2])
				sort.Strings(tables[m[1]])
			}
		}
		return tables
	}
	a, b := schema("migrations/sqlite"), schema("migrations/postgres")
	if len(a) == 0 {
		t.Fatal("no tables found in the SQLite migrations")
	}
	for name, cols := range a {
		if strings.Join(cols, ",") != strings.Join(b[name], ",") {
			t.Errorf("table %s: sqlite %v, postgres %v", name, cols, b[name])
		}
	}
	if len(a) != len(b) {
		t.Errorf("sqlite has %d tables, postgres %d", len(a), len(b))
	}
}

// TestSQLiteFilesArePrivate: a new SQLite database, its write-ahead log and
// its shared-memory file are readable by the service's user only, like the
// rest of the data folder.
func TestSQLiteFilesArePrivate(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "data", "simplesender.db")
	db, err := store.Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	createUser(t, db.Store(), "private@example.com")
	for name, want := range map[string]os.FileMode{filepath.Dir(path): 0o700 | os.ModeDir, path: 0o600,
		path + "-wal": 0o600, path + "-shm": 0o600} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(name), err)
			continue
		}
		if got := fi.Mode() & (os.ModePerm | os.ModeDir); got != want {
			t.Errorf("%s has mode %v, want %v", filepath.Base(name), got, want)
		}
	}
}
