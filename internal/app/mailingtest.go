package app

import (
	"context"
	"strconv"
	"strings"
	"time"

	"simplesender"
	"simplesender/internal/mailer"
	"simplesender/internal/ratelimit"
	"simplesender/internal/render"
)

// MaxTestAddresses is how many addresses besides the sender's own a test
// of a mailing may go to.
const MaxTestAddresses = 5

// ruleTestSend bounds the tests of mailings one account sends: each goes
// to up to six addresses at once, straight through the mail server.
var ruleTestSend = ratelimit.Rule{Name: "mailing-test", Limit: 10, Window: time.Hour}

// TestSendInput is a test of a mailing.
type TestSendInput struct {
	ToMe bool     // to the sender's own address
	To   []string // up to MaxTestAddresses more addresses
	// RecipientID is the recipient whose fields fill the placeholders, one
	// of the mailing owner's; 0: the first of the mailing's recipients, or
	// sample values when it has none.
	RecipientID int64
}

// TestSendResult is a test that went out.
type TestSendResult struct {
	To        []string
	Recipient *simplesender.Recipient // nil: sample values
	At        time.Time
}

// SendTest sends mailing id's message, rendered for one recipient, to the
// actor and to the addresses typed, one e-mail each, through the configured
// SMTP servers (or the outbox), at once and outside any send run: it is not
// counted in the reports, and it is recorded in the audit log as a test
// ("mailing.test"). The subject starts with "[Test]" in the actor's
// language lang. Who may send the mailing may test it (the owner; admins
// any mailing). Errors: Invalid (to: no address, a bad one, more than
// MaxTestAddresses; recipient_id: not the owner's), NotFound, Forbidden
// (managers), Conflict (disabled), RateLimited, Unavailable (the mail
// server refused).
func (a *App) SendTest(ctx context.Context, ac *Actor, id int64, in TestSendInput, lang string) (*TestSendResult, error) {
	m, err := a.mailingFor(ctx, ac, id, ActSend)
	if err != nil {
		return nil, err
	}
	if m.Disabled() {
		return nil, simplesender.ErrMailingDisabled
	}
	to, err := testAddresses(ac, in)
	if err != nil {
		return nil, err
	}
	st := a.DB.Store()
	res := &TestSendResult{To: to}
	if in.RecipientID != 0 {
		if res.Recipient, err = st.RecipientByID(ctx, m.OwnerID, in.RecipientID); err != nil {
			if simplesender.IsKind(err, simplesender.KindNotFound) {
				return nil, simplesender.Invalid(map[string]string{"recipient_id": "error.mailing.test_recipient"})
			}
			return nil, err
		}
	} else {
		first, err := st.MailingRecipients(ctx, id, 1, 0)
		if err != nil {
			return nil, err
		}
		if len(first) > 0 {
			res.Recipient = first[0]
		}
	}
	msg, err := st.MessageByID(ctx, m.OwnerID, m.MessageID)
	if err != nil {
		return nil, err
	}
	pm, err := render.ParseMessageWith(msg.Subject, msg.BodyText, msg.BodyHTML, render.AnyCustom)
	if err != nil {
		return nil, err
	}
	r := res.Recipient
	if r == nil {
		r = sampleRecipient
	} else if err := a.loadValues(ctx, []*simplesender.Recipient{r}); err != nil {
		return nil, err
	}
	f := &render.Fields{Email: r.Email, FirstName: r.FirstName, LastName: r.LastName, MiddleName: r.MiddleName, Custom: r.Fields}
	mail := mailer.Message{From: a.MailFrom, Subject: a.Bundle.For(lang).T("mailing.test.subject_prefix") + pm.Subject.String(f, false)}
	if err := a.addTestUnsubscribe(ctx, m.OwnerID, id, pm, f, &mail, msg.Subject, msg.BodyText); err != nil {
		return nil, err
	}
	if err := a.testSender(ctx, ac, m, to, &mail); err != nil {
		return nil, err
	}
	if err := a.countAttempt(ctx, nil, ruleTestSend, "mailing-test:"+strconv.FormatInt(ac.id(), 10)); err != nil {
		return nil, err
	}
	var sent []string
	var sendErr error
	for _, addr := range to {
		one := mail
		one.To = mailer.Address{Email: addr}
		if _, err := a.Transport.Send(ctx, &one); err != nil {
			a.Logger.Warn("test of a mailing not sent", "mailing", id, "err", err)
			if a.Metrics != nil {
				a.Metrics.EmailFailed("test")
			}
			sendErr = &simplesender.Error{Kind: simplesender.KindUnavailable, Message: "error.mailing.test_failed", Cause: err}
			break
		}
		if a.Metrics != nil {
			a.Metrics.EmailSent("test")
		}
		sent = append(sent, addr)
	}
	if len(sent) == 0 {
		return nil, sendErr
	}
	res.To, res.At = sent, a.Now()
	detail := strings.Join(sent, ", ")
	if res.Recipient != nil {
		detail += " (" + res.Recipient.Email + ")"
	}
	ev := &simplesender.AuditEvent{ActorID: ac.id(), Action: "mailing.test", TargetType: targetMailing, TargetID: id, Detail: detail}
	if ac.onBehalf(m.OwnerID) {
		ev.OwnerID = m.OwnerID
	}
	if err := st.AddAudit(ctx, ev); err != nil {
		return nil, err
	}
	if sendErr != nil {
		return nil, sendErr
	}
	return res, nil
}

// sampleRecipient fills the placeholders of a test when the mailing has no
// recipient (as the message preview does).
var sampleRecipient = &simplesender.Recipient{Email: "ivan.petrov@example.com", FirstName: "Иван", LastName: "Петров",
	MiddleName: "Сергеевич"}

// testAddresses returns the addresses of a test: the actor's own when asked,
// and the others, checked, without repeats. Errors: Invalid (field to).
func testAddresses(ac *Actor, in TestSendInput) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	add := func(addr string) {
		if k := strings.ToLower(addr); !seen[k] {
			seen[k] = true
			out = append(out, addr)
		}
	}
	if in.ToMe && ac.User != nil {
		add(ac.User.Email)
	}
	typed := 0
	for _, s := range in.To {
		if strings.TrimSpace(s) == "" {
			continue
		}
		addr, err := mailer.ParseAddress(s)
		if err != nil {
			return nil, simplesender.Invalid(map[string]string{"to": "error.mailing.test_address"})
		}
		typed++
		add(addr)
	}
	switch {
	case typed > MaxTestAddresses:
		return nil, simplesender.Invalid(map[string]string{"to": "error.mailing.test_too_many"})
	case len(out) == 0:
		return nil, simplesender.Invalid(map[string]string{"to": "error.mailing.test_no_address"})
	}
	return out, nil
}

// LastTest returns the newest test sent of mailing m, as GetMailing gave it
// to the caller, or nil.
func (a *App) LastTest(ctx context.Context, m *simplesender.Mailing) (*simplesender.AuditEvent, error) {
	events, err := a.DB.Store().AuditActionFor(ctx, "mailing", m.ID, "mailing.test", 1)
	if err != nil || len(events) == 0 {
		return nil, err
	}
	return events[0], nil
}
