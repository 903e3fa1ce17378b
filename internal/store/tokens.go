package store

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"simplesender"
)

func lower(s string) string { return strings.ToLower(s) }

// OneTimeToken is a single-use token for confirming an address or resetting
// a password. Only its hash is stored.
type OneTimeToken struct {
	ID        int64
	UserID    int64
	Purpose   string // "confirm" or "reset"
	Hash      string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
}

// CreateOneTimeToken stores t and sets its ID.
func (s *Store) CreateOneTimeToken(ctx context.Context, t *OneTimeToken) error {
	t.CreatedAt = s.Now()
	err := s.writeRow(ctx, `INSERT INTO one_time_tokens (user_id, purpose, token_hash, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?) RETURNING id`, t.UserID, t.Purpose, t.Hash, t.CreatedAt, t.ExpiresAt).Scan(&t.ID)
	return s.wrap(err, "create one-time token")
}

// UseOneTimeToken marks the unused, unexpired token with hash and purpose as
// used and returns it. NotFound when there is no such token, or it was used
// or has expired: the caller cannot and need not tell which.
func (s *Store) UseOneTimeToken(ctx context.Context, purpose, hash string) (*OneTimeToken, error) {
	now := s.Now()
	var t OneTimeToken
	var used sql.NullTime
	err := s.writeRow(ctx, `UPDATE one_time_tokens SET used_at = ?
		WHERE token_hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ?
		RETURNING id, user_id, purpose, token_hash, created_at, expires_at, used_at`,
		now, hash, purpose, now).Scan(&t.ID, &t.UserID, &t.Purpose, &t.Hash, &t.CreatedAt, &t.ExpiresAt, &used)
	t.UsedAt = nullTime(used)
	if err != nil {
		return nil, s.wrap(err, "use one-time token")
	}
	return &t, nil
}

// ValidOneTimeToken returns the unused, unexpired token with hash and
// purpose without using it, so that a caller can refuse a bad token before
// costly work. NotFound as for UseOneTimeToken; the token must still be used
// with UseOneTimeToken, which decides.
func (s *Store) ValidOneTimeToken(ctx context.Context, purpose, hash string) (*OneTimeToken, error) {
	var t OneTimeToken
	var used sql.NullTime
	err := s.queryRow(ctx, `SELECT id, user_id, purpose, token_hash, created_at, expires_at, used_at
		FROM one_time_tokens WHERE token_hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ?`,
		hash, purpose, s.Now()).Scan(&t.ID, &t.UserID, &t.Purpose, &t.Hash, &t.CreatedAt, &t.ExpiresAt, &used)
	t.UsedAt = nullTime(used)
	if err != nil {
		return nil, s.wrap(err, "find one-time token")
	}
	return &t, nil
}

// InvalidateOneTimeTokens marks every unused token of the user for purpose as
// used, so that an older link stops working once a newer one did its job.
func (s *Store) InvalidateOneTimeTokens(ctx context.Context, userID int64, purpose string) error {
	_, err := s.exec(ctx, `UPDATE one_time_tokens SET used_at = ? WHERE user_id = ? AND purpose = ?
		AND used_at IS NULL`, s.Now(), userID, purpose)
	return s.wrap(err, "invalidate one-time tokens")
}

// DeleteExpiredOneTimeTokens removes tokens that expired before cutoff.
func (s *Store) DeleteExpiredOneTimeTokens(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := s.exec(ctx, "DELETE FROM one_time_tokens WHERE expires_at < ?", cutoff)
	if err != nil {
		return 0, s.wrap(err, "delete expired tokens")
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// APIToken is a bearer token for the JSON API. Only its hash is stored; Prefix
// (the first characters) lets the owner recognise it in a list.
type APIToken struct {
	ID         int64
	UserID     int64
	Name       string
	Hash       string
	Prefix     string
	CreatedAt  time.Time
	LastUsedAt *time.Time
}

// CreateAPIToken stores t and sets its ID.
func (s *Store) CreateAPIToken(ctx context.Context, t *APIToken) error {
	t.CreatedAt = s.Now()
	err := s.writeRow(ctx, `INSERT INTO api_tokens (user_id, name, token_hash, prefix, created_at)
		VALUES (?, ?, ?, ?, ?) RETURNING id`, t.UserID, t.Name, t.Hash, t.Prefix, t.CreatedAt).Scan(&t.ID)
	return s.wrap(err, "create API token")
}

// APITokenUser returns the token with hash and the user it belongs to, read
// in one statement (every API request asks), or NotFound.
func (s *Store) APITokenUser(ctx context.Context, hash string) (*APIToken, *simplesender.User, error) {
	var t APIToken
	var last sql.NullTime
	row := s.queryRow(ctx, "SELECT t.id, t.user_id, t.name, t.prefix, t.created_at, t.last_used_at, "+prefixed("u.", userColumns)+
		" FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?", hash)
	u, err := scanUser(prefixScanner{row, []any{&t.ID, &t.UserID, &t.Name, &t.Prefix, &t.CreatedAt, &last}})
	if err != nil {
		return nil, nil, s.wrap(err, "get API token")
	}
	t.Hash, t.LastUsedAt = hash, nullTime(last)
	return &t, u, nil
}

// prefixScanner scans its own columns (pre) ahead of those a scan function
// reads, so that a joined row can be read by that function.
type prefixScanner struct {
	row scanner
	pre []any
}

func (p prefixScanner) Scan(dest ...any) error { return p.row.Scan(append(p.pre, dest...)...) }

// TouchAPIToken records that token id was used at t.
func (s *Store) TouchAPIToken(ctx context.Context, id int64, t time.Time) error {
	_, err := s.exec(ctx, "UPDATE api_tokens SET last_used_at = ? WHERE id = ?", t, id)
	return s.wrap(err, "touch API token")
}

// ListAPITokens returns the user's tokens, newest first.
func (s *Store) ListAPITokens(ctx context.Context, userID int64) ([]*APIToken, error) {
	rows, err := s.query(ctx, `SELECT id, user_id, name, token_hash, prefix, created_at, last_used_at
		FROM api_tokens WHERE user_id = ? ORDER BY id DESC`, userID)
	if err != nil {
		return nil, s.wrap(err, "list API tokens")
	}
	defer rows.Close()
	var out []*APIToken
	for rows.Next() {
		var t APIToken
		var last sql.NullTime
		if err := rows.Scan(&t.ID, &t.UserID, &t.Name, &t.Hash, &t.Prefix, &t.CreatedAt, &last); err != nil {
			return nil, s.wrap(err, "scan API token")
		}
		t.LastUsedAt = nullTime(last)
		out = append(out, &t)
	}
	return out, s.wrap(rows.Err(), "list API tokens")
}

// DeleteAPIToken removes the user's token id; NotFound when the user has no
// such token.
func (s *Store) DeleteAPIToken(ctx context.Context, userID, id int64) error {
	res, err := s.exec(ctx, "DELETE FROM api_tokens WHERE id = ? AND user_id = ?", id, userID)
	return s.affected(res, err, "delete API token")
}

// DeleteUserAPITokens removes every token of the user.
func (s *Store) DeleteUserAPITokens(ctx context.Context, userID int64) error {
	_, err := s.exec(ctx, "DELETE FROM api_tokens WHERE user_id = ?", userID)
	return s.wrap(err, "delete user's API tokens")
}
