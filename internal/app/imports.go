package app

import (
	"context"
	"errors"
	"io"
	"time"

	"simplesender"
	"simplesender/internal/csvio"
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
	// ListID, when set, puts every recipient of the file (new, updated and
	// unchanged alike) on this list of the importing owner.
	ListID int64
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
	// comment, tags, lists, fields.KEY for a custom field, or "row" for the
	// row as a whole) to a message key.
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
	// Suppressed counts the imported rows whose address is on the owner's
	// suppression list or the service-wide one: they are imported (or
	// kept) as recipients and stay suppressed, so mailings skip them;
	// SuppressedRows lists the first MaxImportErrors.
	Suppressed     int
	SuppressedRows []ImportSuppressed
	// Elapsed is the time the import took.
	Elapsed time.Duration
}

// ImportSuppressed is a row of an import whose address is suppressed.
type ImportSuppressed struct {
	Line   int                            `json:"line"`
	Email  string                         `json:"email"`
	Reason simplesender.SuppressionReason `json:"reason"`
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
	if err := a.checkImportList(ctx, owner, o); err != nil {
		return nil, err
	}
	start, err := src.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, simplesender.Errorf("import: %w", err)
	}
	sch, err := a.loadImportSchema(ctx, owner)
	if err != nil {
		return nil, err
	}
	if err := sch.checkMapping(o.CSV.Mapping); err != nil {
		return nil, err
	}
	o.CSV = sch.options(o.CSV)
	res := &ImportResult{}
	repeats, err := checkImport(ctx, src, o, sch, res)
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
	err = a.writeImport(ctx, owner, src, o, sch, repeats, res, resume)
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
func checkImport(ctx context.Context, src io.Reader, o ImportOptions, sch *importSchema, res *ImportResult) (map[string]struct{}, error) {
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
	for rec, err := range rd.All() {
		if err != nil {
			return nil, fileError(err)
		}
		res.Rows++
		r, _, problems := importRow(rec, sch)
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
func (a *App) writeImport(ctx context.Context, owner int64, src io.Reader, o ImportOptions, sch *importSchema, repeats map[string]struct{},
	res *ImportResult, resume *importResume) error {
	opts := res.Format.Options()
	opts.MaxLine = o.CSV.MaxLine
	rd, err := csvio.NewReader(src, opts)
	if err != nil {
		return fileError(err)
	}
	b := &importBatch{a: a, owner: owner, update: o.Update, dry: o.DryRun, cols: mappedColumns(res.Format.Mapping), listID: o.ListID}
	b.suppressed = func(line int, email string, reason simplesender.SuppressionReason) {
		res.Suppressed++
		if len(res.SuppressedRows) < MaxImportErrors {
			res.SuppressedRows = append(res.SuppressedRows, ImportSuppressed{Line: line, Email: shorten(email), Reason: reason})
		}
	}
	firstLine := map[string]int{} // for the addresses that may repeat
	done, skip := 0, 0
	if resume != nil && !o.DryRun {
		skip = resume.at
		c := &res.ImportCounts
		c.Imported, c.Updated, c.Unchanged, c.Skipped = resume.counts.Imported, resume.counts.Updated, resume.counts.Unchanged, resume.counts.Skipped
		b.commit = func(s *store.Store, c ImportCounts) error { return resume.commit(s, done, c) }
	}
	flush := func() error {
		_, err := b.flush(ctx, &res.ImportCounts)
		if o.Progress != nil {
			o.Progress(ImportProgress{Phase: ImportWriting, Done: done, Total: res.Rows, ImportCounts: res.ImportCounts})
		}
		return err
	}
	for rec, err := range rd.All() {
		if err != nil {
			return fileError(err) // the file changed since the check
		}
		done++
		r, x, problems := importRow(rec, sch)
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
		b.extras = append(b.extras, x)
		b.lines = append(b.lines, rec.Line)
		if len(b.rows) >= ImportBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// checkImportList checks that the list of o, if any, is owner's. Errors:
// Invalid (field list_id).
func (a *App) checkImportList(ctx context.Context, owner int64, o ImportOptions) error {
	if o.ListID == 0 {
		return nil
	}
	_, err := a.DB.Store().ListByID(ctx, owner, o.ListID)
	if simplesender.IsKind(err, simplesender.KindNotFound) {
		return simplesender.Invalid(map[string]string{"list_id": "error.list.unknown"})
	}
	return err
}
