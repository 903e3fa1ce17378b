package store

import (
	"context"
	"strings"

	"simplesender"
)

const recipientColumns = "id, owner_id, email, last_name, first_name, middle_name, comment, created_at, updated_at"

func scanRecipient(row scanner) (*simplesender.Recipient, error) {
	var r simplesender.Recipient
	err := row.Scan(&r.ID, &r.OwnerID, &r.Email, &r.LastName, &r.FirstName, &r.MiddleName, &r.Comment, &r.CreatedAt, &r.UpdatedAt)
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return &r, err
}

// CreateRecipient inserts r and sets its ID. Conflict when the owner already
// has the address (case-insensitively).
func (s *Store) CreateRecipient(ctx context.Context, r *simplesender.Recipient) error {
	now := s.Now()
	r.CreatedAt, r.UpdatedAt = now, now
	err := s.writeRow(ctx, `INSERT INTO recipients (owner_id, email, email_norm, last_name, first_name, middle_name,
		comment, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		r.OwnerID, r.Email, strings.ToLower(r.Email), r.LastName, r.FirstName, r.MiddleName, r.Comment, now, now).Scan(&r.ID)
	return s.touch(ctx, s.wrap(err, "create recipient"), r.OwnerID)
}

// UpdateRecipient saves r, which must belong to owner. NotFound otherwise;
// Conflict when the new address is taken.
func (s *Store) UpdateRecipient(ctx context.Context, owner int64, r *simplesender.Recipient) error {
	r.UpdatedAt = s.Now()
	res, err := s.exec(ctx, `UPDATE recipients SET email = ?, email_norm = ?, last_name = ?, first_name = ?,
		middle_name = ?, comment = ?, updated_at = ? WHERE id = ? AND owner_id = ?`, r.Email, strings.ToLower(r.Email),
		r.LastName, r.FirstName, r.MiddleName, r.Comment, r.UpdatedAt, r.ID, owner)
	return s.touch(ctx, s.affected(res, err, "update recipient"), owner)
}

// RecipientByID returns recipient id of owner (any owner when owner is 0).
func (s *Store) RecipientByID(ctx context.Context, owner, id int64) (*simplesender.Recipient, error) {
	mine, args := ownedBy("owner_id", owner)
	q := "SELECT " + recipientColumns + " FROM recipients WHERE id = ? AND " + mine
	args = append([]any{id}, args...)
	r, err := scanRecipient(s.queryRow(ctx, q, args...))
	return r, s.wrap(err, "get recipient")
}

// ListFilter selects a page of a list.
type ListFilter struct {
	Query  string // case-insensitive substring search
	ListID int64  // recipients: only the members of this list (0: any)
	Tag    string // recipients: only those with this tag ("": any)
	// SegmentID names the segment of Segment, which the app reads.
	SegmentID int64
	// Segment, for recipients, keeps only those it matches (checked, its
	// lists and mailings the owner's; owner must be set).
	Segment *simplesender.SegmentDefinition
	Limit   int
	Offset  int
	Sort    string // an allow-listed column name, or "" for the default
	Desc    bool
}

func (f *ListFilter) limit() int {
	if f.Limit <= 0 || f.Limit > 500 {
		return 50
	}
	return f.Limit
}

// ListRecipients returns a page of owner's recipients (everyone's when owner
// is 0) ordered by id, and the total matching.
//
// Filtered by a list, the page walks the list's own index (list_id,
// recipient_id) and looks each member up by id, so that it reads the page's
// rows, not every recipient of the owner; the total, without other
// filters, counts the index alone (a list holds only its owner's
// recipients).
func (s *Store) ListRecipients(ctx context.Context, owner int64, f ListFilter) ([]*simplesender.Recipient, int, error) {
	where, args := ownedBy("owner_id", owner)
	from, order := "recipients", "id"
	if f.ListID != 0 {
		from, order = "list_members lm CROSS JOIN recipients", "lm.recipient_id"
		where += " AND recipients.id = lm.recipient_id AND lm.list_id = ?"
		args = append(args, f.ListID)
	}
	where = "WHERE " + where
	if f.Query != "" {
		cond, more := recipientSearch(f.Query)
		where += " AND " + cond
		args = append(args, more...)
	}
	if cond, more := memberOf(owner, 0, f.Tag); len(more) > 0 {
		where += " AND " + cond
		args = append(args, more...)
	}
	if f.Segment != nil {
		cond, more := segmentWhere(*f.Segment, owner, "recipients")
		where += " AND " + cond
		args = append(args, more...)
	}
	var total int
	count := "SELECT count(*) FROM " + from + " " + where
	countArgs := args
	if f.ListID != 0 && f.Query == "" && f.Tag == "" && f.Segment == nil {
		count, countArgs = "SELECT count(*) FROM list_members WHERE list_id = ?", []any{f.ListID}
	}
	if err := s.queryRow(ctx, count, countArgs...).Scan(&total); err != nil {
		return nil, 0, s.wrap(err, "count recipients")
	}
	switch f.Sort {
	case "email":
		order = "email_norm"
	case "last_name", "first_name", "created_at":
		order = f.Sort
	}
	if f.Desc {
		order += " DESC"
	}
	out, err := queryList(ctx, s, "list recipients", scanRecipient,
		"SELECT "+prefixed("recipients.", recipientColumns)+" FROM "+from+" "+where+" ORDER BY "+order+", recipients.id LIMIT ? OFFSET ?",
		append(args, f.limit(), offsetArg(f.Offset))...)
	return out, total, err
}

// DeleteRecipient removes owner's recipient id. It leaves every mailing's
// audience (the recipient drops out of it) but not the delivery history,
// which keeps its own copy of the address and names.
func (s *Store) DeleteRecipient(ctx context.Context, owner, id int64) error {
	res, err := s.exec(ctx, "DELETE FROM recipients WHERE id = ? AND owner_id = ?", id, owner)
	return s.touch(ctx, s.affected(res, err, "delete recipient"), owner)
}

// CountOwnedRecipients returns how many of ids belong to owner.
func (s *Store) CountOwnedRecipients(ctx context.Context, owner int64, ids []int64) (int, error) {
	n := 0
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), 500)]
		ids = ids[len(chunk):]
		q := "SELECT count(*) FROM recipients WHERE owner_id = ? AND id IN (" + placeholders(len(chunk)) + ")"
		args := []any{owner}
		for _, id := range chunk {
			args = append(args, id)
		}
		var c int
		if err := s.queryRow(ctx, q, args...).Scan(&c); err != nil {
			return 0, s.wrap(err, "count recipients")
		}
		n += c
	}
	return n, nil
}

// placeholders returns "?, ?, ..." with n marks.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
