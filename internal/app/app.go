// Package app holds the use cases shared by the web UI, the JSON API and the
// command line. It is the one place where authorization is decided (owner,
// manager, admin) and it owns the transactions.
package app

import (
	"context"
	"database/sql"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"simplesender"
	"simplesender/internal/auth"
	"simplesender/internal/cache"
	"simplesender/internal/i18n"
	"simplesender/internal/mailer"
	"simplesender/internal/ratelimit"
	"simplesender/internal/store"
)

// Enqueuer puts a background job into the caller's transaction.
type Enqueuer interface {
	InsertTx(ctx context.Context, tx *sql.Tx, args river.JobArgs) error
}

// Metrics counts what the app does; a nil Metrics counts nothing.
type Metrics interface {
	EmailSent(kind string)
	EmailFailed(kind string)
}

// Deps are the parts an App is built from.
type Deps struct {
	DB        *store.DB
	Sessions  auth.SessionStore // nil: sessions in the database
	Queue     Enqueuer          // nil only for tools that send no account e-mail
	Limiter   ratelimit.Limiter // nil: an in-process limiter
	Transport mailer.Transport
	Bundle    *i18n.Bundle
	Metrics   Metrics
	Waker     Waker       // nil: nobody to wake
	Cache     cache.Cache // nil: an in-process cache (64 MiB)
	Logger    *slog.Logger
	// SMTP tells how e-mail is sent, for the admins' page; nil: unknown.
	SMTP func() simplesender.SMTPSettings

	BaseURL     *url.URL
	MailFrom    mailer.Address
	SessionIdle time.Duration // default 72h
	SessionMax  time.Duration // default 30 days
	// RepeatWindow: an immediate send within this time of the last run's
	// start is refused as a double click. Default 10s; negative: none.
	RepeatWindow time.Duration
	Now          func() time.Time
	// Imports bounds CSV uploads and tunes the import workers.
	Imports ImportConfig
}

// App runs the use cases.
type App struct {
	Deps
	imports importState
}

// New returns an App, filling in defaults.
func New(d Deps) *App {
	if d.Sessions == nil {
		d.Sessions = d.DB.Sessions()
	}
	if d.Now == nil {
		d.Now = d.DB.Now
	}
	if d.Limiter == nil {
		d.Limiter = ratelimit.NewMemory(d.Now)
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Cache == nil {
		d.Cache = cache.NewMemory(0)
	}
	if d.SessionIdle == 0 {
		d.SessionIdle = 72 * time.Hour
	}
	if d.RepeatWindow == 0 {
		d.RepeatWindow = 10 * time.Second
	}
	if d.SessionMax == 0 {
		d.SessionMax = 30 * 24 * time.Hour
	}
	if d.BaseURL == nil {
		d.BaseURL = &url.URL{Scheme: "http", Host: "127.0.0.1:8000"}
	}
	d.Imports.fill()
	return &App{Deps: d, imports: newImportState()}
}

// Throttling rules: per client IP and per account.
var (
	ruleLoginIP        = ratelimit.Rule{Name: "login-ip", Limit: 30, Window: 15 * time.Minute}
	ruleLoginAccount   = ratelimit.Rule{Name: "login-acct", Limit: 10, Window: 15 * time.Minute}
	ruleRegisterIP     = ratelimit.Rule{Name: "register-ip", Limit: 10, Window: time.Hour}
	ruleRegisterEmail  = ratelimit.Rule{Name: "register-email", Limit: 3, Window: time.Hour}
	ruleResetIP        = ratelimit.Rule{Name: "reset-ip", Limit: 10, Window: time.Hour}
	ruleResetAccount   = ratelimit.Rule{Name: "reset-acct", Limit: 3, Window: time.Hour}
	ruleResendIP       = ratelimit.Rule{Name: "resend-ip", Limit: 10, Window: time.Hour}
	ruleResendAccount  = ratelimit.Rule{Name: "resend-acct", Limit: 3, Window: time.Hour}
	ruleConfirmTokenIP = ratelimit.Rule{Name: "token-ip", Limit: 60, Window: 15 * time.Minute}
)

// throttle counts one event for each (rule, key) pair and returns a
// RateLimited error when any of them is over its limit. When the limiter's
// storage fails it lets the request through and logs: an outage of Redis must
// not lock everybody out.
func (a *App) throttle(ctx context.Context, pairs ...any) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		rule, key := pairs[i].(ratelimit.Rule), pairs[i+1].(string)
		if key == "" {
			continue
		}
		d, err := a.Limiter.Allow(ctx, rule, key)
		if err != nil {
			a.Logger.Warn("rate limiter unavailable; allowing", "rule", rule.Name, "err", err)
			continue
		}
		if !d.Allowed {
			secs := int((d.RetryAfter + time.Second - 1) / time.Second)
			return &simplesender.Error{Kind: simplesender.KindRateLimited, Message: "error.rate_limited",
				RetryAfterSeconds: max(secs, 1)}
		}
	}
	return nil
}

// Actor is who performs a use case: a logged-in user, or System (the
// operator at the command line). A nil *Actor, or one without a user, is
// anonymous and may do nothing that needs an account.
type Actor struct {
	User   *simplesender.User
	system bool
}

// System is the operator running a command line tool: it acts as an admin
// that owns nothing.
var System = &Actor{system: true}

func (ac *Actor) isSystem() bool { return ac != nil && ac.system }

// anonymous reports whether there is no user (System included).
func (ac *Actor) anonymous() bool { return ac == nil || ac.User == nil }

func (ac *Actor) id() int64 {
	if ac.anonymous() {
		return 0
	}
	return ac.User.ID
}

func (ac *Actor) role() simplesender.Role {
	switch {
	case ac.isSystem():
		return simplesender.RoleAdmin
	case ac.anonymous():
		return ""
	}
	return ac.User.Role
}

var (
	errForbidden       = simplesender.E(simplesender.KindForbidden, "error.forbidden")
	errUnauthenticated = simplesender.E(simplesender.KindUnauthenticated, "error.unauthenticated")
)

// normalizeEmail validates an address typed by a user and lower-cases it, so
// that Ivan@Mail.ru and ivan@mail.ru are one account.
func normalizeEmail(s string) (string, error) {
	e, err := mailer.ParseAddress(s)
	if err != nil {
		return "", simplesender.Invalid(map[string]string{"email": "error.email.invalid"})
	}
	return lower(e), nil
}

func lower(s string) string { return strings.ToLower(s) }
