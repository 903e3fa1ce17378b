package web_test

import (
	"testing"
	"time"

	"simplesender"
	"simplesender/internal/delivery"
	"simplesender/internal/mailer"
	"simplesender/internal/store/storetest"
)

func TestSMTPPageForAdminsOnly(t *testing.T) {
	t.Parallel()
	s := newSite(t, storetest.NewURL(t, "sqlite"))
	// The first server is the real thing, built from a URL with a password;
	// the second one rests after failures, with an error text to escape.
	smtp, err := mailer.NewSMTP("smtps://ann:s3cret-pw@mail.example.com:465")
	if err != nil {
		t.Fatal(err)
	}
	servers, err := delivery.NewServers([]delivery.ServerConfig{{SMTP: smtp, Conns: 4, Rate: 1.5}}, delivery.ServersOptions{})
	if err != nil {
		t.Fatal(err)
	}
	resting := simplesender.SMTPServerStatus{Addr: "backup.example.net:587", TLS: "starttls", Conns: 2, State: simplesender.SMTPServerResting,
		RestingUntil: time.Date(2026, 3, 1, 12, 10, 0, 0, time.UTC), Failures: 5, Sent: 12, Failed: 7,
		LastError: "smtp connect: 421 <script>alert(1)</script> closing", LastErrorAt: time.Date(2026, 3, 1, 12, 9, 0, 0, time.UTC)}
	s.env.App.SMTP = func() simplesender.SMTPSettings {
		return simplesender.SMTPSettings{Conns: 6, Retry: []time.Duration{time.Minute, 90 * time.Minute},
			Servers: append(servers.Status(), resting,
				simplesender.SMTPServerStatus{Addr: "127.0.0.1:2525", TLS: "starttls-optional", Conns: 1, State: simplesender.SMTPServerOK},
				simplesender.SMTPServerStatus{Addr: "relay.lan:25", TLS: "none", Conns: 1, State: simplesender.SMTPServerOK})}
	}

	check(t, "admin", s.do(t, "admin", "GET", "/admin/smtp", nil), 200, []string{
		"Sending settings", "these 4 SMTP servers in turn",
		"mail.example.com:465", "TLS (smtps://)", "ann", "0 in use of 4", "closed after 15s idle", "1.5 per second, bursts of up to 2", `status-active">working`,
		"backup.example.net:587", "STARTTLS, required (smtp://)", "no login", "no limit", "resting until 2026-03-01 12:10 UTC",
		"<td>5</td>", "<td>12</td>", "<td>7</td>", "421 &lt;script&gt;alert(1)&lt;/script&gt; closing",
		"127.0.0.1:2525", "STARTTLS when offered (smtp:// to this machine)", "relay.lan:25", "none: clear text (smtp://...?tls=none)",
		"Messages of mailings sent at once</dt><dd>6</dd>", "1m, 1h30m", "fails 5 times in a row",
		// The state beside the address and the last error in a column that
		// stays in view, however wide the table (a browser test checks it).
		`<table class="sticky-end">`, "<th>Server</th><th>State</th>",
		"<td><code>backup.example.net:587</code></td>\n<td><span class=\"status status-blocked\">resting until",
	}, []string{"s3cret", "<script>alert"})
	check(t, "admin in Russian", s.do(t, "admin", "GET", "/admin/smtp", nil, "Accept-Language", "ru"), 200,
		[]string{"Настройки отправки", "эти 4 SMTP-сервера", "закрывается после 15s простоя", "STARTTLS, обязательно", "нет: открытым текстом", "1.5 в секунду, пачками до 2", "отдыхает до 2026-03-01 12:10 UTC"}, nil)

	for _, who := range []string{"manager", "active"} {
		check(t, who, s.do(t, who, "GET", "/admin/smtp", nil), 403, []string{"You are not allowed"},
			[]string{"mail.example.com", "backup.example.net", "s3cret"})
	}
	if r := s.do(t, "", "GET", "/admin/smtp", nil); r.status != 303 || r.header.Get("Location") != "/login?next=%2Fadmin%2Fsmtp" {
		t.Errorf("anonymous: %d to %q; want to log in first", r.status, r.header.Get("Location"))
	}

	// Only admins have the link.
	check(t, "admin's menu", s.do(t, "admin", "GET", "/", nil), 200, []string{`href="/admin/smtp"`}, nil)
	for _, who := range []string{"manager", "active"} {
		check(t, who+"'s menu", s.do(t, who, "GET", "/", nil), 200, nil, []string{`href="/admin/smtp"`})
	}
}

func TestSMTPPageWithoutAServerShowsTheOutbox(t *testing.T) {
	t.Parallel()
	s := newSite(t, storetest.NewURL(t, "sqlite"))
	s.env.App.SMTP = func() simplesender.SMTPSettings {
		return simplesender.SMTPSettings{OutboxDir: "/srv/simplesender/data/outbox", Conns: 10, Retry: []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 4 * time.Hour}}
	}
	check(t, "admin", s.do(t, "admin", "GET", "/admin/smtp", nil), 200, []string{
		"No SMTP server is set", "/srv/simplesender/data/outbox", "<dd>10</dd>", "1m, 5m, 15m, 30m, 1h, 2h, 4h",
	}, []string{"Rate limit"})
}
