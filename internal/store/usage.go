package store

import (
	"context"
	"time"

	"simplesender"
)

// MailingsUsingMessage returns up to limit mailings that use message id
// (their ID and Name only), by id, so that a delete page can name them.
func (s *Store) MailingsUsingMessage(ctx context.Context, id int64, limit int) ([]*simplesender.Mailing, error) {
	return s.mailingRefs(ctx, "using message", `SELECT id, name FROM mailings WHERE message_id = ? ORDER BY id LIMIT ?`, id, limit)
}

// MailingsOnlyRecipient returns up to limit mailings whose only recipient is
// recipient id (their ID and Name only), by id: deleting the recipient
// leaves them with nobody to send to.
func (s *Store) MailingsOnlyRecipient(ctx context.Context, id int64, limit int) ([]*simplesender.Mailing, error) {
	return s.mailingRefs(ctx, "only recipient", `SELECT m.id, m.name FROM mailings m
		JOIN mailing_recipients mr ON mr.mailing_id = m.id AND mr.recipient_id = ?
		WHERE m.recipient_count = 1
		ORDER BY m.id LIMIT ?`, id, limit)
}

func (s *Store) mailingRefs(ctx context.Context, what, q string, args ...any) ([]*simplesender.Mailing, error) {
	return queryList(ctx, s, "list mailings "+what, func(row scanner) (*simplesender.Mailing, error) {
		var m simplesender.Mailing
		return &m, row.Scan(&m.ID, &m.Name)
	}, q, args...)
}

// FirstRunStart returns when mailing id was first sent: the start of its
// first run. NotFound when it never was.
func (s *Store) FirstRunStart(ctx context.Context, id int64) (time.Time, error) {
	var t time.Time
	err := s.queryRow(ctx, "SELECT started_at FROM runs WHERE mailing_id = ? AND number = 1", id).Scan(&t)
	return t.UTC(), s.wrap(err, "first run of mailing")
}
