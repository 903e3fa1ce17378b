package app

import (
	"context"
	"io"

	"simplesender"
	"simplesender/internal/csvio"
	"simplesender/internal/store"
)

// ImportPreview is the start of a file as an import would read it, for the
// user to check the detected format and mapping before importing.
type ImportPreview struct {
	Format csvio.Format
	Rows   []ImportPreviewRow
	// More is set when the file has rows beyond those shown.
	More bool
	// CustomFields are the owner's custom fields, in order: what a column
	// may map to besides the built-in fields.
	CustomFields []*simplesender.Field
}

// ImportPreviewRow is one row of a preview.
type ImportPreviewRow struct {
	Line int
	// Recipient holds the values as they would be saved.
	Recipient simplesender.Recipient
	// Lists are the names of the lists the row's lists column puts it on.
	Lists []string
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
	sch, err := a.loadImportSchema(ctx, owner)
	if err != nil {
		return nil, err
	}
	if err := sch.checkMapping(o.Mapping); err != nil {
		return nil, err
	}
	rd, err := csvio.NewReader(src, sch.options(o))
	if err != nil {
		return nil, fileError(err)
	}
	p := &ImportPreview{}
	var valid []*simplesender.Recipient
	var at []int
	seen := map[string]bool{}
	for rec, err := range rd.All() {
		if err != nil {
			return nil, fileError(err)
		}
		if len(p.Rows) == n {
			p.More = true
			break
		}
		r, x, problems := importRow(rec, sch)
		row := ImportPreviewRow{Line: rec.Line, Recipient: r, Fields: problems}
		for _, id := range x.lists {
			row.Lists = append(row.Lists, sch.listName(id))
		}
		p.Rows = append(p.Rows, row)
		if norm := lower(r.Email); problems == nil && !seen[norm] {
			seen[norm] = true
			valid = append(valid, &r)
			at = append(at, len(p.Rows)-1)
		}
	}
	p.Format = rd.Format()
	for _, f := range sch.sorted() {
		p.CustomFields = append(p.CustomFields, f)
	}
	have, err := a.DB.Store().MatchRecipients(ctx, owner, valid, nil)
	if err != nil {
		return nil, err
	}
	for i, m := range have {
		p.Rows[at[i]].Exists = m != store.MatchNone
	}
	return p, nil
}
