package app

import (
	"context"
	"slices"

	"simplesender"
)

// SMTPSettings returns how the service sends e-mail: each SMTP server with
// its limits and state (never a password), or the outbox folder when there
// is none, how many messages the engine sends at once, and the retry
// schedule. For admins only. Errors: Forbidden.
func (a *App) SMTPSettings(ctx context.Context, ac *Actor) (*simplesender.SMTPSettings, error) {
	if ac.role() != simplesender.RoleAdmin {
		return nil, errForbidden
	}
	if a.SMTP == nil {
		return &simplesender.SMTPSettings{}, nil
	}
	s := a.SMTP()
	s.Retry = slices.Clone(s.Retry)
	return &s, nil
}

// OutboxMode reports whether e-mails are written to the outbox folder because
// no SMTP server is configured. Anyone may ask: pages for new users say where
// their e-mail went only when it went to the folder.
func (a *App) OutboxMode() bool {
	return a.SMTP != nil && a.SMTP().OutboxDir != ""
}
