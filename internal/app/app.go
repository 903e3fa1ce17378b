// Package app holds the use cases shared by the web UI, the JSON API and the
// command line. It is the one place where authorization is decided (owner,
// manager, admin) and it owns the transactions.
package app

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"simplesender"
	"simplesender/internal/auth"
	"simplesender/internal/cache"
	"simplesender/internal/dkim"
	"simplesender/internal/i18n"
	"simplesender/internal/mailer"
	"simplesender/internal/ratelimit"
	"simplesender/internal/store"
	"simplesender/internal/unsubscribe"
	"simplesender/internal/webhook"
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

	// Hasher runs every password hash and check, a bounded number at once;
	// nil: auth.DefaultHashLimit() at once, callers waiting up to 5 s.
	Hasher *auth.Hasher
	// Secret keys the HMAC that rate-limit keys are stored under (so that
	// neither memory nor Redis holds an e-mail or IP address) and signs
	// device tokens. Instances sharing a Redis need the same one; nil: a
	// random secret of this process.
	Secret []byte
	// Imports bounds CSV uploads and tunes the import workers.
	Imports ImportConfig

	// DNS answers the TXT lookups of domain checks; nil: the system's.
	DNS Resolver
	// AllowedFromDomains anyone may send from without verifying them
	// (besides the domain of MailFrom), unless an admin forbids one.
	AllowedFromDomains []string
	// Keys keeps the DKIM signers, shared with the engine; nil: one made
	// from Secret.
	Keys *dkim.Keyring
	// Links makes and opens the unsubscribe links of mailing messages;
	// nil: links keyed by Secret under BaseURL, without mailto.
	Links *unsubscribe.Links
	// Returns tells how bounces and complaints are matched and applied.
	Returns ReturnsConfig
	// Webhooks tells how users' webhooks are sent.
	Webhooks WebhookConfig
}

// App runs the use cases.
type App struct {
	Deps
	limitKeyMAC []byte // HMAC key of rate-limit keys, derived from Secret
	deviceMAC   []byte // HMAC key of device tokens, derived from Secret
	domainMAC   []byte // HMAC key of domain verification tokens
	sealer      *dkim.Sealer
	imports     importState
	saves       inboundSaves // returned e-mails being stored, committed together

	hooksOnce     sync.Once
	hooksClient   *webhook.Client // posts users' webhooks
	hooksInstance string          // names this process's leases of webhook batches
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
	if d.Hasher == nil {
		d.Hasher = auth.NewHasher(auth.DefaultHashLimit(), 5*time.Second)
	}
	if len(d.Secret) == 0 {
		d.Secret = []byte(auth.NewToken(""))
	}
	d.Imports.fill()
	if d.DNS == nil {
		d.DNS = net.DefaultResolver
	}
	sealer := dkim.NewSealer(d.Secret)
	if d.Keys == nil {
		d.Keys = NewKeyring(d.DB, sealer)
	}
	if d.Links == nil {
		d.Links = unsubscribe.NewLinks(d.BaseURL, d.Secret, "")
	}
	a := &App{Deps: d, limitKeyMAC: subkey(d.Secret, "ratelimit keys"), deviceMAC: subkey(d.Secret, "device tokens"),
		domainMAC: subkey(d.Secret, "domain verification"), sealer: sealer, imports: newImportState()}
	d.DB.OnChange(a.dataChanged)
	return a
}

// subkey derives a key for one purpose from the service secret, so that no
// two purposes share a key.
func subkey(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// Throttling rules: per client IP and per account. The login and password
// rules count failures only (see countAttempt); the others count requests.
var (
	// Failed logins from one client address, whatever the account, the
	// address's form or the password's: checked before any hashing.
	ruleLoginIP = ratelimit.Rule{Name: "login-ip", Limit: 30, Window: 15 * time.Minute}
	// Failed logins to one account from one client address.
	ruleLoginAccountIP = ratelimit.Rule{Name: "login-acct-ip", Limit: 5, Window: 15 * time.Minute}
	// Failed logins to one account from clients without its device token,
	// from anywhere: the lock-out of guessers that leaves the owner's known
	// browsers alone. A second, longer window slows a patient guesser more.
	ruleLoginAccount    = ratelimit.Rule{Name: "login-acct", Limit: 10, Window: 15 * time.Minute}
	ruleLoginAccountDay = ratelimit.Rule{Name: "login-acct-day", Limit: 50, Window: 24 * time.Hour}
	// Failed logins from one browser holding a device token of the account.
	ruleLoginDevice = ratelimit.Rule{Name: "login-device", Limit: 10, Window: 15 * time.Minute}
	// Wrong "current password" of a logged-in user, per account and per
	// client address.
	rulePasswordAccount = ratelimit.Rule{Name: "password-acct", Limit: 5, Window: 15 * time.Minute}
	rulePasswordIP      = ratelimit.Rule{Name: "password-ip", Limit: 10, Window: 15 * time.Minute}

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
	return a.countAttempts(ctx, nil, pairs...)
}

// counted is an attempt counted under a rule, to refund when it succeeds.
type counted struct {
	rule ratelimit.Rule
	key  string
}

// countAttempt counts one attempt for (rule, key) before the attempt is
// made, so that parallel attempts cannot slip past the limit, and records it
// in done (when not nil) for refundAttempts. An empty key counts nothing.
// Errors: RateLimited; a failing limiter lets the attempt through and logs.
func (a *App) countAttempt(ctx context.Context, done *[]counted, rule ratelimit.Rule, key string) error {
	if key == "" {
		return nil
	}
	k := a.limitKey(key)
	d, err := a.Limiter.Allow(ctx, rule, k)
	if err != nil {
		a.Logger.Warn("rate limiter unavailable; allowing", "rule", rule.Name, "err", err)
		return nil
	}
	if !d.Allowed {
		return rateLimited(d.RetryAfter)
	}
	if done != nil {
		*done = append(*done, counted{rule, k})
	}
	return nil
}

// refundAttempts gives back the attempts of a request that succeeded, so
// that the rules count failures only.
func (a *App) refundAttempts(ctx context.Context, done []counted) {
	for _, c := range done {
		if err := a.Limiter.Refund(ctx, c.rule, c.key); err != nil {
			a.Logger.Warn("rate limiter unavailable; not refunded", "rule", c.rule.Name, "err", err)
		}
	}
}

// resetAttempts forgets the attempts counted under rule for key.
func (a *App) resetAttempts(ctx context.Context, rule ratelimit.Rule, key string) {
	if err := a.Limiter.Reset(ctx, rule, a.limitKey(key)); err != nil {
		a.Logger.Warn("rate limiter unavailable; not reset", "rule", rule.Name, "err", err)
	}
}

// limitKey is the name under which the limiter counts key (an e-mail or IP
// address, an account id): a keyed hash, so that the limiter's storage
// (Redis, shared by instances with the same secret) never holds the address.
func (a *App) limitKey(key string) string {
	m := hmac.New(sha256.New, a.limitKeyMAC)
	m.Write([]byte(key))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

// rateLimited is the error of a refused attempt, with the wait rounded up to
// a second.
func rateLimited(wait time.Duration) error {
	secs := int((wait + time.Second - 1) / time.Second)
	return &simplesender.Error{Kind: simplesender.KindRateLimited, Message: "error.rate_limited",
		RetryAfterSeconds: max(secs, 1)}
}

// errBusy answers a request whose password computation found no free slot.
var errBusy = &simplesender.Error{Kind: simplesender.KindUnavailable, Message: "error.unavailable", RetryAfterSeconds: 5}

// hashFailed turns an error of the Hasher into the error to answer: busy
// (or the caller gone) is Unavailable, anything else internal.
func hashFailed(err error, what string) error {
	if errors.Is(err, auth.ErrBusy) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &simplesender.Error{Kind: errBusy.Kind, Message: errBusy.Message, RetryAfterSeconds: errBusy.RetryAfterSeconds, Cause: err}
	}
	return simplesender.Errorf("%s: %w", what, err)
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
