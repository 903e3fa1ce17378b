package app

import (
	"context"
	"time"

	"simplesender"
)

// usageShown bounds how many mailings a delete page names.
const usageShown = 20

// MessageUsers returns the mailings (ID and Name) that use message id, at
// most 20, for a delete page to name: a message in use cannot be deleted.
// The actor must be able to see the message. Errors: NotFound,
// Unauthenticated.
func (a *App) MessageUsers(ctx context.Context, ac *Actor, id int64) ([]*simplesender.Mailing, error) {
	if _, err := a.GetMessage(ctx, ac, id); err != nil {
		return nil, err
	}
	return a.DB.Store().MailingsUsingMessage(ctx, id, usageShown)
}

// SoleRecipientOf returns the mailings (ID and Name) whose only recipient is
// recipient id, at most 20: deleting the recipient keeps them, with no
// recipients left (they cannot be sent until some are added). The actor must
// be able to see the recipient. Errors: NotFound, Unauthenticated.
func (a *App) SoleRecipientOf(ctx context.Context, ac *Actor, id int64) ([]*simplesender.Mailing, error) {
	if _, err := a.GetRecipient(ctx, ac, id); err != nil {
		return nil, err
	}
	return a.DB.Store().MailingsOnlyRecipient(ctx, id, usageShown)
}

// MailingFirstSent returns when mailing m, as GetMailing gave it to the
// caller, was first sent; nil when never.
func (a *App) MailingFirstSent(ctx context.Context, m *simplesender.Mailing) (*time.Time, error) {
	t, err := a.DB.Store().FirstRunStart(ctx, m.ID)
	if simplesender.IsKind(err, simplesender.KindNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &t, nil
}
