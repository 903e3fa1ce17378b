// Package server assembles the service from its configuration: database,
// Redis, mail transport, job queue, app, web UI and JSON API behind one HTTP
// handler with request ids, access logs, security headers, health and
// metrics; and it runs and stops them in order.
package server

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"simplesender"
	"simplesender/internal/api"
	"simplesender/internal/app"
	"simplesender/internal/auth"
	"simplesender/internal/bounce"
	"simplesender/internal/cache"
	"simplesender/internal/config"
	"simplesender/internal/delivery"
	"simplesender/internal/dkim"
	"simplesender/internal/i18n"
	"simplesender/internal/jobs"
	"simplesender/internal/mailer"
	"simplesender/internal/ratelimit"
	"simplesender/internal/store"
	"simplesender/internal/unsubscribe"
	"simplesender/internal/web"
)

// Server is the assembled service.
type Server struct {
	Cfg     *config.Config
	DB      *store.DB
	App     *app.App
	Queue   *jobs.Queue
	Engine  *delivery.Engine
	Redis   *redis.Client // nil without SIMPLESENDER_REDIS_URL
	Cache   cache.Cache   // as SIMPLESENDER_CACHE says: none, in memory or in Redis
	Log     *slog.Logger
	metrics *metrics
	handler http.Handler
	// returnsKick wakes the loop that reads what came back.
	returnsKick chan struct{}
	// metricsAddr is the bound address of the metrics listener (a string).
	metricsAddr atomic.Value
}

// Options tune Open for tests and tools.
type Options struct {
	// NoWork makes a queue that only inserts jobs (command line tools).
	NoWork bool
	// PollInterval of the job queue; zero for the default.
	PollInterval time.Duration
}

// Open connects to everything the configuration names, applies pending
// migrations (one instance at a time on PostgreSQL) and builds the handler.
func Open(ctx context.Context, cfg *config.Config, log *slog.Logger, opt Options) (*Server, error) {
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	s := &Server{Cfg: cfg, DB: db, Log: log, returnsKick: make(chan struct{}, 1)}
	ok := false
	defer func() {
		if !ok {
			s.Close()
		}
	}()
	if err := Migrate(ctx, db); err != nil {
		return nil, err
	}
	bundle, err := i18n.New()
	if err != nil {
		return nil, fmt.Errorf("translations: %w", err)
	}
	transport, sender, smtpStatus, err := senders(cfg, log)
	if err != nil {
		return nil, err
	}
	deps := app.Deps{
		DB: db, Transport: transport, Bundle: bundle, Logger: log, SMTP: smtpStatus,
		BaseURL: cfg.BaseURL, MailFrom: mailer.Address{Name: cfg.MailFrom.Name, Email: cfg.MailFrom.Address},
		SessionIdle: cfg.SessionIdle, SessionMax: cfg.SessionMax, Secret: cfg.SecretKey,
		Imports:            app.ImportConfig{MaxFile: cfg.UploadMax, MaxTotal: cfg.UploadTotalMax},
		AllowedFromDomains: cfg.AllowedFromDomains,
		Webhooks:           app.WebhookConfig{AllowPrivate: cfg.WebhookAllowPrivate},
	}
	// One keyring of DKIM signers for the engine and the app's test sends.
	deps.Keys = app.NewKeyring(db, dkim.NewSealer(cfg.SecretKey))
	if cfg.RedisURL != "" {
		o, err := redis.ParseURL(cfg.RedisURL)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", config.EnvRedisURL, err)
		}
		s.Redis = redis.NewClient(o)
		pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		if err := s.Redis.Ping(pctx).Err(); err != nil {
			log.Warn("redis does not answer; sessions and limits will fail until it does", "err", err)
		}
		cancel()
		deps.Sessions = auth.NewRedisSessions(s.Redis, "ss:")
		deps.Limiter = ratelimit.NewRedis(s.Redis, "ss:rl:")
	}
	switch cfg.Cache {
	case config.CacheOff:
		s.Cache = cache.None{}
	case config.CacheRedis:
		s.Cache = cache.NewRedis(s.Redis, "ss:c:", log)
	default:
		s.Cache = cache.NewMemory(0)
	}
	deps.Cache = s.Cache
	s.metrics = newMetrics(db)
	deps.Metrics = s.metrics
	// Dependencies go one way: the engine and the job queue know only the
	// database; the app is built on them (it wakes the engine and enqueues
	// jobs), and the queue is handed the app when it starts (Run). Cache
	// invalidation follows every committed write from the store's change
	// hook, which app.New sets.
	if rc := cfg.Returns; rc.BounceDomain != "" {
		deps.Returns = app.ReturnsConfig{VERP: bounce.NewVERP(cfg.SecretKey, rc.BouncePrefix, rc.BounceDomain),
			SoftLimit: rc.SoftLimit, SoftWindow: rc.SoftWindow}
	}
	deps.Returns.BounceAlertRate = cfg.Returns.BounceAlertRate
	deps.Links = unsubscribe.NewLinks(cfg.BaseURL, cfg.SecretKey, cfg.UnsubscribeMailto)
	s.Engine = delivery.New(db, sender, delivery.Config{
		From: deps.MailFrom, Signer: deps.Keys, VERP: deps.Returns.VERP,
		Conns: smtpStatus().Conns, Retry: cfg.RetrySchedule, Logger: log, Metrics: s.metrics,
		Unsubscribe: deps.Links, Words: app.FooterWords(bundle),
		// s.App is made below, before the engine runs.
		SenderUsable: func(ctx context.Context, owner int64, email string) (bool, error) {
			return s.App.IdentityUsable(ctx, owner, email)
		},
	})
	deps.Waker = s.Engine
	q, err := jobs.New(ctx, db, cfg.DatabaseURL, jobs.Config{Logger: log, Work: !opt.NoWork, PollInterval: opt.PollInterval})
	if err != nil {
		return nil, err
	}
	s.Queue = q
	deps.Queue = q
	a := app.New(deps)
	s.App = a

	ui, err := web.New(a, bundle, log, web.Config{SecureCookies: cfg.SecureCookies(), SessionMax: cfg.SessionMax, SecretKey: cfg.SecretKey,
		OpenAPI: api.OpenAPI})
	if err != nil {
		return nil, fmt.Errorf("web UI: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/v1/", api.New(a, bundle, log).Handler())
	mux.HandleFunc("GET /healthz", s.healthz)
	hk, err := newHooks(s)
	if err != nil {
		return nil, err
	}
	mux.Handle("POST /hooks/{provider}", hk)
	// No /metrics here: they have a listener of their own (MetricsHandler),
	// so the public one answers 404 for it like for any unknown path.
	mux.Handle("/", ui.Handler())
	s.handler = s.middleware(mux)
	ok = true
	return s, nil
}

// senders builds what sends e-mail: the SMTP servers in turn, for mailings
// and for account e-mails, or the outbox folder when no server is set; and a function that tells the admins how they are doing.
func senders(cfg *config.Config, log *slog.Logger) (mailer.Transport, delivery.Sender, func() simplesender.SMTPSettings, error) {
	settings := simplesender.SMTPSettings{Conns: cfg.SMTPConns, Retry: cfg.RetrySchedule}
	if len(cfg.SMTPServers) == 0 {
		settings.OutboxDir = cfg.OutboxDir()
		return mailer.NewOutbox(cfg.OutboxDir()), delivery.NewOutbox(cfg.OutboxDir()),
			func() simplesender.SMTPSettings { return settings }, nil
	}
	list := make([]delivery.ServerConfig, 0, len(cfg.SMTPServers))
	for i, sc := range cfg.SMTPServers {
		smtp, err := mailer.NewSMTP(sc.URL, mailer.SMTPOptions{IdleTimeout: sc.IdleTimeout})
		if err != nil {
			return nil, nil, nil, fmt.Errorf("%s: server %d: %w", config.EnvSMTPURL, i+1, err)
		}
		list = append(list, delivery.ServerConfig{SMTP: smtp, Conns: sc.Conns, Rate: sc.Rate})
		log.Info("SMTP server", "url", smtp.URL().String(), "tls", smtp.URL().TLSMode(), "conns", sc.Conns, "rate", sc.Rate,
			"idle_timeout", sc.IdleTimeout)
	}
	servers, err := delivery.NewServers(list, delivery.ServersOptions{Logger: log})
	if err != nil {
		return nil, nil, nil, err
	}
	// Every connection of every server may carry a message at once, within
	// the engine's limit.
	settings.Conns = min(servers.Conns(), config.MaxConns)
	return delivery.ServersTransport{Servers: servers}, servers, func() simplesender.SMTPSettings {
		s := settings
		s.Servers = servers.Status()
		return s
	}, nil
}

// MigrateURL opens the database at url, migrates it and closes it; it
// returns the engine's name.
func MigrateURL(ctx context.Context, url string) (string, error) {
	db, err := store.Open(ctx, url)
	if err != nil {
		return "", err
	}
	defer db.Close()
	return db.Engine(), Migrate(ctx, db)
}

// Migrate applies the store's and the job queue's migrations under the
// migration lock.
func Migrate(ctx context.Context, db *store.DB) error {
	return db.WithMigrationLock(ctx, func() error {
		if _, err := db.Migrate(ctx); err != nil {
			return err
		}
		return jobs.Migrate(ctx, db)
	})
}

// StartJobs starts working the job queue with the app (Run does it).
func (s *Server) StartJobs(ctx context.Context) error {
	return s.Queue.Start(ctx, jobs.Handlers{Mailer: s.App, Cleaner: s.App})
}

// Handler is the whole HTTP surface but the metrics.
func (s *Server) Handler() http.Handler { return s.handler }

// MetricsHandler serves the Prometheus metrics at GET /metrics, for the
// listener at SIMPLESENDER_METRICS_ADDR. With SIMPLESENDER_METRICS_TOKEN set,
// a request without "Authorization: Bearer TOKEN" gets 401.
func (s *Server) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metrics.handler())
	want := []byte("Bearer " + s.Cfg.MetricsToken)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if s.Cfg.MetricsToken != "" && subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="simplesender metrics"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// Close releases connections (after Run has returned, or instead of it).
func (s *Server) Close() {
	if c, ok := s.Cache.(*cache.Redis); ok {
		c.Close()
	}
	if s.Redis != nil {
		s.Redis.Close()
	}
	if s.DB != nil {
		s.DB.Close()
	}
}

// Run serves HTTP on addr and works background jobs until ctx ends; then it
// stops taking requests, lets in-flight requests and jobs finish (up to
// 30 s each; a CSV import still running after 25 s goes back to the queue,
// for another instance or the next start to resume), and returns. ready,
// when not nil, gets the bound address.
func (s *Server) Run(ctx context.Context, addr string, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	if err := s.StartJobs(ctx); err != nil {
		ln.Close()
		return fmt.Errorf("start job queue: %w", err)
	}
	ectx, stopEngine := context.WithCancel(ctx)
	defer stopEngine()
	engineDone := make(chan error, 1)
	go func() { engineDone <- s.Engine.Run(ectx) }()
	// CSV imports: they stop taking jobs with ctx and finish (or hand back)
	// the running ones within their grace, while the requests finish.
	importsDone := make(chan struct{})
	go func() { s.App.RunImports(ctx); close(importsDone) }()
	hctx, stopHooks := context.WithCancel(ctx)
	hooksDone := make(chan struct{})
	go s.runUserhooks(hctx, hooksDone)
	defer func() { stopHooks(); <-hooksDone }() // it stops after its requests in flight
	returnsDone := make(chan struct{})
	inbound, err := s.startReturns(ctx, returnsDone)
	if err != nil {
		ln.Close()
		stopEngine()
		<-engineDone
		<-importsDone
		qctx, qcancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer qcancel()
		return errors.Join(err, s.Queue.Stop(qctx))
	}
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.Log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 2)
	go func() { errc <- hs.Serve(ln) }()
	s.Log.Info("listening", "addr", ln.Addr().String(), "database", s.DB.Engine(), "base_url", s.Cfg.BaseURL.String())
	ms, err := s.serveMetrics(ctx, errc)
	if err != nil {
		hs.Close()
		stopEngine()
		<-engineDone
		qctx, qcancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer qcancel()
		return errors.Join(err, s.Queue.Stop(qctx))
	}
	if ready != nil {
		ready(ln.Addr())
	}
	var serveErr error
	select {
	case serveErr = <-errc:
	case <-ctx.Done():
	}
	s.Log.Info("shutting down: finishing requests, messages in flight and jobs")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if ms != nil {
		ms.Close()
	}
	herr := hs.Shutdown(sctx)
	qctx, qcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer qcancel()
	qerr := s.Queue.Stop(qctx)
	stopEngine()
	eerr := <-engineDone // the engine stops with ctx, after its messages in flight
	<-importsDone
	if inbound != nil {
		inbound.Close()
	}
	<-returnsDone
	if errors.Is(herr, http.ErrServerClosed) {
		herr = nil
	}
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	return errors.Join(serveErr, herr, qerr, eerr)
}

// serveMetrics starts the metrics listener when SIMPLESENDER_METRICS_ADDR is
// set; its serving error goes to errc. It returns nil, nil when it is not set.
func (s *Server) serveMetrics(ctx context.Context, errc chan<- error) (*http.Server, error) {
	addr := s.Cfg.MetricsAddr
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: listen on %s: %w", config.EnvMetricsAddr, addr, err)
	}
	ms := &http.Server{
		Handler:           s.MetricsHandler(),
		ReadHeaderTimeout: 10 * time.Second,
		WriteTimeout:      30 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.Log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	go func() {
		if err := ms.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("metrics listener: %w", err)
		}
	}()
	if host, _, _ := net.SplitHostPort(ln.Addr().String()); s.Cfg.MetricsToken == "" && !net.ParseIP(host).IsLoopback() {
		s.Log.Warn("metrics are served to the network without a token; set "+config.EnvMetricsTok, "addr", ln.Addr().String())
	}
	s.Log.Info("metrics listening", "addr", ln.Addr().String(), "token", s.Cfg.MetricsToken != "")
	s.metricsAddr.Store(ln.Addr().String())
	return ms, nil
}

// MetricsAddr returns the address the metrics listener is bound to once Run
// has started it, or "".
func (s *Server) MetricsAddr() string {
	a, _ := s.metricsAddr.Load().(string)
	return a
}

// healthz answers 200 when the database answers; Redis and the cache are
// reported but do not fail the check (the service works without Redis,
// uncached). cache is "off", "memory", "redis" or "redis-down".
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	status, dbState, redisState := http.StatusOK, "ok", "off"
	if err := s.DB.Ping(ctx); err != nil {
		status, dbState = http.StatusServiceUnavailable, "down"
	}
	if s.Redis != nil {
		redisState = "ok"
		if err := s.Redis.Ping(ctx).Err(); err != nil {
			redisState = "down"
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	state := "ok"
	if status != http.StatusOK {
		state = "down"
	}
	fmt.Fprintf(w, `{"status":%q,"database":%q,"engine":%q,"redis":%q,"cache":%q}`+"\n", state, dbState, s.DB.Engine(),
		redisState, s.Cache.Status())
}
