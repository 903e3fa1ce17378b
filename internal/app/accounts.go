package app

import (
	"context"
	"errors"
	"io"
	"strconv"
	"time"

	"simplesender"
	"simplesender/internal/auth"
	"simplesender/internal/avatar"
	"simplesender/internal/jobs"
	"simplesender/internal/store"
)

// Token lifetimes.
const (
	ConfirmTokenTTL = 48 * time.Hour
	ResetTokenTTL   = time.Hour
)

// Registration is what a person fills in to sign up.
type Registration struct {
	Email    string
	Password string
	simplesender.Profile
	// Avatar, when not nil, is an uploaded profile picture (see SetAvatar).
	Avatar io.Reader
}

// Register creates a pending account and queues its confirmation e-mail. When
// the address already has an account, it queues a note to the owner instead
// and answers exactly as for a new address (no account enumeration). Errors:
// Invalid (per field), RateLimited.
func (a *App) Register(ctx context.Context, r Registration, ip string) error {
	r.Normalize()
	f := simplesender.FieldErrors{}
	email, err := normalizeEmail(r.Email)
	if err != nil {
		f.Add("email", "error.email.invalid")
	}
	if err := r.Profile.Validate(true); err != nil {
		for k, v := range simplesender.AsError(err).Fields {
			f.Add(k, v)
		}
	}
	if err := auth.ValidatePassword(r.Password, email); err != nil {
		f.Add("password", simplesender.AsError(err).Fields["password"])
	}
	if err := f.Err(); err != nil {
		return err
	}
	if err := a.throttle(ctx, ruleRegisterIP, ip, ruleRegisterEmail, email); err != nil {
		return err
	}
	// The picture after the throttle: decoding it is the costly part.
	var pic *avatar.Image
	if r.Avatar != nil {
		if pic, err = processAvatar(r.Avatar); err != nil {
			return err
		}
	}
	// Hash even when the address is taken, so both answers take as long.
	hash, err := a.Hasher.Hash(ctx, r.Password)
	if err != nil {
		return hashFailed(err, "hash password")
	}
	err = a.DB.InTx(ctx, func(s *store.Store) error {
		existing, err := s.UserByEmail(ctx, email)
		switch {
		case err == nil:
			if existing.Status() == simplesender.StatusBlocked {
				return nil
			}
			return a.Queue.InsertTx(ctx, s.Tx(), jobs.AccountEmailArgs{Type: jobs.AccountEmailExists, UserID: existing.ID, Lang: pick(existing.Lang, r.Lang)})
		case !simplesender.IsKind(err, simplesender.KindNotFound):
			return err
		}
		u := &simplesender.User{Email: email, Name: r.Name, Phone: r.Phone, Country: r.Country, Lang: r.Lang,
			TimeZone: r.TimeZone, Role: simplesender.RoleUser, PasswordHash: hash}
		if err := s.CreateUser(ctx, u); err != nil {
			if simplesender.IsKind(err, simplesender.KindConflict) {
				// Registered a moment ago by a concurrent request. The failed
				// insert ended this transaction on PostgreSQL: roll back, and
				// answer as for any taken address.
				return errRegisteredMeanwhile
			}
			return err
		}
		if pic != nil {
			// Only on a new account: an upload never changes the picture of
			// an account that exists already.
			if _, err := s.SetAvatar(ctx, u.ID, pic.ContentType, pic.Data); err != nil {
				return err
			}
		}
		return a.Queue.InsertTx(ctx, s.Tx(), jobs.AccountEmailArgs{Type: jobs.AccountEmailConfirm, UserID: u.ID, Lang: r.Lang})
	})
	if errors.Is(err, errRegisteredMeanwhile) {
		return nil
	}
	return err
}

var errRegisteredMeanwhile = errors.New("registered meanwhile")

func pick(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// ResendConfirmation queues a new confirmation e-mail when the address has a
// pending account, and answers the same in every case. The request does the
// same work for every address (it queues a job for the address, which finds
// out whether to send), so its timing tells nothing either. Errors: Invalid,
// RateLimited.
func (a *App) ResendConfirmation(ctx context.Context, email, lang, ip string) error {
	email, err := normalizeEmail(email)
	if err != nil {
		return err
	}
	if err := a.throttle(ctx, ruleResendIP, ip, ruleResendAccount, email); err != nil {
		return err
	}
	return a.queueByEmail(ctx, jobs.AccountEmailArgs{Type: jobs.AccountEmailConfirm, Email: email, Lang: lang})
}

// queueByEmail queues an account e-mail named by its address, without looking
// the account up.
func (a *App) queueByEmail(ctx context.Context, args jobs.AccountEmailArgs) error {
	return a.DB.InTx(ctx, func(s *store.Store) error {
		return a.Queue.InsertTx(ctx, s.Tx(), args)
	})
}

var errBadToken = simplesender.E(simplesender.KindInvalid, "error.token.invalid")

// Confirm uses a confirmation token: the account's address counts as
// confirmed. A blocked account stays blocked. Errors: Invalid (unknown, used
// or expired token), RateLimited.
func (a *App) Confirm(ctx context.Context, token, ip string) (*simplesender.User, error) {
	if err := a.throttle(ctx, ruleConfirmTokenIP, ip); err != nil {
		return nil, err
	}
	if token == "" || len(token) > 200 {
		return nil, errBadToken
	}
	var u *simplesender.User
	err := a.DB.InTx(ctx, func(s *store.Store) error {
		t, err := s.UseOneTimeToken(ctx, "confirm", auth.HashToken(token))
		if simplesender.IsKind(err, simplesender.KindNotFound) {
			return errBadToken
		}
		if err != nil {
			return err
		}
		if err := s.Confirm(ctx, t.UserID); err != nil {
			return err
		}
		if err := s.InvalidateOneTimeTokens(ctx, t.UserID, "confirm"); err != nil {
			return err
		}
		u, err = s.UserByID(ctx, t.UserID)
		return err
	})
	return u, err
}

// CheckLinkToken reports whether the token of a confirmation link (purpose
// "confirm") or a password reset link ("reset") can still be used, without
// using it, so that a page can show the error instead of a form that would
// fail. Checks count toward the same per-address limit as uses. Errors:
// Invalid (unknown, used or expired token), RateLimited.
func (a *App) CheckLinkToken(ctx context.Context, purpose, token, ip string) error {
	if purpose != "confirm" && purpose != "reset" {
		return errBadToken
	}
	if err := a.throttle(ctx, ruleConfirmTokenIP, ip); err != nil {
		return err
	}
	if token == "" || len(token) > 200 {
		return errBadToken
	}
	_, err := a.DB.Store().ValidOneTimeToken(ctx, purpose, auth.HashToken(token))
	if simplesender.IsKind(err, simplesender.KindNotFound) {
		return errBadToken
	}
	return err
}

func (a *App) startSession(ctx context.Context, u *simplesender.User, ip, userAgent string) (string, error) {
	raw := auth.NewToken("")
	now := a.Now()
	if len(userAgent) > 300 {
		userAgent = userAgent[:300]
	}
	s := &simplesender.Session{IDHash: auth.HashToken(raw), UserID: u.ID, AuthVersion: u.AuthVersion,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(a.SessionMax), IP: ip, UserAgent: userAgent}
	if err := a.Sessions.Create(ctx, s); err != nil {
		// The session store (Redis) is down: say so, rather than "internal
		// error", and let the caller come back.
		a.Logger.Warn("session store unavailable", "err", err)
		return "", &simplesender.Error{Kind: simplesender.KindUnavailable, Message: "error.sessions_unavailable",
			RetryAfterSeconds: 60, Cause: err}
	}
	return raw, nil
}

// Logout ends the session with raw id; an unknown id is not an error.
func (a *App) Logout(ctx context.Context, raw string) error {
	if raw == "" {
		return nil
	}
	return a.Sessions.Delete(ctx, auth.HashToken(raw))
}

// touchEvery limits how often a session's last-seen time is written.
const touchEvery = time.Minute

// SessionUser returns the user of a live session. A session ends when it is
// past its absolute end, idle too long, or the user's auth version moved on
// (password changed, blocked), or the user is no longer active. Errors:
// Unauthenticated.
func (a *App) SessionUser(ctx context.Context, raw string) (*simplesender.User, error) {
	if raw == "" || len(raw) > 100 {
		return nil, errUnauthenticated
	}
	h := auth.HashToken(raw)
	s, err := a.Sessions.Get(ctx, h)
	if simplesender.IsKind(err, simplesender.KindNotFound) {
		return nil, errUnauthenticated
	}
	if err != nil {
		return nil, err
	}
	now := a.Now()
	if now.After(s.ExpiresAt) || now.Sub(s.LastSeenAt) > a.SessionIdle {
		_ = a.Sessions.Delete(ctx, h)
		return nil, errUnauthenticated
	}
	u, err := a.DB.Store().UserByID(ctx, s.UserID)
	if simplesender.IsKind(err, simplesender.KindNotFound) {
		return nil, errUnauthenticated
	}
	if err != nil {
		return nil, err
	}
	if u.AuthVersion != s.AuthVersion || u.Status() != simplesender.StatusActive {
		_ = a.Sessions.Delete(ctx, h)
		return nil, errUnauthenticated
	}
	if now.Sub(s.LastSeenAt) > touchEvery {
		if err := a.Sessions.Touch(ctx, h, now); err != nil {
			a.Logger.Warn("touch session", "err", err)
		}
	}
	return u, nil
}

// RequestPasswordReset queues a reset e-mail when the address belongs to an
// account that is not blocked, and answers the same in every case. The
// request does the same work for every address (it queues a job for the
// address; the job finds the account, if any), so that neither its answer
// nor its timing tells whether the address has an account. Errors: Invalid
// (not an address), RateLimited.
func (a *App) RequestPasswordReset(ctx context.Context, email, lang, ip string) error {
	email, err := normalizeEmail(email)
	if err != nil {
		return err
	}
	if err := a.throttle(ctx, ruleResetIP, ip, ruleResetAccount, email); err != nil {
		return err
	}
	return a.queueByEmail(ctx, jobs.AccountEmailArgs{Type: jobs.AccountEmailReset, Email: email, Lang: lang})
}

// ResetPassword sets a new password with a reset token. The token is used up
// only when the new password is accepted. Every session and API token of the
// user ends; the address counts as confirmed (the link reached it), and the
// account's login lock-out ends; a blocked account stays blocked. Errors:
// Invalid (bad token, or the password rules), RateLimited, Unavailable.
func (a *App) ResetPassword(ctx context.Context, token, password, ip string) (*simplesender.User, error) {
	if err := a.throttle(ctx, ruleConfirmTokenIP, ip); err != nil {
		return nil, err
	}
	if token == "" || len(token) > 200 {
		return nil, errBadToken
	}
	// Look before hashing: a bad token costs no password hashing.
	st := a.DB.Store()
	t, err := st.ValidOneTimeToken(ctx, "reset", auth.HashToken(token))
	if simplesender.IsKind(err, simplesender.KindNotFound) {
		return nil, errBadToken
	}
	if err != nil {
		return nil, err
	}
	u, err := st.UserByID(ctx, t.UserID)
	if err != nil {
		return nil, err
	}
	if err := auth.ValidatePassword(password, u.Email); err != nil {
		return nil, err
	}
	hash, err := a.Hasher.Hash(ctx, password)
	if err != nil {
		return nil, hashFailed(err, "hash password")
	}
	err = a.DB.InTx(ctx, func(s *store.Store) error {
		t, err := s.UseOneTimeToken(ctx, "reset", auth.HashToken(token))
		if simplesender.IsKind(err, simplesender.KindNotFound) {
			return errBadToken // used a moment ago by a concurrent request
		}
		if err != nil {
			return err
		}
		if _, err := s.SetPassword(ctx, t.UserID, hash); err != nil {
			return err
		}
		if err := s.Confirm(ctx, t.UserID); err != nil {
			return err
		}
		if err := s.InvalidateOneTimeTokens(ctx, t.UserID, "reset"); err != nil {
			return err
		}
		return s.DeleteUserAPITokens(ctx, t.UserID)
	})
	if err != nil {
		return nil, err
	}
	if err := a.Sessions.DeleteUser(ctx, u.ID); err != nil {
		a.Logger.Warn("end sessions after reset", "user", u.ID, "err", err)
	}
	a.forgetLoginFailures(ctx, u.Email)
	return a.DB.Store().UserByID(ctx, u.ID)
}

// ChangePassword replaces the actor's password after checking the current
// one. Checks of the current password are throttled per account and per
// client address, as logins are (failures only). Every session and API token
// of the user ends; a new session is started for the browser that asked, and
// its raw id returned. Errors: Invalid (field "current" wrong, or "password"
// rules), Unauthenticated, RateLimited, Unavailable.
func (a *App) ChangePassword(ctx context.Context, ac *Actor, current, password, ip, userAgent string) (string, error) {
	if ac.anonymous() {
		return "", errUnauthenticated
	}
	u, err := a.DB.Store().UserByID(ctx, ac.User.ID)
	if err != nil {
		return "", err
	}
	if err := a.checkCurrentPassword(ctx, u, current, ip); err != nil {
		return "", err
	}
	if err := auth.ValidatePassword(password, u.Email); err != nil {
		return "", err
	}
	if password == current {
		return "", simplesender.Invalid(map[string]string{"password": "error.password.same"})
	}
	hash, err := a.Hasher.Hash(ctx, password)
	if err != nil {
		return "", hashFailed(err, "hash password")
	}
	err = a.DB.InTx(ctx, func(s *store.Store) error {
		v, err := s.SetPassword(ctx, u.ID, hash)
		u.AuthVersion = v
		if err != nil {
			return err
		}
		return s.DeleteUserAPITokens(ctx, u.ID)
	})
	if err != nil {
		return "", err
	}
	if err := a.Sessions.DeleteUser(ctx, u.ID); err != nil {
		a.Logger.Warn("end sessions after password change", "user", u.ID, "err", err)
	}
	return a.startSession(ctx, u, ip, userAgent)
}

// checkCurrentPassword checks the password a logged-in user typed to confirm
// a change, counting failures per account and per client address. Errors:
// Invalid (field "current"), RateLimited, Unavailable.
func (a *App) checkCurrentPassword(ctx context.Context, u *simplesender.User, current, ip string) error {
	var done []counted
	if err := a.countAttempts(ctx, &done, rulePasswordIP, ip, rulePasswordAccount, strconv.FormatInt(u.ID, 10)); err != nil {
		return err
	}
	wrong := simplesender.Invalid(map[string]string{"current": "error.password.wrong"})
	if current == "" {
		return wrong
	}
	ok, err := a.Hasher.Check(ctx, u.PasswordHash, current)
	if err != nil {
		return hashFailed(err, "check password")
	}
	if !ok {
		return wrong
	}
	a.refundAttempts(ctx, done)
	return nil
}

// UpdateProfile saves the actor's profile. Errors: Invalid.
func (a *App) UpdateProfile(ctx context.Context, ac *Actor, p simplesender.Profile) error {
	if ac.anonymous() {
		return errUnauthenticated
	}
	p.Normalize()
	if err := p.Validate(true); err != nil {
		return err
	}
	return a.DB.Store().UpdateProfile(ctx, ac.User.ID, p)
}

// SetLanguage saves the actor's interface language.
func (a *App) SetLanguage(ctx context.Context, ac *Actor, lang string) error {
	if ac.anonymous() {
		return errUnauthenticated
	}
	if lang != "en" && lang != "ru" {
		return simplesender.Invalid(map[string]string{"lang": "error.lang.invalid"})
	}
	return a.DB.Store().SetLang(ctx, ac.User.ID, lang)
}

// Cleanup removes expired sessions and one-time tokens.
func (a *App) Cleanup(ctx context.Context) error {
	now := a.Now()
	if ss, ok := a.Sessions.(interface {
		DeleteExpired(ctx context.Context, now, idleCutoff time.Time) (int64, error)
	}); ok {
		if _, err := ss.DeleteExpired(ctx, now, now.Add(-a.SessionIdle)); err != nil {
			return err
		}
	}
	_, err := a.DB.Store().DeleteExpiredOneTimeTokens(ctx, now.Add(-7*24*time.Hour))
	return err
}
