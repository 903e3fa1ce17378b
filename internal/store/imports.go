package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"simplesender"
)

// RecipientColumn names a column an import may compare and overwrite.
type RecipientColumn string

// The recipient columns an import may compare and overwrite.
const (
	ColEmail      RecipientColumn = "email"
	ColLastName   RecipientColumn = "last_name"
	ColFirstName  RecipientColumn = "first_name"
	ColMiddleName RecipientColumn = "middle_name"
	ColComment    RecipientColumn = "comment"
)

// importColumns are the columns an import may set, in the order of the
// flags the import statements take.
func importColumns() []RecipientColumn {
	return []RecipientColumn{ColEmail, ColLastName, ColFirstName, ColMiddleName, ColComment}
}

// of returns r's value of the column.
func (c RecipientColumn) of(r *simplesender.Recipient) string {
	switch c {
	case ColEmail:
		return r.Email
	case ColLastName:
		return r.LastName
	case ColFirstName:
		return r.FirstName
	case ColMiddleName:
		return r.MiddleName
	case ColComment:
		return r.Comment
	}
	return ""
}

// columnFlags turns a set of columns into one flag per import column, the
// parameters that switch each column on in the import statements.
func columnFlags(cols []RecipientColumn) ([]any, error) {
	flags := make([]any, 0, 5)
	all := importColumns()
	for _, c := range all {
		flags = append(flags, slices.Contains(cols, c))
	}
	for _, c := range cols {
		if !slices.Contains(all, c) {
			return nil, simplesender.Errorf("import: no column %q", c)
		}
	}
	return flags, nil
}

// The import statements have a fixed shape, so that the store's cache of
// prepared statements holds a few of them (SQLite spends more time parsing
// a statement of thousands of parameters than running it): the columns to
// compare or overwrite are switched on by boolean parameters rather than
// spelled out, lookups always carry matchRows rows (the last ones repeated),
// and inserts go in chunks of the sizes in insertSizes.
const matchRows = 500

func insertSizes() []int { return []int{500, 100, 20, 5, 1} }

// Match says what an owner has for an address being imported.
type Match uint8

// The answers of MatchRecipients.
const (
	MatchNone    Match = iota // the owner has no recipient with the address
	MatchSame                 // the owner has it, with the same values in the columns compared
	MatchDiffers              // the owner has it, with other values
)

// MatchRecipients tells for each of rs (by index) whether owner has a
// recipient with its address, compared in lower case, and whether that one
// holds the same values in cols. rs must not hold one address twice.
//
// It looks each address up on its own, with a correlated subquery over a
// VALUES list, rather than with "email_norm IN (...)": PostgreSQL plans an IN
// list from table statistics, and while an import fills a new list those say
// the owner has almost no rows, so it scans all of them for every batch
// (quadratic: 100,000 rows took minutes). A lookup per row by the unique
// index does not depend on statistics, on either engine.
func (s *Store) MatchRecipients(ctx context.Context, owner int64, rs []*simplesender.Recipient, cols []RecipientColumn) ([]Match, error) {
	flags, err := columnFlags(cols)
	if err != nil {
		return nil, err
	}
	all := importColumns()
	var same []string
	for i, c := range all {
		same = append(same, fmt.Sprintf("(NOT ? OR r.%s = v.column%d)", c, i+2))
	}
	row := "(" + placeholders(1+len(all)) + ")"
	q := "SELECT v.column1, (SELECT CASE WHEN " + strings.Join(same, " AND ") + " THEN 1 ELSE 2 END FROM recipients r" +
		" WHERE r.owner_id = ? AND r.email_norm = v.column1) FROM (VALUES " + strings.TrimSuffix(strings.Repeat(row+", ", matchRows), ", ") + ") AS v"
	out := make([]Match, len(rs))
	index := make(map[string]int, min(len(rs), matchRows))
	args := make([]any, 0, len(flags)+1+matchRows*(1+len(all)))
	for off := 0; off < len(rs); off += matchRows {
		chunk := rs[off:min(len(rs), off+matchRows)]
		args = append(append(args[:0], flags...), owner)
		clear(index)
		for i := range matchRows {
			r := chunk[min(i, len(chunk)-1)]
			norm := strings.ToLower(r.Email)
			index[norm] = off + min(i, len(chunk)-1)
			args = append(args, norm)
			for _, c := range all {
				args = append(args, c.of(r))
			}
		}
		rows, err := s.query(ctx, q, args...)
		if err != nil {
			return nil, s.wrap(err, "match recipients")
		}
		for rows.Next() {
			var norm string
			var m sql.NullInt64
			if err := rows.Scan(&norm, &m); err != nil {
				rows.Close()
				return nil, s.wrap(err, "match recipients")
			}
			if i, ok := index[norm]; ok && m.Valid {
				out[i] = Match(m.Int64)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, s.wrap(err, "match recipients")
		}
	}
	return out, nil
}

// UpsertRecipients inserts rs for owner with multi-row statements (their
// IDs are not set). For an address the owner already has (compared in lower
// case) it does nothing when update is empty; otherwise it overwrites the
// columns in update, and updated_at, but only where one of them differs, so
// that writing the same values again changes nothing. rs must not hold one
// address twice.
func (s *Store) UpsertRecipients(ctx context.Context, owner int64, rs []*simplesender.Recipient, update []RecipientColumn) error {
	flags, err := columnFlags(update)
	if err != nil {
		return err
	}
	conflict := " ON CONFLICT (owner_id, email_norm) DO NOTHING"
	if len(update) > 0 {
		var set, differ []string
		for _, c := range importColumns() {
			set = append(set, fmt.Sprintf("%s = CASE WHEN ? THEN excluded.%[1]s ELSE recipients.%[1]s END", c))
			differ = append(differ, fmt.Sprintf("(? AND recipients.%s <> excluded.%[1]s)", c))
		}
		conflict = " ON CONFLICT (owner_id, email_norm) DO UPDATE SET " + strings.Join(set, ", ") +
			", updated_at = excluded.updated_at WHERE " + strings.Join(differ, " OR ")
	} else {
		flags = nil
	}
	now := s.Now()
	for len(rs) > 0 {
		n := 1
		for _, size := range insertSizes() {
			if len(rs) >= size {
				n = size
				break
			}
		}
		chunk := rs[:n]
		rs = rs[n:]
		q := "INSERT INTO recipients (owner_id, email, email_norm, last_name, first_name, middle_name, comment, created_at, updated_at) VALUES " +
			strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?), ", n), ", ") + conflict
		args := make([]any, 0, 9*n+2*len(flags))
		for _, r := range chunk {
			args = append(args, owner, r.Email, strings.ToLower(r.Email), r.LastName, r.FirstName, r.MiddleName, r.Comment, now, now)
		}
		args = append(append(args, flags...), flags...)
		if _, err := s.exec(ctx, q, args...); err != nil {
			return s.wrap(err, "upsert recipients")
		}
	}
	return s.touch(ctx, nil, owner)
}

// RecipientsAfter returns up to limit of owner's recipients whose
// lower-cased address sorts after the given one, in that order: a page of an
// export that walks the (owner_id, email_norm) index and does not slow down
// with the size of the list. Start with after = "".
func (s *Store) RecipientsAfter(ctx context.Context, owner int64, after string, limit int) ([]*simplesender.Recipient, error) {
	return s.queryRecipients(ctx, "list recipients", "SELECT "+recipientColumns+" FROM recipients WHERE owner_id = ? AND email_norm > ? ORDER BY email_norm LIMIT ?",
		owner, after, limit)
}
