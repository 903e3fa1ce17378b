package web_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/app/apptest"
	"simplesender/internal/delivery"
	"simplesender/internal/mailer"
	"simplesender/internal/nettest"
	"simplesender/internal/store/storetest"
	"simplesender/internal/web"
)

// progressText is the part of progress.json these tests read.
type progressText struct {
	Status  string            `json:"status"`
	Running bool              `json:"running"`
	Pending int               `json:"pending"`
	Text    map[string]string `json:"text"`
}

func readProgress(t *testing.T, r resp) progressText {
	t.Helper()
	var p progressText
	if r.status != 200 {
		t.Fatalf("progress.json: %d %s", r.status, r.body)
	}
	if err := json.Unmarshal([]byte(r.body), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// restingServers returns a sender over one SMTP server that nobody answers
// on, after a failed send has made it rest.
func restingServers(t *testing.T) *delivery.Servers {
	t.Helper()
	// Nobody listens there: connections are refused.
	smtp, err := mailer.NewSMTP("smtp://" + nettest.FreeAddr(t) + "?tls=none")
	if err != nil {
		t.Fatal(err)
	}
	sv, err := delivery.NewServers([]delivery.ServerConfig{{SMTP: smtp}}, delivery.ServersOptions{FailAfter: 1, Rest: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sv.Send(context.Background(), "a@example.com", "b@example.com", []byte("Subject: x\r\n\r\nx\r\n")); err == nil {
		t.Fatal("a send to a closed port went through")
	}
	if st := sv.Status(); st[0].State != simplesender.SMTPServerResting {
		t.Fatalf("the server does not rest: %+v", st[0])
	}
	return sv
}

// TestMailingPageSaysWhyNothingMoves: while a send waits (deferred
// deliveries, a resting server), the mailing page and its live JSON say how
// many wait, when the next attempt is, the last error and the resting
// server; and every moving figure of the page is in the JSON, so that the
// page's script updates them all together.
func TestMailingPageSaysWhyNothingMoves(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		sv := restingServers(t)
		s := newSiteOpts(t, dbURL, web.Config{}, apptest.Options{Deps: func(d *app.Deps) {
			d.SMTP = func() simplesender.SMTPSettings { return simplesender.SMTPSettings{Servers: sv.Status()} }
		}})
		ctx, ac := context.Background(), s.actor(t, "active")
		o := s.seed(t, "active", "Anna")
		page, js := o.path("/mailings/{G}"), o.path("/mailings/{G}/progress.json")

		// Send now, not taken by the engine yet: starting, and no planned time.
		if err := s.env.App.SendNow(ctx, ac, o.G, "now"); err != nil {
			t.Fatal(err)
		}
		p := readProgress(t, s.do(t, "active", "GET", js, nil))
		if !p.Running || p.Text["detail"] != "starting" || p.Text["scheduled_at"] != "—" || p.Text["started_at"] != "—" || p.Text["why"] != "" ||
			p.Text["first_sent_at"] != "Not yet" {
			t.Errorf("queued: %+v", p)
		}
		check(t, "queued page", s.do(t, "active", "GET", page, nil), 200, []string{">starting</span>"}, []string{"scheduled for"})

		// The engine starts the run; the server answers 451: the delivery waits.
		now := s.env.App.Now()
		s.run(t, o.G, now, func(string) outcome {
			return outcome{status: simplesender.DeliveryDeferred, code: 451, enhanced: "4.7.1", reply: "<greylisted> try later"}
		})
		g, err := s.env.App.GetMailing(ctx, ac, o.G)
		if err != nil {
			t.Fatal(err)
		}
		next := app.ShortTime(time.UTC, ptr(now.Add(time.Minute)), s.env.App.Now())
		until := app.ShortTime(time.UTC, &sv.Status()[0].RestingUntil, s.env.App.Now())
		addr := sv.Status()[0].Addr
		why := "1 waiting; next attempt at " + next + "; last error: 451 4.7.1 <greylisted> try later; server " + addr +
			" is resting until " + until
		p = readProgress(t, s.do(t, "active", "GET", js, nil))
		want := map[string]string{"detail": "sending 0%", "scheduled_at": "—", "started_at": g.StartedAt.Format("2006-01-02 15:04 MST"),
			"finished_at": "—", "why": why, "first_sent_at": g.StartedAt.Format("2006-01-02 15:04 MST")}
		for k, v := range want {
			if p.Text[k] != v {
				t.Errorf("progress.json text[%s] = %q, want %q", k, p.Text[k], v)
			}
		}
		if !p.Running || p.Pending != 1 {
			t.Errorf("progress.json: %+v", p)
		}
		check(t, "page while waiting", s.do(t, "active", "GET", page, nil), 200,
			[]string{`data-text="why" role="status">1 waiting; next attempt at ` + next,
				"last error: 451 4.7.1 &lt;greylisted&gt; try later", "is resting until " + until,
				`data-text="started_at">` + want["started_at"], ">sending 0%</span>"},
			[]string{"<greylisted>", ">starting<"})
		ru := readProgress(t, s.do(t, "active", "GET", js, nil, "Accept-Language", "ru"))
		if !strings.HasPrefix(ru.Text["why"], "ждёт 1; следующая попытка в "+next+"; последняя ошибка: 451") ||
			!strings.Contains(ru.Text["why"], "отдыхает до "+until) || ru.Text["detail"] != "отправка 0%" {
			t.Errorf("in Russian: %+v", ru.Text)
		}
		// A manager sees the same; another user nothing.
		if m := readProgress(t, s.do(t, "manager", "GET", js, nil)); m.Text["why"] != why {
			t.Errorf("manager's why = %q", m.Text["why"])
		}
		check(t, "another user", s.do(t, "other", "GET", js, nil), 404, nil, []string{"greylisted"})
	})
}

func ptr[T any](v T) *T { return &v }
