package app

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"

	"simplesender"
	"simplesender/internal/auth"
	"simplesender/internal/ratelimit"
)

// Logging in is throttled so that guessing is slow and a guesser cannot lock
// the owner out (OWASP's "device cookies"):
//
//   - Every failed attempt counts against the client's address (login-ip),
//     before anything else is looked at: a malformed address or an empty
//     password counts too, and costs no password hashing.
//   - A browser that logged in to the account before holds a device token
//     (a signed cookie, see LoginRequest.Device). Its failures count against
//     that token only (login-device).
//   - Any other client's failures count against the pair (account, client
//     address) (login-acct-ip), and against the account (login-acct, and
//     login-acct-day over a day). When the account's count is full, clients
//     without a device token are refused, whoever they are, while the
//     owner's known browsers log in as usual.
//
// Counts are taken before the password is checked, so that parallel attempts
// cannot slip past a limit, and given back when the password was right: only
// failures count. Unknown addresses are counted exactly like known ones.

var errLoginFailed = simplesender.E(simplesender.KindUnauthenticated, "error.login.failed")

// LoginRequest is an attempt to log in.
type LoginRequest struct {
	Email, Password string
	IP, UserAgent   string
	// Device is the device token the browser got at an earlier successful
	// login (LoginResult.Device), if any. A valid token of the account exempts
	// the browser from the account's lock-out.
	Device string
}

// LoginResult is a successful login.
type LoginResult struct {
	Session string // raw session id for the cookie
	User    *simplesender.User
	// Device is a new device token of the account for this browser to keep
	// (the web UI keeps it in a long-lived cookie).
	Device string
}

// Login checks an address and password and starts a session, returning the
// raw session id for the cookie. It is LoginWith without a device token.
func (a *App) Login(ctx context.Context, email, password, ip, userAgent string) (string, *simplesender.User, error) {
	res, err := a.LoginWith(ctx, LoginRequest{Email: email, Password: password, IP: ip, UserAgent: userAgent})
	if err != nil {
		return "", nil, err
	}
	return res.Session, res.User, nil
}

// LoginWith checks the address and password of r and starts a session.
// Unknown addresses and wrong passwords get the same error and take the same
// time. Errors: Unauthenticated ("error.login.failed", "error.login.pending",
// "error.login.blocked"), RateLimited, Unavailable (too many password checks
// at once, or the session store does not answer).
func (a *App) LoginWith(ctx context.Context, r LoginRequest) (*LoginResult, error) {
	u, err := a.checkCredentials(ctx, r)
	if err != nil {
		return nil, err
	}
	raw, err := a.startSession(ctx, u, r.IP, r.UserAgent)
	if err != nil {
		return nil, err
	}
	return &LoginResult{Session: raw, User: u, Device: a.newDeviceToken(u)}, nil
}

// checkCredentials returns the active user with the address and password of r.
func (a *App) checkCredentials(ctx context.Context, r LoginRequest) (*simplesender.User, error) {
	var done []counted
	if err := a.countAttempt(ctx, &done, ruleLoginIP, r.IP); err != nil {
		return nil, err
	}
	norm, err := normalizeEmail(r.Email)
	if err != nil || r.Password == "" {
		// Nothing to compare: no account has such an address or password.
		return nil, errLoginFailed
	}
	u, err := a.DB.Store().UserByEmail(ctx, norm)
	switch {
	case simplesender.IsKind(err, simplesender.KindNotFound):
		u = nil
	case err != nil:
		return nil, err
	}
	if dev := a.deviceOf(r.Device, u); dev != "" {
		err = a.countAttempt(ctx, &done, ruleLoginDevice, dev)
	} else {
		err = a.countAttempts(ctx, &done, ruleLoginAccountIP, norm+" "+r.IP, ruleLoginAccount, norm, ruleLoginAccountDay, norm)
	}
	if err != nil {
		return nil, err
	}
	if u == nil {
		if err := a.Hasher.CheckDummy(ctx, r.Password); err != nil {
			return nil, hashFailed(err, "check password")
		}
		return nil, errLoginFailed
	}
	ok, err := a.Hasher.Check(ctx, u.PasswordHash, r.Password)
	if err != nil {
		return nil, hashFailed(err, "check password of user "+strconv.FormatInt(u.ID, 10))
	}
	if !ok {
		return nil, errLoginFailed
	}
	// The password was right: the attempt does not count, and only now may
	// the answer say more.
	a.refundAttempts(ctx, done)
	switch u.Status() {
	case simplesender.StatusBlocked:
		return nil, simplesender.E(simplesender.KindUnauthenticated, "error.login.blocked")
	case simplesender.StatusPending:
		return nil, simplesender.E(simplesender.KindUnauthenticated, "error.login.pending")
	}
	return u, nil
}

// countAttempts is countAttempt for each (rule, key) pair in turn.
func (a *App) countAttempts(ctx context.Context, done *[]counted, pairs ...any) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if err := a.countAttempt(ctx, done, pairs[i].(ratelimit.Rule), pairs[i+1].(string)); err != nil {
			return err
		}
	}
	return nil
}

// forgetLoginFailures clears the account's lock-out, once its owner has
// proved to own the address (a password reset).
func (a *App) forgetLoginFailures(ctx context.Context, email string) {
	a.resetAttempts(ctx, ruleLoginAccount, email)
	a.resetAttempts(ctx, ruleLoginAccountDay, email)
}

// Device tokens are "v1.USER.AUTHVERSION.NONCE.MAC": the account, its auth
// version when the token was made (a password change or a block retires
// every token), a random id of the browser, and an HMAC of the rest.
const deviceTokenVersion = "v1"

// newDeviceToken makes a device token of u for the browser that just logged in.
func (a *App) newDeviceToken(u *simplesender.User) string {
	nonce := auth.NewToken("")[:22]
	payload := strings.Join([]string{deviceTokenVersion, strconv.FormatInt(u.ID, 10),
		strconv.FormatInt(u.AuthVersion, 10), nonce}, ".")
	return payload + "." + a.deviceMACOf(payload)
}

// deviceOf returns the browser id of a valid device token of u, or "" when
// token is not one (empty, forged, of another account, or retired).
func (a *App) deviceOf(token string, u *simplesender.User) string {
	if u == nil || token == "" || len(token) > 200 {
		return ""
	}
	i := strings.LastIndexByte(token, '.')
	if i < 0 || !hmac.Equal([]byte(a.deviceMACOf(token[:i])), []byte(token[i+1:])) {
		return ""
	}
	parts := strings.Split(token[:i], ".")
	if len(parts) != 4 || parts[0] != deviceTokenVersion || parts[1] != strconv.FormatInt(u.ID, 10) ||
		parts[2] != strconv.FormatInt(u.AuthVersion, 10) {
		return ""
	}
	return parts[1] + "." + parts[3]
}

func (a *App) deviceMACOf(payload string) string {
	m := hmac.New(sha256.New, a.deviceMAC)
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:24])
}
