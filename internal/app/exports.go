package app

import (
	"context"
	"io"
	"strings"

	"simplesender"
	"simplesender/internal/csvio"
)

// ExportOptions say how to write an export.
type ExportOptions struct {
	// BOM starts the file with a UTF-8 byte order mark, for Excel.
	BOM bool
	// Separator between cells: ',' (the default), ';', '\t' or '|'.
	Separator rune
}

// ExportColumns returns the header of a recipient export without custom
// fields (their keys follow, see exportHeader); ImportRecipients maps it
// back to the same fields.
func ExportColumns() []string {
	return []string{"email", "last_name", "first_name", "middle_name", "comment", "tags"}
}

// ExportRecipients writes the owner's recipients to w as CSV, ordered by
// address, a page at a time, and returns how many it wrote: their columns,
// their tags (separated by "; ") and a column per custom field of the owner,
// named by its key. Cells a spreadsheet would run as a formula are
// neutralised (csvio.Neutralize). owner 0 is the actor's own list; managers
// and admins may export anyone's (they may read it), the system names the
// owner. Errors: NotFound, Unauthenticated, and w's errors.
func (a *App) ExportRecipients(ctx context.Context, ac *Actor, owner int64, w io.Writer, o ExportOptions) (int, error) {
	owner, err := a.exportOwner(ctx, ac, owner)
	if err != nil {
		return 0, err
	}
	return a.exportPages(ctx, owner, w, o, func(after string, limit int) ([]*simplesender.Recipient, error) {
		return a.DB.Store().RecipientsAfter(ctx, owner, after, limit)
	})
}

// exportPages writes the recipients that next returns, a page at a time
// after the last address of the previous page, with owner's custom fields.
func (a *App) exportPages(ctx context.Context, owner int64, w io.Writer, o ExportOptions,
	next func(after string, limit int) ([]*simplesender.Recipient, error)) (int, error) {
	fields, err := a.DB.Store().Fields(ctx, owner)
	if err != nil {
		return 0, err
	}
	cw := csvio.NewWriter(w, csvio.WriterOptions{BOM: o.BOM, Separator: o.Separator})
	header := ExportColumns()
	for _, f := range fields {
		header = append(header, f.Key)
	}
	if err := cw.Write(header...); err != nil {
		return 0, err
	}
	const size = 1000
	n, after := 0, ""
	row := make([]string, len(header))
	for {
		page, err := next(after, size)
		if err != nil {
			return n, err
		}
		if err := a.DB.Store().LoadTags(ctx, page); err != nil {
			return n, err
		}
		if len(fields) > 0 {
			if err := a.DB.Store().LoadValues(ctx, page); err != nil {
				return n, err
			}
		}
		for _, r := range page {
			row = append(row[:0], r.Email, r.LastName, r.FirstName, r.MiddleName, r.Comment, strings.Join(r.Tags, "; "))
			for _, f := range fields {
				row = append(row, r.Fields[f.Key])
			}
			if err := cw.Write(row...); err != nil {
				return n, err
			}
			n++
		}
		if len(page) < size {
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
