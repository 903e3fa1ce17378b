package store

import (
	"context"

	"simplesender"
)

const messageColumns = "id, owner_id, subject, format, body_text, body_html, body_markdown, created_at, updated_at"

func scanMessage(row scanner) (*simplesender.Message, error) {
	var m simplesender.Message
	err := row.Scan(&m.ID, &m.OwnerID, &m.Subject, &m.Format, &m.BodyText, &m.BodyHTML, &m.BodyMarkdown, &m.CreatedAt, &m.UpdatedAt)
	m.CreatedAt, m.UpdatedAt = m.CreatedAt.UTC(), m.UpdatedAt.UTC()
	return &m, err
}

// CreateMessage inserts m and sets its ID. An empty Format is FormatText.
func (s *Store) CreateMessage(ctx context.Context, m *simplesender.Message) error {
	now := s.Now()
	m.CreatedAt, m.UpdatedAt = now, now
	if m.Format == "" {
		m.Format = simplesender.FormatText
	}
	err := s.writeRow(ctx, `INSERT INTO messages (owner_id, subject, format, body_text, body_html, body_markdown, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, m.OwnerID, m.Subject, string(m.Format), m.BodyText, m.BodyHTML, m.BodyMarkdown, now, now).Scan(&m.ID)
	return s.touch(ctx, s.wrap(err, "create message"), m.OwnerID)
}

// UpdateMessage saves m, which must belong to owner. An empty Format is
// FormatText.
func (s *Store) UpdateMessage(ctx context.Context, owner int64, m *simplesender.Message) error {
	m.UpdatedAt = s.Now()
	if m.Format == "" {
		m.Format = simplesender.FormatText
	}
	res, err := s.exec(ctx, `UPDATE messages SET subject = ?, format = ?, body_text = ?, body_html = ?, body_markdown = ?, updated_at = ?
		WHERE id = ? AND owner_id = ?`, m.Subject, string(m.Format), m.BodyText, m.BodyHTML, m.BodyMarkdown, m.UpdatedAt, m.ID, owner)
	return s.touch(ctx, s.affected(res, err, "update message"), owner)
}

// MessageByID returns message id of owner (any owner when owner is 0).
func (s *Store) MessageByID(ctx context.Context, owner, id int64) (*simplesender.Message, error) {
	mine, args := ownedBy("owner_id", owner)
	q := "SELECT " + messageColumns + " FROM messages WHERE id = ? AND " + mine
	args = append([]any{id}, args...)
	m, err := scanMessage(s.queryRow(ctx, q, args...))
	return m, s.wrap(err, "get message")
}

// ListMessages returns a page of owner's messages (everyone's when owner is
// 0), newest first unless sorted otherwise, and the total matching.
func (s *Store) ListMessages(ctx context.Context, owner int64, f ListFilter) ([]*simplesender.Message, int, error) {
	where, args := ownedBy("owner_id", owner)
	where = "WHERE " + where
	if f.Query != "" {
		p := likePattern(f.Query)
		where += ` AND (lower(subject) LIKE ? ESCAPE '\' OR lower(body_text) LIKE ? ESCAPE '\')`
		args = append(args, p, p)
	}
	var total int
	if err := s.queryRow(ctx, "SELECT count(*) FROM messages "+where, args...).Scan(&total); err != nil {
		return nil, 0, s.wrap(err, "count messages")
	}
	order := "id DESC"
	switch f.Sort {
	case "subject", "created_at", "updated_at", "id":
		order = f.Sort
		if f.Desc {
			order += " DESC"
		}
	}
	out, err := queryList(ctx, s, "list messages", scanMessage,
		"SELECT "+messageColumns+" FROM messages "+where+" ORDER BY "+order+" LIMIT ? OFFSET ?", append(args, f.limit(), offsetArg(f.Offset))...)
	return out, total, err
}

// MessageInUse reports how many mailings use message id.
func (s *Store) MessageInUse(ctx context.Context, id int64) (int, error) {
	var n int
	err := s.queryRow(ctx, "SELECT count(*) FROM mailings WHERE message_id = ?", id).Scan(&n)
	return n, s.wrap(err, "count mailings of message")
}

// DeleteMessage removes owner's message id. The caller checks MessageInUse
// first; runs keep their own copy of the text.
func (s *Store) DeleteMessage(ctx context.Context, owner, id int64) error {
	res, err := s.exec(ctx, "DELETE FROM messages WHERE id = ? AND owner_id = ?", id, owner)
	return s.touch(ctx, s.affected(res, err, "delete message"), owner)
}
