package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"simplesender/internal/config"
)

func TestDefaultsDotEnvAndSecret(t *testing.T) {
	dir := t.TempDir()
	envFile := filepath.Join(dir, ".env")
	os.WriteFile(envFile, []byte("# comment\nSIMPLESENDER_ADDR=127.0.0.1:9000\nexport SIMPLESENDER_MAIL_FROM=\"Рассылка <news@example.com>\"\n"), 0o600)
	env := map[string]string{"SIMPLESENDER_DATA_DIR": filepath.Join(dir, "data")}
	c, err := config.Load(func(k string) string { return env[k] }, envFile)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9000" || c.BaseURL.String() != "http://127.0.0.1:9000" {
		t.Errorf(".env not applied: addr %s, base %s", c.Addr, c.BaseURL)
	}
	if c.MailFrom.Name != "Рассылка" || c.MailFrom.Address != "news@example.com" {
		t.Errorf("mail from = %+v", c.MailFrom)
	}
	if c.Engine() != "sqlite" || c.DatabaseURL != "sqlite:"+filepath.Join(dir, "data", "simplesender.db") {
		t.Errorf("database = %s", c.DatabaseURL)
	}
	if c.SecureCookies() {
		t.Error("secure cookies on http")
	}
	// The generated secret is kept: a second start reads the same one.
	c2, err := config.Load(func(k string) string { return env[k] }, envFile)
	if err != nil || string(c2.SecretKey) != string(c.SecretKey) || len(c.SecretKey) < 32 {
		t.Fatalf("secret not stable across starts: %v", err)
	}
	// The environment wins over .env.
	env["SIMPLESENDER_ADDR"] = "127.0.0.1:9100"
	env["SIMPLESENDER_BASE_URL"] = "https://mail.example.com/"
	c3, _ := config.Load(func(k string) string { return env[k] }, envFile)
	if c3.Addr != "127.0.0.1:9100" || !c3.SecureCookies() || c3.BaseURL.String() != "https://mail.example.com" {
		t.Errorf("env over .env: %s %s", c3.Addr, c3.BaseURL)
	}
}

// load runs Load with env over a fresh data directory.
func load(t *testing.T, env map[string]string) (*config.Config, error) {
	t.Helper()
	vars := map[string]string{"SIMPLESENDER_DATA_DIR": t.TempDir()}
	for k, v := range env {
		vars[k] = v
	}
	return config.Load(func(k string) string { return vars[k] }, "")
}

func TestSMTPServerList(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		want []config.SMTPServer
	}{
		{"no URL writes to the outbox", nil, nil},
		{"one URL gets the default connections and no rate limit",
			map[string]string{"SIMPLESENDER_SMTP_URL": "smtp://user:s3cret@mail.example.com:587"},
			[]config.SMTPServer{{URL: "smtp://user:s3cret@mail.example.com:587", Conns: 10, IdleTimeout: 15 * time.Second}}},
		{"commas, spaces and new lines separate servers; options are taken off the URL",
			map[string]string{"SIMPLESENDER_SMTP_URL": "smtp://a.example.com:587, smtps://u:s3cret@b.example.com?conns=3&rate=0.5\n\tsmtp://c.example.com"},
			[]config.SMTPServer{
				{URL: "smtp://a.example.com:587", Conns: 10, IdleTimeout: 15 * time.Second},
				{URL: "smtps://u:s3cret@b.example.com", Conns: 3, Rate: 0.5, IdleTimeout: 15 * time.Second},
				{URL: "smtp://c.example.com", Conns: 10, IdleTimeout: 15 * time.Second},
			}},
		{"SMTP_CONNS and SMTP_RATE are the defaults a URL may override",
			map[string]string{"SIMPLESENDER_SMTP_URL": "smtp://a.example.com,smtp://b.example.com?rate=0&conns=2",
				"SIMPLESENDER_SMTP_CONNS": "4", "SIMPLESENDER_SMTP_RATE": "50"},
			[]config.SMTPServer{{URL: "smtp://a.example.com", Conns: 4, Rate: 50, IdleTimeout: 15 * time.Second}, {URL: "smtp://b.example.com", Conns: 2, IdleTimeout: 15 * time.Second}}},
		{"a percent-encoded comma stays in the password",
			map[string]string{"SIMPLESENDER_SMTP_URL": "smtp://u:a%2Cb@a.example.com?conns=1"},
			[]config.SMTPServer{{URL: "smtp://u:a%2Cb@a.example.com", Conns: 1, IdleTimeout: 15 * time.Second}}},
		{"SMTP_IDLE_TIMEOUT is the default of ?idle=",
			map[string]string{"SIMPLESENDER_SMTP_URL": "smtp://a.example.com smtp://b.example.com?idle=1m30s",
				"SIMPLESENDER_SMTP_IDLE_TIMEOUT": "5s"},
			[]config.SMTPServer{{URL: "smtp://a.example.com", Conns: 10, IdleTimeout: 5 * time.Second},
				{URL: "smtp://b.example.com", Conns: 10, IdleTimeout: 90 * time.Second}}},
		{"tls=none stays on the URL, for the mailer",
			map[string]string{"SIMPLESENDER_SMTP_URL": "smtp://relay.lan:25?conns=2&tls=none"},
			[]config.SMTPServer{{URL: "smtp://relay.lan:25?tls=none", Conns: 2, IdleTimeout: 15 * time.Second}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := load(t, tt.env)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, c.SMTPServers); diff != "" {
				t.Errorf("servers (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSMTPSettingsErrorsNameTheVariableAndHideThePassword(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, url, rate string
		want            string // fragment of the error
	}{
		{"negative rate", "smtp://u:s3cret@a.example.com?rate=-1", "", "SIMPLESENDER_SMTP_URL: rate: want messages per second"},
		{"rate that is not a number", "smtp://u:s3cret@a.example.com?rate=fast", "", "such as ?rate=50 or ?rate=0.5"},
		{"no connections", "smtp://u:s3cret@a.example.com?conns=0", "", "SIMPLESENDER_SMTP_URL: conns: want a number of connections from 1 to 200"},
		{"too many connections", "smtp://u:s3cret@a.example.com?conns=201", "", "from 1 to 200"},
		{"unknown option", "smtp://u:s3cret@a.example.com?ssl=off", "", `unknown option "ssl"; the options are conns, rate, idle and tls`},
		{"option given twice", "smtp://u:s3cret@a.example.com?rate=1&rate=2", "", `option "rate" is given more than once`},
		{"idle timeout that is no duration", "smtp://u:s3cret@a.example.com?idle=15", "", "SIMPLESENDER_SMTP_URL: idle: want a duration from 1s to 1h, such as ?idle=15s"},
		{"idle timeout too short", "smtp://u:s3cret@a.example.com?idle=10ms", "", "idle: want a duration"},
		{"unknown tls mode", "smtp://u:s3cret@a.example.com?tls=off", "", "SIMPLESENDER_SMTP_URL: tls: want none (no encryption) or starttls"},
		{"a password in clear text over the network", "smtp://u:s3cret@a.example.com?tls=none", "", "tls=none would send the password unencrypted"},
		{"the second server is wrong", "smtp://a.example.com, http://u:s3cret@b.example.com", "", `SIMPLESENDER_SMTP_URL: server 2: scheme must be smtp or smtps, not "http"`},
		{"bad port", "smtp://u:s3cret@a.example.com:99999?conns=2", "", `invalid port "99999"`},
		{"user without password", "smtp://u@a.example.com", "", `user "u" has no password`},
		{"default rate that is not a number", "smtp://u:s3cret@a.example.com", "fast", "SIMPLESENDER_SMTP_RATE: want messages per second"},
		{"negative default rate", "", "-2", "SIMPLESENDER_SMTP_RATE"},
		{"only separators", " , ", "", "SIMPLESENDER_SMTP_URL: want smtp://"},
		{"unencoded comma in the password", "smtp://u:s3cret,x@a.example.com", "", "percent-encode"},
		{"unencoded comma before the password's end", "smtp://u:x,s3cret@a.example.com", "", "percent-encode"},
		{"unencoded space in the password", "smtp://u:s3cret x@a.example.com", "", "percent-encode"},
		{"unencoded question mark in the password", "smtp://u:x?s3cret@a.example.com", "", "percent-encode"},
		{"unencoded slash in the password", "smtp://u:s3cret/x@a.example.com", "", "percent-encode"},
		{"unencoded hash in the password", "smtp://u:s3cret#x@a.example.com", "", "percent-encode"},
		{"a rate too small to wait for", "smtp://u:s3cret@a.example.com?rate=0.0000000001", "", "from 0.001 up"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := load(t, map[string]string{"SIMPLESENDER_SMTP_URL": tt.url, "SIMPLESENDER_SMTP_RATE": tt.rate})
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q lacks %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error shows the password: %q", err)
			}
		})
	}
}

func TestSMTPRateAcceptsDecimals(t *testing.T) {
	t.Parallel()
	c, err := load(t, map[string]string{"SIMPLESENDER_SMTP_RATE": "0.25", "SIMPLESENDER_SMTP_URL": "smtp://a.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if c.SMTPRate != 0.25 || c.SMTPServers[0].Rate != 0.25 {
		t.Errorf("rate %v, server's %v; want 0.25", c.SMTPRate, c.SMTPServers[0].Rate)
	}
}

func TestSMTPIdleTimeoutErrorsNameTheVariable(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"15", "0s", "500ms", "2h", "soon"} {
		_, err := load(t, map[string]string{"SIMPLESENDER_SMTP_IDLE_TIMEOUT": v})
		if err == nil || !strings.Contains(err.Error(), "SIMPLESENDER_SMTP_IDLE_TIMEOUT: want a duration from 1s to 1h") {
			t.Errorf("SIMPLESENDER_SMTP_IDLE_TIMEOUT=%s: error %v", v, err)
		}
	}
	c, err := load(t, nil)
	if err != nil || c.SMTPIdleTimeout != 15*time.Second {
		t.Errorf("default idle timeout %v, %v; want 15s", c.SMTPIdleTimeout, err)
	}
}

func TestMetricsListener(t *testing.T) {
	t.Parallel()
	c, err := load(t, nil)
	if err != nil || c.MetricsAddr != "" || c.MetricsToken != "" {
		t.Fatalf("metrics must be off by default: %q %q %v", c.MetricsAddr, c.MetricsToken, err)
	}
	c, err = load(t, map[string]string{"SIMPLESENDER_METRICS_ADDR": "127.0.0.1:9090", "SIMPLESENDER_METRICS_TOKEN": "0123456789abcdef"})
	if err != nil || c.MetricsAddr != "127.0.0.1:9090" || c.MetricsToken != "0123456789abcdef" {
		t.Fatalf("metrics settings: %+v %v", c, err)
	}
	for _, bad := range []map[string]string{
		{"SIMPLESENDER_METRICS_ADDR": "9090"},
		{"SIMPLESENDER_METRICS_ADDR": "127.0.0.1:8000"}, // the main listener's default
		{"SIMPLESENDER_METRICS_ADDR": "127.0.0.1:9090", "SIMPLESENDER_METRICS_TOKEN": "short"},
	} {
		if _, err := load(t, bad); err == nil || !strings.Contains(err.Error(), "SIMPLESENDER_METRICS_") {
			t.Errorf("%v: error %v, want one naming the variable", bad, err)
		}
	}
}

func TestUploadLimits(t *testing.T) {
	c, err := load(t, nil)
	if err != nil || c.UploadMax != 50<<20 || c.UploadTotalMax != 1<<30 {
		t.Fatalf("defaults: %d, %d, %v", c.UploadMax, c.UploadTotalMax, err)
	}
	c, err = load(t, map[string]string{"SIMPLESENDER_UPLOAD_MAX": "200mb", "SIMPLESENDER_UPLOAD_TOTAL_MAX": "2 GiB"})
	if err != nil || c.UploadMax != 200<<20 || c.UploadTotalMax != 2<<30 {
		t.Fatalf("200mb, 2 GiB: %d, %d, %v", c.UploadMax, c.UploadTotalMax, err)
	}
	for _, tt := range []struct{ max, total, want string }{
		{"50 apples", "", "SIMPLESENDER_UPLOAD_MAX"},
		{"100", "", "SIMPLESENDER_UPLOAD_MAX: want a size of at least 1KiB"},
		{"", "10MiB", "SIMPLESENDER_UPLOAD_TOTAL_MAX: want a size no smaller than SIMPLESENDER_UPLOAD_MAX"},
		{"", "99999999999G", "SIMPLESENDER_UPLOAD_TOTAL_MAX"},
	} {
		_, err := load(t, map[string]string{"SIMPLESENDER_UPLOAD_MAX": tt.max, "SIMPLESENDER_UPLOAD_TOTAL_MAX": tt.total})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("max %q total %q: %v, want %q", tt.max, tt.total, err, tt.want)
		}
	}
}

func TestCacheMode(t *testing.T) {
	const redis = "redis://127.0.0.1:6379/0"
	cases := []struct {
		name    string
		env     map[string]string
		want    string
		wantErr string
	}{
		{name: "memory by default", want: config.CacheMemory},
		{name: "redis by default with a Redis URL", env: map[string]string{"SIMPLESENDER_REDIS_URL": redis}, want: config.CacheRedis},
		{name: "off", env: map[string]string{"SIMPLESENDER_CACHE": "off"}, want: config.CacheOff},
		{name: "off with a Redis URL", env: map[string]string{"SIMPLESENDER_CACHE": "Off", "SIMPLESENDER_REDIS_URL": redis}, want: config.CacheOff},
		{name: "memory with a Redis URL", env: map[string]string{"SIMPLESENDER_CACHE": "memory", "SIMPLESENDER_REDIS_URL": redis}, want: config.CacheMemory},
		{name: "redis", env: map[string]string{"SIMPLESENDER_CACHE": "redis", "SIMPLESENDER_REDIS_URL": redis}, want: config.CacheRedis},
		{name: "redis without a Redis URL is refused", env: map[string]string{"SIMPLESENDER_CACHE": "redis"},
			wantErr: "SIMPLESENDER_CACHE=redis needs SIMPLESENDER_REDIS_URL"},
		{name: "an unknown value is refused", env: map[string]string{"SIMPLESENDER_CACHE": "yes"},
			wantErr: `SIMPLESENDER_CACHE: "yes" is not off, memory or redis`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := load(t, c.env)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want one saying %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Cache != c.want {
				t.Errorf("cache %q, want %q", cfg.Cache, c.want)
			}
		})
	}
}
