package store

import (
	"context"
	"strings"

	"simplesender"
)

// RecipientsByEmail returns those of owner's recipients whose lower-cased
// address is in norms, keyed by it. Inside a transaction it sees the
// transaction's own writes.
func (s *Store) RecipientsByEmail(ctx context.Context, owner int64, norms []string) (map[string]*simplesender.Recipient, error) {
	out := make(map[string]*simplesender.Recipient, len(norms))
	for len(norms) > 0 {
		chunk := norms[:min(len(norms), 500)]
		norms = norms[len(chunk):]
		args := make([]any, 0, len(chunk)+1)
		args = append(args, owner)
		for _, n := range chunk {
			args = append(args, n)
		}
		rows, err := s.query(ctx, "SELECT "+recipientColumns+" FROM recipients WHERE owner_id = ? AND email_norm IN ("+
			placeholders(len(chunk))+")", args...)
		if err != nil {
			return nil, s.wrap(err, "find recipients")
		}
		for rows.Next() {
			r, err := scanRecipient(rows)
			if err != nil {
				rows.Close()
				return nil, s.wrap(err, "scan recipient")
			}
			out[strings.ToLower(r.Email)] = r
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, s.wrap(err, "find recipients")
		}
	}
	return out, nil
}

// RecipientColumn names a column an import may overwrite.
type RecipientColumn string

// The recipient columns an import may overwrite.
const (
	ColEmail      RecipientColumn = "email"
	ColLastName   RecipientColumn = "last_name"
	ColFirstName  RecipientColumn = "first_name"
	ColMiddleName RecipientColumn = "middle_name"
	ColComment    RecipientColumn = "comment"
)

// UpsertRecipients inserts rs for owner with multi-row statements (their
// IDs are not set). For an address the owner already has (compared in lower
// case) it does nothing when update is empty; otherwise it overwrites the
// columns in update, and updated_at, but only where one of them differs, so
// that writing the same values again changes nothing. rs must not hold one
// address twice.
func (s *Store) UpsertRecipients(ctx context.Context, owner int64, rs []*simplesender.Recipient, update []RecipientColumn) error {
	now := s.Now()
	conflict := " ON CONFLICT (owner_id, email_norm) DO NOTHING"
	if len(update) > 0 {
		var set, differ []string
		for _, c := range update {
			switch c {
			case ColEmail, ColLastName, ColFirstName, ColMiddleName, ColComment:
			default:
				return simplesender.Errorf("upsert recipients: no column %q", c)
			}
			set = append(set, string(c)+" = excluded."+string(c))
			differ = append(differ, "recipients."+string(c)+" <> excluded."+string(c))
		}
		conflict = " ON CONFLICT (owner_id, email_norm) DO UPDATE SET " + strings.Join(set, ", ") +
			", updated_at = excluded.updated_at WHERE " + strings.Join(differ, " OR ")
	}
	const per = 500 // 4,500 parameters: well inside both engines' limits
	for len(rs) > 0 {
		chunk := rs[:min(len(rs), per)]
		rs = rs[len(chunk):]
		var q strings.Builder
		q.Grow(150 + 30*len(chunk) + len(conflict))
		q.WriteString("INSERT INTO recipients (owner_id, email, email_norm, last_name, first_name, middle_name, comment, created_at, updated_at) VALUES ")
		args := make([]any, 0, 9*len(chunk))
		for i, r := range chunk {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?)")
			args = append(args, owner, r.Email, strings.ToLower(r.Email), r.LastName, r.FirstName, r.MiddleName, r.Comment, now, now)
		}
		q.WriteString(conflict)
		if _, err := s.exec(ctx, q.String(), args...); err != nil {
			return s.wrap(err, "upsert recipients")
		}
	}
	return nil
}

// RecipientsAfter returns up to limit of owner's recipients whose
// lower-cased address sorts after the given one, in that order: a page of an
// export that walks the (owner_id, email_norm) index and does not slow down
// with the size of the list. Start with after = "".
func (s *Store) RecipientsAfter(ctx context.Context, owner int64, after string, limit int) ([]*simplesender.Recipient, error) {
	rows, err := s.query(ctx, "SELECT "+recipientColumns+" FROM recipients WHERE owner_id = ? AND email_norm > ? ORDER BY email_norm LIMIT ?",
		owner, after, limit)
	if err != nil {
		return nil, s.wrap(err, "list recipients")
	}
	defer rows.Close()
	out := make([]*simplesender.Recipient, 0, limit)
	for rows.Next() {
		r, err := scanRecipient(rows)
		if err != nil {
			return nil, s.wrap(err, "scan recipient")
		}
		out = append(out, r)
	}
	return out, s.wrap(rows.Err(), "list recipients")
}
