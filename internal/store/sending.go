package store

import (
	"context"
	"database/sql"

	"simplesender"
)

// SendingSettings returns user id's sending settings: the defaults (empty)
// when they were never saved.
func (s *Store) SendingSettings(ctx context.Context, userID int64) (simplesender.SendingSettings, error) {
	var st simplesender.SendingSettings
	err := s.queryRow(ctx, "SELECT footer_text, postal_address FROM sending_settings WHERE user_id = ?", userID).
		Scan(&st.FooterText, &st.PostalAddress)
	if err == sql.ErrNoRows {
		return st, nil
	}
	return st, s.wrap(err, "get sending settings")
}

// SetSendingSettings saves user id's sending settings. NotFound when there
// is no such user.
func (s *Store) SetSendingSettings(ctx context.Context, userID int64, st simplesender.SendingSettings) error {
	res, err := s.exec(ctx, `INSERT INTO sending_settings (user_id, footer_text, postal_address, updated_at)
		SELECT id, ?, ?, ? FROM users WHERE id = ?
		ON CONFLICT (user_id) DO UPDATE SET footer_text = excluded.footer_text,
		postal_address = excluded.postal_address, updated_at = excluded.updated_at`,
		st.FooterText, st.PostalAddress, s.Now(), userID)
	return s.affected(res, err, "save sending settings")
}

// Sender is what a mailing message says of the owner it comes from.
type Sender struct {
	Name, Email string
	Settings    simplesender.SendingSettings
}

// SenderOf returns what the messages of owner id carry of them, or
// NotFound.
func (db *DB) SenderOf(ctx context.Context, id int64) (*Sender, error) {
	var sd Sender
	err := db.Store().queryRow(ctx, `SELECT u.name, u.email, COALESCE(ss.footer_text, ''), COALESCE(ss.postal_address, '')
		FROM users u LEFT JOIN sending_settings ss ON ss.user_id = u.id WHERE u.id = ?`, id).
		Scan(&sd.Name, &sd.Email, &sd.Settings.FooterText, &sd.Settings.PostalAddress)
	if err != nil {
		return nil, db.Store().wrap(err, "get sender")
	}
	return &sd, nil
}

// DeliveryTarget is whom a delivery went to, and from which mailing.
type DeliveryTarget struct {
	DeliveryID, RunID, MailingID, OwnerID int64
	Email                                 string
}

// DeliveryTargetByID returns whom delivery id went to, or NotFound.
func (s *Store) DeliveryTargetByID(ctx context.Context, id int64) (*DeliveryTarget, error) {
	t := DeliveryTarget{DeliveryID: id}
	err := s.queryRow(ctx, `SELECT d.run_id, r.mailing_id, r.owner_id, d.email FROM deliveries d
		JOIN runs r ON r.id = d.run_id WHERE d.id = ?`, id).Scan(&t.RunID, &t.MailingID, &t.OwnerID, &t.Email)
	if err != nil {
		return nil, s.wrap(err, "get delivery target")
	}
	return &t, nil
}
