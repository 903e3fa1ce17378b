package app

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"simplesender"
	"simplesender/internal/store"
	"simplesender/internal/webhook"
)

// The event types an endpoint may ask for.
const (
	EventSent         = "delivery.sent"
	EventFailed       = "delivery.failed"
	EventBounced      = "delivery.bounced"
	EventComplained   = "delivery.complained"
	EventUnsubscribed = "recipient.unsubscribed"
	// EventTest is what POST /webhooks/{id}/test sends; nobody asks for it.
	EventTest = "webhook.test"
)

// WebhookEvents are the event types an endpoint may ask for, in the order
// forms show them.
var WebhookEvents = []string{EventSent, EventFailed, EventBounced, EventComplained, EventUnsubscribed}

// WebhookConfig tells how users' webhooks are sent.
type WebhookConfig struct {
	// AllowPrivate lets endpoints be on loopback, private and link-local
	// addresses (SIMPLESENDER_WEBHOOK_ALLOW_PRIVATE).
	AllowPrivate bool
	// Settle: attempts younger than this are left for the next round, as
	// on PostgreSQL an older id may still be committing. Default: 5 s on
	// PostgreSQL, none on SQLite (one writer commits in id order).
	Settle time.Duration
	// Retry is the wait before each retry of a batch; when they are used
	// up the batch has failed and its endpoint is disabled. Default:
	// 30 s, 2 min, 10 min, 30 min, 1 h, 2 h, 4 h, 8 h, 8 h (about 24 h).
	Retry []time.Duration
}

func (c WebhookConfig) retry() []time.Duration {
	if len(c.Retry) > 0 {
		return c.Retry
	}
	return []time.Duration{30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute, time.Hour,
		2 * time.Hour, 4 * time.Hour, 8 * time.Hour, 8 * time.Hour}
}

// WebhookInput is what a user sets of an endpoint.
type WebhookInput struct {
	URL     string
	Events  []string
	Enabled bool
}

// maxWebhooks is how many endpoints one user may have.
const maxWebhooks = 10

// checkWebhook validates in; the URL must be one the service may reach.
func (a *App) checkWebhook(ctx context.Context, in *WebhookInput) error {
	f := simplesender.FieldErrors{}
	in.URL = strings.TrimSpace(in.URL)
	switch err := webhook.CheckURL(ctx, in.URL, a.Webhooks.AllowPrivate); {
	case in.URL == "":
		f.Add("url", "error.required")
	case errors.Is(err, webhook.ErrPrivate):
		f.Add("url", "error.webhook.url_private")
	case errors.Is(err, webhook.ErrResolve):
		f.Add("url", "error.webhook.url_resolve")
	case err != nil:
		f.Add("url", "error.webhook.url")
	}
	var events []string
	for _, e := range WebhookEvents { // known ones only, in their order, once
		if slices.Contains(in.Events, e) {
			events = append(events, e)
		}
	}
	for _, e := range in.Events {
		if !slices.Contains(WebhookEvents, e) {
			f.Add("events", "error.webhook.events")
		}
	}
	if len(events) == 0 {
		f.Add("events", "error.webhook.events")
	}
	in.Events = events
	return f.Err()
}

// ListWebhooks returns the endpoints the actor may see: their own, or for
// managers and admins everyone's. Errors: Unauthenticated.
func (a *App) ListWebhooks(ctx context.Context, ac *Actor) ([]*store.Webhook, error) {
	if ac.anonymous() && !ac.isSystem() {
		return nil, errUnauthenticated
	}
	return a.DB.Store().ListWebhooks(ctx, readScope(ac))
}

// GetWebhook returns endpoint id when the actor may see it. Errors:
// NotFound (also another user's, for a regular user), Unauthenticated.
func (a *App) GetWebhook(ctx context.Context, ac *Actor, id int64) (*store.Webhook, error) {
	w, err := a.DB.Store().GetWebhook(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := authorize(ac, ActView, w.OwnerID); err != nil {
		return nil, err
	}
	return w, nil
}

// CreateWebhook adds an endpoint of the actor's with a new secret.
// Errors: Invalid (url, events; too many endpoints), Forbidden (managers),
// Unauthenticated.
func (a *App) CreateWebhook(ctx context.Context, ac *Actor, in WebhookInput) (*store.Webhook, error) {
	if err := authorize(ac, ActCreate, ac.id()); err != nil {
		return nil, err
	}
	if err := a.checkWebhook(ctx, &in); err != nil {
		return nil, err
	}
	st := a.DB.Store()
	mine, err := st.ListWebhooks(ctx, ac.id())
	if err != nil {
		return nil, err
	}
	if len(mine) >= maxWebhooks {
		return nil, simplesender.Invalid(map[string]string{"url": "error.webhook.too_many"})
	}
	w := &store.Webhook{OwnerID: ac.id(), URL: in.URL, Events: in.Events, Secret: webhook.NewSecret(), Enabled: in.Enabled}
	if err := st.CreateWebhook(ctx, w); err != nil {
		return nil, err
	}
	return st.GetWebhook(ctx, w.ID)
}

// UpdateWebhook changes endpoint id's URL, events and whether it is
// enabled (enabling it again after the service disabled it clears the
// notice; its waiting batches are sent again). Errors: Invalid, NotFound,
// Forbidden (managers), Unauthenticated.
func (a *App) UpdateWebhook(ctx context.Context, ac *Actor, id int64, in WebhookInput) (*store.Webhook, error) {
	w, err := a.GetWebhook(ctx, ac, id)
	if err != nil {
		return nil, err
	}
	if err := writable(ac, w.OwnerID); err != nil {
		return nil, err
	}
	if err := a.checkWebhook(ctx, &in); err != nil {
		return nil, err
	}
	w.URL, w.Events, w.Enabled = in.URL, in.Events, in.Enabled
	if err := a.DB.Store().UpdateWebhook(ctx, w); err != nil {
		return nil, err
	}
	return a.DB.Store().GetWebhook(ctx, id)
}

// RotateWebhookSecret gives endpoint id a new secret; requests are signed
// with it from now on. Errors: NotFound, Forbidden, Unauthenticated.
func (a *App) RotateWebhookSecret(ctx context.Context, ac *Actor, id int64) (*store.Webhook, error) {
	w, err := a.GetWebhook(ctx, ac, id)
	if err != nil {
		return nil, err
	}
	if err := writable(ac, w.OwnerID); err != nil {
		return nil, err
	}
	w.Secret = webhook.NewSecret()
	if err := a.DB.Store().UpdateWebhook(ctx, w); err != nil {
		return nil, err
	}
	return a.DB.Store().GetWebhook(ctx, id)
}

// DeleteWebhook removes endpoint id with what waits for it and its log.
// Errors: NotFound, Forbidden, Unauthenticated.
func (a *App) DeleteWebhook(ctx context.Context, ac *Actor, id int64) error {
	w, err := a.GetWebhook(ctx, ac, id)
	if err != nil {
		return err
	}
	if err := authorize(ac, ActDelete, w.OwnerID); err != nil {
		return err
	}
	return a.DB.Store().DeleteWebhook(ctx, id)
}

// WebhookLog returns a page of the requests made to endpoint id, newest
// first, and how many the log keeps. Errors: NotFound, Unauthenticated.
func (a *App) WebhookLog(ctx context.Context, ac *Actor, id int64, limit, offset int) ([]*store.WebhookLog, int, error) {
	if _, err := a.GetWebhook(ctx, ac, id); err != nil {
		return nil, 0, err
	}
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	return a.DB.Store().WebhookLogPage(ctx, id, limit, offset)
}

// TestWebhook sends endpoint id one webhook.test event now, whether or not
// it is enabled, logs the request and returns it. Errors: NotFound,
// Forbidden (managers), Unauthenticated.
func (a *App) TestWebhook(ctx context.Context, ac *Actor, id int64) (*store.WebhookLog, error) {
	w, err := a.GetWebhook(ctx, ac, id)
	if err != nil {
		return nil, err
	}
	if err := writable(ac, w.OwnerID); err != nil {
		return nil, err
	}
	now := a.Now()
	ev := Event{ID: "evt_test_" + strconv.FormatInt(now.UnixNano(), 36), Type: EventTest, At: now.UTC().Format(time.RFC3339)}
	body := batchBody([]string{ev.json()})
	l := a.post(ctx, w, 0, 1, 1, body)
	if err := a.DB.Store().AddWebhookLog(ctx, l); err != nil {
		return nil, err
	}
	return l, nil
}

// Event is one event as an endpoint receives it.
type Event struct {
	// ID is unique per event: a receiver that gets it twice (a retried
	// batch) drops the copy.
	ID         string          `json:"id"`
	Type       string          `json:"type"`
	At         string          `json:"at"`
	MailingID  int64           `json:"mailing_id,omitempty"`
	RunID      int64           `json:"run_id,omitempty"`
	DeliveryID int64           `json:"delivery_id,omitempty"`
	Recipient  *EventRecipient `json:"recipient,omitempty"`
	// Reply is the mail server's last answer (sent, failed).
	Reply *EventReply `json:"reply,omitempty"`
	// Report is the bounce or complaint that came back (bounced,
	// complained).
	Report *EventReport `json:"report,omitempty"`
}

// EventRecipient is whom an event is about.
type EventRecipient struct {
	ID    int64  `json:"id,omitempty"`
	Email string `json:"email"`
}

// EventReply is a mail server's answer.
type EventReply struct {
	Code     int    `json:"code"`
	Enhanced string `json:"enhanced"`
	Text     string `json:"text"`
}

// EventReport is a bounce or complaint.
type EventReport struct {
	Kind       string `json:"kind"`
	Source     string `json:"source"`
	Status     string `json:"status"`
	Diagnostic string `json:"diagnostic"`
}

func (e Event) json() string {
	b, _ := json.Marshal(e) // plain values only: never fails
	return string(b)
}

// batchBody is the request body of events (each already JSON).
func batchBody(events []string) string {
	var b strings.Builder
	b.WriteString(`{"events":[`)
	for i, e := range events {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(e)
	}
	b.WriteString("]}")
	return b.String()
}

// recordReportEvent records, in the transaction that applied report r, the
// bounced or complained event its owner's endpoints may want.
func (a *App) recordReportEvent(ctx context.Context, s *store.Store, r *store.DeliveryReport) error {
	typ := ""
	switch r.Applied {
	case appliedBounced:
		typ = EventBounced
	case appliedComplained:
		typ = EventComplained
	default:
		return nil
	}
	if want, err := s.WantsEvent(ctx, r.OwnerID, typ); err != nil || !want {
		return err
	}
	t, err := s.DeliveryTargetByID(ctx, r.DeliveryID)
	if err != nil {
		return err
	}
	rid, err := s.DeliveryRecipient(ctx, r.DeliveryID)
	if err != nil {
		return err
	}
	ev := Event{ID: "evt_report_" + strconv.FormatInt(r.ID, 10), Type: typ, At: r.ReceivedAt.UTC().Format(time.RFC3339),
		MailingID: t.MailingID, RunID: t.RunID, DeliveryID: t.DeliveryID, Recipient: &EventRecipient{ID: rid, Email: t.Email},
		Report: &EventReport{Kind: r.Kind, Source: r.Source, Status: r.Status, Diagnostic: r.Diagnostic}}
	return s.AddWebhookEvent(ctx, t.OwnerID, typ, ev.json())
}

// recordUnsubscribeEvent records, in the transaction that suppressed the
// address, the recipient.unsubscribed event of delivery d's owner.
func (a *App) recordUnsubscribeEvent(ctx context.Context, s *store.Store, d *store.DeliveryTarget, x *simplesender.Suppression) error {
	rid, err := s.DeliveryRecipient(ctx, d.DeliveryID)
	if err != nil {
		return err
	}
	ev := Event{ID: "evt_unsubscribe_" + strconv.FormatInt(x.ID, 10), Type: EventUnsubscribed,
		At: x.CreatedAt.UTC().Format(time.RFC3339), MailingID: d.MailingID, RunID: d.RunID, DeliveryID: d.DeliveryID,
		Recipient: &EventRecipient{ID: rid, Email: d.Email}}
	return s.AddWebhookEvent(ctx, d.OwnerID, EventUnsubscribed, ev.json())
}
