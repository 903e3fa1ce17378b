package app

import (
	"context"
	"maps"
	"slices"
	"strings"

	"simplesender"
	"simplesender/internal/csvio"
	"simplesender/internal/store"
)

// importSchema is what the columns of an import can name beyond the
// recipient's own: the owner's custom fields and lists. An import creates
// neither: a column of an unknown field is ignored (the preview says so),
// and a row naming an unknown list is invalid.
type importSchema struct {
	fields map[string]*simplesender.Field // by key
	lists  map[string]int64               // list IDs by lower-case name
	listNm map[int64]string               // list names by ID
	names  map[string]csvio.Field         // header names of the fields, normalized
}

// loadImportSchema reads owner's fields and lists for an import.
func (a *App) loadImportSchema(ctx context.Context, owner int64) (*importSchema, error) {
	fields, err := a.DB.Store().Fields(ctx, owner)
	if err != nil {
		return nil, err
	}
	sch := &importSchema{fields: map[string]*simplesender.Field{}, lists: map[string]int64{}, listNm: map[int64]string{},
		names: map[string]csvio.Field{}}
	for _, f := range fields {
		sch.fields[f.Key] = f
		sch.names[csvio.NormalizeHeader(f.Key)] = csvio.Custom(f.Key)
		if n := csvio.NormalizeHeader(f.Name); n != "" {
			if _, taken := sch.names[n]; !taken {
				sch.names[n] = csvio.Custom(f.Key)
			}
		}
	}
	lists, _, err := a.DB.Store().Lists(ctx, owner, store.ListFilter{Limit: 500})
	if err != nil {
		return nil, err
	}
	for _, l := range lists {
		sch.lists[strings.ToLower(l.Name)] = l.ID
		sch.listNm[l.ID] = l.Name
	}
	return sch, nil
}

// options returns o with the owner's field names to guess from.
func (sch *importSchema) options(o csvio.Options) csvio.Options {
	o.Names = sch.names
	return o
}

// checkMapping refuses a mapping that names a custom field the owner does
// not have. Errors: Invalid error.csv.mapping.
func (sch *importSchema) checkMapping(m []csvio.Field) error {
	for _, f := range m {
		if k, ok := f.CustomKey(); ok && sch.fields[k] == nil {
			return fileError(&csvio.Error{Key: csvio.KeyMapping})
		}
	}
	return nil
}

// importExtra is what a row sets beyond the recipient's columns.
type importExtra struct {
	values []simplesender.FieldValue
	lists  []int64
}

// extras checks the tags, lists and custom field cells of rec, sets r.Tags
// and r.Fields (stored forms), and adds problems to add: "tags"
// error.tag.invalid, "lists" error.import.list_unknown, "fields.KEY" with
// the type's key.
func (sch *importSchema) extras(rec csvio.Record, r *simplesender.Recipient, add func(field, key string)) importExtra {
	var x importExtra
	if rec.Tags != "" {
		for _, t := range csvio.SplitList(rec.Tags) {
			n, ok := simplesender.NormalizeTag(t)
			if !ok {
				add("tags", "error.tag.invalid")
				break
			}
			if !slices.Contains(r.Tags, n) {
				r.Tags = append(r.Tags, n)
			}
		}
	}
	if rec.Lists != "" {
		for _, name := range csvio.SplitList(rec.Lists) {
			id, ok := sch.lists[strings.ToLower(strings.TrimSpace(name))]
			if !ok {
				add("lists", "error.import.list_unknown")
				break
			}
			if !slices.Contains(x.lists, id) {
				x.lists = append(x.lists, id)
			}
		}
	}
	for k, cell := range rec.Values {
		f := sch.fields[k]
		if f == nil {
			continue
		}
		v, num, hasNum, bad := simplesender.CanonicalValue(f.Type, cell)
		switch {
		case bad != "":
			add("fields."+k, bad)
		case v != "": // an empty cell changes nothing
			if r.Fields == nil {
				r.Fields = make(map[string]string, len(rec.Values))
			}
			r.Fields[k] = v
			x.values = append(x.values, simplesender.FieldValue{FieldID: f.ID, Value: v, Num: num, HasNum: hasNum})
		}
	}
	return x
}

// writeExtras writes, in a batch's transaction, the tags, list memberships
// and custom field values of its rows: tags and lists for every row, values
// for the new rows and, when updating, for the others (have says which
// were new). The rows' recipients are looked up by address once.
func (b *importBatch) writeExtras(ctx context.Context, s *store.Store, have []store.Match) error {
	some := false
	for i, r := range b.rows {
		if len(r.Tags) > 0 || i < len(b.extras) && (len(b.extras[i].lists) > 0 || len(b.extras[i].values) > 0) {
			some = true
			break
		}
	}
	if !some {
		return nil
	}
	emails := make([]string, len(b.rows))
	for i, r := range b.rows {
		emails[i] = r.Email
	}
	ids, err := s.RecipientIDsByEmail(ctx, b.owner, emails)
	if err != nil {
		return err
	}
	var tags []store.RecipientTag
	var vals []store.RecipientValue
	var lists map[int64][]string
	for i, r := range b.rows {
		id, ok := ids[lower(r.Email)]
		if !ok {
			continue
		}
		for _, t := range r.Tags {
			tags = append(tags, store.RecipientTag{RecipientID: id, Tag: t})
		}
		if i >= len(b.extras) {
			continue
		}
		x := b.extras[i]
		for _, l := range x.lists {
			if lists == nil {
				lists = map[int64][]string{}
			}
			lists[l] = append(lists[l], r.Email)
		}
		if have[i] == store.MatchNone || b.update {
			for _, v := range x.values {
				vals = append(vals, store.RecipientValue{RecipientID: id, FieldValue: v})
			}
		}
	}
	if err := s.AddTags(ctx, b.owner, tags); err != nil {
		return err
	}
	if err := s.SetValues(ctx, b.owner, vals); err != nil {
		return err
	}
	for _, id := range slices.Sorted(maps.Keys(lists)) {
		if err := s.AddListMembersByEmail(ctx, b.owner, id, lists[id]); err != nil {
			return err
		}
	}
	return nil
}

// listName returns the name of the owner's list id.
func (sch *importSchema) listName(id int64) string { return sch.listNm[id] }

// sorted returns the owner's fields in their order.
func (sch *importSchema) sorted() []*simplesender.Field {
	out := make([]*simplesender.Field, 0, len(sch.fields))
	for _, f := range sch.fields {
		out = append(out, f)
	}
	slices.SortFunc(out, func(x, y *simplesender.Field) int { return x.Position - y.Position })
	return out
}
