package store

import (
	"context"
	"time"
)

// Avatar is a user's profile picture, already processed (package avatar).
type Avatar struct {
	UserID      int64
	ContentType string
	Data        []byte
	Version     int64
	UpdatedAt   time.Time
}

// SetAvatar stores the picture of user id, replacing any, and returns its
// new version: the time in milliseconds, or one more than the last version
// when that is not greater. NotFound when there is no such user.
func (s *Store) SetAvatar(ctx context.Context, userID int64, contentType string, data []byte) (int64, error) {
	now := s.Now()
	var v int64
	err := s.writeRow(ctx, `UPDATE users SET avatar_version = CASE WHEN avatar_version < ? THEN ? ELSE avatar_version + 1 END
		WHERE id = ? RETURNING avatar_version`, now.UnixMilli(), now.UnixMilli(), userID).Scan(&v)
	if err != nil {
		return 0, s.wrap(err, "set avatar version")
	}
	_, err = s.exec(ctx, `INSERT INTO avatars (user_id, content_type, data, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET content_type = excluded.content_type, data = excluded.data,
		updated_at = excluded.updated_at`, userID, contentType, data, now)
	return v, s.wrap(err, "store avatar")
}

// DeleteAvatar removes the picture of user id; having none is not an error.
func (s *Store) DeleteAvatar(ctx context.Context, userID int64) error {
	if _, err := s.exec(ctx, "DELETE FROM avatars WHERE user_id = ?", userID); err != nil {
		return s.wrap(err, "delete avatar")
	}
	_, err := s.exec(ctx, "UPDATE users SET avatar_version = 0 WHERE id = ?", userID)
	return s.wrap(err, "clear avatar version")
}

// AvatarOf returns the picture of user id, or NotFound.
func (s *Store) AvatarOf(ctx context.Context, userID int64) (*Avatar, error) {
	a := Avatar{UserID: userID}
	err := s.queryRow(ctx, `SELECT a.content_type, a.data, u.avatar_version, a.updated_at FROM avatars a
		JOIN users u ON u.id = a.user_id WHERE a.user_id = ?`, userID).Scan(&a.ContentType, &a.Data, &a.Version, &a.UpdatedAt)
	if err != nil {
		return nil, s.wrap(err, "get avatar")
	}
	a.UpdatedAt = a.UpdatedAt.UTC()
	return &a, nil
}
