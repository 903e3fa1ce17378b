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
// meantime) is skipped.
func (a *App) SendAccountEmail(ctx context.Context, args jobs.AccountEmailArgs) error {
	u, err := a.DB.Store().UserByID(ctx, args.UserID)
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
		body = l.T("email.confirm.body", "Name", u.Name, "Link", link, "Hours", "48")
	case jobs.AccountEmailReset:
		if u.Status() == simplesender.StatusBlocked {
			return nil
		}
		link, err := a.oneTimeLink(ctx, u, "reset", "/password/reset", ResetTokenTTL)
		if err != nil {
			return err
		}
		subject = l.T("email.reset.subject")
		body = l.T("email.reset.body", "Name", u.Name, "Link", link)
	case jobs.AccountEmailExists:
		subject = l.T("email.exists.subject")
		body = l.T("email.exists.body", "Name", u.Name, "LoginLink", a.link("/login", nil),
			"ResetLink", a.link("/password/forgot", nil))
	default:
		return fmt.Errorf("unknown account e-mail type %q", args.Type)
	}
	m := &mailer.Message{From: a.MailFrom, To: mailer.Address{Name: u.Name, Email: u.Email}, Subject: subject, Text: body}
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
