package store

import (
	"context"
	"database/sql"
	"time"

	"simplesender"
)

const userColumns = `id, email, name, phone, country, lang, timezone, role, password_hash,
	auth_version, created_at, updated_at, confirmed_at, blocked_at, avatar_version`

type scanner interface{ Scan(dest ...any) error }

func scanUser(row scanner) (*simplesender.User, error) {
	var u simplesender.User
	var role string
	var confirmed, blocked sql.NullTime
	if err := row.Scan(&u.ID, &u.Email, &u.Name, &u.Phone, &u.Country, &u.Lang, &u.TimeZone, &role,
		&u.PasswordHash, &u.AuthVersion, &u.CreatedAt, &u.UpdatedAt, &confirmed, &blocked, &u.AvatarVersion); err != nil {
		return nil, err
	}
	u.Role = simplesender.Role(role)
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	u.ConfirmedAt, u.BlockedAt = nullTime(confirmed), nullTime(blocked)
	return &u, nil
}

func nullTime(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}

// CreateUser inserts u (Email already normalised) and sets its ID and times.
// Conflict when the address is taken.
func (s *Store) CreateUser(ctx context.Context, u *simplesender.User) error {
	now := s.Now()
	u.CreatedAt, u.UpdatedAt = now, now
	if u.AuthVersion == 0 {
		u.AuthVersion = 1
	}
	if u.Role == "" {
		u.Role = simplesender.RoleUser
	}
	err := s.writeRow(ctx, `INSERT INTO users (email, name, phone, country, lang, timezone, role,
		password_hash, auth_version, created_at, updated_at, confirmed_at, blocked_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		u.Email, u.Name, u.Phone, u.Country, u.Lang, u.TimeZone, string(u.Role), u.PasswordHash,
		u.AuthVersion, now, now, u.ConfirmedAt, u.BlockedAt).Scan(&u.ID)
	return s.touchUsers(ctx, s.wrap(err, "create user"), u.ID)
}

// UserByID returns the user with id, or NotFound.
func (s *Store) UserByID(ctx context.Context, id int64) (*simplesender.User, error) {
	u, err := scanUser(s.queryRow(ctx, "SELECT "+userColumns+" FROM users WHERE id = ?", id))
	return u, s.wrap(err, "get user")
}

// LockUser returns user id and, in a transaction, keeps its row locked
// until the transaction ends. SetBlocked after it reads the clock only once
// every start of the user's mailings in flight has committed (they hold a
// lock on the row: see RequestStart), so their runs began before
// blocked_at and the block's CancelRuns sees them. The lock (NO KEY UPDATE,
// as an UPDATE of the row takes) does not wait for transactions that only
// write rows referring to the user, such as an import. NotFound when there
// is no such user.
func (s *Store) LockUser(ctx context.Context, id int64) (*simplesender.User, error) {
	q := s.db.dialect.rebind("SELECT " + userColumns + " FROM users WHERE id = ?" + s.rowLock("NO KEY UPDATE"))
	u, err := scanUser(s.w.QueryRowContext(ctx, q, id))
	return u, s.wrap(err, "lock user")
}

// UserByEmail returns the user with the normalised address email, or NotFound.
func (s *Store) UserByEmail(ctx context.Context, email string) (*simplesender.User, error) {
	u, err := scanUser(s.queryRow(ctx, "SELECT "+userColumns+" FROM users WHERE email = ?", email))
	return u, s.wrap(err, "get user by email")
}

// UserFilter selects users for ListUsers.
type UserFilter struct {
	Query  string // substring of e-mail or name, case-insensitive
	Status simplesender.Status
	Role   simplesender.Role
	Limit  int
	Offset int
}

// ListUsers returns a page of users ordered by id and the total matching.
func (s *Store) ListUsers(ctx context.Context, f UserFilter) ([]*simplesender.User, int, error) {
	where, args := "WHERE 1=1", []any{}
	if f.Query != "" {
		where += " AND (lower(email) LIKE ? ESCAPE '\\' OR lower(name) LIKE ? ESCAPE '\\')"
		p := likePattern(f.Query)
		args = append(args, p, p)
	}
	switch f.Status {
	case simplesender.StatusBlocked:
		where += " AND blocked_at IS NOT NULL"
	case simplesender.StatusActive:
		where += " AND blocked_at IS NULL AND confirmed_at IS NOT NULL"
	case simplesender.StatusPending:
		where += " AND blocked_at IS NULL AND confirmed_at IS NULL"
	}
	if f.Role != "" {
		where += " AND role = ?"
		args = append(args, string(f.Role))
	}
	var total int
	if err := s.queryRow(ctx, "SELECT count(*) FROM users "+where, args...).Scan(&total); err != nil {
		return nil, 0, s.wrap(err, "count users")
	}
	if f.Limit <= 0 {
		f.Limit = 50
	}
	out, err := queryList(ctx, s, "list users", scanUser,
		"SELECT "+userColumns+" FROM users "+where+" ORDER BY id LIMIT ? OFFSET ?", append(args, f.Limit, offsetArg(f.Offset))...)
	return out, total, err
}

// UpdateProfile saves the editable profile fields of user id.
func (s *Store) UpdateProfile(ctx context.Context, id int64, p simplesender.Profile) error {
	res, err := s.exec(ctx, `UPDATE users SET name = ?, phone = ?, country = ?, lang = ?, timezone = ?,
		updated_at = ? WHERE id = ?`, p.Name, p.Phone, p.Country, p.Lang, p.TimeZone, s.Now(), id)
	return s.touchUsers(ctx, s.affected(res, err, "update profile"), id)
}

// SetLang saves the user's interface language.
func (s *Store) SetLang(ctx context.Context, id int64, lang string) error {
	res, err := s.exec(ctx, "UPDATE users SET lang = ?, updated_at = ? WHERE id = ?", lang, s.Now(), id)
	return s.affected(res, err, "set language")
}

// SetPassword stores a new password hash and bumps the auth version, so every
// existing session of the user stops working. It returns the new version.
func (s *Store) SetPassword(ctx context.Context, id int64, hash string) (int64, error) {
	var v int64
	err := s.writeRow(ctx, `UPDATE users SET password_hash = ?, auth_version = auth_version + 1,
		updated_at = ? WHERE id = ? RETURNING auth_version`, hash, s.Now(), id).Scan(&v)
	return v, s.wrap(err, "set password")
}

// Confirm marks the user's address confirmed (once; a second call keeps the
// first time).
func (s *Store) Confirm(ctx context.Context, id int64) error {
	now := s.Now()
	res, err := s.exec(ctx, `UPDATE users SET confirmed_at = COALESCE(confirmed_at, ?), updated_at = ?
		WHERE id = ?`, now, now, id)
	return s.touchUsers(ctx, s.affected(res, err, "confirm user"), id)
}

// SetBlocked blocks (bumping the auth version) or unblocks user id.
func (s *Store) SetBlocked(ctx context.Context, id int64, blocked bool) error {
	now := s.Now()
	var res sql.Result
	var err error
	if blocked {
		res, err = s.exec(ctx, `UPDATE users SET blocked_at = COALESCE(blocked_at, ?),
			auth_version = auth_version + 1, updated_at = ? WHERE id = ?`, now, now, id)
	} else {
		res, err = s.exec(ctx, "UPDATE users SET blocked_at = NULL, updated_at = ? WHERE id = ?", now, id)
	}
	return s.touchUsers(ctx, s.affected(res, err, "set blocked"), id)
}

// SetRole changes user id's role.
func (s *Store) SetRole(ctx context.Context, id int64, role simplesender.Role) error {
	res, err := s.exec(ctx, "UPDATE users SET role = ?, updated_at = ? WHERE id = ?", string(role), s.Now(), id)
	return s.touchUsers(ctx, s.affected(res, err, "set role"), id)
}

// CountUsers returns the number of users per status.
func (s *Store) CountUsers(ctx context.Context) (map[simplesender.Status]int, error) {
	rows, err := s.query(ctx, `SELECT CASE WHEN blocked_at IS NOT NULL THEN 'blocked'
		WHEN confirmed_at IS NOT NULL THEN 'active' ELSE 'pending' END AS st, count(*)
		FROM users GROUP BY st`)
	if err != nil {
		return nil, s.wrap(err, "count users")
	}
	defer rows.Close()
	out := map[simplesender.Status]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, s.wrap(err, "count users")
		}
		out[simplesender.Status(st)] = n
	}
	return out, s.wrap(rows.Err(), "count users")
}

// likePattern makes a lower-cased LIKE pattern matching q anywhere, with the
// LIKE wildcards in q escaped.
func likePattern(q string) string {
	r := []rune{}
	for _, c := range []rune(lower(q)) {
		if c == '%' || c == '_' || c == '\\' {
			r = append(r, '\\')
		}
		r = append(r, c)
	}
	return "%" + string(r) + "%"
}
