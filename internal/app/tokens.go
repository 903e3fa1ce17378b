package app

import (
	"context"
	"strings"
	"time"

	"simplesender"
	"simplesender/internal/auth"
	"simplesender/internal/store"
)

// APITokenPrefix starts every API token, so a leaked one is easy to spot.
const APITokenPrefix = "ss_"

// CreateAPIToken makes a new API token for the actor (or, for the system, for
// owner) and returns the raw token, shown once. Errors: Invalid (name),
// Unauthenticated.
func (a *App) CreateAPIToken(ctx context.Context, ac *Actor, owner *simplesender.User, name string) (string, *store.APIToken, error) {
	if !ac.isSystem() {
		owner = ac.User
	}
	if owner == nil {
		return "", nil, errUnauthenticated
	}
	name = strings.TrimSpace(name)
	if !simplesender.PlainText(name, 100) {
		return "", nil, simplesender.Invalid(map[string]string{"name": "error.token.name"})
	}
	raw := auth.NewToken(APITokenPrefix)
	t := &store.APIToken{UserID: owner.ID, Name: name, Hash: auth.HashToken(raw), Prefix: raw[:len(APITokenPrefix)+6]}
	if err := a.DB.Store().CreateAPIToken(ctx, t); err != nil {
		return "", nil, err
	}
	return raw, t, nil
}

// CreateAPITokenWithPassword checks credentials like Login does (same
// throttling, same answers; a client of the API holds no device token) and
// makes a token. Errors: Unauthenticated, RateLimited, Invalid, Unavailable.
func (a *App) CreateAPITokenWithPassword(ctx context.Context, email, password, name, ip string) (string, *store.APIToken, error) {
	u, err := a.checkCredentials(ctx, LoginRequest{Email: email, Password: password, IP: ip})
	if err != nil {
		return "", nil, err
	}
	return a.CreateAPIToken(ctx, &Actor{User: u}, nil, name)
}

// ListAPITokens returns the actor's tokens, newest first.
func (a *App) ListAPITokens(ctx context.Context, ac *Actor) ([]*store.APIToken, error) {
	if ac.anonymous() {
		return nil, errUnauthenticated
	}
	return a.DB.Store().ListAPITokens(ctx, ac.User.ID)
}

// RevokeAPIToken deletes one of the actor's tokens. Errors: NotFound (also for
// another user's token).
func (a *App) RevokeAPIToken(ctx context.Context, ac *Actor, id int64) error {
	if ac.anonymous() {
		return errUnauthenticated
	}
	return a.DB.Store().DeleteAPIToken(ctx, ac.User.ID, id)
}

// TokenUser returns the active user that owns the raw API token. Errors:
// Unauthenticated.
func (a *App) TokenUser(ctx context.Context, raw string) (*simplesender.User, error) {
	if !strings.HasPrefix(raw, APITokenPrefix) || len(raw) > 100 {
		return nil, errUnauthenticated
	}
	st := a.DB.Store()
	t, u, err := st.APITokenUser(ctx, auth.HashToken(raw))
	if simplesender.IsKind(err, simplesender.KindNotFound) {
		return nil, errUnauthenticated
	}
	if err != nil {
		return nil, err
	}
	if u.Status() != simplesender.StatusActive {
		return nil, errUnauthenticated
	}
	now := a.Now()
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) > time.Minute {
		if err := st.TouchAPIToken(ctx, t.ID, now); err != nil {
			a.Logger.Warn("touch API token", "err", err)
		}
	}
	return u, nil
}
