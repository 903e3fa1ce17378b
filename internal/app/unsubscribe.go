package app

import (
	"context"
	"time"

	"simplesender"
	"simplesender/internal/ratelimit"
	"simplesender/internal/store"
	"simplesender/internal/unsubscribe"
)

// Throttling of the unsubscribe page, which anyone may reach without an
// account. Mailbox providers post one-click unsubscribes from a few
// addresses of theirs, so the rule on all requests is generous; tokens
// that do not open are counted on their own, tightly (refunded when the
// token opens), which stops anyone guessing.
var (
	ruleUnsubscribeIP  = ratelimit.Rule{Name: "unsubscribe-ip", Limit: 1200, Window: time.Minute}
	ruleUnsubscribeBad = ratelimit.Rule{Name: "unsubscribe-bad", Limit: 20, Window: 10 * time.Minute}
)

// errBadUnsubscribe answers a token that is not one of ours.
var errBadUnsubscribe = simplesender.E(simplesender.KindNotFound, "error.unsubscribe.bad_link")

// UnsubscribeState is what the page of an unsubscribe link shows.
type UnsubscribeState struct {
	// Lang is the recipient's language, as their message shows it.
	Lang string
	// Test: the link of a test message, which changes nothing.
	Test bool
	// Email is the address the message went to ("" for a test).
	Email string
	// Unsubscribed: the sender no longer mails the address because its
	// recipient unsubscribed by this mailing's link; Resubscribe undoes it.
	Unsubscribed bool
	// Suppressed: the sender does not mail the address for another reason
	// (a bounce, a complaint, added by hand, service-wide): nothing the
	// recipient can undo here.
	Suppressed bool
}

// unsubscribeTarget opens token for a visitor from ip, throttled. Errors:
// NotFound ("error.unsubscribe.bad_link") for a token that is not ours or
// whose delivery is gone, RateLimited.
func (a *App) unsubscribeTarget(ctx context.Context, token, ip string) (unsubscribe.Target, *UnsubscribeState, error) {
	if err := a.countAttempt(ctx, nil, ruleUnsubscribeIP, "unsubscribe:"+ip); err != nil {
		return unsubscribe.Target{}, nil, err
	}
	var done []counted
	if err := a.countAttempt(ctx, &done, ruleUnsubscribeBad, "unsubscribe-bad:"+ip); err != nil {
		return unsubscribe.Target{}, nil, err
	}
	t, err := a.Links.Keys.Open(token)
	if err != nil {
		return t, nil, errBadUnsubscribe
	}
	a.refundAttempts(ctx, done)
	return t, &UnsubscribeState{Lang: t.Lang, Test: t.Test}, nil
}

// UnsubscribeLang returns the recipient's language that token carries,
// "" when it is not one of ours; it neither throttles nor reads the
// database.
func (a *App) UnsubscribeLang(token string) string {
	t, err := a.Links.Keys.Open(token)
	if err != nil {
		return ""
	}
	return t.Lang
}

// UnsubscribeStatus returns what the page of token shows, changing
// nothing (link scanners fetch pages). ip is the visitor's address, for
// throttling. Errors: NotFound ("error.unsubscribe.bad_link"), RateLimited.
func (a *App) UnsubscribeStatus(ctx context.Context, token, ip string) (*UnsubscribeState, error) {
	t, st, err := a.unsubscribeTarget(ctx, token, ip)
	if err != nil || t.Test {
		return st, err
	}
	d, err := a.DB.Store().DeliveryTargetByID(ctx, t.ID)
	if err != nil {
		return nil, notFoundAs(err, errBadUnsubscribe)
	}
	return st, a.readSuppression(ctx, d, st)
}

// readSuppression fills st from the owner's suppression of d's address.
func (a *App) readSuppression(ctx context.Context, d *store.DeliveryTarget, st *UnsubscribeState) error {
	st.Email = d.Email
	x, err := a.DB.Store().IsSuppressed(ctx, d.OwnerID, d.Email)
	if err != nil || x == nil {
		return err
	}
	if resubscribable(x, d) {
		st.Unsubscribed = true
	} else {
		st.Suppressed = true
	}
	return nil
}

// resubscribable reports whether the recipient may lift suppression x by a
// link of delivery d: x is the owner's own, an unsubscribe made by a link
// (nobody's hand) of d's mailing.
func resubscribable(x *simplesender.Suppression, d *store.DeliveryTarget) bool {
	return x.OwnerID == d.OwnerID && x.Reason == simplesender.ReasonUnsubscribed && x.CreatedBy == 0 &&
		x.MailingID == d.MailingID
}

// Unsubscribe records at once that the recipient of token's message wants
// no more mail from its sender: the address goes on the owner's
// suppression list with the reason "unsubscribed" and the mailing it came
// from, and the next delivery claimed to it, in any of the owner's
// mailings, ends as suppressed. It is idempotent: a second call keeps the
// first record. A test message's token changes nothing. ip is the
// visitor's address, for throttling. Errors: NotFound
// ("error.unsubscribe.bad_link"), RateLimited.
func (a *App) Unsubscribe(ctx context.Context, token, ip string) (*UnsubscribeState, error) {
	t, st, err := a.unsubscribeTarget(ctx, token, ip)
	if err != nil || t.Test {
		return st, err
	}
	s := a.DB.Store()
	d, err := s.DeliveryTargetByID(ctx, t.ID)
	if err != nil {
		return nil, notFoundAs(err, errBadUnsubscribe)
	}
	var x *simplesender.Suppression
	var created bool
	// The event for the owner's webhooks is recorded with the suppression,
	// or neither is.
	err = a.DB.InTx(ctx, func(s *store.Store) error {
		var err error
		x, created, err = s.Suppress(ctx, d.OwnerID, d.Email, simplesender.ReasonUnsubscribed, d.MailingID, 0, "unsubscribe link")
		if err != nil || !created {
			return err
		}
		return a.recordUnsubscribeEvent(ctx, s, d, x)
	})
	if err != nil {
		return nil, err
	}
	if created {
		a.Logger.Info("recipient unsubscribed", "owner", d.OwnerID, "mailing", d.MailingID, "suppression", x.ID)
	}
	return st, a.readSuppression(ctx, d, st)
}

// Resubscribe undoes the unsubscribe that token's link made: it removes
// the owner's suppression of the address when it is an unsubscribe by a
// link of the same mailing, and never one for a bounce, a complaint, one
// added by hand or a service-wide one. Having nothing to undo is not an
// error. A test message's token changes nothing. Errors: NotFound
// ("error.unsubscribe.bad_link"), RateLimited.
func (a *App) Resubscribe(ctx context.Context, token, ip string) (*UnsubscribeState, error) {
	t, st, err := a.unsubscribeTarget(ctx, token, ip)
	if err != nil || t.Test {
		return st, err
	}
	s := a.DB.Store()
	d, err := s.DeliveryTargetByID(ctx, t.ID)
	if err != nil {
		return nil, notFoundAs(err, errBadUnsubscribe)
	}
	x, err := s.IsSuppressed(ctx, d.OwnerID, d.Email)
	if err != nil {
		return nil, err
	}
	if x != nil && resubscribable(x, d) {
		if err := s.DeleteSuppression(ctx, x.ID); err != nil && !simplesender.IsKind(err, simplesender.KindNotFound) {
			return nil, err
		}
		a.Logger.Info("recipient resubscribed", "owner", d.OwnerID, "mailing", d.MailingID, "suppression", x.ID)
	}
	return st, a.readSuppression(ctx, d, st)
}

// notFoundAs returns e for a NotFound err, err otherwise.
func notFoundAs(err error, e error) error {
	if simplesender.IsKind(err, simplesender.KindNotFound) {
		return e
	}
	return err
}
