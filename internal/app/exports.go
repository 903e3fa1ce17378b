package app

import (
	"context"
	"io"

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
