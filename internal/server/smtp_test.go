package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"simplesender/internal/app"
	"simplesender/internal/server"
	"simplesender/internal/store/storetest"
)

func TestSMTPServersFromTheConfiguration(t *testing.T) {
	t.Parallel()
	dbURL := storetest.NewURL(t, "sqlite")
	for _, c := range []struct {
		name, url string
		conns     int
		servers   []string // addr user tls conns rate idle
		outbox    bool
		idle      string // SIMPLESENDER_SMTP_IDLE_TIMEOUT
	}{
		{"no server: the outbox", "", 10, nil, true, ""},
		{"one server keeps SMTP_CONNS", "smtp://ann:s3cret@mail.example.com:587", 10,
			[]string{"mail.example.com:587 ann starttls 10 0 15s"}, false, ""},
		{"the engine sends over every connection of every server, at most 200",
			"smtps://ann:s3cret@a.example.com?conns=150&rate=20 smtp://b.example.com:2525?conns=100", 200,
			[]string{"a.example.com:465 ann tls 150 20 15s", "b.example.com:2525  starttls 100 0 15s"}, false, ""},
		{"the TLS mode and idle timeout of each server", "smtp://127.0.0.1:2525, smtp://relay.lan:25?tls=none&conns=2&idle=40s", 12,
			[]string{"127.0.0.1:2525  starttls-optional 10 0 5s", "relay.lan:25  none 2 0 40s"}, false, "5s"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := openWith(t, dbURL, map[string]string{"SIMPLESENDER_SMTP_URL": c.url, "SIMPLESENDER_SMTP_IDLE_TIMEOUT": c.idle},
				server.Options{NoWork: true})
			got, err := s.App.SMTPSettings(context.Background(), app.System)
			if err != nil {
				t.Fatal(err)
			}
			if got.Conns != c.conns || (got.OutboxDir != "") != c.outbox || len(got.Servers) != len(c.servers) || len(got.Retry) != 7 {
				t.Fatalf("settings %+v; want %d connections, outbox %v, %d servers", got, c.conns, c.outbox, len(c.servers))
			}
			for i, st := range got.Servers {
				if line := fmt.Sprintf("%s %s %s %d %g %s", st.Addr, st.User, st.TLS, st.Conns, st.Rate, st.IdleTimeout); line != c.servers[i] {
					t.Errorf("server %d: %q, want %q", i+1, line, c.servers[i])
				}
			}
			if strings.Contains(fmt.Sprintf("%+v", got), "s3cret") {
				t.Error("the settings hold the password")
			}
		})
	}
}
