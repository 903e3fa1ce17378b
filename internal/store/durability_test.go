package store_test

import (
	"path/filepath"
	"strings"
	"testing"

	"simplesender/internal/store"
	"simplesender/internal/store/storetest"
)

// TestSQLiteSynchronous checks that a SQLite database commits durably
// (synchronous=FULL) unless its URL asks for less, and that a mistyped
// parameter stops the start instead of being ignored.
func TestSQLiteSynchronous(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, c := range []struct {
		query string
		want  int // PRAGMA synchronous: 0 OFF, 1 NORMAL, 2 FULL
	}{
		{"", 2},
		{"?synchronous=full", 2},
		{"?synchronous=NORMAL", 1},
		{"?synchronous=off", 0},
	} {
		db, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, "s.db")+c.query)
		if err != nil {
			t.Fatalf("%q: %v", c.query, err)
		}
		var got int
		err = db.Writer().QueryRowContext(ctx, "PRAGMA synchronous").Scan(&got)
		db.Close()
		if err != nil || got != c.want {
			t.Errorf("sqlite:PATH%s: synchronous = %d, %v; want %d", c.query, got, err, c.want)
		}
	}
	for _, c := range []struct{ url, msg string }{
		{"sqlite:" + filepath.Join(dir, "s.db") + "?synchronus=off", `unknown parameter "synchronus"`},
		{"sqlite:" + filepath.Join(dir, "s.db") + "?synchronous=extra", "want full, normal or off"},
		{"sqlite:" + filepath.Join(dir, "s.db") + "?synchronous=off&synchronous=full", "more than once"},
		{"sqlite:?synchronous=off", "needs a file path"},
	} {
		db, err := store.Open(ctx, c.url)
		if err == nil {
			db.Close()
			t.Errorf("%s opened; want an error", c.url)
			continue
		}
		if !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: error %q, want it to say %q", c.url, err, c.msg)
		}
	}
}

// TestTestDatabasesDurability checks what storetest promises: the crash
// tests' databases (NewDurableURL) commit as durably as production, the
// others do not wait for the disk.
func TestTestDatabasesDurability(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e, func(t *testing.T) {
			t.Parallel()
			for durable, url := range map[bool]string{true: storetest.NewDurableURL(t, e), false: storetest.NewURL(t, e)} {
				db := storetest.Open(t, url)
				q, want := "PRAGMA synchronous", "0"
				if durable {
					want = "2"
				}
				if e == "postgres" {
					q, want = "SHOW synchronous_commit", "off"
					if durable {
						want = "on"
					}
				}
				var got string
				if err := db.Writer().QueryRow(q).Scan(&got); err != nil || got != want {
					t.Errorf("durable %v: %s = %q, %v; want %q", durable, q, got, err, want)
				}
			}
		})
	}
}
