// Package config loads and validates the service's configuration from the
// environment and an optional .env file. Only the command line package reads it;
// everything else receives the values it needs through constructors.
package config

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is the validated configuration.
type Config struct {
	Addr        string
	DataDir     string
	DatabaseURL string // "sqlite:PATH" or "postgres://..."
	RedisURL    string // empty: no Redis
	// Cache is where computed figures and staff pages are cached: CacheOff,
	// CacheMemory or CacheRedis.
	Cache string
	// SMTPURL is SIMPLESENDER_SMTP_URL as given, passwords included: never
	// log or show it. Empty: e-mails are written to OutboxDir.
	SMTPURL string
	// SMTPServers are the servers of SMTPURL, used in turn, each with its
	// own connections and rate.
	SMTPServers []SMTPServer
	MailFrom    mail.Address
	// AllowedFromDomains anyone may use in a sender identity without
	// verifying it (lower case); admins may add and forbid more.
	AllowedFromDomains []string
	BaseURL            *url.URL
	SecretKey          []byte
	// UnsubscribeMailto is the inbound unsubscribe address offered in the
	// List-Unsubscribe header besides the link; "" for none.
	UnsubscribeMailto string

	// SessionIdle and SessionMax bound a login session.
	SessionIdle time.Duration
	SessionMax  time.Duration
	LogLevel    string
	LogFormat   string // "text" or "json"

	// SMTPConns is how many connections each SMTP server gets when its URL
	// does not say (?conns=N); with no server, how many messages of mailings
	// are written to the outbox at once.
	SMTPConns int
	// SMTPRate is each SMTP server's limit in messages per second when its
	// URL does not say (?rate=R); 0 means no limit.
	SMTPRate float64
	// SMTPIdleTimeout is how long a connection to an SMTP server kept for
	// reuse may stay idle when its URL does not say (?idle=D): we close it
	// before the server would.
	SMTPIdleTimeout time.Duration
	// RetrySchedule are the waits between attempts after temporary failures.
	RetrySchedule []time.Duration

	// MetricsAddr is where /metrics is served, on a listener of its own;
	// empty: nowhere. The main listener never serves it.
	MetricsAddr string
	// Returns: bounces and complaints (VERP, the inbound listener).
	Returns Returns
	// MetricsToken, when set, must be sent as "Authorization: Bearer TOKEN"
	// to read the metrics.
	MetricsToken string
	// UploadMax bounds one uploaded CSV file, and UploadTotalMax the files
	// of everyone that wait or are being imported, in bytes.
	UploadMax      int64
	UploadTotalMax int64
	// WebhookAllowPrivate lets users' webhook endpoints be on internal
	// addresses (tests, or a service whose users' systems are on its own
	// network).
	WebhookAllowPrivate bool
}

// OutboxDir is where e-mails go when no SMTP server is configured.
func (c *Config) OutboxDir() string { return filepath.Join(c.DataDir, "outbox") }

// Engine returns "sqlite" or "postgres".
func (c *Config) Engine() string {
	if strings.HasPrefix(c.DatabaseURL, "postgres") {
		return "postgres"
	}
	return "sqlite"
}

// SecureCookies reports whether cookies get the Secure flag (https base URL).
func (c *Config) SecureCookies() bool { return c.BaseURL.Scheme == "https" }

// Variable names.
const (
	EnvAddr        = "SIMPLESENDER_ADDR"
	EnvDataDir     = "SIMPLESENDER_DATA_DIR"
	EnvDatabaseURL = "SIMPLESENDER_DATABASE_URL"
	EnvRedisURL    = "SIMPLESENDER_REDIS_URL"
	EnvCache       = "SIMPLESENDER_CACHE"
	EnvSMTPURL     = "SIMPLESENDER_SMTP_URL"
	EnvMailFrom    = "SIMPLESENDER_MAIL_FROM"
	EnvAllowedFrom = "SIMPLESENDER_ALLOWED_FROM_DOMAINS"
	EnvBaseURL     = "SIMPLESENDER_BASE_URL"
	EnvSecretKey   = "SIMPLESENDER_SECRET_KEY"
	EnvSessionIdle = "SIMPLESENDER_SESSION_IDLE"
	EnvSessionMax  = "SIMPLESENDER_SESSION_MAX"
	EnvLogLevel    = "SIMPLESENDER_LOG_LEVEL"
	EnvLogFormat   = "SIMPLESENDER_LOG_FORMAT"
	EnvSMTPConns   = "SIMPLESENDER_SMTP_CONNS"
	EnvSMTPRate    = "SIMPLESENDER_SMTP_RATE"
	EnvSMTPIdle    = "SIMPLESENDER_SMTP_IDLE_TIMEOUT"
	EnvRetry       = "SIMPLESENDER_RETRY_SCHEDULE"
	EnvMetricsAddr = "SIMPLESENDER_METRICS_ADDR"
	EnvMetricsTok  = "SIMPLESENDER_METRICS_TOKEN"
	EnvUnsubMailto = "SIMPLESENDER_UNSUBSCRIBE_MAILTO"
)

// The values of SIMPLESENDER_CACHE.
const (
	CacheOff    = "off"    // nothing is cached: every page reads the database
	CacheMemory = "memory" // in this process (each instance its own)
	CacheRedis  = "redis"  // in Redis, shared by every instance
)

// cacheMode validates SIMPLESENDER_CACHE: empty picks redis when a Redis URL
// is given, memory otherwise.
func cacheMode(v, redisURL string) (string, error) {
	v = strings.ToLower(strings.TrimSpace(v))
	switch v {
	case "":
		if redisURL != "" {
			return CacheRedis, nil
		}
		return CacheMemory, nil
	case CacheOff, CacheMemory:
		return v, nil
	case CacheRedis:
		if redisURL == "" {
			return "", fmt.Errorf("%s=redis needs %s (redis://HOST:PORT[/DB])", EnvCache, EnvRedisURL)
		}
		return v, nil
	}
	return "", fmt.Errorf("%s: %q is not off, memory or redis", EnvCache, v)
}

// Load reads the configuration. getenv is consulted first, then the .env file
// in the working directory (envFile; empty to skip). Secrets that are not
// given are generated once into the data directory. Every error names the
// variable at fault.
func Load(getenv func(string) string, envFile string) (*Config, error) {
	fileVars, err := readDotEnv(envFile)
	if err != nil {
		return nil, err
	}
	get := func(k, def string) string {
		if v := getenv(k); v != "" {
			return v
		}
		if v, ok := fileVars[k]; ok && v != "" {
			return v
		}
		return def
	}
	c := &Config{
		Addr:      get(EnvAddr, "127.0.0.1:8000"),
		DataDir:   get(EnvDataDir, "./data"),
		RedisURL:  get(EnvRedisURL, ""),
		SMTPURL:   get(EnvSMTPURL, ""),
		LogLevel:  strings.ToLower(get(EnvLogLevel, "info")),
		LogFormat: strings.ToLower(get(EnvLogFormat, "text")),
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return nil, fmt.Errorf("%s: %q is not HOST:PORT", EnvAddr, c.Addr)
	}
	c.MetricsAddr, c.MetricsToken = get(EnvMetricsAddr, ""), get(EnvMetricsTok, "")
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			return nil, fmt.Errorf("%s: %q is not HOST:PORT", EnvMetricsAddr, c.MetricsAddr)
		}
		if c.MetricsAddr == c.Addr {
			return nil, fmt.Errorf("%s: must differ from %s: metrics have a listener of their own", EnvMetricsAddr, EnvAddr)
		}
	}
	if c.MetricsToken != "" && len(c.MetricsToken) < 16 {
		return nil, fmt.Errorf("%s: must be at least 16 characters", EnvMetricsTok)
	}
	abs, err := filepath.Abs(c.DataDir)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", EnvDataDir, err)
	}
	c.DataDir = abs

	c.DatabaseURL = get(EnvDatabaseURL, "sqlite:"+filepath.Join(c.DataDir, "simplesender.db"))
	if err := checkDatabaseURL(c.DatabaseURL); err != nil {
		return nil, fmt.Errorf("%s: %v", EnvDatabaseURL, err)
	}
	if c.RedisURL != "" {
		u, err := url.Parse(c.RedisURL)
		if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			return nil, fmt.Errorf("%s: want redis://HOST:PORT[/DB] or rediss://...", EnvRedisURL)
		}
	}
	if c.Cache, err = cacheMode(get(EnvCache, ""), c.RedisURL); err != nil {
		return nil, err
	}
	from, err := mail.ParseAddress(get(EnvMailFrom, "simpleSENDER <noreply@localhost>"))
	if err != nil || strings.ContainsAny(from.Address+from.Name, "\r\n") {
		return nil, fmt.Errorf("%s: not an e-mail address: %v", EnvMailFrom, err)
	}
	c.MailFrom = *from
	for _, d := range strings.Split(get(EnvAllowedFrom, ""), ",") {
		d = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(d), "."))
		if d == "" {
			continue
		}
		if strings.ContainsAny(d, "@ /") || !strings.Contains(d, ".") {
			return nil, fmt.Errorf("%s: %q is not a domain name", EnvAllowedFrom, d)
		}
		c.AllowedFromDomains = append(c.AllowedFromDomains, d)
	}

	base := get(EnvBaseURL, "http://"+c.Addr)
	u, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%s: want an absolute http(s) URL such as https://mail.example.com", EnvBaseURL)
	}
	c.BaseURL = u

	if v := strings.TrimSpace(get(EnvUnsubMailto, "")); v != "" {
		a, err := mail.ParseAddress(v)
		if err != nil || a.Name != "" || strings.ContainsAny(a.Address, "\r\n<>?%,\" ") {
			return nil, fmt.Errorf("%s: want a bare e-mail address such as unsubscribe@mail.example.com", EnvUnsubMailto)
		}
		c.UnsubscribeMailto = a.Address
	}

	if c.SessionIdle, err = duration(get(EnvSessionIdle, "72h"), EnvSessionIdle); err != nil {
		return nil, err
	}
	if c.SessionMax, err = duration(get(EnvSessionMax, "720h"), EnvSessionMax); err != nil {
		return nil, err
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return nil, fmt.Errorf("%s: want debug, info, warn or error", EnvLogLevel)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return nil, fmt.Errorf("%s: want text or json", EnvLogFormat)
	}
	if c.SMTPConns, err = strconv.Atoi(get(EnvSMTPConns, "10")); err != nil || c.SMTPConns < 1 || c.SMTPConns > MaxConns {
		return nil, fmt.Errorf("%s: want a number of connections from 1 to %d", EnvSMTPConns, MaxConns)
	}
	if c.SMTPRate, err = parseRate(get(EnvSMTPRate, "0")); err != nil {
		return nil, fmt.Errorf("%s: want messages per second to each server, 0 (no limit) or from 0.001 up, such as 50 or 0.5", EnvSMTPRate)
	}
	if c.SMTPIdleTimeout, err = parseIdleTimeout(get(EnvSMTPIdle, "15s")); err != nil {
		return nil, fmt.Errorf("%s: want a duration from 1s to 1h, such as 15s", EnvSMTPIdle)
	}
	if c.SMTPServers, err = parseSMTPServers(c.SMTPURL, c.SMTPConns, c.SMTPRate, c.SMTPIdleTimeout); err != nil {
		return nil, fmt.Errorf("%s: %w", EnvSMTPURL, err)
	}
	for _, part := range strings.Split(get(EnvRetry, "1m,5m,15m,30m,1h,2h,4h"), ",") {
		d, err := time.ParseDuration(strings.TrimSpace(part))
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("%s: want durations separated by commas, such as 1m,5m,15m", EnvRetry)
		}
		c.RetrySchedule = append(c.RetrySchedule, d)
	}
	if c.UploadMax, c.UploadTotalMax, err = uploadLimits(get); err != nil {
		return nil, err
	}
	if c.Returns, err = loadReturns(get); err != nil {
		return nil, err
	}
	if c.WebhookAllowPrivate, err = webhookAllowPrivate(get); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("%s: cannot create %s: %v", EnvDataDir, c.DataDir, err)
	}
	if c.SecretKey, err = secret(get(EnvSecretKey, ""), filepath.Join(c.DataDir, "secret_key")); err != nil {
		return nil, fmt.Errorf("%s: %v", EnvSecretKey, err)
	}
	return c, nil
}

func duration(s, name string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s: %q is not a positive duration such as 72h", name, s)
	}
	return d, nil
}

func checkDatabaseURL(s string) error {
	switch {
	case strings.HasPrefix(s, "postgres://"), strings.HasPrefix(s, "postgresql://"):
		u, err := url.Parse(s)
		if err != nil || u.Host == "" {
			return errors.New("not a valid postgres:// URL")
		}
		return nil
	case strings.HasPrefix(s, "sqlite:"):
		if strings.TrimPrefix(s, "sqlite:") == "" {
			return errors.New("sqlite: needs a file path")
		}
		return nil
	}
	return errors.New("want postgres://... or sqlite:PATH")
}

// secret returns the given secret (hex or text, at least 32 bytes), or the
// one kept in file, generating and saving it the first time.
func secret(given, file string) ([]byte, error) {
	if given != "" {
		if len(given) < 32 {
			return nil, errors.New("must be at least 32 characters")
		}
		return []byte(given), nil
	}
	if b, err := os.ReadFile(file); err == nil {
		s := strings.TrimSpace(string(b))
		if len(s) >= 32 {
			return []byte(s), nil
		}
	}
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return nil, err
	}
	s := hex.EncodeToString(buf)
	// O_EXCL: when two processes start at once, the first one's key wins.
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return secret("", file)
		}
		return nil, fmt.Errorf("cannot save generated key: %v", err)
	}
	if _, err := f.WriteString(s + "\n"); err != nil {
		f.Close()
		return nil, err
	}
	return []byte(s), f.Close()
}

// readDotEnv parses KEY=VALUE lines (with optional quotes and # comments).
// A missing file is not an error.
func readDotEnv(path string) (map[string]string, error) {
	vars := map[string]string{}
	if path == "" {
		return vars, nil
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return vars, nil
	}
	if err != nil {
		return nil, fmt.Errorf(".env: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf(".env line %d: want KEY=VALUE", n)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		vars[k] = v
	}
	return vars, sc.Err()
}
