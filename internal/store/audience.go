package store

import (
	"context"
	"database/sql"
	"strings"

	"simplesender"
)

// SetMailingAudience replaces the rules of mailing id's audience (its chosen
// recipients are set apart, by SetMailingRecipients). The caller checked
// that every list and segment is the mailing owner's.
func (s *Store) SetMailingAudience(ctx context.Context, id int64, rules []simplesender.AudienceRule) error {
	if _, err := s.exec(ctx, "DELETE FROM mailing_audience WHERE mailing_id = ?", id); err != nil {
		return s.wrap(err, "clear audience")
	}
	for i, r := range rules {
		var list, segment any
		switch r.Kind {
		case simplesender.AudienceList:
			list = r.ListID
		case simplesender.AudienceSegment:
			segment = r.SegmentID
		}
		if _, err := s.exec(ctx, "INSERT INTO mailing_audience (mailing_id, position, kind, exclude, list_id, tag, segment_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
			id, i, string(r.Kind), r.Exclude, list, r.Tag, segment); err != nil {
			return s.wrap(err, "set audience")
		}
	}
	return nil
}

// MailingAudience returns the rules of mailing id's audience in the order
// they were given, with the names of their lists and the names and
// definitions of their segments.
func (s *Store) MailingAudience(ctx context.Context, id int64) ([]simplesender.AudienceRule, error) {
	return queryList(ctx, s, "read audience", func(row scanner) (simplesender.AudienceRule, error) {
		var r simplesender.AudienceRule
		var list, segment sql.NullInt64
		var name, segName, def sql.NullString
		if err := row.Scan(&r.Kind, &r.Exclude, &list, &name, &r.Tag, &segment, &segName, &def); err != nil {
			return r, err
		}
		r.ListID, r.ListName = list.Int64, name.String
		r.SegmentID, r.SegmentName = segment.Int64, segName.String
		if segment.Valid {
			d, err := simplesender.ParseSegmentDefinition([]byte(def.String))
			if err != nil {
				return r, simplesender.Errorf("segment %d holds a bad definition: %w", r.SegmentID, err)
			}
			r.Segment = &d
		}
		return r, nil
	}, `SELECT a.kind, a.exclude, a.list_id, l.name, a.tag, a.segment_id, g.name, g.definition
		FROM mailing_audience a LEFT JOIN lists l ON l.id = a.list_id LEFT JOIN segments g ON g.id = a.segment_id
		WHERE a.mailing_id = ? ORDER BY a.position`, id)
}

// audienceSQL returns the FROM and WHERE clauses that select the
// recipients (alias r) of mailing id of owner, with their arguments: its
// chosen recipients and everyone on an included list, with an included
// tag or in an included segment, minus everyone on an excluded list, with
// an excluded tag or in an excluded segment. Each recipient, so each
// address, once. Without an included segment the candidates are read from
// the indexes of the lists and tags named (UNION), not by scanning all of
// the owner's recipients, and each is then looked up by id (CROSS JOIN
// keeps that order on SQLite, whatever its statistics say); with one, the
// owner's recipients are read once and each tested.
// The segments are compiled as they are now: a run's snapshot is taken
// with them.
func (s *Store) audienceSQL(ctx context.Context, mailing, owner int64) (string, []any, error) {
	rules, err := s.MailingAudience(ctx, mailing)
	if err != nil {
		return "", nil, err
	}
	var include, exclude []string
	var inArgs, exArgs []any
	for _, r := range rules {
		if r.Kind != simplesender.AudienceSegment || r.Segment == nil {
			continue
		}
		cond, more := segmentWhere(*r.Segment, owner, "r")
		if r.Exclude {
			exclude = append(exclude, " AND NOT "+cond)
			exArgs = append(exArgs, more...)
			continue
		}
		include = append(include, cond)
		inArgs = append(inArgs, more...)
	}
	excluded := `
	AND NOT EXISTS (SELECT 1 FROM mailing_audience a JOIN list_members lm ON lm.list_id = a.list_id
		WHERE a.mailing_id = ? AND a.kind = 'list' AND a.exclude AND lm.recipient_id = r.id)
	AND NOT EXISTS (SELECT 1 FROM mailing_audience a JOIN recipient_tags t ON t.tag = a.tag AND t.recipient_id = r.id
		WHERE a.mailing_id = ? AND a.kind = 'tag' AND a.exclude)` + strings.Join(exclude, "")
	if len(include) > 0 {
		// An included segment reads the owner's recipients anyway: one pass
		// over them tests every inclusion, with no set of ids to make
		// distinct (a million-row UNION is most of a run's start).
		from := ` FROM recipients r WHERE r.owner_id = ? AND (
		r.id IN (SELECT mr.recipient_id FROM mailing_recipients mr WHERE mr.mailing_id = ?)
		OR r.id IN (SELECT lm.recipient_id FROM mailing_audience a JOIN list_members lm ON lm.list_id = a.list_id
			WHERE a.mailing_id = ? AND a.kind = 'list' AND NOT a.exclude)
		OR r.id IN (SELECT t.recipient_id FROM mailing_audience a JOIN recipient_tags t ON t.owner_id = ? AND t.tag = a.tag
			WHERE a.mailing_id = ? AND a.kind = 'tag' AND NOT a.exclude)
		OR ` + strings.Join(include, " OR ") + ")" + excluded
		args := append([]any{owner, mailing, mailing, owner, mailing}, inArgs...)
		return from, append(append(args, mailing, mailing), exArgs...), nil
	}
	from := ` FROM (
		SELECT mr.recipient_id AS rid FROM mailing_recipients mr WHERE mr.mailing_id = ?
		UNION SELECT lm.recipient_id FROM mailing_audience a JOIN list_members lm ON lm.list_id = a.list_id
			WHERE a.mailing_id = ? AND a.kind = 'list' AND NOT a.exclude
		UNION SELECT t.recipient_id FROM mailing_audience a JOIN recipient_tags t ON t.owner_id = ? AND t.tag = a.tag
			WHERE a.mailing_id = ? AND a.kind = 'tag' AND NOT a.exclude) u
	CROSS JOIN recipients r
	WHERE r.id = u.rid AND r.owner_id = ?` + excluded
	args := []any{mailing, mailing, owner, mailing, owner, mailing, mailing}
	args = append(args, exArgs...)
	return from, args, nil
}

// CountAudience returns how many recipients mailing id of owner would be
// sent to if a run started now.
func (s *Store) CountAudience(ctx context.Context, owner, id int64) (int, error) {
	from, args, err := s.audienceSQL(ctx, id, owner)
	if err != nil {
		return 0, err
	}
	var n int
	err = s.queryRow(ctx, "SELECT count(*)"+from, args...).Scan(&n)
	return n, s.wrap(err, "count audience")
}

// HasAudienceRules reports whether mailing id has an included list, tag or segment
// (its audience may then be empty only when a run starts).
func (s *Store) HasAudienceRules(ctx context.Context, id int64) (bool, error) {
	var n int
	err := s.queryRow(ctx, "SELECT count(*) FROM mailing_audience WHERE mailing_id = ? AND NOT exclude", id).Scan(&n)
	return n > 0, s.wrap(err, "read audience")
}
