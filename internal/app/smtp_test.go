package app_test

import (
	"testing"
	"time"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/app/apptest"
)

func TestOnlyAdminsSeeTheSMTPSettings(t *testing.T) {
	t.Parallel()
	want := simplesender.SMTPSettings{Conns: 7, Retry: []time.Duration{time.Minute},
		Servers: []simplesender.SMTPServerStatus{{Addr: "mail.example.com:587", User: "ann", State: simplesender.SMTPServerOK}}}
	env := apptest.NewSQLite(t, apptest.Options{Deps: func(d *app.Deps) {
		d.SMTP = func() simplesender.SMTPSettings { return want }
	}})
	for _, c := range []struct {
		name string
		ac   *app.Actor
		ok   bool
	}{
		{"admin", &app.Actor{User: env.User(t, "admin@example.com", simplesender.RoleAdmin, simplesender.StatusActive)}, true},
		{"operator at the command line", app.System, true},
		{"manager", &app.Actor{User: env.User(t, "manager@example.com", simplesender.RoleManager, simplesender.StatusActive)}, false},
		{"user", &app.Actor{User: env.User(t, "user@example.com", simplesender.RoleUser, simplesender.StatusActive)}, false},
		{"anonymous", nil, false},
	} {
		got, err := env.App.SMTPSettings(t.Context(), c.ac)
		switch {
		case c.ok && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.ok && (got.Conns != 7 || len(got.Servers) != 1 || got.Servers[0].User != "ann"):
			t.Errorf("%s: got %+v", c.name, got)
		case !c.ok && !simplesender.IsKind(err, simplesender.KindForbidden):
			t.Errorf("%s: %v, %+v; want Forbidden", c.name, err, got)
		}
	}
}
