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
