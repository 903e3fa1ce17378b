package store

import (
	"context"
	"strings"

	"simplesender"
)

// MaxSelectedIDs bounds the ids of one RecipientSelection: a page of the
// longest list the UI shows, twice over.
const MaxSelectedIDs = 1000

// RecipientSelection picks some of an owner's recipients for a bulk action:
// the ones named in IDs, or with All every one that matches Query, ListID,
// Tag and Segment (every one of the owner's when they are empty). Ids of other
// owners' recipients select nothing.
type RecipientSelection struct {
	IDs    []int64
	All    bool
	Query  string
	ListID int64
	Tag    string
	// SegmentID names the segment of Segment, which the app reads: a
	// checked definition, its lists and mailings the owner's.
	SegmentID int64
	Segment   *simplesender.SegmentDefinition
}

// recipientSearch is the condition of a case-insensitive search in the
// address, the names and the comment, with its arguments.
func recipientSearch(q string) (string, []any) {
	p := likePattern(q)
	return `(email_norm LIKE ? ESCAPE '\' OR lower(last_name) LIKE ? ESCAPE '\' OR lower(first_name) LIKE ? ESCAPE '\'
			OR lower(middle_name) LIKE ? ESCAPE '\' OR lower(comment) LIKE ? ESCAPE '\')`, []any{p, p, p, p, p}
}

// where returns the condition of the selection of owner's recipients.
func (sel RecipientSelection) where(owner int64) (string, []any) {
	where, args := "owner_id = ?", []any{owner}
	switch {
	case sel.All:
		if sel.Query != "" {
			cond, more := recipientSearch(sel.Query)
			where += " AND " + cond
			args = append(args, more...)
		}
		if cond, more := memberOf(owner, sel.ListID, sel.Tag); len(more) > 0 {
			where += " AND " + cond
			args = append(args, more...)
		}
		if sel.Segment != nil {
			cond, more := segmentWhere(*sel.Segment, owner, "recipients")
			where += " AND " + cond
			args = append(args, more...)
		}
	case len(sel.IDs) == 0:
		where += " AND 1=0"
	default:
		where += " AND id IN (" + placeholders(len(sel.IDs)) + ")"
		for _, id := range sel.IDs {
			args = append(args, id)
		}
	}
	return where, args
}

// CountSelectedRecipients returns how many of owner's recipients sel picks.
// Invalid when it names more than MaxSelectedIDs ids.
func (s *Store) CountSelectedRecipients(ctx context.Context, owner int64, sel RecipientSelection) (int, error) {
	if len(sel.IDs) > MaxSelectedIDs {
		return 0, simplesender.Invalid(map[string]string{"ids": "error.bulk.too_many"})
	}
	where, args := sel.where(owner)
	var n int
	err := s.queryRow(ctx, "SELECT count(*) FROM recipients WHERE "+where, args...).Scan(&n)
	return n, s.wrap(err, "count selected recipients")
}

// DeleteSelectedRecipients removes the recipients of owner that sel picks
// and returns how many. As DeleteRecipient, they leave the audiences of
// mailings and stay in the delivery history. Invalid as
// CountSelectedRecipients.
func (s *Store) DeleteSelectedRecipients(ctx context.Context, owner int64, sel RecipientSelection) (int, error) {
	if len(sel.IDs) > MaxSelectedIDs {
		return 0, simplesender.Invalid(map[string]string{"ids": "error.bulk.too_many"})
	}
	where, args := sel.where(owner)
	res, err := s.exec(ctx, "DELETE FROM recipients WHERE "+where, args...)
	if err != nil {
		return 0, s.wrap(err, "delete selected recipients")
	}
	n, err := res.RowsAffected()
	return int(n), s.touch(ctx, s.wrap(err, "delete selected recipients"), owner)
}

// SelectedRecipientsAfter returns up to limit of the recipients of owner
// that sel picks, by address, after the lower-case address after (a page
// of an export).
func (s *Store) SelectedRecipientsAfter(ctx context.Context, owner int64, sel RecipientSelection, after string, limit int) ([]*simplesender.Recipient, error) {
	where, args := sel.where(owner)
	return queryList(ctx, s, "list selected recipients", scanRecipient, "SELECT "+recipientColumns+" FROM recipients WHERE "+where+" AND email_norm > ? ORDER BY email_norm LIMIT ?",
		append(args, strings.ToLower(after), limit)...)
}
