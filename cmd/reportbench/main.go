// Command reportbench measures the reports and statistics use cases at
// scale: it seeds one user with about 1,000,000 attempt rows (100 mailings
// of 8,000 deliveries over 90 days, retries included) and 100 more users
// with a small history each, on SQLite and, when given, on PostgreSQL; then
// it prints the median and 99th percentile latency of each use case
// uncached, cached in memory and cached in Redis (when given), and the
// cache hit ratio and read latency under a mixed load of reads and writes.
//
//	go run ./cmd/reportbench
//	go run ./cmd/reportbench -pg 'postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable' -redis redis://127.0.0.1:6379/15
//
// With -pg it creates a fresh database on that server and drops it at the
// end; SQLite lives in a temporary folder.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/redis/go-redis/v9"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/benchrig"
	"simplesender/internal/cache"
	"simplesender/internal/store"
)

func main() {
	pg := flag.String("pg", os.Getenv("SIMPLESENDER_TEST_POSTGRES"), "PostgreSQL admin URL (empty: SQLite only)")
	redisURL := flag.String("redis", os.Getenv("SIMPLESENDER_TEST_REDIS_URL"), "Redis URL for the shared cache (empty: memory only)")
	attempts := flag.Int("attempts", 1_000_000, "attempt rows of the big user")
	users := flag.Int("users", 100, "other users")
	n := flag.Int("n", 50, "calls per use case, uncached")
	nCached := flag.Int("cached", 2000, "calls per use case, cached")
	mixed := flag.Duration("mixed", 10*time.Second, "duration of the mixed load")
	workers := flag.Int("workers", 8, "concurrent callers in the mixed load")
	writes := flag.Float64("writes", 0.05, "share of writes in the mixed load")
	flag.Parse()
	engines := []string{"sqlite"}
	if *pg != "" {
		engines = append(engines, "postgres")
	}
	for _, e := range engines {
		if err := run(e, *pg, *redisURL, *attempts, *users, *n, *nCached, *mixed, *workers, *writes); err != nil {
			fmt.Fprintln(os.Stderr, "reportbench:", err)
			os.Exit(1)
		}
	}
}

func run(engine, pgAdmin, redisURL string, attempts, users, n, nCached int, mixed time.Duration, workers int, writes float64) error {
	ctx := context.Background()
	dbURL, cleanup, err := newDatabase(engine, pgAdmin)
	if err != nil {
		return err
	}
	defer cleanup()
	db, err := store.Open(ctx, dbURL)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return err
	}
	fmt.Printf("\n== %s: seeding %d attempts for one user and %d more users ...\n", engine, attempts, users)
	t0 := time.Now()
	data, err := seed(ctx, db, attempts, users)
	if err != nil {
		return err
	}
	seeded := time.Since(t0)
	t0 = time.Now()
	if err := db.RebuildReportCounters(ctx); err != nil {
		return err
	}
	rebuilt := time.Since(t0)
	if err := analyze(ctx, db.Writer()); err != nil {
		return err
	}
	fmt.Printf("seeded %d attempt rows (big user: %d) in %s; counters rebuilt from the rows in %s\n",
		data.attempts, data.bigAtt, seeded.Round(time.Millisecond), rebuilt.Round(time.Millisecond))

	caches := []struct {
		name string
		make func() (cache.Cache, func())
	}{
		{"uncached", func() (cache.Cache, func()) { return cache.None{}, func() {} }},
		{"memory", func() (cache.Cache, func()) { return cache.NewMemory(0), func() {} }},
	}
	if redisURL != "" {
		o, err := redis.ParseURL(redisURL)
		if err != nil {
			return err
		}
		caches = append(caches, struct {
			name string
			make func() (cache.Cache, func())
		}{"redis", func() (cache.Cache, func()) {
			rdb := redis.NewClient(o)
			c := cache.NewRedis(rdb, "bench:"+randomHex()+":", slog.Default())
			return c, func() { c.Close(); rdb.Close() }
		}})
	}

	big := &app.Actor{User: data.big}
	boss := &app.Actor{User: data.manager}
	ops := []op{
		{"Report: big user, 30 days", func(a *app.App) error { _, err := a.Report(ctx, big, 0, app.Period{}); return err }},
		{"Stats: big user", func(a *app.App) error { _, err := a.Stats(ctx, big); return err }},
		{"HomeCounters: big user", func(a *app.App) error { _, err := a.HomeCounters(ctx, big); return err }},
		{"Stats: manager (everyone)", func(a *app.App) error { _, err := a.Stats(ctx, boss); return err }},
		{"UsersReport: manager, 30 days, all users", func(a *app.App) error {
			_, err := a.UsersReport(ctx, boss, app.Period{}, 500, 0)
			return err
		}},
		{"StatsUsers: manager, all users", func(a *app.App) error { _, err := a.StatsUsers(ctx, boss, 500, 0); return err }},
	}

	// A sanity check that the big user's figures are what was seeded.
	st, err := app.New(app.Deps{DB: db, Cache: cache.None{}}).Stats(ctx, big)
	if err != nil {
		return err
	}
	fmt.Printf("big user: %d mailings (%d running), %d sent, %d + %d attempts\n", st.MailingsTotal, st.MailingsActive,
		st.MessagesSent, st.AttemptsSuccess, st.AttemptsFailure)

	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "use case\tcache\tcalls\tmedian\tp99\t")
	for _, c := range caches {
		cc, done := c.make()
		a := app.New(app.Deps{DB: db, Cache: cc})
		calls := n
		if c.name != "uncached" {
			calls = nCached
		}
		for _, o := range ops {
			med, p99, err := measure(a, o, calls)
			if err != nil {
				done()
				return fmt.Errorf("%s: %w", o.name, err)
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t\n", o.name, c.name, calls, fmtDur(med), fmtDur(p99))
		}
		done()
	}
	tw.Flush()

	for _, c := range caches[1:] {
		cc, done := c.make()
		res, err := mixedLoad(ctx, db, cc, data, mixed, workers, writes)
		done()
		if err != nil {
			return err
		}
		fmt.Printf("mixed load, %s cache, %d callers, %.0f%% writes, %s: %d reads (median %s, p99 %s), %d writes; hit ratio %.1f%%\n",
			c.name, workers, writes*100, mixed, res.reads, fmtDur(res.med), fmtDur(res.p99), res.writes, 100*res.hitRatio())
	}
	return nil
}

type op struct {
	name string
	call func(a *app.App) error
}

// measure calls o n times after one warm-up call and returns the median
// and 99th percentile.
func measure(a *app.App, o op, n int) (med, p99 time.Duration, err error) {
	if err := o.call(a); err != nil {
		return 0, 0, err
	}
	d := make([]time.Duration, n)
	for i := range n {
		t := time.Now()
		if err := o.call(a); err != nil {
			return 0, 0, err
		}
		d[i] = time.Since(t)
	}
	return percentiles(d)
}

func percentiles(d []time.Duration) (med, p99 time.Duration, err error) {
	if len(d) == 0 {
		return 0, 0, nil
	}
	slices.Sort(d)
	return d[len(d)/2], d[min(len(d)-1, len(d)*99/100)], nil
}

// counting counts the cache's hits and misses.
type counting struct {
	cache.Cache
	hits, misses atomic.Int64
}

func (c *counting) Get(ctx context.Context, key string) ([]byte, bool) {
	v, ok := c.Cache.Get(ctx, key)
	if ok {
		c.hits.Add(1)
	} else {
		c.misses.Add(1)
	}
	return v, ok
}

type mixedResult struct {
	reads, writes int
	med, p99      time.Duration
	hits, misses  int64
}

func (r mixedResult) hitRatio() float64 {
	if r.hits+r.misses == 0 {
		return 0
	}
	return float64(r.hits) / float64(r.hits+r.misses)
}

// mixedLoad runs workers callers for d: each call is a write with
// probability writes (half of them a new recipient of a random user, half
// an engine batch of outcomes for a random user, as the store's change hook
// reports it), otherwise a read by a random user (their report, stats or
// home counters; one read in ten is the manager's users report or stats).
func mixedLoad(ctx context.Context, db *store.DB, c cache.Cache, data *seeded, d time.Duration, workers int, writes float64) (mixedResult, error) {
	cc := &counting{Cache: c}
	a := app.New(app.Deps{DB: db, Cache: cc})
	all := append([]*simplesender.User{data.big}, data.users...)
	boss := &app.Actor{User: data.manager}
	var mu sync.Mutex
	var res mixedResult
	var lat []time.Duration
	var firstErr error
	var seq atomic.Int64
	run := randomHex()
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			nw := 0
			for time.Now().Before(deadline) {
				u := &app.Actor{User: all[mrand.IntN(len(all))]}
				var err error
				if mrand.Float64() < writes {
					nw++
					if mrand.IntN(2) == 0 {
						err = a.CreateRecipient(ctx, u, &simplesender.Recipient{Email: fmt.Sprintf("new-%s-%d@example.com", run, seq.Add(1))})
					} else {
						a.FiguresChanged(ctx, []int64{u.User.ID})
					}
				} else {
					t := time.Now()
					switch r := mrand.IntN(30); {
					case r < 2:
						_, err = a.UsersReport(ctx, boss, app.Period{}, 500, 0)
					case r < 3:
						_, err = a.Stats(ctx, boss)
					case r < 12:
						_, err = a.Report(ctx, u, 0, app.Period{})
					case r < 21:
						_, err = a.Stats(ctx, u)
					default:
						_, err = a.HomeCounters(ctx, u)
					}
					mine = append(mine, time.Since(t))
				}
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			res.writes += nw
			mu.Unlock()
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return res, firstErr
	}
	res.reads = len(lat)
	res.med, res.p99, _ = percentiles(lat)
	res.hits, res.misses = cc.hits.Load(), cc.misses.Load()
	return res, nil
}

func fmtDur(d time.Duration) string {
	return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000)
}

func randomHex() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// newDatabase returns the URL of an empty database on engine and a
// function that removes it.
func newDatabase(engine, pgAdmin string) (string, func(), error) {
	dir, err := os.MkdirTemp("", "reportbench-")
	if err != nil {
		return "", nil, err
	}
	if engine == "sqlite" {
		pgAdmin = ""
	}
	dbURL, _, drop, err := benchrig.Database(pgAdmin, "reportbench", dir, "bench.db", false)
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	return dbURL, func() { drop(); os.RemoveAll(dir) }, nil
}
