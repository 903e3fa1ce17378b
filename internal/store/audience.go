package store

import (
	"context"
	"database/sql"

	"simplesender"
)

// SetMailingAudience replaces the rules of mailing id's audience (its chosen
// recipients are set apart, by SetMailingRecipients). The caller checked
// that every list is the mailing owner's.
func (s *Store) SetMailingAudience(ctx context.Context, id int64, rules []simplesender.AudienceRule) error {
	if _, err := s.exec(ctx, "DELETE FROM mailing_audience WHERE mailing_id = ?", id); err != nil {
		return s.wrap(err, "clear audience")
	}
	for i, r := range rules {
		var list any
		if r.Kind == simplesender.AudienceList {
			list = r.ListID
		}
		if _, err := s.exec(ctx, "INSERT INTO mailing_audience (mailing_id, position, kind, exclude, list_id, tag) VALUES (?, ?, ?, ?, ?, ?)",
			id, i, string(r.Kind), r.Exclude, list, r.Tag); err != nil {
			return s.wrap(err, "set audience")
		}
	}
	return nil
}

// MailingAudience returns the rules of mailing id's audience in the order
// they were given, with the names of their lists.
func (s *Store) MailingAudience(ctx context.Context, id int64) ([]simplesender.AudienceRule, error) {
	return queryList(ctx, s, "read audience", func(row scanner) (simplesender.AudienceRule, error) {
		var r simplesender.AudienceRule
		var list sql.NullInt64
		var name sql.NullString
		err := row.Scan(&r.Kind, &r.Exclude, &list, &name, &r.Tag)
		r.ListID, r.ListName = list.Int64, name.String
		return r, err
	}, `SELECT a.kind, a.exclude, a.list_id, l.name, a.tag FROM mailing_audience a LEFT JOIN lists l ON l.id = a.list_id
		WHERE a.mailing_id = ? ORDER BY a.position`, id)
}

// audienceSQL selects the recipients (alias r) of a mailing of an owner
// (the arguments of audienceArgs): its chosen recipients and everyone on an
// included list or with an included tag, minus everyone on an excluded list
// or with an excluded tag. Each recipient, so each address, once (UNION).
// The candidates are read from the indexes of the lists and tags named, not
// by scanning all of the owner's recipients; each is then looked up by id
// (CROSS JOIN keeps that order on SQLite, whatever its statistics say).
const audienceSQL = ` FROM (
		SELECT mr.recipient_id AS rid FROM mailing_recipients mr WHERE mr.mailing_id = ?
		UNION SELECT lm.recipient_id FROM mailing_audience a JOIN list_members lm ON lm.list_id = a.list_id
			WHERE a.mailing_id = ? AND a.kind = 'list' AND NOT a.exclude
		UNION SELECT t.recipient_id FROM mailing_audience a JOIN recipient_tags t ON t.owner_id = ? AND t.tag = a.tag
			WHERE a.mailing_id = ? AND a.kind = 'tag' AND NOT a.exclude) u
	CROSS JOIN recipients r
	WHERE r.id = u.rid AND r.owner_id = ?
	AND NOT EXISTS (SELECT 1 FROM mailing_audience a JOIN list_members lm ON lm.list_id = a.list_id
		WHERE a.mailing_id = ? AND a.kind = 'list' AND a.exclude AND lm.recipient_id = r.id)
	AND NOT EXISTS (SELECT 1 FROM mailing_audience a JOIN recipient_tags t ON t.tag = a.tag AND t.recipient_id = r.id
		WHERE a.mailing_id = ? AND a.kind = 'tag' AND a.exclude)`

func audienceArgs(mailing, owner int64) []any {
	return []any{mailing, mailing, owner, mailing, owner, mailing, mailing}
}

// CountAudience returns how many recipients mailing id of owner would be
// sent to if a run started now.
func (s *Store) CountAudience(ctx context.Context, owner, id int64) (int, error) {
	var n int
	err := s.queryRow(ctx, "SELECT count(*)"+audienceSQL, audienceArgs(id, owner)...).Scan(&n)
	return n, s.wrap(err, "count audience")
}

// HasAudienceRules reports whether mailing id has an included list or tag
// (its audience may then be empty only when a run starts).
func (s *Store) HasAudienceRules(ctx context.Context, id int64) (bool, error) {
	var n int
	err := s.queryRow(ctx, "SELECT count(*) FROM mailing_audience WHERE mailing_id = ? AND NOT exclude", id).Scan(&n)
	return n > 0, s.wrap(err, "read audience")
}
