package app

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"simplesender"
	"simplesender/internal/store"
	"simplesender/internal/webhook"
)

// Sizes of the webhook dispatcher's work.
const (
	// webhookBatchMax is how many events one request carries at most.
	webhookBatchMax = 100
	// webhookFeedMax is how many attempts one round of FeedWebhooks reads.
	webhookFeedMax = 2000
	// webhookLease is how long an instance holds a batch it is sending;
	// longer than a request may last.
	webhookLease = time.Minute
	// WebhookSendMax is how many batches one round sends, at most
	// webhookParallel at once.
	WebhookSendMax  = 20
	webhookParallel = 4
	// WebhookKeep is how long delivered and failed batches and the log
	// are kept.
	WebhookKeep = 7 * 24 * time.Hour
)

// webhookClient returns the client that posts batches, made once.
func (a *App) webhookClient() *webhook.Client {
	a.hooksOnce.Do(func() {
		a.hooksClient = webhook.NewClient(a.Webhooks.AllowPrivate)
		a.hooksInstance = "i" + strconv.FormatInt(time.Now().UnixNano(), 36)
	})
	return a.hooksClient
}

// DispatchWebhooks does one round of the webhook dispatcher: it turns the
// deliveries sent or failed since the last round into batches for the
// endpoints that want them, batches the rarer events recorded where they
// happened, and sends the batches that are due. It returns how many
// batches it sent (well or not). Any number of instances may run it: each
// step is claimed by one of them.
func (a *App) DispatchWebhooks(ctx context.Context) (int, error) {
	if err := a.FeedWebhooks(ctx); err != nil {
		return 0, err
	}
	if err := a.BatchWebhookEvents(ctx); err != nil {
		return 0, err
	}
	return a.SendWebhookBatches(ctx)
}

// FeedWebhooks reads the attempts made since the last call (up to
// webhookFeedMax) and stores, in one transaction that also moves the
// cursor, a batch of delivery.sent and delivery.failed events for each
// endpoint that wants them. When no endpoint does, it only moves the
// cursor to the newest attempt: sending pays nothing for webhooks nobody
// has.
func (a *App) FeedWebhooks(ctx context.Context) error {
	st := a.DB.Store()
	hooks, err := st.WebhooksWanting(ctx, EventSent, EventFailed)
	if err != nil {
		return err
	}
	pos, err := st.WebhookCursor(ctx)
	if err != nil {
		return err
	}
	if len(hooks) == 0 {
		last, err := st.LastAttemptID(ctx)
		if err != nil || last == pos {
			return err
		}
		return ignoreMoved(st.MoveWebhookCursor(ctx, pos, last))
	}
	settle := a.Webhooks.Settle
	if settle == 0 && a.DB.Engine() == "postgres" {
		settle = 5 * time.Second
	}
	owners := map[int64]bool{}
	for _, h := range hooks {
		owners[h.OwnerID] = true
	}
	for {
		atts, to, err := st.AttemptsAfter(ctx, pos, a.Now().Add(-settle), webhookFeedMax, owners)
		if err != nil || to == pos {
			return err
		}
		bodies := map[int64][]string{} // endpoint -> events
		for _, f := range atts {
			ev := sentEvent(f)
			for _, h := range hooks {
				if h.OwnerID == f.OwnerID && h.Wants(ev.Type) {
					bodies[h.ID] = append(bodies[h.ID], ev.json())
				}
			}
		}
		err = a.DB.InTx(ctx, func(s *store.Store) error {
			if err := s.MoveWebhookCursor(ctx, pos, to); err != nil {
				return err
			}
			for _, h := range hooks {
				evs := bodies[h.ID]
				for len(evs) > 0 {
					n := min(len(evs), webhookBatchMax)
					if _, err := s.AddWebhookBatch(ctx, h.ID, n, batchBody(evs[:n])); err != nil {
						return err
					}
					evs = evs[n:]
				}
			}
			return nil
		})
		if err != nil {
			return ignoreMoved(err)
		}
		if to-pos < webhookFeedMax || ctx.Err() != nil {
			return nil
		}
		pos = to
	}
}

// ignoreMoved is nil for the NotFound of a cursor another instance moved
// first: it did the work.
func ignoreMoved(err error) error {
	if simplesender.IsKind(err, simplesender.KindNotFound) {
		return nil
	}
	return err
}

// sentEvent is the delivery.sent or delivery.failed event of attempt f.
func sentEvent(f *store.FinishedAttempt) Event {
	typ := EventSent
	if !f.Sent {
		typ = EventFailed
	}
	return Event{ID: "evt_attempt_" + strconv.FormatInt(f.ID, 10), Type: typ, At: f.At.Format(time.RFC3339),
		MailingID: f.MailingID, RunID: f.RunID, DeliveryID: f.DeliveryID,
		Recipient: &EventRecipient{ID: f.RecipientID, Email: f.Email},
		Reply:     &EventReply{Code: f.Code, Enhanced: f.Enhanced, Text: f.Response}}
}

// BatchWebhookEvents puts the recorded events (bounced, complained,
// unsubscribed) of each endpoint into batches of up to webhookBatchMax.
func (a *App) BatchWebhookEvents(ctx context.Context) error {
	hooks, err := a.DB.Store().HooksWithEvents(ctx)
	if err != nil {
		return err
	}
	for _, h := range hooks {
		for {
			n := 0
			err := a.DB.InTx(ctx, func(s *store.Store) error {
				evs, err := s.TakeWebhookEvents(ctx, h, webhookBatchMax)
				if err != nil || len(evs) == 0 {
					return err
				}
				n = len(evs)
				_, err = s.AddWebhookBatch(ctx, h, n, batchBody(evs))
				return err
			})
			if err != nil {
				return err
			}
			if n < webhookBatchMax {
				break
			}
		}
	}
	return nil
}

// SendWebhookBatches claims the due batches (up to WebhookSendMax), posts
// each to its endpoint and records what came back: a 2xx answer delivers
// it; anything else is retried after the next wait of the schedule, and
// when the schedule is used up the batch has failed and its endpoint is
// disabled with the reason on its page. It returns how many it sent.
func (a *App) SendWebhookBatches(ctx context.Context) (int, error) {
	a.webhookClient()
	now := a.Now()
	batches, err := a.DB.Store().ClaimWebhookBatches(ctx, a.hooksInstance, now, now.Add(webhookLease), WebhookSendMax)
	if err != nil || len(batches) == 0 {
		return 0, err
	}
	hooks := map[int64]*store.Webhook{}
	for _, b := range batches {
		if hooks[b.WebhookID] != nil {
			continue
		}
		if hooks[b.WebhookID], err = a.DB.Store().GetWebhook(ctx, b.WebhookID); err != nil {
			return 0, err
		}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	sem := make(chan struct{}, webhookParallel)
	for _, b := range batches {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := a.sendBatch(ctx, hooks[b.WebhookID], b); err != nil {
				mu.Lock()
				firstErr = cmpErr(firstErr, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return len(batches), firstErr
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// sendBatch posts b to h and records the outcome.
func (a *App) sendBatch(ctx context.Context, h *store.Webhook, b *store.WebhookBatch) error {
	l := a.post(ctx, h, b.ID, b.Attempt, b.Events, b.Body)
	at := a.Now()
	sched := a.Webhooks.retry()
	err := a.DB.InTx(ctx, func(s *store.Store) error {
		if err := s.AddWebhookLog(ctx, l); err != nil {
			return err
		}
		if l.Error == "" {
			return s.FinishWebhookBatch(ctx, b.ID, h.ID, a.hooksInstance, at)
		}
		if b.Attempt <= len(sched) {
			return s.RetryWebhookBatch(ctx, b.ID, h.ID, a.hooksInstance, at, at.Add(sched[b.Attempt-1]))
		}
		if err := s.RetryWebhookBatch(ctx, b.ID, h.ID, a.hooksInstance, at, time.Time{}); err != nil {
			return err
		}
		since := at
		if h.FailingSince != nil {
			since = *h.FailingSince
		}
		reason := fmt.Sprintf("failing since %s, %d attempts; last: %s", since.UTC().Format(time.RFC3339), b.Attempt, l.Error)
		a.Logger.Warn("webhook disabled after failing", "webhook", h.ID, "owner", h.OwnerID, "reason", reason)
		return s.DisableWebhook(ctx, h.ID, at, reason)
	})
	if simplesender.IsKind(err, simplesender.KindNotFound) {
		return nil // the lease ran out and another instance took the batch, or the endpoint was deleted
	}
	return err
}

// post sends body to h and returns the log entry of the request.
func (a *App) post(ctx context.Context, h *store.Webhook, batch int64, attempt, events int, body string) *store.WebhookLog {
	at := a.Now()
	res := a.webhookClient().Post(ctx, h.URL, h.Secret, []byte(body), time.Now(), "simplesender-webhook/1")
	return &store.WebhookLog{WebhookID: h.ID, BatchID: batch, At: at, Attempt: attempt, Events: events, Status: res.Status,
		DurationMS: res.Duration.Milliseconds(), Error: res.Error, Response: res.Response}
}

// CleanWebhooks drops delivered and failed batches and log entries older
// than WebhookKeep.
func (a *App) CleanWebhooks(ctx context.Context) error {
	return a.DB.Store().CleanWebhooks(ctx, a.Now().Add(-WebhookKeep))
}
