package store

import (
	"context"
	"strings"

	"simplesender"
)

const fieldColumns = "id, owner_id, key, name, type, position, created_at"

func scanField(row scanner) (*simplesender.Field, error) {
	var f simplesender.Field
	var t string
	err := row.Scan(&f.ID, &f.OwnerID, &f.Key, &f.Name, &t, &f.Position, &f.CreatedAt)
	f.Type, f.CreatedAt = simplesender.FieldType(t), f.CreatedAt.UTC()
	return &f, err
}

// CreateField inserts f after the owner's other fields and sets its ID and
// Position. Conflict when the owner already has a field with that key.
func (s *Store) CreateField(ctx context.Context, f *simplesender.Field) error {
	f.CreatedAt = s.Now()
	err := s.writeRow(ctx, `INSERT INTO fields (owner_id, key, name, type, position, created_at)
		VALUES (?, ?, ?, ?, (SELECT COALESCE(MAX(position), 0) + 1 FROM fields WHERE owner_id = ?), ?) RETURNING id, position`,
		f.OwnerID, f.Key, f.Name, string(f.Type), f.OwnerID, f.CreatedAt).Scan(&f.ID, &f.Position)
	return s.touch(ctx, s.wrap(err, "create field"), f.OwnerID)
}

// RenameField sets the name of owner's field f.ID (its key and type stay:
// messages and values depend on them). NotFound when owner has no such
// field.
func (s *Store) RenameField(ctx context.Context, owner int64, f *simplesender.Field) error {
	res, err := s.exec(ctx, "UPDATE fields SET name = ? WHERE id = ? AND owner_id = ?", f.Name, f.ID, owner)
	return s.touch(ctx, s.affected(res, err, "rename field"), owner)
}

// DeleteField removes owner's field id with every recipient's value of it.
// NotFound when owner has no such field.
func (s *Store) DeleteField(ctx context.Context, owner, id int64) error {
	res, err := s.exec(ctx, "DELETE FROM fields WHERE id = ? AND owner_id = ?", id, owner)
	return s.touch(ctx, s.affected(res, err, "delete field"), owner)
}

// FieldByID returns field id of owner (any owner's when owner is 0).
// NotFound otherwise.
func (s *Store) FieldByID(ctx context.Context, owner, id int64) (*simplesender.Field, error) {
	mine, args := ownedBy("owner_id", owner)
	f, err := scanField(s.queryRow(ctx, "SELECT "+fieldColumns+" FROM fields WHERE id = ? AND "+mine, append([]any{id}, args...)...))
	return f, s.wrap(err, "get field")
}

// Fields returns owner's fields in their order (everyone's, by owner, when
// owner is 0).
func (s *Store) Fields(ctx context.Context, owner int64) ([]*simplesender.Field, error) {
	mine, args := ownedBy("owner_id", owner)
	return queryList(ctx, s, "list fields", scanField, "SELECT "+fieldColumns+" FROM fields WHERE "+mine+
		" ORDER BY owner_id, position, id", args...)
}

// CountFields returns how many fields owner has.
func (s *Store) CountFields(ctx context.Context, owner int64) (int, error) {
	var n int
	err := s.queryRow(ctx, "SELECT count(*) FROM fields WHERE owner_id = ?", owner).Scan(&n)
	return n, s.wrap(err, "count fields")
}

// numValue is the num column's argument of a plain statement.
func numValue(v simplesender.FieldValue) any {
	if !v.HasNum {
		return nil
	}
	return v.Num
}

// SetRecipientValues sets the values of recipient id of owner: each of set
// is written (replacing the one it had), and the fields of remove lose
// their value. The fields must be owner's (the caller checked).
func (s *Store) SetRecipientValues(ctx context.Context, owner, id int64, set []simplesender.FieldValue, remove []int64) error {
	if len(remove) > 0 {
		if _, err := s.exec(ctx, "DELETE FROM recipient_values WHERE recipient_id = ? AND field_id IN ("+placeholders(len(remove))+")",
			append([]any{id}, idArgs(remove)...)...); err != nil {
			return s.wrap(err, "remove values")
		}
	}
	for _, v := range set {
		if _, err := s.exec(ctx, `INSERT INTO recipient_values (recipient_id, field_id, value, num)
			SELECT r.id, CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS DOUBLE PRECISION) FROM recipients r WHERE r.id = ? AND r.owner_id = ?
			ON CONFLICT (recipient_id, field_id) DO UPDATE SET value = excluded.value, num = excluded.num`,
			v.FieldID, v.Value, numValue(v), id, owner); err != nil {
			return s.wrap(err, "set value")
		}
	}
	return s.touch(ctx, nil, owner)
}

// RecipientIDsByEmail returns the ids of owner's recipients with the
// addresses emails, by address in lower case, a few hundred per query
// through the unique index (owner_id, email_norm).
func (s *Store) RecipientIDsByEmail(ctx context.Context, owner int64, emails []string) (map[string]int64, error) {
	out := make(map[string]int64, len(emails))
	for len(emails) > 0 {
		chunk := emails[:min(len(emails), 500)]
		emails = emails[len(chunk):]
		args := make([]any, 0, len(chunk)+1)
		args = append(args, owner)
		for _, e := range chunk {
			args = append(args, strings.ToLower(e))
		}
		rows, err := s.query(ctx, "SELECT email_norm, id FROM recipients WHERE owner_id = ? AND email_norm IN ("+placeholders(len(chunk))+")", args...)
		if err != nil {
			return nil, s.wrap(err, "find recipients by address")
		}
		for rows.Next() {
			var e string
			var id int64
			if err := rows.Scan(&e, &id); err != nil {
				rows.Close()
				return nil, s.wrap(err, "find recipients by address")
			}
			out[e] = id
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, s.wrap(err, "find recipients by address")
		}
	}
	return out, nil
}

// RecipientValue is a custom field's value of a recipient, as an import
// writes it.
type RecipientValue struct {
	RecipientID int64
	simplesender.FieldValue
}

// SetValues writes vals of owner's recipients, replacing the values they
// had, a few hundred per statement. The recipients and fields must be
// owner's (the caller checked), each (recipient, field) once.
func (s *Store) SetValues(ctx context.Context, owner int64, vals []RecipientValue) error {
	if len(vals) == 0 {
		return nil
	}
	for len(vals) > 0 {
		chunk := vals[:min(len(vals), 250)]
		vals = vals[len(chunk):]
		args := make([]any, 0, 4*len(chunk))
		for _, v := range chunk {
			args = append(args, v.RecipientID, v.FieldID, v.Value, numValue(v.FieldValue))
		}
		_, err := s.exec(ctx, `INSERT INTO recipient_values (recipient_id, field_id, value, num) VALUES `+
			strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?), ", len(chunk)), ", ")+
			` ON CONFLICT (recipient_id, field_id) DO UPDATE SET value = excluded.value, num = excluded.num`, args...)
		if err != nil {
			return s.wrap(err, "set values")
		}
	}
	return s.touch(ctx, nil, owner)
}

// RecipientTag is a tag for a recipient.
type RecipientTag struct {
	RecipientID int64
	Tag         string
}

// AddTags gives owner's recipients the tags of tags, a few hundred per
// statement; tags they have stay. The recipients must be owner's (the
// caller checked).
func (s *Store) AddTags(ctx context.Context, owner int64, tags []RecipientTag) error {
	if len(tags) == 0 {
		return nil
	}
	for len(tags) > 0 {
		chunk := tags[:min(len(tags), 300)]
		tags = tags[len(chunk):]
		args := make([]any, 0, 3*len(chunk))
		for _, t := range chunk {
			args = append(args, t.RecipientID, owner, t.Tag)
		}
		_, err := s.exec(ctx, `INSERT INTO recipient_tags (recipient_id, owner_id, tag) VALUES `+
			strings.TrimSuffix(strings.Repeat("(?, ?, ?), ", len(chunk)), ", ")+` ON CONFLICT DO NOTHING`, args...)
		if err != nil {
			return s.wrap(err, "add tags")
		}
	}
	return s.touch(ctx, nil, owner)
}

// LoadValues fills in the Fields of rs (keys to stored values; an empty
// map when a recipient has none) with one query per 500 recipients.
func (s *Store) LoadValues(ctx context.Context, rs []*simplesender.Recipient) error {
	byID := make(map[int64]*simplesender.Recipient, len(rs))
	ids := make([]int64, 0, len(rs))
	for _, r := range rs {
		r.Fields = map[string]string{}
		byID[r.ID] = r
		ids = append(ids, r.ID)
	}
	return s.eachValue(ctx, ids, func(id int64, key, value string) {
		byID[id].Fields[key] = value
	})
}

// eachValue calls fn with every value of the recipients ids.
func (s *Store) eachValue(ctx context.Context, ids []int64, fn func(id int64, key, value string)) error {
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), 500)]
		ids = ids[len(chunk):]
		rows, err := s.query(ctx, `SELECT v.recipient_id, f.key, v.value FROM recipient_values v
			JOIN fields f ON f.id = v.field_id WHERE v.recipient_id IN (`+placeholders(len(chunk))+")", idArgs(chunk)...)
		if err != nil {
			return s.wrap(err, "load values")
		}
		for rows.Next() {
			var id int64
			var key, value string
			if err := rows.Scan(&id, &key, &value); err != nil {
				rows.Close()
				return s.wrap(err, "load values")
			}
			fn(id, key, value)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return s.wrap(err, "load values")
		}
	}
	return nil
}

// loadClaimValues sets the custom field values of the claims' recipients,
// one query per batch (see Exchange): the engine fills {{key}} with them.
func (s *Store) loadClaimValues(ctx context.Context, out []Claimed) error {
	if len(out) == 0 {
		return nil
	}
	at := make(map[int64][]int, len(out))
	ids := make([]int64, 0, len(out))
	for i, c := range out {
		if c.RecipientID == 0 {
			continue
		}
		if _, ok := at[c.RecipientID]; !ok {
			ids = append(ids, c.RecipientID)
		}
		at[c.RecipientID] = append(at[c.RecipientID], i)
	}
	return s.eachValue(ctx, ids, func(id int64, key, value string) {
		for _, i := range at[id] {
			if out[i].Values == nil {
				out[i].Values = map[string]string{}
			}
			out[i].Values[key] = value
		}
	})
}
