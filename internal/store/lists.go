package store

import (
	"context"
	"slices"
	"strings"

	"simplesender"
)

const listColumns = "l.id, l.owner_id, l.name, l.created_at, l.updated_at"

func scanList(row scanner) (*simplesender.List, error) {
	var l simplesender.List
	err := row.Scan(&l.ID, &l.OwnerID, &l.Name, &l.CreatedAt, &l.UpdatedAt)
	l.CreatedAt, l.UpdatedAt = l.CreatedAt.UTC(), l.UpdatedAt.UTC()
	return &l, err
}

// CreateList inserts l and sets its ID. Conflict when the owner already
// has a list of that name (case-insensitively).
func (s *Store) CreateList(ctx context.Context, l *simplesender.List) error {
	now := s.Now()
	l.CreatedAt, l.UpdatedAt = now, now
	err := s.writeRow(ctx, `INSERT INTO lists (owner_id, name, name_norm, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?) RETURNING id`, l.OwnerID, l.Name, strings.ToLower(l.Name), now, now).Scan(&l.ID)
	return s.touch(ctx, s.wrap(err, "create list"), l.OwnerID)
}

// RenameList renames owner's list l. NotFound when owner has no such list;
// Conflict when the name is taken.
func (s *Store) RenameList(ctx context.Context, owner int64, l *simplesender.List) error {
	l.UpdatedAt = s.Now()
	res, err := s.exec(ctx, "UPDATE lists SET name = ?, name_norm = ?, updated_at = ? WHERE id = ? AND owner_id = ?",
		l.Name, strings.ToLower(l.Name), l.UpdatedAt, l.ID, owner)
	return s.touch(ctx, s.affected(res, err, "rename list"), owner)
}

// DeleteList removes owner's list id: its recipients stay, and mailings
// whose audience named it lose that rule. NotFound when owner has no such
// list.
func (s *Store) DeleteList(ctx context.Context, owner, id int64) error {
	res, err := s.exec(ctx, "DELETE FROM lists WHERE id = ? AND owner_id = ?", id, owner)
	return s.touch(ctx, s.affected(res, err, "delete list"), owner)
}

// ListByID returns list id of owner (any owner's when owner is 0) with the
// number of its members. NotFound otherwise.
func (s *Store) ListByID(ctx context.Context, owner, id int64) (*simplesender.List, error) {
	mine, args := ownedBy("l.owner_id", owner)
	l, err := scanList(s.queryRow(ctx, "SELECT "+listColumns+" FROM lists l WHERE l.id = ? AND "+mine, append([]any{id}, args...)...))
	if err != nil {
		return nil, s.wrap(err, "get list")
	}
	return l, s.countMembers(ctx, []*simplesender.List{l})
}

// ListByName returns owner's list of that name (case-insensitively).
// NotFound when there is none.
func (s *Store) ListByName(ctx context.Context, owner int64, name string) (*simplesender.List, error) {
	l, err := scanList(s.queryRow(ctx, "SELECT "+listColumns+" FROM lists l WHERE l.owner_id = ? AND l.name_norm = ?",
		owner, strings.ToLower(strings.TrimSpace(name))))
	return l, s.wrap(err, "get list by name")
}

// Lists returns a page of owner's lists (everyone's when owner is 0) by
// name, with the number of members of each, and the total matching.
func (s *Store) Lists(ctx context.Context, owner int64, f ListFilter) ([]*simplesender.List, int, error) {
	where, args := ownedBy("l.owner_id", owner)
	if f.Query != "" {
		where += ` AND l.name_norm LIKE ? ESCAPE '\'`
		args = append(args, likePattern(f.Query))
	}
	var total int
	if err := s.queryRow(ctx, "SELECT count(*) FROM lists l WHERE "+where, args...).Scan(&total); err != nil {
		return nil, 0, s.wrap(err, "count lists")
	}
	out, err := queryList(ctx, s, "list lists", scanList, "SELECT "+listColumns+" FROM lists l WHERE "+where+
		" ORDER BY l.name_norm, l.id LIMIT ? OFFSET ?", append(args, f.limit(), offsetArg(f.Offset))...)
	if err != nil {
		return nil, 0, err
	}
	return out, total, s.countMembers(ctx, out)
}

// countMembers sets the member counts of ls, one index-only count each.
func (s *Store) countMembers(ctx context.Context, ls []*simplesender.List) error {
	for _, l := range ls {
		if err := s.queryRow(ctx, "SELECT count(*) FROM list_members WHERE list_id = ?", l.ID).Scan(&l.Members); err != nil {
			return s.wrap(err, "count list members")
		}
	}
	return nil
}

// idArgs returns ids as query arguments.
func idArgs(ids []int64) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}

// AddListMembers puts those of ids that belong to the list's owner on list
// id and returns how many were not on it yet. Callers pass at most
// MaxSelectedIDs ids per call (a batch).
func (s *Store) AddListMembers(ctx context.Context, owner, id int64, ids []int64) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	res, err := s.exec(ctx, `INSERT INTO list_members (list_id, recipient_id)
		SELECT l.id, r.id FROM lists l JOIN recipients r ON r.owner_id = l.owner_id
		WHERE l.id = ? AND l.owner_id = ? AND r.id IN (`+placeholders(len(ids))+`) ON CONFLICT DO NOTHING`,
		append([]any{id, owner}, idArgs(ids)...)...)
	return s.rowsTouched(ctx, res, err, "add list members", owner)
}

// AddListMembersByEmail puts owner's recipients with the addresses emails
// (compared in lower case) on list id, which must be owner's (the caller
// checked). An import calls it per batch.
func (s *Store) AddListMembersByEmail(ctx context.Context, owner, id int64, emails []string) error {
	for len(emails) > 0 {
		chunk := emails[:min(len(emails), 500)]
		emails = emails[len(chunk):]
		args := []any{id}
		for _, e := range chunk {
			args = append(args, strings.ToLower(e))
		}
		args = append(args, owner)
		// A lookup per address by the unique index (see MatchRecipients).
		_, err := s.exec(ctx, `INSERT INTO list_members (list_id, recipient_id)
			SELECT CAST(? AS BIGINT), r.id FROM (VALUES `+strings.TrimSuffix(strings.Repeat("(?), ", len(chunk)), ", ")+`) AS v
			JOIN recipients r ON r.owner_id = ? AND r.email_norm = v.column1 WHERE 1 = 1 ON CONFLICT DO NOTHING`, args...)
		if err != nil {
			return s.wrap(err, "add list members by address")
		}
	}
	return s.touch(ctx, nil, owner)
}

// RemoveListMembers takes ids off owner's list id and returns how many were
// on it.
func (s *Store) RemoveListMembers(ctx context.Context, owner, id int64, ids []int64) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	res, err := s.exec(ctx, `DELETE FROM list_members WHERE list_id = (SELECT id FROM lists WHERE id = ? AND owner_id = ?)
		AND recipient_id IN (`+placeholders(len(ids))+`)`, append([]any{id, owner}, idArgs(ids)...)...)
	return s.rowsTouched(ctx, res, err, "remove list members", owner)
}

// TagRecipients gives tag to those of ids that are owner's and returns how
// many did not have it.
func (s *Store) TagRecipients(ctx context.Context, owner int64, tag string, ids []int64) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	res, err := s.exec(ctx, `INSERT INTO recipient_tags (recipient_id, owner_id, tag)
		SELECT id, owner_id, ? FROM recipients WHERE owner_id = ? AND id IN (`+placeholders(len(ids))+`) ON CONFLICT DO NOTHING`,
		append([]any{tag, owner}, idArgs(ids)...)...)
	return s.rowsTouched(ctx, res, err, "tag recipients", owner)
}

// UntagRecipients takes tag from those of ids that are owner's and returns
// how many had it.
func (s *Store) UntagRecipients(ctx context.Context, owner int64, tag string, ids []int64) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	res, err := s.exec(ctx, `DELETE FROM recipient_tags WHERE owner_id = ? AND tag = ? AND recipient_id IN (`+placeholders(len(ids))+`)`,
		append([]any{owner, tag}, idArgs(ids)...)...)
	return s.rowsTouched(ctx, res, err, "untag recipients", owner)
}

func (s *Store) rowsTouched(ctx context.Context, res interface{ RowsAffected() (int64, error) }, err error, doing string, owner int64) (int, error) {
	if err != nil {
		return 0, s.wrap(err, doing)
	}
	n, err := res.RowsAffected()
	return int(n), s.touch(ctx, s.wrap(err, doing), owner)
}

// SetRecipientTags replaces the tags of owner's recipient id with tags
// (already normalized).
func (s *Store) SetRecipientTags(ctx context.Context, owner, id int64, tags []string) error {
	if _, err := s.exec(ctx, "DELETE FROM recipient_tags WHERE recipient_id = ? AND owner_id = ?", id, owner); err != nil {
		return s.wrap(err, "clear tags")
	}
	for _, t := range tags {
		if _, err := s.exec(ctx, `INSERT INTO recipient_tags (recipient_id, owner_id, tag) SELECT id, owner_id, ?
			FROM recipients WHERE id = ? AND owner_id = ? ON CONFLICT DO NOTHING`, t, id, owner); err != nil {
			return s.wrap(err, "set tags")
		}
	}
	return s.touch(ctx, nil, owner)
}

// LoadTags fills in the Tags of rs, sorted, with one query.
func (s *Store) LoadTags(ctx context.Context, rs []*simplesender.Recipient) error {
	if len(rs) == 0 {
		return nil
	}
	byID := make(map[int64]*simplesender.Recipient, len(rs))
	ids := make([]int64, 0, len(rs))
	for _, r := range rs {
		byID[r.ID] = r
		ids = append(ids, r.ID)
	}
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), 500)]
		ids = ids[len(chunk):]
		rows, err := s.query(ctx, "SELECT recipient_id, tag FROM recipient_tags WHERE recipient_id IN ("+placeholders(len(chunk))+") ORDER BY tag", idArgs(chunk)...)
		if err != nil {
			return s.wrap(err, "load tags")
		}
		for rows.Next() {
			var id int64
			var tag string
			if err := rows.Scan(&id, &tag); err != nil {
				rows.Close()
				return s.wrap(err, "load tags")
			}
			byID[id].Tags = append(byID[id].Tags, tag)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return s.wrap(err, "load tags")
		}
	}
	for _, r := range rs {
		slices.Sort(r.Tags)
	}
	return nil
}

// OwnerTags returns up to limit of the tags owner's recipients have, in
// order.
func (s *Store) OwnerTags(ctx context.Context, owner int64, limit int) ([]string, error) {
	return queryList(ctx, s, "list tags", func(row scanner) (string, error) {
		var t string
		return t, row.Scan(&t)
	}, "SELECT DISTINCT tag FROM recipient_tags WHERE owner_id = ? ORDER BY tag LIMIT ?", owner, limit)
}

// RecipientLists returns the lists recipient id is on, by name.
func (s *Store) RecipientLists(ctx context.Context, id int64) ([]*simplesender.List, error) {
	return queryList(ctx, s, "list recipient's lists", scanList, "SELECT "+listColumns+
		" FROM list_members m JOIN lists l ON l.id = m.list_id WHERE m.recipient_id = ? ORDER BY l.name_norm", id)
}

// SelectedRecipientIDsAfter returns up to limit ids, in order, of owner's
// recipients that sel picks with ids greater than after: a batch of a bulk
// action. Start with after = 0.
func (s *Store) SelectedRecipientIDsAfter(ctx context.Context, owner int64, sel RecipientSelection, after int64, limit int) ([]int64, error) {
	where, args := sel.where(owner)
	return queryList(ctx, s, "list selected recipients", func(row scanner) (int64, error) {
		var id int64
		return id, row.Scan(&id)
	}, "SELECT id FROM recipients WHERE "+where+" AND id > ? ORDER BY id LIMIT ?", append(args, after, limit)...)
}

// memberOf is the condition on recipients (unqualified columns) of owner
// (0: anyone's) of being on list listID (0: any) and having tag (""; any),
// with its arguments. Neither subquery depends on the row: the database
// reads the list's or the tag's index once.
func memberOf(owner, listID int64, tag string) (string, []any) {
	var cond []string
	var args []any
	if listID != 0 {
		cond = append(cond, "id IN (SELECT recipient_id FROM list_members WHERE list_id = ?)")
		args = append(args, listID)
	}
	switch {
	case tag != "" && owner != 0:
		cond = append(cond, "id IN (SELECT t.recipient_id FROM recipient_tags t WHERE t.owner_id = ? AND t.tag = ?)")
		args = append(args, owner, tag)
	case tag != "":
		cond = append(cond, "EXISTS (SELECT 1 FROM recipient_tags t WHERE t.recipient_id = recipients.id AND t.tag = ?)")
		args = append(args, tag)
	}
	if len(cond) == 0 {
		return "1=1", nil
	}
	return strings.Join(cond, " AND "), args
}
