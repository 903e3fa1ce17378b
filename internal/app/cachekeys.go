package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// cacheTTL bounds how long an entry lives. It is a backstop only: every
// write retires what it changes at once (see dataChanged).
const cacheTTL = 10 * time.Minute

// keyFormat changes whenever a cached type changes shape, so that instances
// of two versions sharing Redis never read each other's entries.
const keyFormat = "k1"

// Cache scopes: one per user (their own figures), "all" (anything shown to
// staff about everyone: every user's change bumps it too), and "users" (the
// list of users itself: addresses, names, roles, states).
const (
	scopeAll   = "all"
	scopeUsers = "users"
)

func scopeUser(id int64) string { return "u:" + strconv.FormatInt(id, 10) }

// viewerKey is the part of every key that names who is looking: user id and
// role, never anything taken from an e-mail address.
func viewerKey(ac *Actor) string {
	return "u" + strconv.FormatInt(ac.id(), 10) + ":r-" + string(ac.role())
}

// dataChanged is the store's change hook (store.DB.OnChange), the one place
// where cached views are retired: after every committed write, whoever made
// it (a use case, the sending engine, an import), it retires the cached
// figures of owners and the staff's views of everyone, and with users the
// list of users as well.
func (a *App) dataChanged(ctx context.Context, owners []int64, users bool) {
	scopes := []string{scopeAll}
	if users {
		scopes = append(scopes, scopeUsers)
	}
	for _, o := range owners {
		if o != 0 {
			scopes = append(scopes, scopeUser(o))
		}
	}
	a.Cache.Bump(ctx, scopes...)
}

// FiguresChanged retires every cached figure of owners, and the staff's
// views of everyone, for tools that write rows behind the store's back
// (bulk loads); the store tells of its own writes (see dataChanged).
func (a *App) FiguresChanged(ctx context.Context, owners []int64) { a.dataChanged(ctx, owners, false) }

// cached returns the value under key (with the stamp of scopes), or loads,
// stores and returns it. The stamp is read before loading, so a write that
// commits meanwhile retires what this call stores.
func cached[T any](ctx context.Context, a *App, scopes []string, key string, load func() (T, error)) (T, error) {
	stamp, ok := a.Cache.Stamp(ctx, scopes...)
	key = keyFormat + ":" + key + "#" + stamp
	if ok {
		if b, hit := a.Cache.Get(ctx, key); hit {
			var v T
			if err := json.Unmarshal(b, &v); err == nil {
				return v, nil
			}
		}
	}
	v, err := load()
	if err == nil && ok {
		if b, err := json.Marshal(v); err == nil {
			a.Cache.Set(ctx, key, b, cacheTTL)
		}
	}
	return v, err
}

// PageKey names a rendered page for StaffPage.
type PageKey struct {
	// Name is the page, e.g. "users".
	Name string
	// Lang is the language it is rendered in.
	Lang string
	// Variant is everything else the page depends on besides the viewer and
	// the language, e.g. the query string. It is hashed into the key.
	Variant string
	// Figures is true when the page shows figures (mailings, deliveries):
	// then every figure change retires it, not only changes to the users.
	Figures bool
}

// StaffPage returns a page for managers and admins, rendered by render or
// taken from the cache. The key holds the viewer's id and role, the
// language and a hash of the variant; it is retired whenever a user is
// added, changed, blocked or unblocked, or changes role (and, with
// Figures, whenever any figure changes). Anyone else gets Unauthenticated
// (nobody logged in) or Forbidden, and neither a cached copy nor a call to
// render. render's error is returned as is and nothing is cached.
func (a *App) StaffPage(ctx context.Context, ac *Actor, k PageKey, render func() ([]byte, error)) ([]byte, error) {
	if ac.anonymous() {
		return nil, errUnauthenticated
	}
	if !ac.role().IsStaff() {
		return nil, errForbidden
	}
	scopes := []string{scopeUsers}
	if k.Figures {
		scopes = []string{scopeUsers, scopeAll}
	}
	h := sha256.Sum256([]byte(k.Variant))
	key := fmt.Sprintf("page:%s:%s:lang-%s:%s", k.Name, viewerKey(ac), k.Lang, hex.EncodeToString(h[:12]))
	return cached(ctx, a, scopes, key, render)
}
