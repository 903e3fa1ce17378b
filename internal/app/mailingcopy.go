package app

import (
	"context"

	"simplesender"
	"simplesender/internal/store"
)

// maxMailingName is the longest mailing name, in characters (see
// validateMailing).
const maxMailingName = 200

// DuplicateMailing makes a new mailing of the same message to the same
// recipients as mailing id, named "Copy of <name>" in language lang, with
// nothing sent or planned (status created). A copy is made by whoever may
// change the mailing (an admin's copy of another user's mailing is recorded
// as theirs), and belongs to the mailing's owner. Errors: NotFound,
// Forbidden (managers), Conflict (disabled by a manager).
func (a *App) DuplicateMailing(ctx context.Context, ac *Actor, id int64, lang string) (*simplesender.Mailing, error) {
	m, err := a.mailingForChange(ctx, ac, id)
	if err != nil {
		return nil, err
	}
	if m.Disabled() {
		return nil, simplesender.ErrMailingDisabled
	}
	l := a.Bundle.For(lang)
	base := m.Name
	if base == "" {
		base = l.T("mailings.untitled", "ID", m.ID)
	}
	name := []rune(l.T("mailing.copy_name", "Name", base))
	if len(name) > maxMailingName {
		name = append(name[:maxMailingName-1], '…')
	}
	cp := &simplesender.Mailing{OwnerID: m.OwnerID, Name: string(name), MessageID: m.MessageID}
	err = a.DB.InTx(ctx, func(s *store.Store) error {
		ids, err := s.MailingRecipientIDs(ctx, id)
		if err != nil {
			return err
		}
		if err := s.CreateMailing(ctx, cp, ids); err != nil {
			return err
		}
		rules, err := s.MailingAudience(ctx, id) // the lists and tags too
		if err != nil {
			return err
		}
		if err := s.SetMailingAudience(ctx, cp.ID, rules); err != nil {
			return err
		}
		return recordOnBehalf(ctx, s, ac, m.OwnerID, targetMailing, cp.ID, "duplicate")
	})
	if err != nil {
		return nil, err
	}
	return a.GetMailing(ctx, ac, cp.ID)
}
