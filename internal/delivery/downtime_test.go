package delivery_test

import (
	"database/sql"
	"testing"
	"time"

	"simplesender"
	"simplesender/internal/app/apptest"
	"simplesender/internal/clocktest"
	"simplesender/internal/delivery"
	"simplesender/internal/mailer"
	"simplesender/internal/store"
)

// TestServerDownForAWhile takes the only SMTP server down during a send,
// on a clock that moves only when told: the retries come at the times of
// the configured schedule, each with its attempt row; once the server has
// failed often enough it rests, and while it rests the deliveries that
// come due are given back untried (no attempt is spent on them); when the
// server is back every recipient gets exactly one message.
func TestServerDownForAWhile(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		clock := clocktest.New()
		t0 := clock.Now()
		env.DB.SetClock(clock.Now)
		backend := apptest.NewSMTPServer(t)
		gate := newSMTPGate(t, backend.Addr)
		gate.setDown(true)
		servers := newServers(t, clock, delivery.ServersOptions{FailAfter: 3, Rest: 10 * time.Minute},
			delivery.ServerConfig{SMTP: testSMTP(t, gate.URL()), Conns: 1})
		e := runEngine(t, env, env.DB, servers, delivery.Config{From: mailer.Address{Email: "news@example.com"}, Conns: 1,
			Retry: []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute}, Poll: 10 * time.Millisecond,
			Heartbeat: time.Hour, SendTimeout: 5 * time.Second, Now: clock.Now})
		owner := newOwner(t, env)
		m := sendMailing(t, env, owner, []string{"a@example.com", "b@example.com"})

		type row struct {
			status   simplesender.DeliveryStatus
			attempts int // the delivery's count of tries
			next     time.Time
			rows     int // its attempt rows
		}
		state := func() map[string]row {
			out := map[string]row{}
			rs, err := env.DB.Writer().Query(env.DB.Rebind(`SELECT email, status, attempts, next_attempt_at,
				(SELECT count(*) FROM attempts a WHERE a.delivery_id = d.id) FROM deliveries d WHERE d.run_id IN
				(SELECT id FROM runs WHERE mailing_id = ?)`), m.ID)
			if err != nil {
				t.Fatal(err)
			}
			defer rs.Close()
			for rs.Next() {
				var email, st string
				var r row
				var next sql.NullTime
				if err := rs.Scan(&email, &st, &r.attempts, &next, &r.rows); err != nil {
					t.Fatal(err)
				}
				r.status, r.next = simplesender.DeliveryStatus(st), next.Time.UTC()
				out[email] = r
			}
			return out
		}
		waitFor := func(what string, want map[string]row) {
			t.Helper()
			deadline := time.Now().Add(15 * time.Second)
			for {
				got := state()
				ok := len(got) == len(want)
				for k, w := range want {
					g := got[k]
					if g.status != w.status || g.attempts != w.attempts || g.rows != w.rows || !w.next.IsZero() && !g.next.Equal(w.next) {
						ok = false
					}
				}
				if ok {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s: got %+v, want %+v", what, got, want)
				}
				time.Sleep(10 * time.Millisecond)
			}
		}

		// t0: the server is down; both are deferred for the first wait of
		// the schedule, each with an attempt row.
		waitFor("first tries", map[string]row{
			"a@example.com": {simplesender.DeliveryDeferred, 1, t0.Add(time.Minute), 1},
			"b@example.com": {simplesender.DeliveryDeferred, 1, t0.Add(time.Minute), 1},
		})
		// t0+1m: a fails again (the server's third failure in a row: it
		// rests 10 minutes) and waits the schedule's second step; b finds
		// every server resting and is given back untried, due when the
		// rest ends.
		clock.Advance(time.Minute)
		e.Wake()
		waitFor("second tries", map[string]row{
			"a@example.com": {simplesender.DeliveryDeferred, 2, t0.Add(6 * time.Minute), 2},
			"b@example.com": {simplesender.DeliveryPending, 1, t0.Add(11 * time.Minute), 1},
		})
		// t0+6m: a is due, but the engine claims nothing while every
		// server rests.
		clock.Advance(5 * time.Minute)
		e.Wake()
		time.Sleep(100 * time.Millisecond)
		waitFor("rest", map[string]row{
			"a@example.com": {simplesender.DeliveryDeferred, 2, t0.Add(6 * time.Minute), 2},
			"b@example.com": {simplesender.DeliveryPending, 1, t0.Add(11 * time.Minute), 1},
		})
		// t0+11m: the server is back and the rest is over: both are sent.
		gate.setDown(false)
		clock.Advance(5 * time.Minute)
		e.Wake()
		waitFor("the server back", map[string]row{
			"a@example.com": {simplesender.DeliverySent, 3, time.Time{}, 3},
			"b@example.com": {simplesender.DeliverySent, 2, time.Time{}, 2},
		})
		for _, addr := range []string{"a@example.com", "b@example.com"} {
			if n := len(backend.Messages(addr)); n != 1 {
				t.Errorf("%s received %d messages, want 1", addr, n)
			}
		}
		p, err := env.App.Deliveries(ctx, owner, m.ID, 0, store.DeliveryFilter{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range p.Deliveries {
			at := []time.Time{}
			for _, a := range p.Attempts[d.ID] {
				at = append(at, a.AttemptedAt)
			}
			want := []time.Time{t0, t0.Add(11 * time.Minute)}
			if d.Email == "a@example.com" {
				want = []time.Time{t0, t0.Add(time.Minute), t0.Add(11 * time.Minute)}
			}
			if len(at) != len(want) {
				t.Fatalf("%s attempts at %v, want %v", d.Email, at, want)
			}
			for i := range want {
				if !at[i].Equal(want[i]) {
					t.Errorf("%s attempts at %v, want %v", d.Email, at, want)
				}
			}
		}
	})
}
