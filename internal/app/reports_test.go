package app_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/app/apptest"
	"simplesender/internal/cache"
	"simplesender/internal/delivery"
	"simplesender/internal/mailer"
	"simplesender/internal/store"
	"simplesender/internal/store/storetest"
)

// cacheKinds are the caches the report tests run with: in-process always,
// Redis when a test server is given.
func cacheKinds() []string {
	if os.Getenv(storetest.EnvRedis) != "" {
		return []string{"memory", "redis"}
	}
	return []string{"memory"}
}

// newCaches returns a function making caches of kind that share one store,
// as the instances of one deployment do (Redis: one server and prefix).
func newCaches(t *testing.T, kind string) func() cache.Cache {
	t.Helper()
	if kind == "memory" {
		return func() cache.Cache { return cache.NewMemory(0) }
	}
	o, err := redis.ParseURL(os.Getenv(storetest.EnvRedis))
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	prefix := "test:" + hex.EncodeToString(b) + ":c:"
	return func() cache.Cache {
		rdb := redis.NewClient(o)
		c := cache.NewRedis(rdb, prefix, nil)
		t.Cleanup(func() { c.Close(); rdb.Close() })
		return c
	}
}

// eachCache runs fn on a fresh database of every engine with every cache
// kind.
func eachCache(t *testing.T, fn func(t *testing.T, dbURL string, newCache func() cache.Cache)) {
	for _, engine := range storetest.Engines() {
		t.Run(engine, func(t *testing.T) {
			for _, kind := range cacheKinds() {
				t.Run(kind, func(t *testing.T) { fn(t, storetest.NewURL(t, engine), newCaches(t, kind)) })
			}
		})
	}
}

func rpEnv(t *testing.T, dbURL string, c cache.Cache) *apptest.Env {
	t.Helper()
	return apptest.New(t, dbURL, apptest.Options{Deps: func(d *app.Deps) { d.Cache = c }})
}

func rpActor(t *testing.T, env *apptest.Env, email string, role simplesender.Role) *app.Actor {
	t.Helper()
	return &app.Actor{User: env.User(t, email, role, simplesender.StatusActive)}
}

// rpMailing makes a mailing named name for ac to the given addresses.
func rpMailing(t *testing.T, env *apptest.Env, ac *app.Actor, name string, emails ...string) *simplesender.Mailing {
	t.Helper()
	return env.MailingOf(t, ac, name, &simplesender.Message{Subject: "Hello", BodyText: "Hello, {{email}}"}, emails...)
}

func rpStats(t *testing.T, env *apptest.Env, ac *app.Actor) app.Stats {
	t.Helper()
	s, err := env.App.Stats(ctx, ac)
	if err != nil {
		t.Fatal(err)
	}
	return *s
}

// TestSameLocalPartNeverSharesFigures is the original's first leak: the
// cache was keyed by the part of the address before "@", so ivan@a.ru got
// ivan@b.com's figures.
func TestSameLocalPartNeverSharesFigures(t *testing.T) {
	t.Parallel()
	eachCache(t, func(t *testing.T, dbURL string, newCache func() cache.Cache) {
		env := rpEnv(t, dbURL, newCache())
		a := rpActor(t, env, "ivan@a.ru", simplesender.RoleUser)
		b := rpActor(t, env, "ivan@b.com", simplesender.RoleUser)
		rpMailing(t, env, a, "A", "x1@example.com", "x2@example.com", "x3@example.com")
		rpMailing(t, env, b, "B1", "y1@example.com")
		rpMailing(t, env, b, "B2", "y2@example.com")
		for round := range 3 { // the first round fills the cache, the others read it
			if s := rpStats(t, env, a); s.MailingsTotal != 1 || s.RecipientsUnique != 3 {
				t.Fatalf("round %d: ivan@a.ru stats %+v", round, s)
			}
			if s := rpStats(t, env, b); s.MailingsTotal != 2 || s.RecipientsUnique != 2 {
				t.Fatalf("round %d: ivan@b.com stats %+v", round, s)
			}
			for _, c := range []struct {
				ac    *app.Actor
				names string
			}{{a, "A"}, {b, "B2,B1"}} {
				r, err := env.App.Report(ctx, c.ac, 0, app.Period{})
				if err != nil {
					t.Fatal(err)
				}
				var names []string
				for _, m := range r.Mailings {
					names = append(names, m.Name)
				}
				if r.OwnerID != c.ac.User.ID || strings.Join(names, ",") != c.names {
					t.Fatalf("round %d: %s's report is of user %d with %v", round, c.ac.User.Email, r.OwnerID, names)
				}
				h, err := env.App.HomeCounters(ctx, c.ac)
				if err != nil {
					t.Fatal(err)
				}
				if h.Mailings != len(names) {
					t.Fatalf("round %d: %s's home counters %+v", round, c.ac.User.Email, h)
				}
			}
		}
		if _, err := env.App.Report(ctx, b, a.User.ID, app.Period{}); !simplesender.IsKind(err, simplesender.KindNotFound) {
			t.Fatalf("ivan@b.com asking for ivan@a.ru's report: %v, want NotFound", err)
		}
	})
}

// TestUserNamedManagerGetsOnlyTheirOwn is the second leak: anyone whose
// address started with manager@ got the managers' view.
func TestUserNamedManagerGetsOnlyTheirOwn(t *testing.T) {
	t.Parallel()
	eachCache(t, func(t *testing.T, dbURL string, newCache func() cache.Cache) {
		env := rpEnv(t, dbURL, newCache())
		boss := rpActor(t, env, "boss@corp.ru", simplesender.RoleManager)
		fake := rpActor(t, env, "manager@corp.ru", simplesender.RoleUser)
		olga := rpActor(t, env, "olga@corp.ru", simplesender.RoleUser)
		rpMailing(t, env, fake, "mine", "a@example.com")
		rpMailing(t, env, olga, "o1", "b@example.com")
		rpMailing(t, env, olga, "o2", "c@example.com")

		// The real manager loads every staff view first.
		if s := rpStats(t, env, boss); s.MailingsTotal != 3 {
			t.Fatalf("manager's stats %+v, want everyone's 3 mailings", s)
		}
		if _, err := env.App.StatsUsers(ctx, boss, 0, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := env.App.UsersReport(ctx, boss, app.Period{}, 0, 0); err != nil {
			t.Fatal(err)
		}
		if h, err := env.App.HomeCounters(ctx, boss); err != nil || h.Mailings != 3 {
			t.Fatalf("manager's home counters %+v %v", h, err)
		}

		if s := rpStats(t, env, fake); s.MailingsTotal != 1 || s.RecipientsUnique != 1 {
			t.Fatalf("manager@corp.ru (a regular user) got %+v, want only their own 1 mailing", s)
		}
		if h, err := env.App.HomeCounters(ctx, fake); err != nil || h.Mailings != 1 {
			t.Fatalf("manager@corp.ru's home counters %+v %v", h, err)
		}
		if _, err := env.App.StatsUsers(ctx, fake, 0, 0); !simplesender.IsKind(err, simplesender.KindForbidden) {
			t.Fatalf("StatsUsers for manager@corp.ru: %v, want Forbidden", err)
		}
		if _, err := env.App.UsersReport(ctx, fake, app.Period{}, 0, 0); !simplesender.IsKind(err, simplesender.KindForbidden) {
			t.Fatalf("UsersReport for manager@corp.ru: %v, want Forbidden", err)
		}
		if _, err := env.App.Report(ctx, fake, olga.User.ID, app.Period{}); !simplesender.IsKind(err, simplesender.KindNotFound) {
			t.Fatalf("another user's report for manager@corp.ru: %v, want NotFound", err)
		}
	})
}

// TestStaffListIsNeverServedToOthers is the third leak: the managers' user
// list was cached by URL only, so anyone, even anonymous, got a manager's
// copy.
func TestStaffListIsNeverServedToOthers(t *testing.T) {
	t.Parallel()
	eachCache(t, func(t *testing.T, dbURL string, newCache func() cache.Cache) {
		env := rpEnv(t, dbURL, newCache())
		boss := rpActor(t, env, "boss@corp.ru", simplesender.RoleManager)
		admin := rpActor(t, env, "root@corp.ru", simplesender.RoleAdmin)
		user := rpActor(t, env, "manager@corp.ru", simplesender.RoleUser)
		var renders atomic.Int64
		render := func(who string) func() ([]byte, error) {
			return func() ([]byte, error) {
				renders.Add(1)
				return []byte("<h1>Users</h1><p>rendered for " + who + "</p>"), nil
			}
		}
		key := app.PageKey{Name: "users", Lang: "ru", Variant: "page=1"}
		page, err := env.App.StaffPage(ctx, boss, key, render("boss"))
		if err != nil || renders.Load() != 1 {
			t.Fatalf("first load: %q %v, renders %d", page, err, renders.Load())
		}
		if page, err = env.App.StaffPage(ctx, boss, key, render("boss")); err != nil || renders.Load() != 1 ||
			!bytes.Contains(page, []byte("for boss")) {
			t.Fatalf("second load: %q %v, renders %d (want it from the cache)", page, err, renders.Load())
		}
		for _, c := range []struct {
			name string
			ac   *app.Actor
			kind simplesender.Kind
		}{
			{"nil actor", nil, simplesender.KindUnauthenticated},
			{"anonymous", &app.Actor{}, simplesender.KindUnauthenticated},
			{"regular user named manager@", user, simplesender.KindForbidden},
		} {
			got, err := env.App.StaffPage(ctx, c.ac, key, render(c.name))
			if !simplesender.IsKind(err, c.kind) || got != nil {
				t.Fatalf("%s: %q, %v; want %s and nothing", c.name, got, err, c.kind)
			}
			if _, err := env.App.StatsUsers(ctx, c.ac, 0, 0); !simplesender.IsKind(err, c.kind) {
				t.Fatalf("%s: StatsUsers: %v, want %s", c.name, err, c.kind)
			}
			if _, err := env.App.UsersReport(ctx, c.ac, app.Period{}, 0, 0); !simplesender.IsKind(err, c.kind) {
				t.Fatalf("%s: UsersReport: %v, want %s", c.name, err, c.kind)
			}
		}
		if renders.Load() != 1 {
			t.Fatalf("render ran %d times; refused callers must not render", renders.Load())
		}
		// Another staff member, or another language, gets a copy of their own.
		if page, _ := env.App.StaffPage(ctx, admin, key, render("admin")); !bytes.Contains(page, []byte("for admin")) {
			t.Fatalf("admin was served %q", page)
		}
		key.Lang = "en"
		if page, _ := env.App.StaffPage(ctx, boss, key, render("boss in English")); !bytes.Contains(page, []byte("in English")) {
			t.Fatalf("another language was served %q", page)
		}
	})
}

// rpEngine runs a delivery engine for env (its writes reach the app's cache
// through the store's OnChange hook),
// as serve wires it, with an SMTP server that refuses "bad" addresses.
func rpEngine(t *testing.T, env *apptest.Env) {
	t.Helper()
	srv := apptest.NewSMTPServer(t)
	srv.Script = func(rcpt string, _ int) apptest.Action {
		if strings.HasPrefix(rcpt, "bad") {
			return apptest.Perm
		}
		return apptest.Accept
	}
	smtp, err := mailer.NewSMTP(srv.URL(), mailer.SMTPOptions{CommandTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	e := delivery.New(env.DB, delivery.NewPool(smtp, 2), delivery.Config{From: mailer.Address{Email: "news@example.com"},
		Conns: 2, Poll: 20 * time.Millisecond, Heartbeat: 200 * time.Millisecond})
	env.App.Waker = e
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { e.Run(rctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func rpWaitFinished(t *testing.T, env *apptest.Env, ac *app.Actor, id int64) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		m, err := env.App.GetMailing(ctx, ac, id)
		if err != nil {
			t.Fatal(err)
		}
		if m.Status == simplesender.MailingFinished {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailing not finished: %+v", m)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func rpUserRow(t *testing.T, env *apptest.Env, staff *app.Actor, id int64) app.UserFigures {
	t.Helper()
	r, err := env.App.UsersReport(ctx, staff, app.Period{}, 500, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range r.Users {
		if u.UserID == id {
			return u
		}
	}
	t.Fatalf("user %d not in the staff's report", id)
	return app.UserFigures{}
}

// TestFiguresChangeOnTheNextCallAfterEachWrite: every figure is cached, and
// every write that changes it shows on the very next call.
func TestFiguresChangeOnTheNextCallAfterEachWrite(t *testing.T) {
	t.Parallel()
	eachCache(t, func(t *testing.T, dbURL string, newCache func() cache.Cache) {
		env := rpEnv(t, dbURL, newCache())
		rpEngine(t, env)
		ac := rpActor(t, env, "ivan@a.ru", simplesender.RoleUser)
		boss := rpActor(t, env, "boss@corp.ru", simplesender.RoleManager)
		var renders atomic.Int64
		list := func() int64 {
			t.Helper()
			if _, err := env.App.StaffPage(ctx, boss, app.PageKey{Name: "users", Lang: "en", Figures: true},
				func() ([]byte, error) { renders.Add(1); return []byte("list"), nil }); err != nil {
				t.Fatal(err)
			}
			return renders.Load()
		}

		if s := rpStats(t, env, ac); s.MailingsTotal != 0 {
			t.Fatalf("stats before anything: %+v", s)
		}
		staffBefore := rpStats(t, env, boss)
		list()
		m := rpMailing(t, env, ac, "news", "good1@example.com", "good2@example.com", "bad@example.com")
		if s := rpStats(t, env, ac); s.MailingsTotal != 1 || s.RecipientsUnique != 3 {
			t.Fatalf("after creating a mailing: %+v", s)
		}
		if s := rpStats(t, env, boss); s.MailingsTotal != staffBefore.MailingsTotal+1 {
			t.Fatalf("staff stats after a user created a mailing: %+v (before %+v)", s, staffBefore)
		}
		if n := list(); n != 2 {
			t.Fatalf("staff page with figures rendered %d times, want 2 (retired by the new mailing)", n)
		}
		if _, err := env.App.Report(ctx, ac, 0, app.Period{}); err != nil { // cached
			t.Fatal(err)
		}

		if err := env.App.Schedule(ctx, ac, m.ID, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if s := rpStats(t, env, ac); s.MailingsActive != 1 {
			t.Fatalf("after scheduling: %+v", s)
		}
		if err := env.App.CancelMailing(ctx, ac, m.ID); err != nil {
			t.Fatal(err)
		}
		if s := rpStats(t, env, ac); s.MailingsActive != 0 {
			t.Fatalf("after cancelling the schedule: %+v", s)
		}
		if err := env.App.SendNow(ctx, ac, m.ID, "now"); err != nil {
			t.Fatal(err)
		}
		rpWaitFinished(t, env, ac, m.ID)
		want := app.Stats{MailingsTotal: 1, RecipientsUnique: 3, MessagesSent: 2, AttemptsSuccess: 2, AttemptsFailure: 1}
		if s := rpStats(t, env, ac); s != want {
			t.Fatalf("after the engine recorded the sends: %+v, want %+v", s, want)
		}
		r, err := env.App.Report(ctx, ac, 0, app.Period{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Totals.Sent != 2 || r.Totals.Failed != 1 || r.Totals.AttemptsSuccess != 2 || r.Mailings[0].Status != simplesender.MailingFinished {
			t.Fatalf("report after the sends: %+v", r)
		}
		if row := rpUserRow(t, env, boss, ac.User.ID); row.Sent != 2 || row.Status != simplesender.StatusActive {
			t.Fatalf("staff row after the sends: %+v", row)
		}

		if err := env.App.DeleteMailing(ctx, ac, m.ID); err != nil {
			t.Fatal(err)
		}
		want = app.Stats{RecipientsUnique: 3}
		if s := rpStats(t, env, ac); s != want {
			t.Fatalf("after deleting the mailing: %+v, want %+v", s, want)
		}

		before := list()
		if _, err := env.App.SetBlocked(ctx, boss, ac.User.ID, true); err != nil {
			t.Fatal(err)
		}
		if row := rpUserRow(t, env, boss, ac.User.ID); row.Status != simplesender.StatusBlocked {
			t.Fatalf("staff row after blocking: %+v", row)
		}
		if n := list(); n != before+1 {
			t.Fatalf("users page not rendered again after a block (%d renders, was %d)", n, before)
		}
	})
}

// TestSecondInstanceSeesChangesWithinASecond: two apps (two instances) on
// one database, each with its own cache object on one Redis.
func TestSecondInstanceSeesChangesWithinASecond(t *testing.T) {
	t.Parallel()
	if os.Getenv(storetest.EnvRedis) == "" {
		t.Skip(storetest.EnvRedis + " not set")
	}
	storetest.Each(t, func(t *testing.T, dbURL string) {
		caches := newCaches(t, "redis")
		one, two := rpEnv(t, dbURL, caches()), rpEnv(t, dbURL, caches())
		ac := rpActor(t, one, "ivan@a.ru", simplesender.RoleUser)
		boss := rpActor(t, one, "boss@corp.ru", simplesender.RoleManager)
		if s := rpStats(t, two, ac); s.MailingsTotal != 0 {
			t.Fatalf("before: %+v", s)
		}
		if _, err := two.App.StatsUsers(ctx, boss, 0, 0); err != nil {
			t.Fatal(err)
		}
		rpMailing(t, one, ac, "news", "a@example.com")
		waitFor(t, time.Second, "the second instance's stats", func() bool { return rpStats(t, two, ac).MailingsTotal == 1 })
		if _, err := one.App.SetBlocked(ctx, boss, ac.User.ID, true); err != nil {
			t.Fatal(err)
		}
		waitFor(t, time.Second, "the second instance's users report", func() bool {
			return rpUserRow(t, two, boss, ac.User.ID).Status == simplesender.StatusBlocked
		})
	})
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not change within %s", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// history writes outcomes straight into the store, at chosen times.
type history struct {
	t   *testing.T
	env *apptest.Env
	m   *simplesender.Mailing
}

// start starts a run of the mailing now, without an engine.
func (h *history) start(ac *app.Actor) {
	h.t.Helper()
	if err := h.env.App.SendNow(ctx, ac, h.m.ID, "now"); err != nil {
		h.t.Fatal(err)
	}
	err := h.env.DB.InTx(ctx, func(s *store.Store) error {
		_, err := s.StartDue(ctx, h.m.ID, h.env.DB.Now().Add(time.Second))
		return err
	})
	if err != nil {
		h.t.Fatal(err)
	}
}

func (h *history) claim(n int) []store.Claimed {
	h.t.Helper()
	cs, err := h.env.DB.ClaimDeliveries(ctx, "test", h.env.DB.Now().Add(time.Minute), n)
	if err != nil || len(cs) != n {
		h.t.Fatalf("claimed %d (%v), want %d", len(cs), err, n)
	}
	slices.SortFunc(cs, func(a, b store.Claimed) int { return strings.Compare(a.Email, b.Email) })
	return cs
}

func (h *history) out(c store.Claimed, st simplesender.DeliveryStatus, at string, response string) store.Outcome {
	h.t.Helper()
	when, err := time.Parse(time.RFC3339, at)
	if err != nil {
		h.t.Fatal(err)
	}
	return store.Outcome{DeliveryID: c.ID, RunID: c.RunID, MailingID: h.m.ID, OwnerID: h.m.OwnerID, Email: c.Email,
		Status: st, Attempted: true, At: when, NextAt: h.env.DB.Now().Add(-time.Minute), Code: 250, Response: response}
}

func (h *history) record(outs ...store.Outcome) {
	h.t.Helper()
	if err := h.env.DB.RecordOutcomes(ctx, outs); err != nil {
		h.t.Fatal(err)
	}
}

// TestReportMatchesASeededHistory seeds a history with known counts and
// checks every figure, the days in the user's time zone (Moscow: 22:30 UTC
// is the next day), the API stats, the staff's row, and the CSV.
func TestReportMatchesASeededHistory(t *testing.T) {
	t.Parallel()
	eachCache(t, func(t *testing.T, dbURL string, newCache func() cache.Cache) {
		env := rpEnv(t, dbURL, newCache())
		ac := rpActor(t, env, "ivan@a.ru", simplesender.RoleUser)
		boss := rpActor(t, env, "boss@corp.ru", simplesender.RoleManager)
		if err := env.App.UpdateProfile(ctx, ac, simplesender.Profile{Name: "Иван", TimeZone: "Europe/Moscow"}); err != nil {
			t.Fatal(err)
		}
		ac.User.TimeZone = "Europe/Moscow"
		var emails []string
		for i := range 6 {
			emails = append(emails, fmt.Sprintf("r%d@example.com", i))
		}
		h := &history{t: t, env: env, m: rpMailing(t, env, ac, "@SUM(1+1)", emails...)}
		h.start(ac)
		cs := h.claim(6)
		h.record(
			h.out(cs[0], simplesender.DeliverySent, "2025-03-10T22:30:00Z", "250 ok"),       // Moscow 11th, 01:30
			h.out(cs[1], simplesender.DeliverySent, "2025-03-10T12:00:00Z", "250 ok"),       // Moscow 10th
			h.out(cs[2], simplesender.DeliveryDeferred, "2025-03-10T20:59:00Z", "451 busy"), // Moscow 10th, 23:59
			h.out(cs[3], simplesender.DeliveryFailed, "2025-03-11T09:00:00Z", "=cmd|' /C calc'!A0"),
			h.out(cs[4], simplesender.DeliveryUnknown, "2025-03-11T09:00:00Z", "-lost"),
			store.Outcome{DeliveryID: cs[5].ID, RunID: cs[5].RunID, Status: simplesender.DeliveryPending, At: env.DB.Now()},
		)
		cs = h.claim(1)                                                                     // the deferred one (the released one is claimed too only if asked)
		h.record(h.out(cs[0], simplesender.DeliverySent, "2025-03-10T21:00:00Z", "250 ok")) // Moscow 11th, 00:00

		r, err := env.App.Report(ctx, ac, 0, app.Period{From: "2025-03-10", To: "2025-03-11"})
		if err != nil {
			t.Fatal(err)
		}
		want := app.Figures{Mailings: 1, MailingsActive: 1, Sent: 3, Failed: 1, Unknown: 1, Pending: 1,
			AttemptsSuccess: 3, AttemptsFailure: 3}
		if r.Totals != want || len(r.Mailings) != 1 || r.Mailings[0].Figures != want {
			t.Fatalf("report totals %+v, rows %+v; want %+v", r.Totals, r.Mailings, want)
		}
		if rate, ok := r.Totals.SuccessRate(); !ok || rate != 0.6 {
			t.Fatalf("success rate %v %v, want 0.6 (3 sent of 5 with an outcome)", rate, ok)
		}
		days := fmt.Sprintf("%s %d %d %s %d %d", r.Days[0].Date, r.Days[0].Success, r.Days[0].Failure, r.Days[1].Date, r.Days[1].Success, r.Days[1].Failure)
		if len(r.Days) != 2 || days != "2025-03-10 1 1 2025-03-11 2 2" {
			t.Fatalf("days in Moscow: %s (%+v)", days, r.Days)
		}
		if r.TimeZone != "Europe/Moscow" || !r.Start.Equal(time.Date(2025, 3, 9, 21, 0, 0, 0, time.UTC)) ||
			!r.End.Equal(time.Date(2025, 3, 11, 21, 0, 0, 0, time.UTC)) {
			t.Fatalf("period %s [%s, %s)", r.TimeZone, r.Start, r.End)
		}
		one, err := env.App.Report(ctx, ac, 0, app.Period{From: "2025-03-11", To: "2025-03-11"})
		if err != nil {
			t.Fatal(err)
		}
		if one.Totals.AttemptsSuccess != 2 || one.Totals.AttemptsFailure != 2 || one.Totals.Sent != 3 {
			t.Fatalf("11 March only: %+v", one.Totals)
		}

		wantStats := app.Stats{MailingsTotal: 1, MailingsActive: 1, RecipientsUnique: 6, MessagesSent: 3,
			AttemptsSuccess: 3, AttemptsFailure: 3}
		if s := rpStats(t, env, ac); s != wantStats {
			t.Fatalf("stats %+v, want %+v", s, wantStats)
		}
		list, err := env.App.StatsUsers(ctx, boss, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if list.Total != 2 || len(list.Items) != 2 || list.Items[0].UserID != ac.User.ID || list.Items[0].Stats != wantStats ||
			list.Items[0].Email != "ivan@a.ru" || list.Items[1].Stats != (app.Stats{}) {
			t.Fatalf("stats per user %+v", list)
		}
		if row := rpUserRow(t, env, boss, ac.User.ID); row.Figures.Sent != 3 || row.Figures.Pending != 1 {
			t.Fatalf("staff row %+v", row)
		}

		var buf bytes.Buffer
		if err := env.App.WriteReportCSV(ctx, ac, &buf, 0, app.Period{From: "2025-03-10", To: "2025-03-11"}, true); err != nil {
			t.Fatal(err)
		}
		wantCSV := "\uFEFF" + "mailing_id,mailing,status,disabled,mailings,mailings_active,sent,failed,unknown,pending,cancelled,attempts_success,attempts_failure,success_rate," +
			"suppressed,suppressed_unsubscribed,suppressed_bounced,suppressed_complained,suppressed_manual\r\n" +
			fmt.Sprintf("%d,'@SUM(1+1),running,false,1,1,3,1,1,1,0,3,3,0.6000,0,0,0,0,0\r\n", h.m.ID) +
			"total,,,,1,1,3,1,1,1,0,3,3,0.6000,0,0,0,0,0\r\n"
		if buf.String() != wantCSV {
			t.Fatalf("report CSV:\n%q\nwant\n%q", buf.String(), wantCSV)
		}

		buf.Reset()
		if err := env.App.WriteUsersReportCSV(ctx, boss, &buf, app.Period{From: "2025-03-10", To: "2025-03-11"}, false); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), fmt.Sprintf("%d,ivan@a.ru,Иван,user,active,1,1,3,1,1,1,0,3,3,0.6000\r\n", ac.User.ID)) ||
			!strings.HasSuffix(buf.String(), "total,,,,,1,1,3,1,1,1,0,3,3,0.6000\r\n") {
			t.Fatalf("users report CSV:\n%s", buf.String())
		}
		if err := env.App.WriteUsersReportCSV(ctx, ac, &buf, app.Period{}, false); !simplesender.IsKind(err, simplesender.KindForbidden) {
			t.Fatalf("users report CSV for a regular user: %v", err)
		}

		buf.Reset()
		if err := env.App.WriteAttemptsCSV(ctx, ac, h.m.ID, &buf, false); err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 7 {
			t.Fatalf("%d attempt rows, want 6 and a header: %v", len(rows)-1, rows)
		}
		got := map[string][]string{}
		for _, row := range rows[1:] {
			got[row[2]+" "+row[3]] = row
		}
		for _, c := range []struct{ key, status, response string }{
			{"r0@example.com 2025-03-11T01:30:00+03:00", "success", "250 ok"},
			{"r3@example.com 2025-03-11T12:00:00+03:00", "failure", "'=cmd|' /C calc'!A0"},
			{"r4@example.com 2025-03-11T12:00:00+03:00", "failure", "'-lost"},
		} {
			row := got[c.key]
			if row == nil || row[1] != "1" || row[4] != c.status || row[7] != c.response {
				t.Fatalf("attempt %s: %v (all: %v)", c.key, row, rows)
			}
		}
	})
}

// TestChartDaysFollowDaylightSavingTime: Berlin moves to summer time on 30
// March 2025, so that day lasts 23 hours.
func TestChartDaysFollowDaylightSavingTime(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		env := rpEnv(t, dbURL, cache.NewMemory(0))
		ac := rpActor(t, env, "hans@b.de", simplesender.RoleUser)
		ac.User.TimeZone = "Europe/Berlin"
		h := &history{t: t, env: env, m: rpMailing(t, env, ac, "", "a@example.com", "b@example.com", "c@example.com")}
		h.start(ac)
		cs := h.claim(3)
		h.record(
			h.out(cs[0], simplesender.DeliverySent, "2025-03-29T23:30:00Z", ""), // 30th, 00:30 CET
			h.out(cs[1], simplesender.DeliverySent, "2025-03-30T21:59:00Z", ""), // 30th, 23:59 CEST
			h.out(cs[2], simplesender.DeliverySent, "2025-03-30T22:00:00Z", ""), // 31st, 00:00 CEST
		)
		r, err := env.App.Report(ctx, ac, 0, app.Period{From: "2025-03-29", To: "2025-03-31"})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, d := range r.Days {
			got = append(got, fmt.Sprintf("%s %s %d", d.Date, d.Start.Format(time.RFC3339), d.Success))
		}
		want := []string{"2025-03-29 2025-03-28T23:00:00Z 0", "2025-03-30 2025-03-29T23:00:00Z 2", "2025-03-31 2025-03-30T22:00:00Z 1"}
		if strings.Join(got, "; ") != strings.Join(want, "; ") {
			t.Fatalf("days:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}

func TestPeriods(t *testing.T) {
	t.Parallel()
	env := rpEnv(t, storetest.NewURL(t, "sqlite"), cache.NewMemory(0))
	ac := rpActor(t, env, "ivan@a.ru", simplesender.RoleUser)
	cases := []struct {
		name  string
		p     app.Period
		field string // "" for valid
		days  int
	}{
		{"default is the last 30 days", app.Period{}, "", 30},
		{"one day", app.Period{From: "2025-01-01", To: "2025-01-01"}, "", 1},
		{"a whole year", app.Period{From: "2024-01-01", To: "2024-12-31"}, "", 366},
		{"from alone is 30 days", app.Period{From: "2025-01-01"}, "", 30},
		{"a date that does not parse", app.Period{From: "01.01.2025", To: "2025-01-02"}, "from", 0},
		{"end before start", app.Period{From: "2025-01-02", To: "2025-01-01"}, "to", 0},
		{"more than 366 days", app.Period{From: "2024-01-01", To: "2025-01-01"}, "to", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := env.App.Report(ctx, ac, 0, c.p)
			if c.field != "" {
				if e := simplesender.AsError(err); !simplesender.IsKind(err, simplesender.KindInvalid) || e.Fields[c.field] == "" {
					t.Fatalf("got %v, want Invalid on %s", err, c.field)
				}
				return
			}
			if err != nil || len(r.Days) != c.days {
				t.Fatalf("got %d days, %v; want %d", len(r.Days), err, c.days)
			}
		})
	}
}

// TestAttemptsCSVStreamsEveryAttempt writes more attempts than one read
// batch holds.
func TestAttemptsCSVStreamsEveryAttempt(t *testing.T) {
	t.Parallel()
	env := rpEnv(t, storetest.NewURL(t, "sqlite"), cache.NewMemory(0))
	ac := rpActor(t, env, "ivan@a.ru", simplesender.RoleUser)
	other := rpActor(t, env, "ivan@b.com", simplesender.RoleUser)
	h := &history{t: t, env: env, m: rpMailing(t, env, ac, "", "+1@example.com")}
	h.start(ac)
	c := h.claim(1)[0]
	outs := make([]store.Outcome, 1100) // one real outcome, then repeats that only add attempt rows
	for i := range outs {
		outs[i] = h.out(c, simplesender.DeliveryFailed, "2025-03-10T12:00:00Z", "550 no")
	}
	h.record(outs...)
	var buf bytes.Buffer
	if err := env.App.WriteAttemptsCSV(ctx, ac, h.m.ID, &buf, true); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "\uFEFFid,run,email,") {
		t.Fatalf("no BOM and header: %q", buf.String()[:40])
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(buf.String(), "\uFEFF"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1101 || rows[1][2] != "'+1@example.com" {
		t.Fatalf("%d rows; first %v, last %v", len(rows), rows[1], rows[len(rows)-1])
	}
	prev := int64(0)
	for _, row := range rows[1:] {
		id, err := strconv.ParseInt(row[0], 10, 64)
		if err != nil || id <= prev {
			t.Fatalf("attempt id %q after %d: not oldest first", row[0], prev)
		}
		prev = id
	}
	if err := env.App.WriteAttemptsCSV(ctx, other, h.m.ID, &buf, false); !simplesender.IsKind(err, simplesender.KindNotFound) {
		t.Fatalf("another user's attempts: %v, want NotFound", err)
	}
	if err := env.App.WriteAttemptsCSV(ctx, nil, h.m.ID, &buf, false); !simplesender.IsKind(err, simplesender.KindUnauthenticated) {
		t.Fatalf("no user: %v, want Unauthenticated", err)
	}
}

// TestWorksWithoutRedis: with Redis unreachable, every use case answers,
// uncached and fresh, and the cache says it is down.
func TestWorksWithoutRedis(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer rdb.Close()
	c := cache.NewRedis(rdb, "ss:c:", nil)
	defer c.Close()
	env := rpEnv(t, storetest.NewURL(t, "sqlite"), c)
	ac := rpActor(t, env, "ivan@a.ru", simplesender.RoleUser)
	if s := rpStats(t, env, ac); s.MailingsTotal != 0 {
		t.Fatalf("stats %+v", s)
	}
	rpMailing(t, env, ac, "news", "a@example.com")
	if s := rpStats(t, env, ac); s.MailingsTotal != 1 {
		t.Fatalf("stats after a write %+v", s)
	}
	if _, err := env.App.Report(ctx, ac, 0, app.Period{}); err != nil {
		t.Fatal(err)
	}
	if c.Status() != "redis-down" {
		t.Fatalf("status %q", c.Status())
	}
}

// recording is a cache that remembers every key and scope it is given.
type recording struct {
	cache.Cache
	mu   sync.Mutex
	keys []string
}

func (r *recording) note(s ...string) {
	r.mu.Lock()
	r.keys = append(r.keys, s...)
	r.mu.Unlock()
}

func (r *recording) Get(ctx context.Context, key string) ([]byte, bool) {
	r.note(key)
	return r.Cache.Get(ctx, key)
}

func (r *recording) Stamp(ctx context.Context, scopes ...string) (string, bool) {
	r.note(scopes...)
	return r.Cache.Stamp(ctx, scopes...)
}

func (r *recording) Bump(ctx context.Context, scopes ...string) {
	r.note(scopes...)
	r.Cache.Bump(ctx, scopes...)
}

// TestCacheKeysHoldNoAddress: keys and scopes name users by id and role,
// never by any part of an e-mail address.
func TestCacheKeysHoldNoAddress(t *testing.T) {
	t.Parallel()
	rec := &recording{Cache: cache.NewMemory(0)}
	env := rpEnv(t, storetest.NewURL(t, "sqlite"), rec)
	ac := rpActor(t, env, "ivan@a.ru", simplesender.RoleUser)
	boss := rpActor(t, env, "manager@corp.ru", simplesender.RoleManager)
	m := rpMailing(t, env, ac, "news", "petr@example.com")
	for _, call := range []func() error{
		func() error { _, err := env.App.Stats(ctx, ac); return err },
		func() error { _, err := env.App.HomeCounters(ctx, ac); return err },
		func() error { _, err := env.App.Report(ctx, ac, 0, app.Period{}); return err },
		func() error { _, _, err := env.App.Attempts(ctx, ac, m.ID, 0, 0); return err },
		func() error { _, err := env.App.Stats(ctx, boss); return err },
		func() error { _, err := env.App.StatsUsers(ctx, boss, 0, 0); return err },
		func() error { _, err := env.App.UsersReport(ctx, boss, app.Period{}, 0, 0); return err },
		func() error {
			_, err := env.App.StaffPage(ctx, boss, app.PageKey{Name: "users", Lang: "ru", Variant: "q=ivan@a.ru"},
				func() ([]byte, error) { return []byte("x"), nil })
			return err
		},
	} {
		if err := call(); err != nil {
			t.Fatal(err)
		}
	}
	if len(rec.keys) < 10 {
		t.Fatalf("only %d keys recorded", len(rec.keys))
	}
	for _, k := range rec.keys {
		for _, bad := range []string{"@", "ivan", "manager@", "corp", "petr", "example"} {
			if strings.Contains(k, bad) {
				t.Errorf("cache key %q holds %q", k, bad)
			}
		}
	}
}

// TestEveryCommittedWriteRetiresTheCache: the cached home counters and
// report follow writes that no use case of the app made (a run started and
// cancelled through the store, as the engine and another instance's app
// do), and no write that rolls back retires anything it did not change.
func TestEveryCommittedWriteRetiresTheCache(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		owner := &app.Actor{User: env.User(t, "cache-owner@example.com", simplesender.RoleUser, simplesender.StatusActive)}
		m := env.Mailing(t, owner, "M", "one@example.com")
		active := func(when string, want int) {
			t.Helper()
			h, err := env.App.HomeCounters(ctx, owner)
			if err != nil {
				t.Fatal(err)
			}
			if h.Active != want {
				t.Errorf("%s: the home page shows %d running; want %d", when, h.Active, want)
			}
		}
		active("before", 0) // cached now
		now := env.DB.Now()
		if err := env.DB.InTx(ctx, func(s *store.Store) error {
			return s.RequestStart(ctx, m.OwnerID, m.ID, now.Add(time.Hour), simplesender.RunSend, simplesender.TriggerSchedule, 0)
		}); err != nil {
			t.Fatal(err)
		}
		active("scheduled through the store", 1)
		err := env.DB.InTx(ctx, func(s *store.Store) error {
			if _, err := s.CancelRuns(ctx, 0, m.ID); err != nil {
				return err
			}
			return simplesender.E(simplesender.KindConflict, "rolled back")
		})
		if !simplesender.IsKind(err, simplesender.KindConflict) {
			t.Fatal(err)
		}
		active("a cancel rolled back", 1)
		if _, err := env.DB.Store().CancelRuns(ctx, 0, m.ID); err != nil {
			t.Fatal(err)
		}
		active("cancelled through the store", 0)
	})
}
