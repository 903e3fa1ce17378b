package app_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/app/apptest"
	"simplesender/internal/delivery"
	"simplesender/internal/mailer"
	"simplesender/internal/store"
)

// outboxEngine runs a delivery engine for env that writes messages to a
// folder; stop ends it (also at the end of the test).
func outboxEngine(t *testing.T, env *apptest.Env) (stop func()) {
	t.Helper()
	e := delivery.New(env.DB, delivery.NewOutbox(t.TempDir()), delivery.Config{From: mailer.Address{Email: "news@example.com"},
		Conns: 4, Poll: 10 * time.Millisecond, Heartbeat: 200 * time.Millisecond})
	env.App.Waker = e
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { e.Run(rctx); close(done) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// oneRecipientMailings makes n mailings of one message for ac, each to a
// recipient of its own.
func oneRecipientMailings(t *testing.T, env *apptest.Env, ac *app.Actor, n int) []*simplesender.Mailing {
	t.Helper()
	msg := &simplesender.Message{Subject: "Hello", BodyText: "Hello, {{email}}"}
	if err := env.App.CreateMessage(ctx, ac, msg); err != nil {
		t.Fatal(err)
	}
	ms := make([]*simplesender.Mailing, n)
	for i := range ms {
		r := &simplesender.Recipient{Email: fmt.Sprintf("%s-%02d@example.com", ac.User.Email[:3], i)}
		if err := env.App.CreateRecipient(ctx, ac, r); err != nil {
			t.Fatal(err)
		}
		var err error
		ms[i], err = env.App.CreateMailing(ctx, ac, app.MailingInput{Name: fmt.Sprintf("race %d", i), MessageID: msg.ID,
			RecipientIDs: []int64{r.ID}})
		if err != nil {
			t.Fatal(err)
		}
	}
	return ms
}

// runsAfter returns the runs of the mailings that started after t0.
func runsAfter(t *testing.T, env *apptest.Env, ms []*simplesender.Mailing, t0 time.Time) []string {
	t.Helper()
	var out []string
	for _, m := range ms {
		runs, err := env.DB.Store().ListRuns(ctx, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range runs {
			if r.StartedAt.After(t0) {
				out = append(out, fmt.Sprintf("mailing %d run %d started %s, sent %d", m.ID, r.ID,
					r.StartedAt.Sub(t0), r.Counts.Sent))
			}
		}
	}
	return out
}

// TestBlockStopsStartsInFlight: many "send now" and "schedule" requests of
// a user, authenticated before the user is blocked (as the API and the UI
// authenticate a request before acting), race the block. Once the block has
// returned, no run of the user's has started after it, none waits to be
// sent, a scheduled send does not start when its time comes, and a request
// arriving late is refused.
func TestBlockStopsStartsInFlight(t *testing.T) {
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		stop := outboxEngine(t, env)
		owner := rpActor(t, env, "racer@example.com", simplesender.RoleUser)
		admin := rpActor(t, env, "boss@example.com", simplesender.RoleAdmin)
		ms := oneRecipientMailings(t, env, owner, 80)
		begin := make(chan struct{})
		var wg sync.WaitGroup
		var accepted, refused atomic.Int32
		var mu sync.Mutex
		var lastAt time.Time // the latest time a send is scheduled for
		for i, m := range ms {
			wg.Go(func() {
				<-begin
				time.Sleep(time.Duration(i) * time.Millisecond) // spread around the block
				var err error
				if i%4 == 3 {
					at := env.DB.Now().Add(2 * time.Second)
					mu.Lock()
					if at.After(lastAt) {
						lastAt = at
					}
					mu.Unlock()
					err = env.App.Schedule(ctx, owner, m.ID, at)
				} else {
					err = env.App.SendNow(ctx, owner, m.ID, "now")
				}
				switch {
				case err == nil:
					accepted.Add(1)
				case isMessage(err, "error.mailing.owner_blocked"):
					refused.Add(1)
				default:
					t.Errorf("start of mailing %d: %v", m.ID, err)
				}
			})
		}
		close(begin)
		time.Sleep(25 * time.Millisecond)
		u, err := env.App.SetBlocked(ctx, admin, owner.User.ID, true)
		if err != nil {
			t.Fatal(err)
		}
		blockedAt := *u.BlockedAt
		wg.Wait()
		t.Logf("%d starts accepted, %d refused", accepted.Load(), refused.Load())
		// A request authenticated before the block that reaches the app
		// after it, on every path that starts a run.
		late := ms[0]
		for what, err := range map[string]error{
			"send now": env.App.SendNow(ctx, owner, late.ID, "now"),
			"schedule": env.App.Schedule(ctx, owner, late.ID, env.DB.Now().Add(time.Hour)),
			"cli":      env.App.SendNow(ctx, app.System, late.ID, "cli"),
		} {
			if !isMessage(err, "error.mailing.owner_blocked") {
				t.Errorf("%s after the block: %v", what, err)
			}
		}

		// Past the scheduled time, when nothing of the user's is running
		// any more, the engine has done all it would.
		waitFor(t, 20*time.Second, "the user's mailings", func() bool {
			mu.Lock()
			defer mu.Unlock()
			if env.DB.Now().Before(lastAt.Add(300 * time.Millisecond)) {
				return false
			}
			for _, m := range ms {
				got, err := env.App.GetMailing(ctx, admin, m.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.Status == simplesender.MailingRunning {
					return false
				}
			}
			return true
		})
		stop()
		if late := runsAfter(t, env, ms, blockedAt); len(late) > 0 {
			t.Errorf("%d runs started after the block:\n%v", len(late), late)
		}
		left, err := env.DB.ClaimDeliveries(ctx, "probe", env.DB.Now().Add(24*time.Hour), 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(left) != 0 {
			t.Errorf("%d deliveries of the blocked user still wait to be sent", len(left))
		}
	})
}

// TestDisableStopsStartsInFlight: managers disable mailings while their
// owner sends them. Once a disable has returned, its mailing has no run that
// started after it and nothing of it waits to be sent.
func TestDisableStopsStartsInFlight(t *testing.T) {
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		stop := outboxEngine(t, env)
		owner := rpActor(t, env, "sender@example.com", simplesender.RoleUser)
		manager := rpActor(t, env, "manager@example.com", simplesender.RoleManager)
		const n = 30
		ms := oneRecipientMailings(t, env, owner, n)
		begin := make(chan struct{})
		var wg sync.WaitGroup
		disabled := make([]*simplesender.Mailing, n)
		for i, m := range ms {
			wg.Go(func() {
				<-begin
				time.Sleep(time.Duration(i) * time.Millisecond)
				if err := env.App.SendNow(ctx, owner, m.ID, "now"); err != nil && !isMessage(err, "error.mailing.disabled") {
					t.Errorf("send mailing %d: %v", m.ID, err)
				}
			})
			wg.Go(func() {
				<-begin
				time.Sleep(time.Duration(n-i) * time.Millisecond)
				got, err := env.App.SetMailingDisabled(ctx, manager, m.ID, true)
				if err != nil {
					t.Errorf("disable mailing %d: %v", m.ID, err)
					return
				}
				disabled[i] = got
			})
		}
		close(begin)
		wg.Wait()
		if t.Failed() {
			return
		}
		waitFor(t, 20*time.Second, "the mailings", func() bool {
			for _, m := range ms {
				if got, err := env.App.GetMailing(ctx, manager, m.ID); err != nil || got.Status == simplesender.MailingRunning {
					return false
				}
			}
			return true
		})
		stop()
		for i, m := range disabled {
			if late := runsAfter(t, env, []*simplesender.Mailing{m}, *m.DisabledAt); len(late) > 0 {
				t.Errorf("mailing %d: runs started after it was disabled: %v", i, late)
			}
		}
		left, err := env.DB.ClaimDeliveries(ctx, "probe", env.DB.Now().Add(24*time.Hour), 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(left) != 0 {
			t.Errorf("%d deliveries of disabled mailings still wait to be sent", len(left))
		}
	})
}

// TestBlockAndDisableWaitForAStartInFlight holds a run's start open (as the
// engine does while it writes a large audience) while a block of its owner
// and a disable of its mailing are asked for. They wait for the start: its
// run counts as started before them, and it is cancelled with the rest.
func TestBlockAndDisableWaitForAStartInFlight(t *testing.T) {
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		var clock atomic.Pointer[time.Time]
		setClock := func(t time.Time) { clock.Store(&t) }
		setClock(time.Now().UTC().Truncate(time.Second))
		env.DB.SetClock(func() time.Time { return *clock.Load() })
		admin := rpActor(t, env, "boss@example.com", simplesender.RoleAdmin)
		for _, stopBy := range []string{"block", "disable"} {
			t.Run(stopBy, func(t *testing.T) {
				owner := rpActor(t, env, stopBy+"@example.com", simplesender.RoleUser)
				m := rpMailing(t, env, owner, stopBy, stopBy+"-1@example.com", stopBy+"-2@example.com")
				if err := env.App.SendNow(ctx, owner, m.ID, "now"); err != nil {
					t.Fatal(err)
				}
				c := *clock.Load()
				// The engine read its clock a moment after the stop was asked
				// for, but takes the locks first.
				startedAt := c.Add(time.Second)
				locked, release := make(chan struct{}), make(chan struct{})
				var run *simplesender.Run
				startErr := make(chan error, 1)
				go func() {
					startErr <- env.DB.InTx(ctx, func(s *store.Store) error {
						var err error
						run, err = s.StartDue(ctx, m.ID, startedAt)
						close(locked)
						<-release
						return err
					})
				}()
				<-locked
				stopped := make(chan *time.Time, 1)
				go func() {
					switch stopBy {
					case "block":
						u, err := env.App.SetBlocked(ctx, admin, owner.User.ID, true)
						if err != nil {
							t.Error(err)
							stopped <- nil
							return
						}
						stopped <- u.BlockedAt
					default:
						got, err := env.App.SetMailingDisabled(ctx, admin, m.ID, true)
						if err != nil {
							t.Error(err)
							stopped <- nil
							return
						}
						stopped <- got.DisabledAt
					}
				}()
				time.Sleep(200 * time.Millisecond) // the stop is waiting now
				setClock(c.Add(2 * time.Second))
				close(release)
				if err := <-startErr; err != nil || run == nil {
					t.Fatalf("start: run %v, %v", run, err)
				}
				at := <-stopped
				if at == nil {
					return
				}
				if !run.StartedAt.Before(*at) {
					t.Errorf("the run started at %s, after the %s at %s", run.StartedAt, stopBy, *at)
				}
				got, err := env.App.GetMailing(ctx, admin, m.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.Counts.Cancelled != 2 || got.Counts.Pending != 0 {
					t.Errorf("the run's deliveries after the %s: %+v", stopBy, got.Counts)
				}
			})
		}
	})
}

// isMessage reports whether err is a domain error with message key key.
func isMessage(err error, key string) bool {
	var e *simplesender.Error
	return errors.As(err, &e) && e.Message == key
}
