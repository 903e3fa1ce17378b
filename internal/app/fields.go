package app

import (
	"context"
	"maps"
	"slices"

	"simplesender"
	"simplesender/internal/store"
)

const targetField = "field"

// ListFields returns custom fields in their order: the actor's own, or for
// managers and admins everyone's (owner narrows it to one user). Errors:
// Unauthenticated.
func (a *App) ListFields(ctx context.Context, ac *Actor, owner int64) ([]*simplesender.Field, error) {
	if ac.anonymous() {
		return nil, errUnauthenticated
	}
	scope := readScope(ac)
	if scope == 0 {
		scope = owner
	}
	return a.DB.Store().Fields(ctx, scope)
}

// GetField returns a field the actor may see. Errors: Unauthenticated,
// NotFound (also another user's field, for a regular user).
func (a *App) GetField(ctx context.Context, ac *Actor, id int64) (*simplesender.Field, error) {
	return getFor(ctx, ac, id, a.DB.Store().FieldByID)
}

// CreateField defines a custom field for the actor. Errors: Invalid (fields
// key: malformed, built-in, taken, or the limit of simplesender.MaxFields
// reached; name; type), Forbidden (managers).
func (a *App) CreateField(ctx context.Context, ac *Actor, f *simplesender.Field) error {
	if err := authorize(ac, ActCreate, ac.id()); err != nil {
		return err
	}
	if err := simplesender.NormalizeField(f); err != nil {
		return err
	}
	f.OwnerID = ac.id()
	return a.DB.InTx(ctx, func(s *store.Store) error {
		n, err := s.CountFields(ctx, f.OwnerID)
		if err != nil {
			return err
		}
		if n >= simplesender.MaxFields {
			e := simplesender.Invalid(map[string]string{"key": "error.field.limit"})
			e.FieldArgs = map[string][]any{"key": {"Max", simplesender.MaxFields}}
			return e
		}
		if err := s.CreateField(ctx, f); simplesender.IsKind(err, simplesender.KindConflict) {
			return simplesender.Invalid(map[string]string{"key": "error.field.exists"})
		} else if err != nil {
			return err
		}
		return nil
	})
}

// RenameField sets the name of a field: the actor's, or for admins
// anyone's (recorded). Its key and type cannot change. Errors: Invalid
// (name), NotFound, Forbidden.
func (a *App) RenameField(ctx context.Context, ac *Actor, id int64, name string) (*simplesender.Field, error) {
	f, err := a.fieldFor(ctx, ac, id, ActEdit)
	if err != nil {
		return nil, err
	}
	f.Name = name
	if err := simplesender.NormalizeField(f); err != nil {
		return nil, err
	}
	err = a.DB.InTx(ctx, func(s *store.Store) error {
		if err := s.RenameField(ctx, f.OwnerID, f); err != nil {
			return err
		}
		return auditOnBehalf(ctx, s, ac, f.OwnerID, targetField, id, "update")
	})
	return f, err
}

// DeleteField removes a field, as RenameField, with every recipient's value
// of it; messages that name it render its default. Errors: NotFound,
// Forbidden.
func (a *App) DeleteField(ctx context.Context, ac *Actor, id int64) error {
	f, err := a.fieldFor(ctx, ac, id, ActDelete)
	if err != nil {
		return err
	}
	return a.DB.InTx(ctx, func(s *store.Store) error {
		if err := s.DeleteField(ctx, f.OwnerID, id); err != nil {
			return err
		}
		return auditOnBehalf(ctx, s, ac, f.OwnerID, targetField, id, "delete")
	})
}

// fieldFor returns field id when the actor may do act to it.
func (a *App) fieldFor(ctx context.Context, ac *Actor, id int64, act Action) (*simplesender.Field, error) {
	f, err := a.GetField(ctx, ac, id)
	if err != nil {
		return nil, err
	}
	return f, authorize(ac, act, f.OwnerID)
}

// fieldValues checks the values vals (key to value as written) against
// owner's fields and returns what to write: the values to set, in their
// stored form, and the fields whose value to remove (an empty value).
// vals is rewritten to the stored forms. Problems are added to fe under
// "fields.KEY": error.field.unknown, or the type's key (see
// simplesender.CanonicalValue).
func fieldValues(fields []*simplesender.Field, vals map[string]string, fe simplesender.FieldErrors) (set []simplesender.FieldValue, remove []int64) {
	byKey := make(map[string]*simplesender.Field, len(fields))
	for _, f := range fields {
		byKey[f.Key] = f
	}
	for _, k := range slices.Sorted(maps.Keys(vals)) {
		f, ok := byKey[k]
		if !ok {
			fe.Add("fields."+k, "error.field.unknown")
			continue
		}
		v, num, hasNum, bad := simplesender.CanonicalValue(f.Type, vals[k])
		switch {
		case bad != "":
			fe.Add("fields."+k, bad)
		case v == "":
			remove = append(remove, f.ID)
			delete(vals, k)
		default:
			set = append(set, simplesender.FieldValue{FieldID: f.ID, Value: v, Num: num, HasNum: hasNum})
			vals[k] = v
		}
	}
	return set, remove
}

// checkRecipient validates r as validateRecipient does and, when r.Fields
// is set, its values against owner's fields; the errors of both come
// together.
func (a *App) checkRecipient(ctx context.Context, owner int64, r *simplesender.Recipient) (set []simplesender.FieldValue, remove []int64, err error) {
	fe := simplesender.FieldErrors{}
	if err := validateRecipient(r); err != nil {
		e := simplesender.AsError(err)
		if e.Kind != simplesender.KindInvalid {
			return nil, nil, err
		}
		maps.Copy(fe, e.Fields)
	}
	if r.Fields != nil {
		fields, err := a.DB.Store().Fields(ctx, owner)
		if err != nil {
			return nil, nil, err
		}
		set, remove = fieldValues(fields, r.Fields, fe)
	}
	return set, remove, fe.Err()
}

// loadValues fills in the custom field values of rs.
func (a *App) loadValues(ctx context.Context, rs []*simplesender.Recipient) error {
	return a.DB.Store().LoadValues(ctx, rs)
}

// fieldKeys returns a test for the keys of owner's fields, for messages'
// placeholders.
func (a *App) fieldKeys(ctx context.Context, owner int64) (func(string) bool, error) {
	fields, err := a.DB.Store().Fields(ctx, owner)
	if err != nil {
		return nil, err
	}
	keys := make(map[string]bool, len(fields))
	for _, f := range fields {
		keys[f.Key] = true
	}
	return func(k string) bool { return keys[k] }, nil
}
