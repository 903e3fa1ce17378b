package delivery_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
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
	"simplesender/internal/store/storetest"
)

var ctx = context.Background()

type rig struct {
	env    *apptest.Env
	smtp   *apptest.SMTPServer
	engine *delivery.Engine
	owner  *app.Actor
}

func newRig(t *testing.T, dbURL string, tune func(*delivery.Config), deps ...func(*app.Deps)) *rig {
	t.Helper()
	return newRigOn(t, dbURL, nil, tune, deps...)
}

// newRigOn is newRig with the engine on wrap(db) (nil: the database).
func newRigOn(t *testing.T, dbURL string, wrap func(*store.DB) delivery.Store, tune func(*delivery.Config), deps ...func(*app.Deps)) *rig {
	t.Helper()
	var o apptest.Options
	if len(deps) > 0 {
		o.Deps = deps[0]
	}
	env := apptest.New(t, dbURL, o)
	srv := apptest.NewSMTPServer(t)
	smtp, err := mailer.NewSMTP(srv.URL(), mailer.SMTPOptions{CommandTimeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	cfg := delivery.Config{From: mailer.Address{Name: "Рассылка", Email: "news@example.com"}, Conns: 4,
		Retry: []time.Duration{50 * time.Millisecond, 50 * time.Millisecond}, Poll: 20 * time.Millisecond,
		Heartbeat: 200 * time.Millisecond, SendTimeout: 5 * time.Second}
	if tune != nil {
		tune(&cfg)
	}
	var db delivery.Store = env.DB
	if wrap != nil {
		db = wrap(env.DB)
	}
	e := runEngine(t, env, db, delivery.NewPool(smtp, cfg.Conns), cfg)
	return &rig{env: env, smtp: srv, engine: e, owner: newOwner(t, env)}
}

// runEngine runs, until the test ends, a delivery engine on db that sends
// through s and that env's app wakes when a mailing is sent.
func runEngine(t *testing.T, env *apptest.Env, db delivery.Store, s delivery.Sender, cfg delivery.Config) *delivery.Engine {
	t.Helper()
	e := delivery.New(db, s, cfg)
	env.App.Waker = e
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { e.Run(rctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return e
}

// newOwner makes the active user owner@example.com, who owns the mailings.
func newOwner(t *testing.T, env *apptest.Env) *app.Actor {
	t.Helper()
	return &app.Actor{User: env.User(t, "owner@example.com", simplesender.RoleUser, simplesender.StatusActive)}
}

// sending makes a mailing to n addresses that start with prefix, sends it,
// and returns once `sent` of them are sent.
func (r *rig) sending(t *testing.T, prefix string, n, sent int) *simplesender.Mailing {
	t.Helper()
	m := r.mailing(t, "Slow", addrs(prefix, 1, n)...)
	if err := r.env.App.SendNow(ctx, r.owner, m.ID, "now"); err != nil {
		t.Fatal(err)
	}
	return r.wait(t, m.ID, "a few sends", func(m *simplesender.Mailing) bool { return m.Counts.Sent >= sent })
}

// mailing makes a mailing to the given addresses.
func (r *rig) mailing(t *testing.T, subject string, emails ...string) *simplesender.Mailing {
	t.Helper()
	var ids []int64
	for i, e := range emails {
		rc := &simplesender.Recipient{Email: e, FirstName: fmt.Sprintf("Имя%d", i), LastName: "Фамилия"}
		if err := r.env.App.CreateRecipient(ctx, r.owner, rc); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, rc.ID)
	}
	msg := &simplesender.Message{Subject: subject, BodyText: "Здравствуйте, {{first_name}}! Ваш адрес: {{email}}", BodyHTML: "<p>Hi {{first_name}}</p>"}
	if err := r.env.App.CreateMessage(ctx, r.owner, msg); err != nil {
		t.Fatal(err)
	}
	m, err := r.env.App.CreateMailing(ctx, r.owner, app.MailingInput{MessageID: msg.ID, RecipientIDs: ids})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// wait polls the mailing until cond holds (10 s at most).
func (r *rig) wait(t *testing.T, id int64, what string, cond func(m *simplesender.Mailing) bool) *simplesender.Mailing {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		m, err := r.env.App.GetMailing(ctx, r.owner, id)
		if err != nil {
			t.Fatal(err)
		}
		if cond(m) {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s: %+v", what, m)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func finished(m *simplesender.Mailing) bool { return m.Status == simplesender.MailingFinished }

func (r *rig) deliveries(t *testing.T, id int64) map[string]*simplesender.Delivery {
	t.Helper()
	p, err := r.env.App.Deliveries(ctx, r.owner, id, 0, store.DeliveryFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*simplesender.Delivery{}
	for _, d := range p.Deliveries {
		out[d.Email] = d
		d.Attempts = len(p.Attempts[d.ID])
	}
	return out
}

func TestEachRecipientGetsTheirOwnMessage(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		r := newRig(t, dbURL, nil)
		var emails []string
		for i := range 25 {
			emails = append(emails, fmt.Sprintf("r%02d@example.com", i))
		}
		m := r.mailing(t, "Новости для {{first_name}}", emails...)
		if err := r.env.App.SendNow(ctx, r.owner, m.ID, "now"); err != nil {
			t.Fatal(err)
		}
		m = r.wait(t, m.ID, "the run to finish", finished)
		if m.Counts.Sent != 25 || m.Counts.Total() != 25 || m.StartedAt == nil || m.FinishedAt == nil {
			t.Fatalf("counts %+v", m.Counts)
		}
		for i, e := range emails {
			got := r.smtp.Messages(e)
			if len(got) != 1 {
				t.Fatalf("%s got %d messages", e, len(got))
			}
			raw := string(r.smtp.Raw(e)[0])
			for _, other := range emails {
				if other != e && strings.Contains(raw, other) {
					t.Fatalf("%s's message names %s", e, other)
				}
			}
			if want := fmt.Sprintf("Новости для Имя%d", i); got[0].Subject != want {
				t.Errorf("subject %q, want %q", got[0].Subject, want)
			}
			if !strings.Contains(got[0].Body, "Ваш адрес: "+e) {
				t.Errorf("body not personalised: %q", got[0].Body)
			}
		}
		for _, d := range r.deliveries(t, m.ID) {
			if d.Status != simplesender.DeliverySent || d.Attempts != 1 || d.LastCode != 250 || d.MessageID == "" {
				t.Errorf("delivery %+v", d)
			}
		}
		if r.smtp.Connections() > 4 {
			t.Errorf("%d connections for 4 allowed: not reused", r.smtp.Connections())
		}
	})
}

func TestFailuresEndInTheRightState(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		r := newRig(t, dbURL, func(c *delivery.Config) { c.SendTimeout = 10 * time.Second })
		r.smtp.StallFor = 4 * time.Second
		r.smtp.Script = func(rcpt string, n int) apptest.Action {
			switch {
			case strings.HasPrefix(rcpt, "temp") && n == 1:
				return apptest.Temp
			case strings.HasPrefix(rcpt, "perm"):
				return apptest.Perm
			case strings.HasPrefix(rcpt, "dropbefore") && n == 1:
				return apptest.DropBefore
			case strings.HasPrefix(rcpt, "dropafter"):
				return apptest.DropAfter
			case strings.HasPrefix(rcpt, "stall") && n == 1:
				return apptest.Stall
			case strings.HasPrefix(rcpt, "always"):
				return apptest.Temp
			}
			return apptest.Accept
		}
		m := r.mailing(t, "Test", "ok@example.com", "temp@example.com", "perm@example.com", "dropbefore@example.com",
			"dropafter@example.com", "stall@example.com", "always@example.com")
		if err := r.env.App.SendNow(ctx, r.owner, m.ID, "now"); err != nil {
			t.Fatal(err)
		}
		m = r.wait(t, m.ID, "the run to finish", finished)
		want := map[string]struct {
			status   simplesender.DeliveryStatus
			attempts int
			code     int
		}{
			"ok@example.com":         {simplesender.DeliverySent, 1, 250},
			"temp@example.com":       {simplesender.DeliverySent, 2, 250},
			"perm@example.com":       {simplesender.DeliveryFailed, 1, 550},
			"dropbefore@example.com": {simplesender.DeliverySent, 2, 250},
			"dropafter@example.com":  {simplesender.DeliveryUnknown, 1, 0},
			"stall@example.com":      {simplesender.DeliverySent, 2, 250},
			"always@example.com":     {simplesender.DeliveryFailed, 3, 451},
		}
		got := r.deliveries(t, m.ID)
		for e, w := range want {
			d := got[e]
			if d == nil || d.Status != w.status || d.Attempts != w.attempts || d.LastCode != w.code {
				t.Errorf("%s: %+v, want %+v", e, d, w)
			}
		}
		if d := got["perm@example.com"]; d.LastEnhanced != "5.1.1" || !strings.Contains(d.LastResponse, "no such user") {
			t.Errorf("permanent failure lacks the server's reply: %+v", d)
		}
		if n := len(r.smtp.Messages("dropafter@example.com")); n != 0 || m.Counts.Unknown != 1 {
			t.Errorf("unknown outcome: %d messages accepted, %d unknown", n, m.Counts.Unknown)
		}
		if m.Counts.Sent != 4 || m.Counts.Failed != 2 {
			t.Errorf("counts %+v", m.Counts)
		}
		// Resending the failed ones makes a second run; the first stays.
		r.smtp.Script = nil
		if err := r.env.App.Resend(ctx, r.owner, m.ID, simplesender.RunResendFailed); err != nil {
			t.Fatal(err)
		}
		m = r.wait(t, m.ID, "the resend to finish", func(m *simplesender.Mailing) bool { return finished(m) && m.Counts.Total() == 2 })
		if m.Counts.Sent != 2 {
			t.Errorf("resend counts %+v", m.Counts)
		}
		runs, _ := r.env.App.Runs(ctx, r.owner, m.ID)
		if len(runs) != 2 || runs[1].Counts.Total() != 7 {
			t.Errorf("runs: %d, first run kept %+v", len(runs), runs)
		}
	})
}

func TestCancelAndDisableStopAtOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		r := newRig(t, dbURL, func(c *delivery.Config) { c.Conns = 2 }, func(d *app.Deps) { d.RepeatWindow = -1 })
		r.smtp.Delay = 30 * time.Millisecond
		m := r.sending(t, "c", 100, 5)
		if err := r.env.App.CancelMailing(ctx, r.owner, m.ID); err != nil {
			t.Fatal(err)
		}
		m = r.wait(t, m.ID, "the cancelled run to finish", finished)
		if m.Counts.Cancelled < 70 || m.Counts.Sent+m.Counts.Cancelled != 100 {
			t.Fatalf("after cancel: %+v", m.Counts)
		}
		if got := r.smtp.Accepted(); got != m.Counts.Sent {
			t.Fatalf("server accepted %d, recorded sent %d", got, m.Counts.Sent)
		}

		// A manager disables a second send midway: it stops, and the owner can only delete.
		mgr := &app.Actor{User: r.env.User(t, "mgr@example.com", simplesender.RoleManager, simplesender.StatusActive)}
		if err := r.env.App.SendNow(ctx, r.owner, m.ID, "now"); err != nil {
			t.Fatal(err)
		}
		r.wait(t, m.ID, "the second run to send", func(x *simplesender.Mailing) bool { return x.Counts.Sent >= 5 && x.Counts.Total() == 100 })
		if err := r.env.App.SendNow(ctx, mgr, m.ID, "now"); !simplesender.IsKind(err, simplesender.KindForbidden) {
			t.Fatalf("manager started a send: %v", err)
		}
		if _, err := r.env.App.SetMailingDisabled(ctx, mgr, m.ID, true); err != nil {
			t.Fatal(err)
		}
		m = r.wait(t, m.ID, "the disabled run to stop", finished)
		if !m.Disabled() || m.Counts.Cancelled == 0 {
			t.Fatalf("disabled: %+v", m)
		}
		if err := r.env.App.SendNow(ctx, r.owner, m.ID, "now"); !simplesender.IsKind(err, simplesender.KindConflict) {
			t.Fatalf("send of a disabled mailing: %v", err)
		}
		ev, _ := r.env.App.MailingAudit(ctx, r.owner, m.ID)
		if len(ev) != 1 || ev[0].Action != "mailing.disable" || ev[0].ActorEmail != "mgr@example.com" {
			t.Fatalf("disable not recorded: %+v", ev)
		}
		if err := r.env.App.DeleteMailing(ctx, r.owner, m.ID); err != nil {
			t.Fatalf("owner cannot delete the disabled mailing: %v", err)
		}
	})
}

func TestDoubleSendMakesOneRun(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		r := newRig(t, dbURL, nil)
		m := r.mailing(t, "Once", "a@example.com", "b@example.com", "c@example.com")
		// A schedule that comes due right now races five "send now" clicks.
		if err := r.env.App.Schedule(ctx, r.owner, m.ID, time.Now().Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Until(time.Now().Add(950 * time.Millisecond)))
		var wg sync.WaitGroup
		for range 5 {
			wg.Add(1)
			go func() { defer wg.Done(); r.env.App.SendNow(ctx, r.owner, m.ID, "now") }()
		}
		wg.Wait()
		m = r.wait(t, m.ID, "the run to finish", finished)
		time.Sleep(300 * time.Millisecond)
		runs, _ := r.env.App.Runs(ctx, r.owner, m.ID)
		if len(runs) != 1 || r.smtp.Accepted() != 3 {
			t.Fatalf("%d runs, %d messages", len(runs), r.smtp.Accepted())
		}
	})
}

func TestRunKeepsTheMessageItStartedWith(t *testing.T) {
	r := newRig(t, storetest.NewURL(t, "sqlite"), func(c *delivery.Config) { c.Conns = 1 })
	r.smtp.Delay = 50 * time.Millisecond
	emails := addrs("k", 1, 20)
	m := r.mailing(t, "Original", emails...)
	if err := r.env.App.SendNow(ctx, r.owner, m.ID, "now"); err != nil {
		t.Fatal(err)
	}
	r.wait(t, m.ID, "the first sends", func(m *simplesender.Mailing) bool { return m.Counts.Sent >= 2 })
	msg, _ := r.env.App.GetMessage(ctx, r.owner, m.MessageID)
	msg.Subject = "Edited"
	if err := r.env.App.UpdateMessage(ctx, r.owner, msg); err != nil {
		t.Fatal(err)
	}
	if _, err := r.env.App.UpdateMailing(ctx, r.owner, m.ID, app.MailingInput{MessageID: m.MessageID, RecipientIDs: []int64{1}}); err != nil {
		t.Fatal(err)
	}
	m = r.wait(t, m.ID, "the run to finish", finished)
	for _, e := range emails {
		got := r.smtp.Messages(e)
		if len(got) != 1 || got[0].Subject != "Original" {
			t.Fatalf("%s: %d messages, %+v", e, len(got), got)
		}
	}
}

func TestScheduleWithInjectedClock(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		var mu sync.Mutex
		now := time.Date(2030, 3, 1, 9, 0, 0, 0, time.UTC)
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		r := newRig(t, dbURL, func(c *delivery.Config) { c.Now = clock }, func(d *app.Deps) { d.Now = clock })
		m := r.mailing(t, "Later", "s@example.com")
		if err := r.env.App.Schedule(ctx, r.owner, m.ID, now.Add(-time.Minute)); !simplesender.IsKind(err, simplesender.KindInvalid) {
			t.Fatalf("a time in the past was accepted: %v", err)
		}
		at := now.Add(2 * time.Hour)
		if err := r.env.App.Schedule(ctx, r.owner, m.ID, at); err != nil {
			t.Fatal(err)
		}
		// Scheduling again replaces the time; cancelling returns to "created".
		if err := r.env.App.Schedule(ctx, r.owner, m.ID, at.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		got, _ := r.env.App.GetMailing(ctx, r.owner, m.ID)
		if got.Status != simplesender.MailingRunning || !got.ScheduledAt.Equal(at.Add(time.Hour)) {
			t.Fatalf("rescheduled: %+v", got)
		}
		if err := r.env.App.CancelMailing(ctx, r.owner, m.ID); err != nil {
			t.Fatal(err)
		}
		if got, _ = r.env.App.GetMailing(ctx, r.owner, m.ID); got.Status != simplesender.MailingCreated || got.ScheduledAt != nil {
			t.Fatalf("after cancel: %+v", got)
		}
		if err := r.env.App.Schedule(ctx, r.owner, m.ID, at); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
		if r.smtp.Accepted() != 0 {
			t.Fatal("sent before its time")
		}
		// The service "was down" past the planned time: it sends when it looks
		// again, and the page can show how late.
		mu.Lock()
		now = at.Add(7 * time.Minute)
		mu.Unlock()
		r.engine.Wake()
		got = r.wait(t, m.ID, "the scheduled run", finished)
		if got.Counts.Sent != 1 || got.LateBy != 7*time.Minute {
			t.Fatalf("scheduled run: %+v late %v", got.Counts, got.LateBy)
		}
	})
}

func TestBlockingAUserStopsTheirSends(t *testing.T) {
	r := newRig(t, storetest.NewURL(t, "sqlite"), func(c *delivery.Config) { c.Conns = 1 })
	r.smtp.Delay = 30 * time.Millisecond
	emails := addrs("b", 1, 50)
	m := r.mailing(t, "Blocked", emails...)
	m2 := r.mailing(t, "Scheduled", "later@example.com")
	if err := r.env.App.Schedule(ctx, r.owner, m2.ID, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := r.env.App.SendNow(ctx, r.owner, m.ID, "now"); err != nil {
		t.Fatal(err)
	}
	r.wait(t, m.ID, "the first sends", func(m *simplesender.Mailing) bool { return m.Counts.Sent >= 2 })
	mgr := &app.Actor{User: r.env.User(t, "boss@example.com", simplesender.RoleManager, simplesender.StatusActive)}
	if _, err := r.env.App.SetBlocked(ctx, mgr, r.owner.User.ID, true); err != nil {
		t.Fatal(err)
	}
	got := r.wait(t, m.ID, "the run to stop", finished)
	if got.Counts.Cancelled < 40 {
		t.Fatalf("blocking did not stop the send: %+v", got.Counts)
	}
	if got2, _ := r.env.App.GetMailing(ctx, app.System, m2.ID); got2.ScheduledAt != nil || got2.Status != simplesender.MailingCreated {
		t.Fatalf("the blocked user's scheduled send is still pending: %+v", got2)
	}
}

// flakyCancels is the real database whose reads of the cancelled runs fail
// while failing is set: a database that stops answering for a moment.
type flakyCancels struct {
	*store.DB
	failing atomic.Bool
	failed  atomic.Int32
}

func (f *flakyCancels) CancelledRuns(ctx context.Context) (map[int64]bool, error) {
	if f.failing.Load() {
		f.failed.Add(1)
		return nil, errors.New("read tcp: connection reset by peer")
	}
	return f.DB.CancelledRuns(ctx)
}

// TestCancelSeenAfterAStoreError: the engine holds every delivery of a
// run when its owner cancels it, and its reads of the cancelled runs fail
// for a moment. The failure is logged, and once the database answers again
// the engine sees the cancel and stops the messages it still holds.
func TestCancelSeenAfterAStoreError(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		var flaky *flakyCancels
		var logs apptest.LogBuffer
		r := newRigOn(t, dbURL, func(db *store.DB) delivery.Store { flaky = &flakyCancels{DB: db}; return flaky },
			func(c *delivery.Config) {
				c.Conns, c.InFlight = 2, 200 // every delivery claimed at once: only the engine's check stops them
				c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			}, func(d *app.Deps) { d.RepeatWindow = -1 })
		r.smtp.Delay = 40 * time.Millisecond
		m := r.sending(t, "f", 100, 3)
		flaky.failing.Store(true)
		if err := r.env.App.CancelMailing(ctx, r.owner, m.ID); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for flaky.failed.Load() < 3 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		flaky.failing.Store(false)
		m = r.wait(t, m.ID, "the cancelled run to finish", finished)
		if m.Counts.Cancelled < 30 || m.Counts.Sent+m.Counts.Cancelled != 100 {
			t.Errorf("after the cancel: %+v; want most cancelled, the rest sent", m.Counts)
		}
		if got := r.smtp.Accepted(); got != m.Counts.Sent {
			t.Errorf("server accepted %d, recorded sent %d", got, m.Counts.Sent)
		}
		if !strings.Contains(logs.String(), "read cancelled runs; retrying") {
			t.Errorf("the failed reads were not logged:\n%s", logs.String())
		}
	})
}
