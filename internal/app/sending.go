package app

import (
	"context"

	"simplesender"
	"simplesender/internal/i18n"
	"simplesender/internal/mailer"
	"simplesender/internal/render"
	"simplesender/internal/unsubscribe"
)

// FooterWords returns the default note of the unsubscribe footer and the
// link's label in a language, from b, for the sending engine.
func FooterWords(b *i18n.Bundle) func(lang string) (note, label string) {
	return func(lang string) (string, string) {
		l := b.For(lang)
		return l.T("unsubscribe.footer.note"), l.T("unsubscribe.footer.link")
	}
}

// SendingSettings returns the actor's own sending settings (the unsubscribe
// footer's note and the postal address). Errors: Unauthenticated.
func (a *App) SendingSettings(ctx context.Context, ac *Actor) (simplesender.SendingSettings, error) {
	if ac.anonymous() {
		return simplesender.SendingSettings{}, errUnauthenticated
	}
	return a.DB.Store().SendingSettings(ctx, ac.User.ID)
}

// SetSendingSettings saves the actor's own sending settings, normalized;
// runs that are sending keep the footer they started with. Errors:
// Unauthenticated, Invalid (footer_text, postal_address: control
// characters, too long).
func (a *App) SetSendingSettings(ctx context.Context, ac *Actor, st simplesender.SendingSettings) (simplesender.SendingSettings, error) {
	if ac.anonymous() {
		return st, errUnauthenticated
	}
	st.Normalize()
	if err := st.Validate(); err != nil {
		return st, err
	}
	return st, a.DB.Store().SetSendingSettings(ctx, ac.User.ID, st)
}

// addTestUnsubscribe gives the test of mailing id, owned by owner, what a
// mailing message carries: the List-* headers and the footer, with a test
// token whose page only says it was a test.
func (a *App) addTestUnsubscribe(ctx context.Context, owner, id int64, pm *render.Message, f *render.Fields, mail *mailer.Message, subject, text string) error {
	sd, err := a.DB.SenderOf(ctx, owner)
	if err != nil {
		return err
	}
	lang := unsubscribe.Lang(subject, text)
	token := a.Links.Keys.Token(unsubscribe.Target{ID: id, Test: true, Lang: lang})
	f.UnsubscribeURL = a.Links.URL(token)
	name := sd.Name
	if name == "" {
		name = sd.Email
	}
	mail.Headers = a.Links.Headers(token, a.Links.ListIDHeader(owner, name))
	note, label := FooterWords(a.Bundle)(lang)
	if sd.Settings.FooterText != "" {
		note = sd.Settings.FooterText
	}
	pm = (&unsubscribe.Footer{Note: note, Label: label, Postal: sd.Settings.PostalAddress}).Apply(pm)
	mail.Text = pm.Text.String(f, false)
	if pm.HTML != nil {
		mail.HTML = pm.HTML.String(f, true)
	}
	return nil
}
