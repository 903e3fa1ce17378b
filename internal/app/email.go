package app

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"simplesender"
	"simplesender/internal/auth"
	"simplesender/internal/jobs"
	"simplesender/internal/mailer"
	"simplesender/internal/store"
)

// SendAccountEmail renders and sends one account e-mail; the job queue calls
// it and retries on error. For confirmation and reset e-mails it makes a new
// single-use token, so the raw token exists only in the e-mail. An e-mail
// that no longer makes sense (the account was confirmed or blocked in the
// meantime, or the address named by the job has no account) is skipped.
//
// The account's name, free text typed at registration, appears (greeting
// and To header) only once the address is confirmed: otherwise anybody could
// have typed it, and the form would mail their text to any address.
func (a *App) SendAccountEmail(ctx context.Context, args jobs.AccountEmailArgs) error {
	u, err := a.accountOf(ctx, args)
	if simplesender.IsKind(err, simplesender.KindNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	l := a.Bundle.For(pick(u.Lang, args.Lang))
	var subject, body string
	switch args.Type {
	case jobs.AccountEmailConfirm:
		if u.Status() != simplesender.StatusPending {
			return nil
		}
		link, err := a.oneTimeLink(ctx, u, "confirm", "/confirm", ConfirmTokenTTL)
		if err != nil {
			return err
		}
		subject = l.T("email.confirm.subject")
		body = l.T("email.confirm.body", "Link", link, "Hours", "48")
	case jobs.AccountEmailReset:
		if u.Status() == simplesender.StatusBlocked {
			return nil
		}
		link, err := a.oneTimeLink(ctx, u, "reset", "/password/reset", ResetTokenTTL)
		if err != nil {
			return err
		}
		subject = l.T("email.reset.subject")
		body = l.T("email.reset.body", "Link", link)
	case jobs.AccountEmailExists:
		subject = l.T("email.exists.subject")
		body = l.T("email.exists.body", "LoginLink", a.link("/login", nil), "ResetLink", a.link("/password/forgot", nil))
	default:
		return fmt.Errorf("unknown account e-mail type %q", args.Type)
	}
	to := mailer.Address{Email: u.Email}
	greeting := l.T("email.hello")
	if u.ConfirmedAt != nil {
		to.Name = u.Name
		greeting = l.T("email.hello_name", "Name", u.Name)
	}
	m := &mailer.Message{From: a.MailFrom, To: to, Subject: subject, Text: greeting + "\n\n" + body}
	// One label for every account e-mail: a count per type would tell
	// whoever reads the metrics which requests found an account.
	if _, err := a.Transport.Send(ctx, m); err != nil {
		if a.Metrics != nil {
			a.Metrics.EmailFailed("account")
		}
		return fmt.Errorf("send %s e-mail to user %d: %w", args.Type, u.ID, err)
	}
	if a.Metrics != nil {
		a.Metrics.EmailSent("account")
	}
	return nil
}

// accountOf returns the account a job names, by id or by address. Errors:
// NotFound.
func (a *App) accountOf(ctx context.Context, args jobs.AccountEmailArgs) (*simplesender.User, error) {
	if args.UserID != 0 {
		return a.DB.Store().UserByID(ctx, args.UserID)
	}
	if args.Email == "" {
		return nil, simplesender.E(simplesender.KindNotFound, "error.not_found")
	}
	return a.DB.Store().UserByEmail(ctx, args.Email)
}

func (a *App) oneTimeLink(ctx context.Context, u *simplesender.User, purpose, path string, ttl time.Duration) (string, error) {
	raw := auth.NewToken("")
	t := &store.OneTimeToken{UserID: u.ID, Purpose: purpose, Hash: auth.HashToken(raw), ExpiresAt: a.Now().Add(ttl)}
	if err := a.DB.Store().CreateOneTimeToken(ctx, t); err != nil {
		return "", err
	}
	return a.link(path, url.Values{"token": {raw}}), nil
}

// link returns an absolute URL under the base URL.
func (a *App) link(path string, q url.Values) string {
	u := *a.BaseURL
	u.Path = u.Path + path
	u.RawQuery = q.Encode()
	return u.String()
}
