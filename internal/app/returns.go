package app

import (
	"bytes"
	"context"
	"fmt"
	"net/mail"
	"strings"
	"sync"
	"time"

	"simplesender"
	"simplesender/internal/bounce"
	"simplesender/internal/store"
)

// ReturnsConfig tells how the service learns from what comes back.
type ReturnsConfig struct {
	// VERP names each message's delivery in its envelope sender and its
	// Message-ID; nil when no bounce domain is configured (reports are then
	// matched by the quoted Message-ID alone, which needs VERP's key too,
	// so they stay unmatched).
	VERP *bounce.VERP
	// SoftLimit: an address that soft-bounced in this many sendings (runs
	// of mailings) of an owner within SoftWindow is suppressed. Defaults 3 and
	// 30 days.
	SoftLimit  int
	SoftWindow time.Duration
	// BounceAlertRate: the hard-bounce rate (percent of sent) above which
	// SenderRates flags a user. Default 2.
	BounceAlertRate float64
}

func (c ReturnsConfig) bounceAlertRate() float64 {
	if c.BounceAlertRate <= 0 {
		return 2
	}
	return c.BounceAlertRate
}

func (c ReturnsConfig) softLimit() int {
	if c.SoftLimit <= 0 {
		return 3
	}
	return c.SoftLimit
}

func (c ReturnsConfig) softWindow() time.Duration {
	if c.SoftWindow <= 0 {
		return 30 * 24 * time.Hour
	}
	return c.SoftWindow
}

// What a report did, as stored with it and shown next to the delivery.
const (
	appliedBounced    = "bounced"    // the sent delivery is now bounced, the address suppressed
	appliedComplained = "complained" // the delivery is now complained, the address suppressed
	appliedSuppressed = "suppressed" // the address is suppressed (the delivery was not sent, or soft bounces added up)
	appliedCounted    = "counted"    // a soft bounce, counted
	appliedIgnored    = "ignored"    // nothing to do (auto-reply, delay, a policy block, a report already applied)
	appliedUnmatched  = "unmatched"  // it names no delivery of ours
)

// SaveReturned keeps a returned e-mail (received for the given envelope
// recipients) durably, before anything is read from it: when it returns
// nil, the sender may be told 250. ProcessReturns reads it. Messages saved
// at the same time by several connections are committed together.
func (a *App) SaveReturned(ctx context.Context, source, remote, from string, to []string, raw []byte) (int64, error) {
	m := &store.InboundMessage{Source: source, ReceivedAt: a.Now(), Remote: remote, EnvelopeFrom: from,
		EnvelopeTo: strings.Join(to, ","), Raw: raw}
	if err := a.saves.save(ctx, a.DB, m); err != nil {
		return 0, err
	}
	return m.ID, nil
}

// inboundSaves is a group commit of inbound messages: the first caller
// stores what is queued in one transaction while the others queue behind
// it, so that a listener taking many messages at once pays one commit (one
// flush to disk) for each group rather than for each message.
type inboundSaves struct {
	mu      sync.Mutex
	queue   []*pendingSave
	running bool
}

type pendingSave struct {
	m    *store.InboundMessage
	done chan error
}

// maxSaveGroup bounds the messages committed together.
const maxSaveGroup = 200

func (g *inboundSaves) save(ctx context.Context, db *store.DB, m *store.InboundMessage) error {
	p := &pendingSave{m: m, done: make(chan error, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, p)
	if g.running {
		g.mu.Unlock()
		select {
		case err := <-p.done:
			return err
		case <-ctx.Done():
			// The group may still commit it; the sender is told to retry
			// and the copy it sends again is one more report, read as
			// already applied.
			return ctx.Err()
		}
	}
	g.running = true
	for len(g.queue) > 0 {
		group := g.queue[:min(len(g.queue), maxSaveGroup)]
		g.queue = g.queue[len(group):]
		g.mu.Unlock()
		g.commit(context.WithoutCancel(ctx), db, group)
		g.mu.Lock()
	}
	g.running = false
	g.mu.Unlock()
	return <-p.done
}

// commit stores a group in one transaction, or, when that fails, each on
// its own, and tells every caller how its message fared.
func (g *inboundSaves) commit(ctx context.Context, db *store.DB, group []*pendingSave) {
	err := db.InTx(ctx, func(s *store.Store) error {
		for _, p := range group {
			p.m.ID = 0
			if _, err := s.SaveInbound(ctx, p.m); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil || len(group) == 1 {
		for _, p := range group {
			p.done <- err
		}
		return
	}
	for _, p := range group {
		p.m.ID = 0
		_, err := db.Store().SaveInbound(ctx, p.m)
		p.done <- err
	}
}

// SaveWebhook keeps the body of a provider's webhook whose signature was
// checked, before anything is read from it; eventID tells the same
// delivery apart when the provider sends it again.
func (a *App) SaveWebhook(ctx context.Context, provider, eventID, remote string, body []byte) error {
	_, err := a.DB.Store().SaveInbound(ctx, &store.InboundMessage{Source: webhookSource + provider, ReceivedAt: a.Now(),
		Remote: remote, EventID: eventID, Raw: body})
	return err
}

// The sources of stored inbound messages.
const (
	// SourceSMTP: a bounce or complaint received by the inbound listener.
	SourceSMTP = "smtp"
	// SourceUnsubscribeMail: a message to the List-Unsubscribe mailto
	// address, whose subject is "unsubscribe TOKEN".
	SourceUnsubscribeMail = "unsubscribe"
	// webhookSource starts the source of a stored webhook: "webhook:ses".
	webhookSource = "webhook:"
)

// ProcessReturns reads up to limit stored inbound messages and applies
// what they say; it returns how many it finished. A message that cannot be
// read is finished with its error (kept for admins); one whose applying
// failed on the database stays for the next call.
func (a *App) ProcessReturns(ctx context.Context, limit int) (int, error) {
	pending, err := a.DB.Store().PendingInbound(ctx, limit)
	if err != nil {
		return 0, err
	}
	done := 0
	var batch []readMessage
	for _, m := range pending {
		if m.Source == SourceUnsubscribeMail {
			if err := a.unsubscribeByMail(ctx, m); err != nil {
				return done, fmt.Errorf("process inbound message %d: %w", m.ID, err)
			}
			done++
			continue
		}
		reports, readErr := a.readInbound(m)
		batch = append(batch, readMessage{m, reports, readErr})
	}
	if len(batch) == 0 {
		return done, nil
	}
	// The messages are applied in one transaction: a commit each would
	// hold the rate to the disk's flushes per second. When it fails (one
	// message's applying failed, or another instance finished one first)
	// they are applied one by one.
	if err := a.DB.InTx(ctx, func(s *store.Store) error {
		for _, b := range batch {
			if err := a.applyMessage(ctx, s, b); err != nil {
				return err
			}
		}
		return nil
	}); err == nil {
		return done + len(batch), nil
	}
	for _, b := range batch {
		err := a.DB.InTx(ctx, func(s *store.Store) error { return a.applyMessage(ctx, s, b) })
		switch {
		case simplesender.IsKind(err, simplesender.KindNotFound):
			// Another instance finished it first.
		case err != nil:
			return done, fmt.Errorf("process inbound message %d: %w", b.m.ID, err)
		default:
			done++
		}
	}
	return done, nil
}

// readMessage is a stored inbound message with what was read from it.
type readMessage struct {
	m       *store.InboundMessage
	reports []*store.DeliveryReport
	readErr string
}

// applyMessage applies the reports of a message and finishes it, in the
// caller's transaction.
func (a *App) applyMessage(ctx context.Context, s *store.Store, b readMessage) error {
	for _, r := range b.reports {
		if err := a.applyReport(ctx, s, r); err != nil {
			return err
		}
	}
	if err := s.FinishInbound(ctx, b.m.ID, b.reports, b.readErr); err != nil {
		return err
	}
	for _, r := range b.reports {
		if err := a.recordReportEvent(ctx, s, r); err != nil {
			return err
		}
	}
	return nil
}

// readInbound reads the reports of an inbound message, each with the
// delivery it names when it names one of ours.
func (a *App) readInbound(m *store.InboundMessage) ([]*store.DeliveryReport, string) {
	if provider, ok := strings.CutPrefix(m.Source, webhookSource); ok {
		return a.readWebhook(m, provider)
	}
	reps, err := bounce.Parse(bytes.NewReader(m.Raw))
	if err != nil {
		return nil, err.Error()
	}
	var verpID int64
	if v := a.Returns.VERP; v != nil {
		for _, to := range strings.Split(m.EnvelopeTo, ",") {
			if id, ok := v.FromAddress(to); ok {
				verpID = id
				break
			}
		}
	}
	out := make([]*store.DeliveryReport, 0, len(reps))
	for _, r := range reps {
		dr := reportOf(m, r)
		dr.DeliveryID = verpID
		if dr.DeliveryID == 0 {
			dr.DeliveryID = a.deliveryNamedBy(r.ReturnPath, r.MessageID)
		}
		out = append(out, dr)
	}
	return out, ""
}

// readWebhook reads the events of a provider's webhook.
func (a *App) readWebhook(m *store.InboundMessage, provider string) ([]*store.DeliveryReport, string) {
	evs, err := bounce.ParseWebhook(provider, m.Raw)
	if err != nil {
		return nil, err.Error()
	}
	out := make([]*store.DeliveryReport, 0, len(evs))
	for _, ev := range evs {
		dr := reportOf(m, ev.Report)
		dr.DeliveryID = a.deliveryNamedBy(ev.ReturnPath, ev.MessageID)
		for _, v := range ev.Metadata {
			if dr.DeliveryID != 0 {
				break
			}
			dr.DeliveryID = a.deliveryNamedBy(v, v)
		}
		out = append(out, dr)
	}
	return out, ""
}

// reportOf is what report r of inbound message m says, to be matched to
// its delivery and applied.
func reportOf(m *store.InboundMessage, r bounce.Report) *store.DeliveryReport {
	return &store.DeliveryReport{ReceivedAt: m.ReceivedAt, Source: m.Source, Kind: string(r.Kind),
		Email: simplesender.NormalizeEmail(r.Recipient), Status: r.Status, Diagnostic: r.Diagnostic}
}

// deliveryNamedBy returns the delivery a quoted envelope sender or
// Message-ID names, 0 when neither is ours.
func (a *App) deliveryNamedBy(returnPath, messageID string) int64 {
	v := a.Returns.VERP
	if v == nil {
		return 0
	}
	if id, ok := v.FromAddress(returnPath); ok {
		return id
	}
	if id, ok := v.FromMessageID(messageID); ok {
		return id
	}
	return 0
}

// applyReport applies one report in the caller's transaction and fills in
// what it did.
func (a *App) applyReport(ctx context.Context, s *store.Store, r *store.DeliveryReport) error {
	if r.DeliveryID == 0 {
		r.Applied = appliedUnmatched
		return nil
	}
	d, err := s.DeliveryForReport(ctx, r.DeliveryID)
	if simplesender.IsKind(err, simplesender.KindNotFound) {
		// A valid token of a delivery since deleted (its mailing was).
		r.DeliveryID, r.Applied = 0, appliedUnmatched
		return nil
	}
	if err != nil {
		return err
	}
	r.OwnerID, r.MailingID = d.OwnerID, d.MailingID
	if r.Email == "" {
		r.Email = simplesender.NormalizeEmail(d.Email)
	}
	// The address suppressed is the one we sent to: a report that names
	// another (a forward) still concerns this delivery.
	email := d.Email
	switch bounce.Kind(r.Kind) {
	case bounce.Hard:
		return a.applyFinal(ctx, s, r, d, email, simplesender.CauseBounce, simplesender.ReasonBounced, appliedBounced)
	case bounce.Complaint:
		return a.applyFinal(ctx, s, r, d, email, simplesender.CauseComplaint, simplesender.ReasonComplained, appliedComplained)
	case bounce.Soft:
		r.Applied = appliedCounted
		// This report is not stored yet: it is one more sending, besides
		// the others the address soft-bounced in lately.
		n, err := s.SoftBounces(ctx, d.OwnerID, simplesender.NormalizeEmail(email), d.ID,
			a.Now().Add(-a.Returns.softWindow()))
		if err != nil {
			return err
		}
		if n+1 >= a.Returns.softLimit() {
			note := fmt.Sprintf("soft bounces in %d sendings", n+1)
			if _, err := s.AddSuppressionEntry(ctx, d.OwnerID, email, simplesender.ReasonBounced, d.MailingID, 0, note); err != nil {
				return err
			}
			r.Applied = appliedSuppressed
		}
		return nil
	}
	r.Applied = appliedIgnored
	return nil
}

// applyFinal marks a sent delivery bounced or complained and suppresses
// the address.
func (a *App) applyFinal(ctx context.Context, s *store.Store, r *store.DeliveryReport, d *store.ReportedDelivery,
	email string, cause simplesender.Cause, reason simplesender.SuppressionReason, applied string) error {
	_, err := s.ApplyReport(ctx, d.ID, cause, a.Now())
	switch {
	case err == nil:
		r.Applied = applied
	case simplesender.IsKind(err, simplesender.KindConflict):
		// Not sent, or already reported: the address is still suppressed.
		r.Applied = appliedSuppressed
	default:
		return err
	}
	if _, err := s.AddSuppressionEntry(ctx, d.OwnerID, email, reason, d.MailingID, 0, r.Diagnostic); err != nil {
		return err
	}
	return nil
}

// unsubscribeByMail applies a message to the List-Unsubscribe mailto
// address (RFC 2369): its subject carries the token of the link, as the
// header offers it. The unsubscribe is idempotent, so a message applied
// again after a crash changes nothing more; one without a valid token is
// finished with the reason.
func (a *App) unsubscribeByMail(ctx context.Context, m *store.InboundMessage) error {
	readErr := ""
	msg, err := mail.ReadMessage(bytes.NewReader(m.Raw))
	if err != nil {
		readErr = err.Error()
	} else {
		token := ""
		if f := strings.Fields(msg.Header.Get("Subject")); len(f) == 2 && strings.EqualFold(f[0], "unsubscribe") {
			token = f[1]
		}
		_, err := a.Unsubscribe(ctx, token, m.Remote)
		switch {
		case simplesender.IsKind(err, simplesender.KindNotFound), simplesender.IsKind(err, simplesender.KindRateLimited):
			readErr = "no valid unsubscribe token in the subject"
		case err != nil:
			return err
		}
	}
	err = a.DB.Store().FinishInbound(ctx, m.ID, nil, readErr)
	if simplesender.IsKind(err, simplesender.KindNotFound) {
		return nil // another instance finished it first
	}
	return err
}

// UnmatchedReports returns a page of the reports that named no delivery of
// ours (forwarded bounces, reports of deleted mailings), newest first, and
// how many there are: for managers and admins. Errors: Forbidden.
func (a *App) UnmatchedReports(ctx context.Context, ac *Actor, limit, offset int) ([]*store.DeliveryReport, int, error) {
	if !ac.role().IsStaff() {
		return nil, 0, errForbidden
	}
	return a.DB.Store().UnmatchedReports(ctx, limit, offset)
}

// UnmatchedReport returns, for managers and admins, report id that named
// no delivery, and the message it was read from (its Raw nil once the
// retention time has passed; the message nil when it is gone). Errors:
// Forbidden, NotFound.
func (a *App) UnmatchedReport(ctx context.Context, ac *Actor, id int64) (*store.DeliveryReport, *store.InboundMessage, error) {
	if !ac.role().IsStaff() {
		return nil, nil, errForbidden
	}
	r, err := a.DB.Store().UnmatchedReport(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if r.InboundID == 0 {
		return r, nil, nil
	}
	m, err := a.DB.Store().InboundByID(ctx, r.InboundID)
	if simplesender.IsKind(err, simplesender.KindNotFound) {
		return r, nil, nil
	}
	return r, m, err
}

// DeliveryReport is what one inbound message said about one delivery (or
// about an address, when it matched none), as the pages show it.
type DeliveryReport = store.DeliveryReport
