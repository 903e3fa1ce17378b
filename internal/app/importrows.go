package app

import (
	"context"
	"hash/maphash"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"simplesender"
	"simplesender/internal/csvio"
	"simplesender/internal/mailer"
	"simplesender/internal/store"
)

// importBatch is the rows waiting to be written.
type importBatch struct {
	a      *App
	owner  int64
	update bool
	dry    bool
	cols   []store.RecipientColumn
	listID int64 // every row goes on this list (0: none)
	rows   []*simplesender.Recipient
	extras []importExtra // the lists and custom field values of each row
	lines  []int         // the line of each row
	write  []*simplesender.Recipient
	// suppressed is told each row whose address is suppressed for the
	// owner, once its batch is done.
	suppressed func(line int, email string, reason simplesender.SuppressionReason)
	// commit, when set, runs in each batch's transaction with the counts
	// as they will be once it commits (an import job's offset).
	commit func(s *store.Store, c ImportCounts) error
}

// flush compares the rows with what the owner has and writes the new and,
// when updating, the changed ones, in one transaction; it adds to c once
// that has committed, and reports whether it wrote anything.
func (b *importBatch) flush(ctx context.Context, c *ImportCounts) (bool, error) {
	if len(b.rows) == 0 {
		return false, nil
	}
	var n ImportCounts
	var sup map[string]simplesender.SuppressionReason
	run := func(s *store.Store) error {
		have, err := s.MatchRecipients(ctx, b.owner, b.rows, b.cols)
		if err != nil {
			return err
		}
		// An import never lifts a suppression: the suppressed addresses
		// are reported, and mailings go on skipping them.
		emails := make([]string, len(b.rows))
		for i, r := range b.rows {
			emails[i] = r.Email
		}
		if sup, err = s.SuppressedAmong(ctx, b.owner, emails); err != nil {
			return err
		}
		n, b.write = ImportCounts{}, b.write[:0]
		for i, r := range b.rows {
			switch {
			case have[i] == store.MatchNone:
				n.Imported++
				b.write = append(b.write, r)
			case have[i] == store.MatchSame:
				n.Unchanged++
			case b.update:
				n.Updated++
				b.write = append(b.write, r)
			default:
				n.Skipped++
			}
		}
		if b.dry {
			return nil
		}
		if len(b.write) > 0 {
			var update []store.RecipientColumn
			if b.update {
				update = b.cols
			}
			// In address order, two imports into one list at the same time
			// take their row locks in the same order and cannot deadlock
			// (PostgreSQL).
			slices.SortFunc(b.write, func(x, y *simplesender.Recipient) int { return strings.Compare(lower(x.Email), lower(y.Email)) })
			if err := s.UpsertRecipients(ctx, b.owner, b.write, update); err != nil {
				return err
			}
		}
		if err := b.writeExtras(ctx, s, have); err != nil {
			return err
		}
		if b.listID != 0 {
			emails := make([]string, len(b.rows))
			for i, r := range b.rows {
				emails[i] = r.Email
			}
			if err := s.AddListMembersByEmail(ctx, b.owner, b.listID, emails); err != nil {
				return err
			}
		}
		if b.commit == nil {
			return nil
		}
		after := *c
		after.add(n)
		return b.commit(s, after)
	}
	var err error
	if b.dry {
		err = run(b.a.DB.Store())
	} else {
		err = b.a.DB.InTx(ctx, run)
	}
	rows, lines := b.rows, b.lines
	b.rows, b.lines, b.extras = b.rows[:0], b.lines[:0], b.extras[:0]
	if err != nil {
		return false, err
	}
	c.add(n)
	if b.suppressed != nil && len(sup) > 0 {
		for i, r := range rows {
			if reason, ok := sup[simplesender.NormalizeEmail(r.Email)]; ok && i < len(lines) {
				b.suppressed(lines[i], r.Email, reason)
			}
		}
	}
	return !b.dry && len(b.write) > 0, nil
}

// add adds the written counts of a batch.
func (c *ImportCounts) add(n ImportCounts) {
	c.Imported += n.Imported
	c.Updated += n.Updated
	c.Unchanged += n.Unchanged
	c.Skipped += n.Skipped
}

// mappedColumns lists the recipient columns a file's mapping sets (the
// address always); an update overwrites those and keeps the others.
func mappedColumns(m []csvio.Field) []store.RecipientColumn {
	cols := []store.RecipientColumn{store.ColEmail}
	has := map[csvio.Field]bool{}
	for _, f := range m {
		has[f] = true
	}
	for _, c := range []struct {
		f   csvio.Field
		col store.RecipientColumn
	}{{csvio.LastName, store.ColLastName}, {csvio.FirstName, store.ColFirstName}, {csvio.MiddleName, store.ColMiddleName}, {csvio.Comment, store.ColComment}} {
		if has[c.f] || has[csvio.FullName] && c.f != csvio.Comment {
			cols = append(cols, c.col)
		}
	}
	return cols
}

// importRow turns a record into a recipient, checked as CreateRecipient
// checks one, with its tags, lists and custom field values (see
// importSchema.extras), and returns its problems by field (nil when it is
// valid).
func importRow(rec csvio.Record, sch *importSchema) (simplesender.Recipient, importExtra, simplesender.FieldErrors) {
	r := simplesender.Recipient{Email: rec.Email, LastName: rec.LastName, FirstName: rec.FirstName,
		MiddleName: rec.MiddleName, Comment: rec.Comment}
	r.Normalize()
	var f simplesender.FieldErrors
	add := func(field, key string) {
		if f == nil {
			f = simplesender.FieldErrors{}
		}
		f.Add(field, key)
	}
	if rec.Overflow {
		add("row", "error.import.columns")
	}
	switch {
	case r.Email == "":
		add("email", "error.import.email_missing")
	case strings.Count(r.Email, "@") > 1 && strings.ContainsAny(r.Email, ",; \t\r\n"):
		add("email", "error.import.email_several")
	default:
		email, err := mailer.ParseAddress(r.Email)
		if err != nil {
			add("email", simplesender.AsError(err).Message) // invalid, or a local part that needs SMTPUTF8
		} else {
			r.Email = email
		}
	}
	names := simplesender.FieldErrors{}
	r.ValidateNames(names)
	for k, v := range names {
		add(k, v)
	}
	var x importExtra
	if sch != nil {
		x = sch.extras(rec, &r, add)
	}
	return r, x, f
}

// shorten makes a cell fit to show in a report: no control characters, at
// most 80 characters.
func shorten(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.TrimSpace(s))
	if utf8.RuneCountInString(s) > 80 {
		s = string([]rune(s)[:79]) + "…"
	}
	return s
}

// seenFilter is a Bloom filter of the addresses met so far: 2 MiB whatever
// the size of the file. It may say "seen" for an address that was not
// (about one in 400 at a million rows); the write pass then finds out
// exactly, holding only those candidates.
type seenFilter struct {
	bits []uint64
	seed maphash.Seed
}

const seenFilterBits = 1 << 24

func newSeenFilter() *seenFilter {
	return &seenFilter{bits: make([]uint64, seenFilterBits/64), seed: maphash.MakeSeed()}
}

// seen adds s and reports whether it may have been added before.
func (f *seenFilter) seen(s string) bool {
	h := maphash.String(f.seed, s)
	h1, h2 := uint32(h), uint32(h>>32)|1
	all := true
	for i := range uint32(4) {
		bit := (h1 + i*h2) % seenFilterBits
		w, m := bit/64, uint64(1)<<(bit%64)
		if f.bits[w]&m == 0 {
			all = false
			f.bits[w] |= m
		}
	}
	return all
}
