package store

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"strings"
	"time"

	"simplesender"
)

// Webhook is an endpoint of a user's that receives events as signed JSON.
type Webhook struct {
	ID         int64
	OwnerID    int64
	OwnerEmail string // filled in by the lists
	URL        string
	Events     []string // the event types it wants
	Secret     string
	Enabled    bool
	// FailingSince: its requests have failed since then (nil: the last
	// one went through).
	FailingSince *time.Time
	// DisabledAt and DisabledReason: the service switched it off after
	// failing for too long ("" when its owner did, or it is enabled).
	DisabledAt     *time.Time
	DisabledReason string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	// Pending is how many batches wait to be delivered (filled in by the
	// lists).
	Pending int
}

// Wants reports whether w takes events of type typ.
func (w *Webhook) Wants(typ string) bool {
	for _, e := range w.Events {
		if e == typ {
			return true
		}
	}
	return false
}

// WebhookLog is one request made to an endpoint.
type WebhookLog struct {
	ID         int64
	WebhookID  int64
	BatchID    int64 // 0: a test
	At         time.Time
	Attempt    int
	Events     int
	Status     int // 0: no answer came
	DurationMS int64
	Error      string
	Response   string
}

const webhookColumns = `w.id, w.owner_id, u.email, w.url, w.events, w.secret, w.enabled, w.failing_since, w.disabled_at,
	w.disabled_reason, w.created_at, w.updated_at,
	(SELECT count(*) FROM webhook_batches b WHERE b.webhook_id = w.id AND b.state = 'pending')`

func scanWebhook(sc scanner) (*Webhook, error) {
	w := &Webhook{}
	var events string
	var failing, disabled sql.NullTime
	if err := sc.Scan(&w.ID, &w.OwnerID, &w.OwnerEmail, &w.URL, &events, &w.Secret, &w.Enabled, &failing, &disabled,
		&w.DisabledReason, &w.CreatedAt, &w.UpdatedAt, &w.Pending); err != nil {
		return nil, err
	}
	w.Events = strings.Fields(events)
	w.FailingSince, w.DisabledAt = nullTime(failing), nullTime(disabled)
	w.CreatedAt, w.UpdatedAt = w.CreatedAt.UTC(), w.UpdatedAt.UTC()
	return w, nil
}

// ListWebhooks returns the endpoints of owner (0: everyone's), oldest first.
func (s *Store) ListWebhooks(ctx context.Context, owner int64) ([]*Webhook, error) {
	cond, args := ownedBy("w.owner_id", owner)
	return queryList(ctx, s, "list webhooks", scanWebhook, `SELECT `+webhookColumns+`
		FROM webhooks w JOIN users u ON u.id = w.owner_id WHERE `+cond+` ORDER BY w.id`, args...)
}

// GetWebhook returns endpoint id, or NotFound.
func (s *Store) GetWebhook(ctx context.Context, id int64) (*Webhook, error) {
	w, err := scanWebhook(s.queryRow(ctx, `SELECT `+webhookColumns+`
		FROM webhooks w JOIN users u ON u.id = w.owner_id WHERE w.id = ?`, id))
	if err != nil {
		return nil, s.wrap(err, "get webhook")
	}
	return w, nil
}

// CreateWebhook stores w and sets its ID and times.
func (s *Store) CreateWebhook(ctx context.Context, w *Webhook) error {
	w.CreatedAt = s.Now()
	w.UpdatedAt = w.CreatedAt
	err := s.writeRow(ctx, `INSERT INTO webhooks (owner_id, url, events, secret, enabled, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, w.OwnerID, w.URL, strings.Join(w.Events, " "), w.Secret, w.Enabled,
		w.CreatedAt, w.UpdatedAt).Scan(&w.ID)
	return s.wrap(err, "create webhook")
}

// UpdateWebhook saves w's URL, events, secret and whether it is enabled;
// enabling it clears the notice of its disabling and its failing time.
// NotFound when there is no such endpoint.
func (s *Store) UpdateWebhook(ctx context.Context, w *Webhook) error {
	w.UpdatedAt = s.Now()
	res, err := s.exec(ctx, `UPDATE webhooks SET url = ?, events = ?, secret = ?, enabled = ?, updated_at = ?,
		disabled_at = CASE WHEN ? THEN NULL ELSE disabled_at END,
		disabled_reason = CASE WHEN ? THEN '' ELSE disabled_reason END,
		failing_since = CASE WHEN ? AND NOT enabled THEN NULL ELSE failing_since END
		WHERE id = ?`, w.URL, strings.Join(w.Events, " "), w.Secret, w.Enabled, w.UpdatedAt, w.Enabled, w.Enabled, w.Enabled, w.ID)
	return s.affected(res, err, "update webhook")
}

// DeleteWebhook removes endpoint id with its events, batches and log.
func (s *Store) DeleteWebhook(ctx context.Context, id int64) error {
	res, err := s.exec(ctx, `DELETE FROM webhooks WHERE id = ?`, id)
	return s.affected(res, err, "delete webhook")
}

// WebhooksWanting returns the enabled endpoints that want any of types.
func (s *Store) WebhooksWanting(ctx context.Context, types ...string) ([]*Webhook, error) {
	all, err := queryList(ctx, s, "webhooks wanting events", scanWebhook, `SELECT `+webhookColumns+`
		FROM webhooks w JOIN users u ON u.id = w.owner_id WHERE w.enabled ORDER BY w.id`)
	var out []*Webhook
	for _, w := range all {
		for _, t := range types {
			if w.Wants(t) {
				out = append(out, w)
				break
			}
		}
	}
	return out, err
}

// AddWebhookEvent stores an event of owner's, of type typ, whose JSON is
// payload, for each of their enabled endpoints that wants it: one
// statement, which writes nothing when none does. Call it in the
// transaction that makes the event happen.
func (s *Store) AddWebhookEvent(ctx context.Context, owner int64, typ string, payload string) error {
	_, err := s.exec(ctx, `INSERT INTO webhook_events (webhook_id, created_at, payload)
		SELECT id, ?, ? FROM webhooks WHERE owner_id = ? AND enabled AND ' ' || events || ' ' LIKE ?`,
		s.Now(), payload, owner, "% "+typ+" %")
	return s.wrap(err, "add webhook event")
}

// WantsEvent reports whether owner has an enabled endpoint that asks for
// events of type typ (so that an event nobody wants is not even built).
func (s *Store) WantsEvent(ctx context.Context, owner int64, typ string) (bool, error) {
	var n int
	err := s.queryRow(ctx, `SELECT count(*) FROM webhooks WHERE owner_id = ? AND enabled AND ' ' || events || ' ' LIKE ?`,
		owner, "% "+typ+" %").Scan(&n)
	return n > 0, s.wrap(err, "look for webhooks")
}

// HooksWithEvents returns the endpoints that have events waiting for a
// batch.
func (s *Store) HooksWithEvents(ctx context.Context) ([]int64, error) {
	return queryList(ctx, s, "webhooks with events", func(sc scanner) (int64, error) {
		var id int64
		return id, sc.Scan(&id)
	}, `SELECT DISTINCT webhook_id FROM webhook_events`)
}

// TakeWebhookEvents removes up to limit of endpoint hook's waiting events,
// oldest first, and returns their payloads. Call it in the transaction that
// stores their batch: an event is in exactly one batch.
func (s *Store) TakeWebhookEvents(ctx context.Context, hook int64, limit int) ([]string, error) {
	rows, err := s.queryW(ctx, `DELETE FROM webhook_events WHERE id IN (SELECT id FROM webhook_events
		WHERE webhook_id = ? ORDER BY id LIMIT ?) RETURNING id, payload`, hook, limit)
	if err != nil {
		return nil, s.wrap(err, "take webhook events")
	}
	defer rows.Close()
	type ev struct {
		id int64
		p  string
	}
	var evs []ev
	for rows.Next() {
		var e ev
		if err := rows.Scan(&e.id, &e.p); err != nil {
			return nil, s.wrap(err, "take webhook events")
		}
		evs = append(evs, e)
	}
	// RETURNING gives no order: keep the events' own.
	slices.SortFunc(evs, func(a, b ev) int { return cmp.Compare(a.id, b.id) })
	out := make([]string, 0, len(evs))
	for _, e := range evs {
		out = append(out, e.p)
	}
	return out, s.wrap(rows.Err(), "take webhook events")
}

// AddWebhookBatch stores a request body of n events for endpoint hook, due
// at once, and returns its id.
func (s *Store) AddWebhookBatch(ctx context.Context, hook int64, n int, body string) (int64, error) {
	var id int64
	now := s.Now()
	err := s.writeRow(ctx, `INSERT INTO webhook_batches (webhook_id, created_at, events, body, next_at)
		VALUES (?, ?, ?, ?, ?) RETURNING id`, hook, now, n, body, now).Scan(&id)
	return id, s.wrap(err, "add webhook batch")
}

// WebhookBatch is a request body claimed for sending.
type WebhookBatch struct {
	ID        int64
	WebhookID int64
	Attempt   int // this attempt's number, from 1
	Events    int
	Body      string
}

// ClaimWebhookBatches leases up to limit due batches of enabled endpoints
// to instance until leaseUntil and counts the attempt: an instance that
// stops meanwhile leaves them to be claimed again once the lease ends. On
// PostgreSQL, batches another instance is claiming are skipped.
func (s *Store) ClaimWebhookBatches(ctx context.Context, instance string, now, leaseUntil time.Time, limit int) ([]*WebhookBatch, error) {
	lock := s.db.dialect.rowLock("UPDATE OF b SKIP LOCKED")
	rows, err := s.queryW(ctx, `UPDATE webhook_batches SET lease_by = ?, lease_until = ?, attempts = attempts + 1
		WHERE state = 'pending' AND (lease_until IS NULL OR lease_until < ?) AND id IN (
			SELECT b.id FROM webhook_batches b JOIN webhooks w ON w.id = b.webhook_id
			WHERE b.state = 'pending' AND b.next_at <= ? AND (b.lease_until IS NULL OR b.lease_until < ?) AND w.enabled
			ORDER BY b.next_at, b.id LIMIT ?`+lock+`)
		RETURNING id, webhook_id, attempts, events, body`, instance, leaseUntil, now, now, now, limit)
	if err != nil {
		return nil, s.wrap(err, "claim webhook batches")
	}
	defer rows.Close()
	var out []*WebhookBatch
	for rows.Next() {
		b := &WebhookBatch{}
		if err := rows.Scan(&b.ID, &b.WebhookID, &b.Attempt, &b.Events, &b.Body); err != nil {
			return nil, s.wrap(err, "claim webhook batches")
		}
		out = append(out, b)
	}
	return out, s.wrap(rows.Err(), "claim webhook batches")
}

// maxWebhookLog is how many requests the log keeps per endpoint.
const maxWebhookLog = 200

// AddWebhookLog stores l and sets its ID, and drops the endpoint's oldest
// entries past the last maxWebhookLog.
func (s *Store) AddWebhookLog(ctx context.Context, l *WebhookLog) error {
	err := s.writeRow(ctx, `INSERT INTO webhook_log (webhook_id, batch_id, at, attempt, events, status, duration_ms, error, response)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, l.WebhookID, nullID(l.BatchID), l.At, l.Attempt, l.Events, l.Status,
		l.DurationMS, l.Error, l.Response).Scan(&l.ID)
	if err != nil {
		return s.wrap(err, "add webhook log")
	}
	_, err = s.exec(ctx, `DELETE FROM webhook_log WHERE webhook_id = ? AND id <= (SELECT id FROM webhook_log
		WHERE webhook_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`, l.WebhookID, l.WebhookID, maxWebhookLog)
	return s.wrap(err, "trim webhook log")
}

// FinishWebhookBatch records that batch id, leased by instance, was taken
// by its endpoint: it is delivered and the endpoint no longer failing.
// NotFound when the lease was lost meanwhile.
func (s *Store) FinishWebhookBatch(ctx context.Context, id, hook int64, instance string, at time.Time) error {
	res, err := s.exec(ctx, `UPDATE webhook_batches SET state = 'delivered', finished_at = ?, lease_by = NULL, lease_until = NULL
		WHERE id = ? AND lease_by = ? AND state = 'pending'`, at, id, instance)
	if err := s.affected(res, err, "finish webhook batch"); err != nil {
		return err
	}
	_, err = s.exec(ctx, `UPDATE webhooks SET failing_since = NULL WHERE id = ?`, hook)
	return s.wrap(err, "finish webhook batch")
}

// RetryWebhookBatch records a failed attempt of batch id, leased by
// instance: it is due again at next, or, when next is zero, it has failed
// for good. The endpoint is failing since at (or earlier). NotFound when
// the lease was lost meanwhile.
func (s *Store) RetryWebhookBatch(ctx context.Context, id, hook int64, instance string, at, next time.Time) error {
	var res sql.Result
	var err error
	if next.IsZero() {
		res, err = s.exec(ctx, `UPDATE webhook_batches SET state = 'failed', finished_at = ?, lease_by = NULL, lease_until = NULL
			WHERE id = ? AND lease_by = ? AND state = 'pending'`, at, id, instance)
	} else {
		res, err = s.exec(ctx, `UPDATE webhook_batches SET next_at = ?, lease_by = NULL, lease_until = NULL
			WHERE id = ? AND lease_by = ? AND state = 'pending'`, next, id, instance)
	}
	if err := s.affected(res, err, "retry webhook batch"); err != nil {
		return err
	}
	_, err = s.exec(ctx, `UPDATE webhooks SET failing_since = COALESCE(failing_since, ?) WHERE id = ?`, at, hook)
	return s.wrap(err, "retry webhook batch")
}

// DisableWebhook switches endpoint id off with the reason shown on its page.
func (s *Store) DisableWebhook(ctx context.Context, id int64, at time.Time, reason string) error {
	res, err := s.exec(ctx, `UPDATE webhooks SET enabled = FALSE, disabled_at = ?, disabled_reason = ?, updated_at = ?
		WHERE id = ?`, at, reason, at, id)
	return s.affected(res, err, "disable webhook")
}

// WebhookLogPage returns a page of endpoint hook's requests, newest first,
// and how many there are.
func (s *Store) WebhookLogPage(ctx context.Context, hook int64, limit, offset int) ([]*WebhookLog, int, error) {
	var n int
	if err := s.queryRow(ctx, `SELECT count(*) FROM webhook_log WHERE webhook_id = ?`, hook).Scan(&n); err != nil {
		return nil, 0, s.wrap(err, "count webhook log")
	}
	out, err := queryList(ctx, s, "webhook log", func(sc scanner) (*WebhookLog, error) {
		l := &WebhookLog{}
		var batch sql.NullInt64
		err := sc.Scan(&l.ID, &l.WebhookID, &batch, &l.At, &l.Attempt, &l.Events, &l.Status, &l.DurationMS, &l.Error, &l.Response)
		l.BatchID, l.At = batch.Int64, l.At.UTC()
		return l, err
	}, `SELECT id, webhook_id, batch_id, at, attempt, events, status, duration_ms, error, response FROM webhook_log
		WHERE webhook_id = ? ORDER BY id DESC LIMIT ? OFFSET ?`, hook, limit, offsetArg(offset))
	return out, n, err
}

// CleanWebhooks drops finished batches and log entries older than before,
// and batches made before then that still wait (their endpoint was
// disabled and never enabled again).
func (s *Store) CleanWebhooks(ctx context.Context, before time.Time) error {
	if _, err := s.exec(ctx, `DELETE FROM webhook_batches WHERE (state <> 'pending' AND finished_at < ?)
		OR (created_at < ? AND (lease_until IS NULL OR lease_until < ?))`, before, before, before); err != nil {
		return s.wrap(err, "clean webhook batches")
	}
	_, err := s.exec(ctx, `DELETE FROM webhook_log WHERE at < ?`, before)
	return s.wrap(err, "clean webhook log")
}

// FinishedAttempt is an attempt that ended its delivery as sent or
// failed, read by the webhook dispatcher.
type FinishedAttempt struct {
	ID          int64 // the attempt's
	DeliveryID  int64
	RunID       int64
	MailingID   int64
	OwnerID     int64
	RecipientID int64
	Email       string
	At          time.Time
	Sent        bool // false: the delivery failed for good
	Code        int
	Enhanced    string
	Response    string
}

// WebhookCursor returns how far the dispatcher has read the attempts.
func (s *Store) WebhookCursor(ctx context.Context) (int64, error) {
	var pos int64
	err := s.queryRow(ctx, `SELECT position FROM webhook_cursors WHERE name = 'attempts'`).Scan(&pos)
	return pos, s.wrap(err, "read webhook cursor")
}

// MoveWebhookCursor moves the cursor from from to to; NotFound when it is
// no longer at from (another instance moved it first).
func (s *Store) MoveWebhookCursor(ctx context.Context, from, to int64) error {
	res, err := s.exec(ctx, `UPDATE webhook_cursors SET position = ? WHERE name = 'attempts' AND position = ?`, to, from)
	return s.affected(res, err, "move webhook cursor")
}

// LastAttemptID returns the id of the newest attempt (0 when none).
func (s *Store) LastAttemptID(ctx context.Context) (int64, error) {
	var id int64
	err := s.queryRow(ctx, `SELECT COALESCE(max(id), 0) FROM attempts`).Scan(&id)
	return id, s.wrap(err, "last attempt")
}

// AttemptsAfter returns up to limit attempts after attempt id after, in
// order, made before settled (newer ones may still be committing on
// PostgreSQL, whose ids are not given in commit order), of the owners
// given; and the id up to which it read. A successful attempt is a sent
// delivery; a failed one counts only when it is its delivery's last and
// the delivery is failed.
func (s *Store) AttemptsAfter(ctx context.Context, after int64, settled time.Time, limit int, owners map[int64]bool) ([]*FinishedAttempt, int64, error) {
	rows, err := s.query(ctx, `SELECT a.id, a.delivery_id, a.run_id, a.mailing_id, a.owner_id, a.email, a.attempted_at, a.success,
		a.code, a.enhanced, a.response,
		COALESCE(d.recipient_id, 0), COALESCE(d.status, ''),
		CASE WHEN EXISTS (SELECT 1 FROM attempts a2 WHERE a2.delivery_id = a.delivery_id AND a2.id > a.id) THEN 1 ELSE 0 END
		FROM attempts a LEFT JOIN deliveries d ON d.id = a.delivery_id
		WHERE a.id > ? ORDER BY a.id LIMIT ?`, after, limit)
	if err != nil {
		return nil, after, s.wrap(err, "read attempts for webhooks")
	}
	defer rows.Close()
	var out []*FinishedAttempt
	pos := after
	for rows.Next() {
		f := &FinishedAttempt{}
		var status string
		var later int
		if err := rows.Scan(&f.ID, &f.DeliveryID, &f.RunID, &f.MailingID, &f.OwnerID, &f.Email, &f.At, &f.Sent, &f.Code,
			&f.Enhanced, &f.Response, &f.RecipientID, &status, &later); err != nil {
			return nil, after, s.wrap(err, "read attempts for webhooks")
		}
		f.At = f.At.UTC()
		if f.At.After(settled) {
			break
		}
		pos = f.ID
		if !owners[f.OwnerID] || (!f.Sent && (status != "failed" || later != 0)) {
			continue
		}
		out = append(out, f)
	}
	return out, pos, s.wrap(rows.Err(), "read attempts for webhooks")
}

// DeliveryRecipient returns the recipient of delivery id (0 when the
// recipient was deleted since), or NotFound.
func (s *Store) DeliveryRecipient(ctx context.Context, id int64) (int64, error) {
	var rid sql.NullInt64
	err := s.queryRow(ctx, `SELECT recipient_id FROM deliveries WHERE id = ?`, id).Scan(&rid)
	return rid.Int64, s.wrap(err, "get delivery recipient")
}

// GetDelivery returns delivery id and the mailing it belongs to, or
// NotFound.
func (s *Store) GetDelivery(ctx context.Context, id int64) (*simplesender.Delivery, int64, error) {
	var mailing int64
	if err := s.queryRow(ctx, `SELECT r.mailing_id FROM deliveries d JOIN runs r ON r.id = d.run_id WHERE d.id = ?`, id).
		Scan(&mailing); err != nil {
		return nil, 0, s.wrap(err, "get delivery")
	}
	d, err := scanDelivery(s.queryRow(ctx, "SELECT "+deliveryColumns+" FROM deliveries WHERE id = ?", id))
	if err != nil {
		return nil, 0, s.wrap(err, "get delivery")
	}
	return d, mailing, nil
}
