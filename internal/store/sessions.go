package store

import (
	"context"
	"database/sql"
	"time"

	"simplesender"
)

// Sessions keeps login sessions in the database. It satisfies the session
// store interface of package auth.
type Sessions struct{ db *DB }

// Sessions returns the database session store.
func (db *DB) Sessions() *Sessions { return &Sessions{db: db} }

// Create stores a new session.
func (ss *Sessions) Create(ctx context.Context, s *simplesender.Session) error {
	st := ss.db.Store()
	_, err := st.exec(ctx, `INSERT INTO sessions (id_hash, user_id, auth_version, created_at, last_seen_at,
		expires_at, ip, user_agent) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, s.IDHash, s.UserID, s.AuthVersion,
		s.CreatedAt, s.LastSeenAt, s.ExpiresAt, s.IP, s.UserAgent)
	return st.wrap(err, "create session")
}

// Get returns the session with idHash, or NotFound.
func (ss *Sessions) Get(ctx context.Context, idHash string) (*simplesender.Session, error) {
	st := ss.db.Store()
	var s simplesender.Session
	err := st.queryRow(ctx, `SELECT id_hash, user_id, auth_version, created_at, last_seen_at, expires_at,
		ip, user_agent FROM sessions WHERE id_hash = ?`, idHash).Scan(&s.IDHash, &s.UserID, &s.AuthVersion,
		&s.CreatedAt, &s.LastSeenAt, &s.ExpiresAt, &s.IP, &s.UserAgent)
	if err != nil {
		return nil, st.wrap(err, "get session")
	}
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = s.CreatedAt.UTC(), s.LastSeenAt.UTC(), s.ExpiresAt.UTC()
	return &s, nil
}

// Touch records activity on the session.
func (ss *Sessions) Touch(ctx context.Context, idHash string, at time.Time) error {
	st := ss.db.Store()
	_, err := st.exec(ctx, "UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?", at, idHash)
	return st.wrap(err, "touch session")
}

// Delete removes one session; removing a missing one is not an error.
func (ss *Sessions) Delete(ctx context.Context, idHash string) error {
	st := ss.db.Store()
	_, err := st.exec(ctx, "DELETE FROM sessions WHERE id_hash = ?", idHash)
	return st.wrap(err, "delete session")
}

// DeleteUser removes every session of the user.
func (ss *Sessions) DeleteUser(ctx context.Context, userID int64) error {
	st := ss.db.Store()
	_, err := st.exec(ctx, "DELETE FROM sessions WHERE user_id = ?", userID)
	return st.wrap(err, "delete user's sessions")
}

// DeleteExpired removes sessions that ended or were idle since before idleCutoff.
func (ss *Sessions) DeleteExpired(ctx context.Context, now, idleCutoff time.Time) (int64, error) {
	st := ss.db.Store()
	res, err := st.exec(ctx, "DELETE FROM sessions WHERE expires_at < ? OR last_seen_at < ?", now, idleCutoff)
	if err != nil {
		return 0, st.wrap(err, "delete expired sessions")
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// AddAudit records an event.
func (s *Store) AddAudit(ctx context.Context, e *simplesender.AuditEvent) error {
	e.CreatedAt = s.Now()
	var actor, owner any
	if e.ActorID != 0 {
		actor = e.ActorID
	}
	if e.OwnerID != 0 {
		owner = e.OwnerID
	}
	err := s.writeRow(ctx, `INSERT INTO audit_events (actor_id, owner_id, action, target_type, target_id, detail, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, actor, owner, e.Action, e.TargetType, e.TargetID, e.Detail, e.CreatedAt).Scan(&e.ID)
	return s.wrap(err, "add audit event")
}

// AuditFor returns the newest events about one object (at most limit).
func (s *Store) AuditFor(ctx context.Context, targetType string, targetID int64, limit int) ([]*simplesender.AuditEvent, error) {
	return s.audit(ctx, `a.target_type = ? AND a.target_id = ?`, targetType, targetID, limit)
}

// AuditActionFor returns the newest events of one action about a target
// (at most limit).
func (s *Store) AuditActionFor(ctx context.Context, targetType string, targetID int64, action string, limit int) ([]*simplesender.AuditEvent, error) {
	return s.audit(ctx, `a.target_type = ? AND a.target_id = ? AND a.action = ?`, targetType, targetID, action, limit)
}

// AuditOfOwner returns the newest events about objects of the user owner
// that someone else acted on (at most limit).
func (s *Store) AuditOfOwner(ctx context.Context, owner int64, limit int) ([]*simplesender.AuditEvent, error) {
	return s.audit(ctx, `a.owner_id = ?`, owner, limit)
}

// audit returns the newest events matching where (with args, then the
// limit), newest first.
func (s *Store) audit(ctx context.Context, where string, args ...any) ([]*simplesender.AuditEvent, error) {
	rows, err := s.query(ctx, `SELECT a.id, a.actor_id, COALESCE(u.email, ''), a.owner_id, a.action, a.target_type,
		a.target_id, a.detail, a.created_at FROM audit_events a LEFT JOIN users u ON u.id = a.actor_id
		WHERE `+where+` ORDER BY a.id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, s.wrap(err, "list audit events")
	}
	defer rows.Close()
	var out []*simplesender.AuditEvent
	for rows.Next() {
		var e simplesender.AuditEvent
		var actor, owner sql.NullInt64
		if err := rows.Scan(&e.ID, &actor, &e.ActorEmail, &owner, &e.Action, &e.TargetType, &e.TargetID, &e.Detail, &e.CreatedAt); err != nil {
			return nil, s.wrap(err, "scan audit event")
		}
		e.ActorID, e.OwnerID = actor.Int64, owner.Int64
		e.CreatedAt = e.CreatedAt.UTC()
		out = append(out, &e)
	}
	return out, s.wrap(rows.Err(), "list audit events")
}
