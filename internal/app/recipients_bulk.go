package app

import (
	"context"
	"io"
	"slices"

	"simplesender"
	"simplesender/internal/store"
)

// RecipientSelection picks some of the actor's own recipients for a bulk
// action: the ones named in IDs (at most store.MaxSelectedIDs), or with All
// every one matching Query. Staff, who see everyone's recipients, act on
// their own only, as they do one at a time.
type RecipientSelection = store.RecipientSelection

// errNothingSelected is the answer to a bulk action on no recipients.
var errNothingSelected = simplesender.Invalid(map[string]string{"ids": "error.bulk.none"})

// cleanSelection drops repeated and impossible ids and reads the actor's
// segment of a selection of all. Errors: Invalid when nothing is selected,
// too many ids are named, or the segment is not the actor's (field
// segment_id).
func (a *App) cleanSelection(ctx context.Context, ac *Actor, sel RecipientSelection) (RecipientSelection, error) {
	if sel.All {
		sel.IDs = nil
		if sel.SegmentID != 0 {
			g, err := a.segmentOf(ctx, a.DB.Store(), ac.id(), sel.SegmentID, "segment_id")
			if err != nil {
				return sel, err
			}
			sel.Segment = &g.Definition
		}
		return sel, nil
	}
	ids := make([]int64, 0, len(sel.IDs))
	for _, id := range sel.IDs {
		if id > 0 && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) > store.MaxSelectedIDs {
		return sel, simplesender.Invalid(map[string]string{"ids": "error.bulk.too_many"})
	}
	if len(ids) == 0 {
		return sel, errNothingSelected
	}
	sel.IDs, sel.Query = ids, ""
	return sel, nil
}

// CountSelectedRecipients returns how many of the actor's recipients sel
// picks, for the page that asks before a bulk action. Errors:
// Unauthenticated; Invalid (field ids) when nothing or too much is selected.
func (a *App) CountSelectedRecipients(ctx context.Context, ac *Actor, sel RecipientSelection) (int, error) {
	if ac.anonymous() {
		return 0, errUnauthenticated
	}
	sel, err := a.cleanSelection(ctx, ac, sel)
	if err != nil {
		return 0, err
	}
	return a.DB.Store().CountSelectedRecipients(ctx, ac.id(), sel)
}

// DeleteSelectedRecipients deletes the actor's recipients that sel picks
// and returns how many went. As DeleteRecipient, they leave the audiences of
// mailings and stay in the delivery history. Errors: Unauthenticated;
// Forbidden for an actor who may not change their own data; Invalid (field
// ids) when nothing or too much is selected, or when none of the ids is one
// of the actor's recipients.
func (a *App) DeleteSelectedRecipients(ctx context.Context, ac *Actor, sel RecipientSelection) (int, error) {
	if ac.anonymous() {
		return 0, errUnauthenticated
	}
	if err := writable(ac, ac.id()); err != nil {
		return 0, err
	}
	sel, err := a.cleanSelection(ctx, ac, sel)
	if err != nil {
		return 0, err
	}
	var n int
	err = a.DB.InTx(ctx, func(s *store.Store) error {
		n, err = s.DeleteSelectedRecipients(ctx, ac.id(), sel)
		return err
	})
	if err != nil {
		return 0, err
	}
	if n == 0 && !sel.All {
		return 0, errNothingSelected
	}
	return n, nil
}

// ExportSelectedRecipients writes the actor's recipients that sel picks as
// CSV, like ExportRecipients, and returns how many it wrote. Errors:
// Unauthenticated; Invalid (field ids) when nothing or too much is
// selected; and w's errors.
func (a *App) ExportSelectedRecipients(ctx context.Context, ac *Actor, sel RecipientSelection, w io.Writer, o ExportOptions) (int, error) {
	if ac.anonymous() {
		return 0, errUnauthenticated
	}
	sel, err := a.cleanSelection(ctx, ac, sel)
	if err != nil {
		return 0, err
	}
	return a.exportPages(ctx, ac.id(), w, o, func(after string, limit int) ([]*simplesender.Recipient, error) {
		return a.DB.Store().SelectedRecipientsAfter(ctx, ac.id(), sel, after, limit)
	})
}
