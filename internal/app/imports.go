package app

import (
	"context"
	"errors"
	"hash/maphash"
	"io"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"simplesender"
	"simplesender/internal/csvio"
	"simplesender/internal/mailer"
	"simplesender/internal/store"
)

// Limits of an import.
const (
	// ImportBatch is the number of rows written per transaction.
	ImportBatch = 500
	// MaxImportErrors is the number of invalid rows, and of repeated
	// addresses, an import keeps for its report; beyond it they are only
	// counted.
	MaxImportErrors = 1000
)

// ImportOptions say how to import a CSV file of recipients.
type ImportOptions struct {
	// CSV overrides what is detected: encoding, separator, header row and
	// the mapping of columns to fields.
	CSV csvio.Options
	// Update overwrites the recipients the owner already has (the same
	// address in any case) with the file's values of the mapped columns;
	// columns the file does not have are kept. Without it they are left as
	// they are (skipped).
	Update bool
	// ValidOnly imports the valid rows of a file that has invalid ones.
	// Without it such a file imports nothing.
	ValidOnly bool
	// DryRun reads the whole file and counts what the import would do,
	// and writes nothing.
	DryRun bool
	// Progress, when set, is told how the import goes: every few thousand
	// rows while the file is checked, after every batch while it is
	// written, and at the end of each phase. It runs in the importing
	// goroutine and should return quickly.
	Progress func(ImportProgress)
}

// ImportPhase is the stage an import is at.
type ImportPhase string

// The two passes over the file: first every row is checked and nothing is
// written, then the valid rows are written in batches.
const (
	ImportChecking ImportPhase = "check"
	ImportWriting  ImportPhase = "write"
)

// ImportCounts count the rows of a file by what became of them.
type ImportCounts struct {
	Rows       int `json:"rows"`       // rows in the file, not counting the header and blank lines
	Imported   int `json:"imported"`   // new recipients added
	Updated    int `json:"updated"`    // recipients the owner had, changed to the file's values
	Unchanged  int `json:"unchanged"`  // recipients the owner had with the same values already
	Skipped    int `json:"skipped"`    // recipients the owner had with other values, left as they were
	Duplicates int `json:"duplicates"` // rows whose address appears earlier in the file: ignored
	Invalid    int `json:"invalid"`    // rows with a problem (see ImportRowError): not imported
}

// ImportProgress is how far an import has got.
type ImportProgress struct {
	Phase ImportPhase
	Done  int // rows handled so far in this phase
	Total int // rows in the file; known once the check is over (0 during it)
	ImportCounts
}

// ImportRowError is a row that was not imported, and why.
type ImportRowError struct {
	Line  int    `json:"line"`  // line of the file where the row starts
	Email string `json:"email"` // the row's e-mail cell, shortened, to recognise it by
	// Fields maps a field (email, last_name, first_name, middle_name,
	// comment, or "row" for the row as a whole) to a message key.
	Fields map[string]string `json:"fields"`
}

// ImportDuplicate is a row ignored because its address appears earlier in
// the file (the first row with an address is the one imported).
type ImportDuplicate struct {
	Line      int    `json:"line"`
	FirstLine int    `json:"first_line"`
	Email     string `json:"email"`
}

// ImportResult is the outcome of an import.
type ImportResult struct {
	ImportCounts
	// Format is how the file was read: encoding, separator, header, mapping.
	Format csvio.Format
	// Committed is true when rows were written: false for a dry run, and
	// for a file refused for its invalid rows.
	Committed bool
	// Errors are the first MaxImportErrors invalid rows, in file order;
	// Invalid counts them all.
	Errors []ImportRowError
	// DuplicateRows are the first MaxImportErrors repeated addresses;
	// Duplicates counts them all.
	DuplicateRows []ImportDuplicate
	// Elapsed is the time the import took.
	Elapsed time.Duration
}

// ImportRecipients imports a CSV file of recipients into the owner's list:
// the actor's own (owner 0 or the actor's id). The system actor (the command
// line) names the owner; managers and admins import into their own list
// only, like everyone.
//
// The file is read twice, so src must be able to seek back: a first pass
// checks every row and writes nothing; the second writes the valid rows in
// batches of ImportBatch, each in its own transaction, with the addresses
// the owner already has updated or skipped as o.Update says. Memory stays
// flat however long the file: a row at a time, a batch, and a fixed-size
// filter to find repeated addresses (plus the addresses that do repeat).
//
// Errors, and what was written:
//   - a file that cannot be read as a recipient list (not CSV, broken
//     encoding, a quote left open, a line over 64 KiB, no e-mail column,
//     no rows): Invalid with the csvio message key (error.csv.*; the line
//     is in the *csvio.Error in the chain) and a nil result; nothing written.
//   - invalid rows without o.ValidOnly (or o.DryRun): Invalid
//     "error.import.invalid_rows" with a result that lists them; nothing
//     written.
//   - NotFound or Forbidden for another user's list; Unauthenticated.
//   - a failure of the database or a cancelled ctx while writing: that
//     error, and a result counting the batches already committed (running
//     the same import again completes it, as an import that finds every row
//     in place changes nothing).
func (a *App) ImportRecipients(ctx context.Context, ac *Actor, owner int64, src io.ReadSeeker, o ImportOptions) (*ImportResult, error) {
	owner, err := a.importOwner(ctx, ac, owner)
	if err != nil {
		return nil, err
	}
	return a.importFile(ctx, owner, src, o, nil)
}

// importResume continues an import job that an earlier worker began: the
// write pass reads past the rows whose batches that worker committed
// (counting the repeated addresses among them again, which only the file
// decides), starts from the counts it committed, and has each batch commit
// the job's offset in the batch's own transaction, so that the rows written
// and the offset never disagree.
type importResume struct {
	at     int          // rows of the write pass already committed
	counts ImportCounts // their Imported, Updated, Unchanged and Skipped
	// commit records, in the transaction of a batch, that the write pass
	// has committed done rows with the counts c.
	commit func(s *store.Store, done int, c ImportCounts) error
}

// importFile is ImportRecipients into owner's list, for a job when resume
// is set.
func (a *App) importFile(ctx context.Context, owner int64, src io.ReadSeeker, o ImportOptions, resume *importResume) (*ImportResult, error) {
	started := time.Now()
	start, err := src.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, simplesender.Errorf("import: %w", err)
	}
	res := &ImportResult{}
	repeats, err := checkImport(ctx, src, o, res)
	if err != nil {
		return nil, err
	}
	if res.Invalid > 0 && !o.ValidOnly && !o.DryRun {
		res.Elapsed = time.Since(started)
		return res, errInvalidRows
	}
	if _, err := src.Seek(start, io.SeekStart); err != nil {
		return res, simplesender.Errorf("import: rewind: %w", err)
	}
	err = a.writeImport(ctx, owner, src, o, repeats, res, resume)
	res.Committed = !o.DryRun && res.Imported+res.Updated > 0
	res.Elapsed = time.Since(started)
	return res, err
}

var errInvalidRows = simplesender.E(simplesender.KindInvalid, "error.import.invalid_rows")

// importOwner returns whose list the actor imports into.
func (a *App) importOwner(ctx context.Context, ac *Actor, owner int64) (int64, error) {
	if ac.anonymous() && !ac.isSystem() {
		return 0, errUnauthenticated
	}
	if ac.isSystem() {
		if owner <= 0 {
			return 0, simplesender.E(simplesender.KindNotFound, "error.not_found")
		}
		if _, err := a.DB.Store().UserByID(ctx, owner); err != nil {
			return 0, err
		}
		return owner, nil
	}
	// Only the command line imports into another user's list: an import
	// job is its owner's (see job), so nobody else could follow it.
	if owner != 0 && owner != ac.id() {
		if err := authorize(ac, ActView, owner); err != nil {
			return 0, err
		}
		return 0, errForbidden
	}
	if err := authorize(ac, ActCreate, ac.id()); err != nil {
		return 0, err
	}
	return ac.id(), nil
}

// fileError turns a problem reading the file into a domain error.
func fileError(err error) error {
	var ce *csvio.Error
	if errors.As(err, &ce) {
		return &simplesender.Error{Kind: simplesender.KindInvalid, Message: ce.Key, Cause: ce}
	}
	return simplesender.Errorf("read the file: %w", err)
}

// checkImport is the first pass: it reads every row, counts and lists the
// invalid ones, settles the format, and returns the addresses that may
// repeat (the filter's candidates).
func checkImport(ctx context.Context, src io.Reader, o ImportOptions, res *ImportResult) (map[string]struct{}, error) {
	rd, err := csvio.NewReader(src, o.CSV)
	if err != nil {
		return nil, fileError(err)
	}
	filter := newSeenFilter()
	repeats := map[string]struct{}{}
	progress := func() {
		if o.Progress != nil {
			o.Progress(ImportProgress{Phase: ImportChecking, Done: res.Rows, ImportCounts: ImportCounts{Rows: res.Rows, Invalid: res.Invalid}})
		}
	}
	for {
		rec, err := rd.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fileError(err)
		}
		res.Rows++
		r, problems := importRow(rec)
		if len(problems) > 0 {
			res.Invalid++
			if len(res.Errors) < MaxImportErrors {
				res.Errors = append(res.Errors, ImportRowError{Line: rec.Line, Email: shorten(rec.Email), Fields: problems})
			}
			continue
		}
		norm := lower(r.Email)
		if filter.seen(norm) {
			repeats[norm] = struct{}{}
		}
		if res.Rows%5000 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			progress()
		}
	}
	res.Format = rd.Format()
	if res.Rows == 0 {
		return nil, simplesender.E(simplesender.KindInvalid, "error.csv.no_rows")
	}
	progress()
	return repeats, nil
}

// writeImport is the second pass: it reads the file again the way the
// check settled, and writes the valid rows in batches.
func (a *App) writeImport(ctx context.Context, owner int64, src io.Reader, o ImportOptions, repeats map[string]struct{},
	res *ImportResult, resume *importResume) error {
	opts := res.Format.Options()
	opts.MaxLine = o.CSV.MaxLine
	rd, err := csvio.NewReader(src, opts)
	if err != nil {
		return fileError(err)
	}
	b := &importBatch{a: a, owner: owner, update: o.Update, dry: o.DryRun, cols: mappedColumns(res.Format.Mapping)}
	firstLine := map[string]int{} // for the addresses that may repeat
	done, skip := 0, 0
	if resume != nil && !o.DryRun {
		skip = resume.at
		c := &res.ImportCounts
		c.Imported, c.Updated, c.Unchanged, c.Skipped = resume.counts.Imported, resume.counts.Updated, resume.counts.Unchanged, resume.counts.Skipped
		b.commit = func(s *store.Store, c ImportCounts) error { return resume.commit(s, done, c) }
	}
	lastBump := time.Now()
	flush := func() error {
		wrote, err := b.flush(ctx, &res.ImportCounts)
		if wrote && time.Since(lastBump) > time.Second {
			a.FiguresChanged(ctx, []int64{owner})
			lastBump = time.Now()
		}
		if o.Progress != nil {
			o.Progress(ImportProgress{Phase: ImportWriting, Done: done, Total: res.Rows, ImportCounts: res.ImportCounts})
		}
		return err
	}
	defer func() {
		if res.Imported+res.Updated > 0 && !o.DryRun {
			a.FiguresChanged(context.WithoutCancel(ctx), []int64{owner})
		}
	}()
	for {
		rec, err := rd.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fileError(err) // the file changed since the check
		}
		done++
		r, problems := importRow(rec)
		if len(problems) > 0 {
			continue // counted and listed by the check
		}
		norm := lower(r.Email)
		if _, ok := repeats[norm]; ok {
			if first, dup := firstLine[norm]; dup {
				res.Duplicates++
				if len(res.DuplicateRows) < MaxImportErrors {
					res.DuplicateRows = append(res.DuplicateRows, ImportDuplicate{Line: rec.Line, FirstLine: first, Email: shorten(r.Email)})
				}
				continue
			}
			firstLine[norm] = rec.Line
		}
		if done <= skip {
			continue // written by an earlier worker
		}
		b.rows = append(b.rows, &r)
		if len(b.rows) >= ImportBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// importBatch is the rows waiting to be written.
type importBatch struct {
	a      *App
	owner  int64
	update bool
	dry    bool
	cols   []store.RecipientColumn
	rows   []*simplesender.Recipient
	write  []*simplesender.Recipient
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
	run := func(s *store.Store) error {
		have, err := s.MatchRecipients(ctx, b.owner, b.rows, b.cols)
		if err != nil {
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
	b.rows = b.rows[:0]
	if err != nil {
		return false, err
	}
	c.add(n)
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
// checks one, and returns its problems by field (nil when it is valid).
func importRow(rec csvio.Record) (simplesender.Recipient, simplesender.FieldErrors) {
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
			add("email", "error.email.invalid")
		} else {
			r.Email = email
		}
	}
	names := simplesender.FieldErrors{}
	r.ValidateNames(names)
	for k, v := range names {
		add(k, v)
	}
	return r, f
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

// ImportPreview is the start of a file as an import would read it, for the
// user to check the detected format and mapping before importing.
type ImportPreview struct {
	Format csvio.Format
	Rows   []ImportPreviewRow
	// More is set when the file has rows beyond those shown.
	More bool
}

// ImportPreviewRow is one row of a preview.
type ImportPreviewRow struct {
	Line int
	// Recipient holds the values as they would be saved.
	Recipient simplesender.Recipient
	// Exists is set when the owner already has this address.
	Exists bool
	// Fields maps a field to a message key for each problem (nil: the row
	// is valid), as in ImportRowError.
	Fields map[string]string
}

// PreviewImport reads the header and the first n rows (20 when n <= 0, at
// most 1000) of a CSV file with the options o, into the same owner's list
// ImportRecipients would import into. Errors: as ImportRecipients for a file
// that cannot be read (Invalid with an error.csv.* key), NotFound,
// Forbidden, Unauthenticated.
func (a *App) PreviewImport(ctx context.Context, ac *Actor, owner int64, src io.Reader, o csvio.Options, n int) (*ImportPreview, error) {
	owner, err := a.importOwner(ctx, ac, owner)
	if err != nil {
		return nil, err
	}
	return a.previewFile(ctx, owner, src, o, n)
}

// previewFile is PreviewImport into owner's list.
func (a *App) previewFile(ctx context.Context, owner int64, src io.Reader, o csvio.Options, n int) (*ImportPreview, error) {
	if n <= 0 {
		n = 20
	}
	n = min(n, 1000)
	rd, err := csvio.NewReader(src, o)
	if err != nil {
		return nil, fileError(err)
	}
	p := &ImportPreview{}
	var valid []*simplesender.Recipient
	var at []int
	seen := map[string]bool{}
	for {
		rec, err := rd.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fileError(err)
		}
		if len(p.Rows) == n {
			p.More = true
			break
		}
		r, problems := importRow(rec)
		p.Rows = append(p.Rows, ImportPreviewRow{Line: rec.Line, Recipient: r, Fields: problems})
		if norm := lower(r.Email); problems == nil && !seen[norm] {
			seen[norm] = true
			valid = append(valid, &r)
			at = append(at, len(p.Rows)-1)
		}
	}
	p.Format = rd.Format()
	have, err := a.DB.Store().MatchRecipients(ctx, owner, valid, nil)
	if err != nil {
		return nil, err
	}
	for i, m := range have {
		p.Rows[at[i]].Exists = m != store.MatchNone
	}
	return p, nil
}

// ExportOptions say how to write an export.
type ExportOptions struct {
	// BOM starts the file with a UTF-8 byte order mark, for Excel.
	BOM bool
	// Separator between cells: ',' (the default), ';', '\t' or '|'.
	Separator rune
}

// ExportColumns returns the header of a recipient export; ImportRecipients
// maps it back to the same fields.
func ExportColumns() []string {
	return []string{"email", "last_name", "first_name", "middle_name", "comment"}
}

// ExportRecipients writes the owner's recipients to w as CSV, ordered by
// address, a page at a time, and returns how many it wrote. Cells a
// spreadsheet would run as a formula are neutralised (csvio.Neutralize).
// owner 0 is the actor's own list; managers and admins may export anyone's
// (they may read it), the system names the owner. Errors: NotFound,
// Unauthenticated, and w's errors.
func (a *App) ExportRecipients(ctx context.Context, ac *Actor, owner int64, w io.Writer, o ExportOptions) (int, error) {
	owner, err := a.exportOwner(ctx, ac, owner)
	if err != nil {
		return 0, err
	}
	cw := csvio.NewWriter(w, csvio.WriterOptions{BOM: o.BOM, Separator: o.Separator})
	if err := cw.Write(ExportColumns()...); err != nil {
		return 0, err
	}
	n, after := 0, ""
	for {
		page, err := a.DB.Store().RecipientsAfter(ctx, owner, after, 1000)
		if err != nil {
			return n, err
		}
		for _, r := range page {
			if err := cw.Write(r.Email, r.LastName, r.FirstName, r.MiddleName, r.Comment); err != nil {
				return n, err
			}
			n++
		}
		if len(page) < 1000 {
			break
		}
		after = lower(page[len(page)-1].Email)
	}
	return n, cw.Flush()
}

// exportOwner returns whose list the actor exports: the actor's own, or for
// staff (and the system) the one named.
func (a *App) exportOwner(ctx context.Context, ac *Actor, owner int64) (int64, error) {
	if ac.anonymous() && !ac.isSystem() {
		return 0, errUnauthenticated
	}
	if owner == 0 && !ac.isSystem() {
		owner = ac.id()
	}
	if owner <= 0 {
		return 0, simplesender.E(simplesender.KindNotFound, "error.not_found")
	}
	if err := authorize(ac, ActView, owner); err != nil {
		return 0, err
	}
	if owner != ac.id() {
		if _, err := a.DB.Store().UserByID(ctx, owner); err != nil {
			return 0, err
		}
	}
	return owner, nil
}
