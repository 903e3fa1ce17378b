package app

import (
	"context"
	"errors"
	"strconv"

	"simplesender"
	"simplesender/internal/store"
)

const targetList = "list"

// errListExists answers a list name the owner already uses.
var errListExists = simplesender.Invalid(map[string]string{"name": "error.list.exists"})

// ListLists returns a page of lists with their member counts: the actor's
// own, or for managers and admins everyone's (owner narrows it to one
// user). Errors: Unauthenticated.
func (a *App) ListLists(ctx context.Context, ac *Actor, owner int64, f store.ListFilter) ([]*simplesender.List, int, error) {
	return listFor(ctx, ac, owner, f, a.DB.Store().Lists)
}

// GetList returns a list the actor may see, with its member count. Errors:
// Unauthenticated, NotFound (also another user's list, for a regular user).
func (a *App) GetList(ctx context.Context, ac *Actor, id int64) (*simplesender.List, error) {
	return getFor(ctx, ac, id, a.DB.Store().ListByID)
}

// CreateList makes a list named name for the actor. Errors: Invalid (field
// name: empty, too long, or a name the actor already has), Forbidden
// (managers).
func (a *App) CreateList(ctx context.Context, ac *Actor, name string) (*simplesender.List, error) {
	if err := authorize(ac, ActCreate, ac.id()); err != nil {
		return nil, err
	}
	name, err := simplesender.NormalizeListName(name)
	if err != nil {
		return nil, err
	}
	l := &simplesender.List{OwnerID: ac.id(), Name: name}
	if err := a.DB.Store().CreateList(ctx, l); err != nil {
		if simplesender.IsKind(err, simplesender.KindConflict) {
			return nil, errListExists
		}
		return nil, err
	}
	return l, nil
}

// RenameList renames a list: the actor's, or for admins anyone's
// (recorded). Errors: as CreateList, and NotFound.
func (a *App) RenameList(ctx context.Context, ac *Actor, id int64, name string) (*simplesender.List, error) {
	l, err := a.listFor(ctx, ac, id, ActEdit)
	if err != nil {
		return nil, err
	}
	if l.Name, err = simplesender.NormalizeListName(name); err != nil {
		return nil, err
	}
	err = a.DB.InTx(ctx, func(s *store.Store) error {
		if err := s.RenameList(ctx, l.OwnerID, l); err != nil {
			if simplesender.IsKind(err, simplesender.KindConflict) {
				return errListExists
			}
			return err
		}
		return auditOnBehalf(ctx, s, ac, l.OwnerID, targetList, id, "update")
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// DeleteList removes a list, as RenameList; its recipients stay, and the
// mailings whose audience named it lose that rule. Errors: NotFound,
// Forbidden.
func (a *App) DeleteList(ctx context.Context, ac *Actor, id int64) error {
	l, err := a.listFor(ctx, ac, id, ActDelete)
	if err != nil {
		return err
	}
	return a.DB.InTx(ctx, func(s *store.Store) error {
		if err := s.DeleteList(ctx, l.OwnerID, id); err != nil {
			return err
		}
		return auditOnBehalf(ctx, s, ac, l.OwnerID, targetList, id, "delete")
	})
}

// listFor returns list id when the actor may do act to it.
func (a *App) listFor(ctx context.Context, ac *Actor, id int64, act Action) (*simplesender.List, error) {
	l, err := a.GetList(ctx, ac, id)
	if err != nil {
		return nil, err
	}
	return l, authorize(ac, act, l.OwnerID)
}

// ownList returns the actor's own list id for a change of its members.
// Errors: NotFound (no such list of the actor's), Forbidden (managers).
func (a *App) ownList(ctx context.Context, ac *Actor, id int64) (*simplesender.List, error) {
	if err := writable(ac, ac.id()); err != nil {
		return nil, err
	}
	l, err := a.DB.Store().ListByID(ctx, ac.id(), id)
	if simplesender.IsKind(err, simplesender.KindNotFound) {
		return nil, simplesender.Invalid(map[string]string{"list_id": "error.list.unknown"})
	}
	return l, err
}

// ListByName returns the list named name of owner (the actor when owner is
// 0), creating it when create is set and there is none: an import's list,
// also for the command line (the system actor). Errors: Invalid (field
// list), NotFound when there is none and create is not set, Forbidden.
func (a *App) ListByName(ctx context.Context, ac *Actor, owner int64, name string, create bool) (*simplesender.List, error) {
	if owner == 0 {
		owner = ac.id()
	}
	if err := authorize(ac, ActCreate, owner); err != nil {
		return nil, err
	}
	norm, err := simplesender.NormalizeListName(name)
	if err != nil {
		return nil, simplesender.Invalid(map[string]string{"list": "error.list.name"})
	}
	l, err := a.DB.Store().ListByName(ctx, owner, norm)
	if simplesender.IsKind(err, simplesender.KindNotFound) && create {
		l = &simplesender.List{OwnerID: owner, Name: norm}
		if err = a.DB.Store().CreateList(ctx, l); simplesender.IsKind(err, simplesender.KindConflict) {
			return a.DB.Store().ListByName(ctx, owner, norm) // made meanwhile by another request
		}
	}
	return l, err
}

// RecipientTags returns up to 200 of the tags the actor's recipients have,
// for choosers. Errors: Unauthenticated.
func (a *App) RecipientTags(ctx context.Context, ac *Actor) ([]string, error) {
	if ac.anonymous() {
		return nil, errUnauthenticated
	}
	return a.DB.Store().OwnerTags(ctx, ac.id(), 200)
}

// RecipientLists returns the lists recipient id is on, if the actor may see
// the recipient. Errors: Unauthenticated, NotFound.
func (a *App) RecipientLists(ctx context.Context, ac *Actor, id int64) ([]*simplesender.List, error) {
	if _, err := a.GetRecipient(ctx, ac, id); err != nil {
		return nil, err
	}
	return a.DB.Store().RecipientLists(ctx, id)
}

// BulkOp is a bulk action on recipients that keeps them: list membership
// and tags.
type BulkOp string

// The bulk operations of ApplyToSelected.
const (
	BulkAddToList      BulkOp = "add_to_list"
	BulkRemoveFromList BulkOp = "remove_from_list"
	BulkTag            BulkOp = "tag"
	BulkUntag          BulkOp = "untag"
	// BulkSuppress puts the recipients' addresses on the actor's
	// suppression list (reason manual); the recipients stay.
	BulkSuppress BulkOp = "suppress"
)

// BulkTarget is what a BulkOp applies: a list of the actor's (the list
// operations) or a tag.
type BulkTarget struct {
	ListID int64
	Tag    string
}

// bulkBatch is the number of recipients a bulk action changes per
// transaction: on SQLite, whose one writer also records the sends, a batch
// holds the write lock for milliseconds, not for the whole action.
const bulkBatch = 500

// ApplyToSelected adds the actor's recipients that sel picks to a list,
// takes them off it, tags or untags them, in batches of their own
// transactions, and returns how many changed (those already in the state
// asked for do not count), or suppresses their addresses (BulkSuppress:
// those already suppressed do not count; the audit log gets one entry).
// Errors: Unauthenticated; Forbidden (managers);
// Invalid: nothing or too much selected (field ids), an unknown operation
// (op), a list not the actor's (list_id), a bad tag (tag).
func (a *App) ApplyToSelected(ctx context.Context, ac *Actor, sel RecipientSelection, op BulkOp, to BulkTarget) (int, error) {
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
	var apply func(s *store.Store, ids []int64) (int, error)
	switch op {
	case BulkAddToList, BulkRemoveFromList:
		l, err := a.ownList(ctx, ac, to.ListID)
		if err != nil {
			return 0, err
		}
		apply = func(s *store.Store, ids []int64) (int, error) {
			if op == BulkAddToList {
				return s.AddListMembers(ctx, ac.id(), l.ID, ids)
			}
			return s.RemoveListMembers(ctx, ac.id(), l.ID, ids)
		}
	case BulkTag, BulkUntag:
		tag, ok := simplesender.NormalizeTag(to.Tag)
		if !ok {
			return 0, simplesender.Invalid(map[string]string{"tag": "error.tag.invalid"})
		}
		apply = func(s *store.Store, ids []int64) (int, error) {
			if op == BulkTag {
				return s.TagRecipients(ctx, ac.id(), tag, ids)
			}
			return s.UntagRecipients(ctx, ac.id(), tag, ids)
		}
	case BulkSuppress:
		apply = func(s *store.Store, ids []int64) (int, error) { return s.SuppressRecipients(ctx, ac.id(), ids) }
	default:
		return 0, simplesender.Invalid(map[string]string{"op": "error.bulk.op"})
	}
	total, err := a.applyInBatches(ctx, ac, sel, apply)
	if op == BulkSuppress && total > 0 {
		err = errors.Join(err, a.DB.Store().AddAudit(ctx, &simplesender.AuditEvent{ActorID: ac.id(), OwnerID: ac.id(),
			Action: "suppression.bulk", TargetType: targetSuppression, Detail: strconv.Itoa(total) + " recipients suppressed"}))
	}
	return total, err
}

// applyInBatches runs apply on the ids of the actor's recipients that sel
// picks, bulkBatch at a time, each batch in a transaction of its own, and
// returns the sum of what apply counted.
func (a *App) applyInBatches(ctx context.Context, ac *Actor, sel RecipientSelection, apply func(s *store.Store, ids []int64) (int, error)) (int, error) {
	total := 0
	var after int64
	for {
		// The batch is read first, outside the writing transaction.
		ids, err := a.DB.Store().SelectedRecipientIDsAfter(ctx, ac.id(), sel, after, bulkBatch)
		if err != nil || len(ids) == 0 {
			return total, err
		}
		err = a.DB.InTx(ctx, func(s *store.Store) error {
			n, err := apply(s, ids)
			total += n
			return err
		})
		if err != nil {
			return total, err
		}
		if len(ids) < bulkBatch {
			return total, nil
		}
		after = ids[len(ids)-1]
	}
}
