package app

import (
	"context"
	"strings"

	"simplesender"
	"simplesender/internal/mailer"
	"simplesender/internal/store"
)

// IdentityInput is what a user fills in for a sender identity.
type IdentityInput struct {
	Name    string
	Email   string
	ReplyTo string // optional
	Default bool
}

func validateIdentity(in *IdentityInput) error {
	in.Name = strings.TrimSpace(in.Name)
	f := simplesender.FieldErrors{}
	if !simplesender.PlainText(in.Name, 100) {
		f.Add("name", "error.identity.name")
	}
	email, err := mailer.ParseAddress(in.Email)
	if err != nil {
		f.Add("email", "error.email.invalid")
	}
	in.Email = email
	if strings.TrimSpace(in.ReplyTo) != "" {
		r, err := mailer.ParseAddress(in.ReplyTo)
		if err != nil {
			f.Add("reply_to", "error.identity.reply_to")
		}
		in.ReplyTo = r
	} else {
		in.ReplyTo = ""
	}
	return f.Err()
}

// everyoneFor returns the owner whose objects a list shows the actor: 0
// (everyone) for managers and admins, the actor otherwise. Errors:
// Unauthenticated.
func everyoneFor(ac *Actor) (int64, error) {
	if err := authorize(ac, ActView, ac.id()); err != nil {
		return 0, err
	}
	switch {
	case ac.isSystem():
		return 0, nil
	case ac.role() == simplesender.RoleAdmin, ac.role() == simplesender.RoleManager:
		return 0, nil
	}
	return ac.id(), nil
}

// ListIdentities returns the actor's sender identities, or for managers and
// admins everyone's. Errors: Unauthenticated.
func (a *App) ListIdentities(ctx context.Context, ac *Actor) ([]*simplesender.Identity, error) {
	owner, err := everyoneFor(ac)
	if err != nil {
		return nil, err
	}
	return a.DB.Store().ListIdentities(ctx, owner)
}

// OwnIdentities returns the identities of the user owner that the actor
// may see (for choosing one for owner's mailing). Errors: NotFound.
func (a *App) OwnIdentities(ctx context.Context, ac *Actor, owner int64) ([]*simplesender.Identity, error) {
	if err := authorize(ac, ActView, owner); err != nil {
		return nil, err
	}
	return a.DB.Store().ListIdentities(ctx, owner)
}

// GetIdentity returns identity id when the actor may see it. Errors:
// NotFound (also another user's, for a regular user).
func (a *App) GetIdentity(ctx context.Context, ac *Actor, id int64) (*simplesender.Identity, error) {
	i, err := a.DB.Store().IdentityByID(ctx, 0, id)
	if err != nil {
		return nil, err
	}
	if err := authorize(ac, ActView, i.OwnerID); err != nil {
		return nil, err
	}
	return i, nil
}

// CreateIdentity adds a sender identity of the actor. Their first one is
// the default. Errors: Invalid (name, email, reply_to), Forbidden
// (managers), Unauthenticated.
func (a *App) CreateIdentity(ctx context.Context, ac *Actor, in IdentityInput) (*simplesender.Identity, error) {
	if err := authorize(ac, ActCreate, ac.id()); err != nil {
		return nil, err
	}
	if err := validateIdentity(&in); err != nil {
		return nil, err
	}
	i := &simplesender.Identity{OwnerID: ac.id(), Name: in.Name, Email: in.Email, ReplyTo: in.ReplyTo, Default: in.Default}
	if err := a.DB.InTx(ctx, func(s *store.Store) error { return s.CreateIdentity(ctx, i) }); err != nil {
		return nil, err
	}
	return a.GetIdentity(ctx, ac, i.ID)
}

// UpdateIdentity changes identity id (the actor's; admins anyone's, which is
// recorded). Running sends keep the sender they started with. Errors:
// Invalid, NotFound, Forbidden.
func (a *App) UpdateIdentity(ctx context.Context, ac *Actor, id int64, in IdentityInput) (*simplesender.Identity, error) {
	i, err := a.identityFor(ctx, ac, id)
	if err != nil {
		return nil, err
	}
	if err := validateIdentity(&in); err != nil {
		return nil, err
	}
	i.Name, i.Email, i.ReplyTo, i.Default = in.Name, in.Email, in.ReplyTo, in.Default || i.Default
	err = a.DB.InTx(ctx, func(s *store.Store) error {
		if err := s.UpdateIdentity(ctx, i.OwnerID, i); err != nil {
			return err
		}
		return auditOnBehalf(ctx, s, ac, i.OwnerID, "identity", id, "update")
	})
	if err != nil {
		return nil, err
	}
	return a.GetIdentity(ctx, ac, id)
}

// DeleteIdentity deletes identity id; its mailings send with the owner's
// default. Errors: NotFound, Forbidden.
func (a *App) DeleteIdentity(ctx context.Context, ac *Actor, id int64) error {
	i, err := a.identityFor(ctx, ac, id)
	if err != nil {
		return err
	}
	return a.DB.InTx(ctx, func(s *store.Store) error {
		if err := s.DeleteIdentity(ctx, i.OwnerID, id); err != nil {
			return err
		}
		return auditOnBehalf(ctx, s, ac, i.OwnerID, "identity", id, "delete")
	})
}

func (a *App) identityFor(ctx context.Context, ac *Actor, id int64) (*simplesender.Identity, error) {
	i, err := a.GetIdentity(ctx, ac, id)
	if err != nil {
		return nil, err
	}
	return i, writable(ac, i.OwnerID)
}

// MailingIdentity returns the identity mailing m (as GetMailing gave it)
// sends with, nil for the service's address, and whether it may be used
// for a mailing now (see IdentityUsable).
func (a *App) MailingIdentity(ctx context.Context, m *simplesender.Mailing) (*simplesender.Identity, bool, error) {
	i, err := a.DB.Store().MailingIdentity(ctx, m.ID)
	if err != nil || i == nil {
		return nil, true, err
	}
	ok, err := a.IdentityUsable(ctx, i.OwnerID, i.Email)
	return i, ok, err
}

// MailingIdentityID returns the identity mailing m names (0: the owner's
// default).
func (a *App) MailingIdentityID(ctx context.Context, m *simplesender.Mailing) (int64, error) {
	return a.DB.Store().MailingIdentityID(ctx, m.ID)
}

// IdentityUsable reports whether owner may send mailings from address
// email: its domain is not forbidden by an admin, and it is the service's
// own, allowed for everyone (by configuration or an admin), or verified by
// owner.
func (a *App) IdentityUsable(ctx context.Context, owner int64, email string) (bool, error) {
	domain := simplesender.DomainOf(email)
	st := a.DB.Store()
	allowed, found, err := st.DomainRule(ctx, domain)
	switch {
	case err != nil:
		return false, err
	case found:
		if !allowed {
			return false, nil
		}
		return true, nil
	case domain == simplesender.DomainOf(a.MailFrom.Email):
		return true, nil
	}
	for _, d := range a.AllowedFromDomains {
		if strings.EqualFold(d, domain) {
			return true, nil
		}
	}
	return st.DomainVerified(ctx, owner, domain)
}

// ErrIdentityUnverified refuses a mailing start (and a test to others than
// the sender) from an address whose domain is neither verified nor allowed.
var ErrIdentityUnverified = simplesender.E(simplesender.KindConflict, "error.identity.unverified")

// checkMailingSender refuses a start of mailing id whose sender may not be
// used yet.
func (a *App) checkMailingSender(ctx context.Context, m *simplesender.Mailing) error {
	_, ok, err := a.MailingIdentity(ctx, m)
	if err == nil && !ok {
		return ErrIdentityUnverified
	}
	return err
}

// validateMailingIdentity checks that identity (0: the default) is owner's.
func validateMailingIdentity(ctx context.Context, s *store.Store, owner, identity int64) error {
	if identity == 0 {
		return nil
	}
	if _, err := s.IdentityByID(ctx, owner, identity); err != nil {
		if simplesender.IsKind(err, simplesender.KindNotFound) {
			return simplesender.Invalid(map[string]string{"identity_id": "error.identity.unknown"})
		}
		return err
	}
	return nil
}

// testSender returns the From and Reply-To of a test of mailing m and its
// DKIM signing, and refuses addresses other than the actor's own when the
// sender may not be used for mailings yet. Errors: Conflict
// (ErrIdentityUnverified, with field to).
func (a *App) testSender(ctx context.Context, ac *Actor, m *simplesender.Mailing, to []string, mail *mailer.Message) error {
	i, ok, err := a.MailingIdentity(ctx, m)
	if err != nil || i == nil {
		return err
	}
	if !ok {
		for _, addr := range to {
			if ac.User == nil || !strings.EqualFold(addr, ac.User.Email) {
				return &simplesender.Error{Kind: simplesender.KindConflict, Message: "error.identity.unverified",
					Fields: map[string]string{"to": "error.identity.test_only_me"}}
			}
		}
	}
	mail.From = mailer.Address{Name: i.Name, Email: i.Email}
	if i.ReplyTo != "" {
		mail.ReplyTo = &mailer.Address{Email: i.ReplyTo}
	}
	if a.Keys != nil {
		owner, domain := i.OwnerID, i.Domain()
		mail.Sign = func(msg []byte) ([]byte, error) { return a.Keys.Sign(ctx, owner, domain, msg) }
	}
	return nil
}

// auditOnBehalf writes to the audit log what an admin did to another
// user's object of type target that has no admin mark (an identity, a
// domain, a list).
func auditOnBehalf(ctx context.Context, s *store.Store, ac *Actor, owner int64, target string, id int64, action string) error {
	if !ac.onBehalf(owner) {
		return nil
	}
	return s.AddAudit(ctx, &simplesender.AuditEvent{ActorID: ac.id(), OwnerID: owner, Action: target + "." + action,
		TargetType: target, TargetID: id})
}
