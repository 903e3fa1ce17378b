package app

import (
	"context"
	"strconv"

	"simplesender"
	"simplesender/internal/store"
)

const targetSegment = "segment"

// errSegmentExists answers a segment name the owner already uses.
var errSegmentExists = simplesender.Invalid(map[string]string{"name": "error.segment.exists"})

// ListSegments returns a page of segments by name: the actor's own, or for
// managers and admins everyone's (owner narrows it to one user). Errors:
// Unauthenticated.
func (a *App) ListSegments(ctx context.Context, ac *Actor, owner int64, f store.ListFilter) ([]*simplesender.Segment, int, error) {
	return listFor(ctx, ac, owner, f, a.DB.Store().Segments)
}

// GetSegment returns a segment the actor may see. Errors: Unauthenticated,
// NotFound (also another user's segment, for a regular user).
func (a *App) GetSegment(ctx context.Context, ac *Actor, id int64) (*simplesender.Segment, error) {
	return getFor(ctx, ac, id, a.DB.Store().SegmentByID)
}

// CheckSegment checks d for owner: its form (see
// simplesender.SegmentDefinition.Check) and that every list and mailing it
// names is owner's. Errors: Invalid (fields "definition", "conditions.N").
func (a *App) CheckSegment(ctx context.Context, owner int64, d *simplesender.SegmentDefinition) error {
	if err := d.Check(); err != nil {
		return err
	}
	s := a.DB.Store()
	f := simplesender.FieldErrors{}
	args := map[string][]any{}
	for i, c := range d.Conditions {
		field := "conditions." + strconv.Itoa(i+1)
		var err error
		key := ""
		switch {
		case c.Field == simplesender.SegmentFieldList:
			_, err = s.ListByID(ctx, owner, c.ListID())
			key = "error.segment.list"
		case c.Field == simplesender.SegmentFieldHistory && c.Mailing != 0:
			_, err = s.MailingByID(ctx, owner, c.Mailing)
			key = "error.segment.mailing"
		}
		if simplesender.IsKind(err, simplesender.KindNotFound) {
			f.Add(field, key)
			args[field] = []any{"Row", i + 1}
		} else if err != nil {
			return err
		}
	}
	if err := f.Err(); err != nil {
		e := simplesender.AsError(err)
		e.FieldArgs = args
		return e
	}
	return nil
}

// CountSegmentDefinition returns how many of the actor's own recipients d
// (perhaps not saved yet) matches now: the live count of the editor.
// Errors: Unauthenticated, Invalid as CheckSegment.
func (a *App) CountSegmentDefinition(ctx context.Context, ac *Actor, d simplesender.SegmentDefinition) (int, error) {
	if ac.anonymous() {
		return 0, errUnauthenticated
	}
	if err := a.CheckSegment(ctx, ac.id(), &d); err != nil {
		return 0, err
	}
	return a.DB.Store().CountSegment(ctx, ac.id(), d)
}

// CountSegment returns how many of its owner's recipients segment g, as
// GetSegment gave it to the caller, matches now.
func (a *App) CountSegment(ctx context.Context, g *simplesender.Segment) (int, error) {
	return a.DB.Store().CountSegment(ctx, g.OwnerID, g.Definition)
}

// CreateSegment saves a segment named name with definition d for the
// actor. Errors: Invalid (name: empty, too long or taken; the definition
// as CheckSegment), Forbidden (managers).
func (a *App) CreateSegment(ctx context.Context, ac *Actor, name string, d simplesender.SegmentDefinition) (*simplesender.Segment, error) {
	if err := authorize(ac, ActCreate, ac.id()); err != nil {
		return nil, err
	}
	g := &simplesender.Segment{OwnerID: ac.id(), Definition: d}
	if err := a.checkSegmentInput(ctx, g, name); err != nil {
		return nil, err
	}
	if err := a.DB.Store().CreateSegment(ctx, g); err != nil {
		if simplesender.IsKind(err, simplesender.KindConflict) {
			return nil, errSegmentExists
		}
		return nil, err
	}
	return g, nil
}

// UpdateSegment replaces the name and definition of a segment: the
// actor's, or for admins anyone's (recorded). Mailings that name it use
// the new definition from their next run. Errors: as CreateSegment, and
// NotFound.
func (a *App) UpdateSegment(ctx context.Context, ac *Actor, id int64, name string, d simplesender.SegmentDefinition) (*simplesender.Segment, error) {
	g, err := a.segmentFor(ctx, ac, id, ActEdit)
	if err != nil {
		return nil, err
	}
	g.Definition = d
	if err := a.checkSegmentInput(ctx, g, name); err != nil {
		return nil, err
	}
	err = a.DB.InTx(ctx, func(s *store.Store) error {
		if err := s.UpdateSegment(ctx, g.OwnerID, g); err != nil {
			if simplesender.IsKind(err, simplesender.KindConflict) {
				return errSegmentExists
			}
			return err
		}
		return auditOnBehalf(ctx, s, ac, g.OwnerID, targetSegment, id, "update")
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// checkSegmentInput sets g's name and checks it with g's definition,
// reporting the errors of both at once.
func (a *App) checkSegmentInput(ctx context.Context, g *simplesender.Segment, name string) error {
	var nameErr error
	g.Name, nameErr = simplesender.NormalizeSegmentName(name)
	err := a.CheckSegment(ctx, g.OwnerID, &g.Definition)
	if nameErr == nil {
		return err
	}
	if err == nil {
		return nameErr
	}
	e := simplesender.AsError(err)
	if e.Kind != simplesender.KindInvalid {
		return err
	}
	e.Fields["name"] = "error.segment.name"
	return e
}

// DeleteSegment removes a segment, as UpdateSegment; recipients stay, and
// the mailings whose audience named it lose that rule. Errors: NotFound,
// Forbidden.
func (a *App) DeleteSegment(ctx context.Context, ac *Actor, id int64) error {
	g, err := a.segmentFor(ctx, ac, id, ActDelete)
	if err != nil {
		return err
	}
	return a.DB.InTx(ctx, func(s *store.Store) error {
		if err := s.DeleteSegment(ctx, g.OwnerID, id); err != nil {
			return err
		}
		return auditOnBehalf(ctx, s, ac, g.OwnerID, targetSegment, id, "delete")
	})
}

// segmentFor returns segment id when the actor may do act to it.
func (a *App) segmentFor(ctx context.Context, ac *Actor, id int64, act Action) (*simplesender.Segment, error) {
	g, err := a.GetSegment(ctx, ac, id)
	if err != nil {
		return nil, err
	}
	return g, authorize(ac, act, g.OwnerID)
}

// segmentOf returns the definition of owner's segment id for a filter or
// an audience. Errors: Invalid (field) when owner has no such segment.
func (a *App) segmentOf(ctx context.Context, s *store.Store, owner, id int64, field string) (*simplesender.Segment, error) {
	g, err := s.SegmentByID(ctx, owner, id)
	if simplesender.IsKind(err, simplesender.KindNotFound) {
		return nil, simplesender.Invalid(map[string]string{field: "error.segment.unknown"})
	}
	return g, err
}
