package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// InboundMessage is something that came back after sending, kept as it
// came: a returned e-mail (a bounce, a complaint, an auto-reply) or a
// provider's webhook event. It is stored before anything is read from it,
// so that nothing is lost when the service stops while reading it.
type InboundMessage struct {
	ID           int64
	Source       string // "smtp", "imap", "webhook:ses", ...
	ReceivedAt   time.Time
	Remote       string // the client's IP address
	EnvelopeFrom string
	EnvelopeTo   string // the recipient addresses it came for, comma-separated
	EventID      string // the provider's id of the event: the same event stored once
	Raw          []byte // nil once the retention time has passed
	ProcessedAt  time.Time
	Error        string // why it could not be read, when it could not
}

// DeliveryReport is what one inbound message says about one delivery (or
// about an address, when it matched no delivery).
type DeliveryReport struct {
	ID         int64
	InboundID  int64
	ReceivedAt time.Time
	Source     string
	Kind       string // hard, soft, policy, delayed, delivered, complaint, auto_reply, unknown
	DeliveryID int64  // 0: it matched none
	OwnerID    int64  // 0: it matched none
	MailingID  int64
	Email      string
	Status     string
	Diagnostic string
	Applied    string // what it did: bounced, complained, suppressed, counted, ignored, unmatched
}

// SaveInbound stores m and sets its ID. A provider event already stored
// (the same Source and EventID) is not stored again: SaveInbound returns
// false and leaves m.ID zero.
func (s *Store) SaveInbound(ctx context.Context, m *InboundMessage) (bool, error) {
	var event any
	if m.EventID != "" {
		event = m.EventID
	}
	err := s.writeRow(ctx, `INSERT INTO inbound_messages (source, received_at, remote, envelope_from, envelope_to, event_id, raw)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (source, event_id) WHERE event_id IS NOT NULL DO NOTHING RETURNING id`,
		m.Source, m.ReceivedAt, m.Remote, m.EnvelopeFrom, m.EnvelopeTo, event, m.Raw).Scan(&m.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, s.wrap(err, "save inbound message")
}

// PendingInbound returns up to limit inbound messages not yet processed,
// oldest first.
func (s *Store) PendingInbound(ctx context.Context, limit int) ([]*InboundMessage, error) {
	rows, err := s.query(ctx, `SELECT id, source, received_at, remote, envelope_from, envelope_to, COALESCE(event_id, ''), raw
		FROM inbound_messages WHERE processed_at IS NULL ORDER BY id LIMIT ?`, limit)
	if err != nil {
		return nil, s.wrap(err, "pending inbound messages")
	}
	defer rows.Close()
	var out []*InboundMessage
	for rows.Next() {
		m := &InboundMessage{}
		if err := rows.Scan(&m.ID, &m.Source, &m.ReceivedAt, &m.Remote, &m.EnvelopeFrom, &m.EnvelopeTo, &m.EventID, &m.Raw); err != nil {
			return nil, s.wrap(err, "scan inbound message")
		}
		m.ReceivedAt = m.ReceivedAt.UTC()
		out = append(out, m)
	}
	return out, s.wrap(rows.Err(), "pending inbound messages")
}

// FinishInbound marks inbound message id processed, with the reports read
// from it and the error that stopped the reading, if any. Call it in the
// transaction that applied the reports, so that a message is either fully
// applied and finished or neither.
func (s *Store) FinishInbound(ctx context.Context, id int64, reports []*DeliveryReport, readErr string) error {
	for _, r := range reports {
		r.InboundID = id
		if err := s.AddDeliveryReport(ctx, r); err != nil {
			return err
		}
	}
	res, err := s.exec(ctx, `UPDATE inbound_messages SET processed_at = ?, error = ? WHERE id = ? AND processed_at IS NULL`,
		s.Now(), readErr, id)
	return s.affected(res, err, "finish inbound message")
}

// AddDeliveryReport stores r and sets its ID. A delivery's first soft
// bounce is counted in the report counters (return_counts); hard bounces
// and complaints are counted by ApplyReport, when they move the delivery.
func (s *Store) AddDeliveryReport(ctx context.Context, r *DeliveryReport) error {
	if r.Kind == "soft" && r.DeliveryID != 0 && r.MailingID != 0 {
		var n int
		if err := s.queryRow(ctx, `SELECT count(*) FROM delivery_reports WHERE delivery_id = ? AND kind = 'soft'`,
			r.DeliveryID).Scan(&n); err != nil {
			return s.wrap(err, "count soft bounces of delivery")
		}
		if n == 0 {
			var counts tally
			counts.returned(r.MailingID, r.OwnerID, r.ReceivedAt, returnSoft)
			if err := s.touch(ctx, counts.save(ctx, s), r.OwnerID); err != nil {
				return err
			}
		}
	}
	err := s.writeRow(ctx, `INSERT INTO delivery_reports (inbound_id, received_at, source, kind, delivery_id, owner_id,
		mailing_id, email, status, diagnostic, applied) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		nullID(r.InboundID), r.ReceivedAt, r.Source, r.Kind, nullID(r.DeliveryID), nullID(r.OwnerID), nullID(r.MailingID),
		r.Email, r.Status, r.Diagnostic, r.Applied).Scan(&r.ID)
	return s.wrap(err, "add delivery report")
}

const reportColumns = `id, COALESCE(inbound_id, 0), received_at, source, kind, COALESCE(delivery_id, 0), COALESCE(owner_id, 0),
	COALESCE(mailing_id, 0), email, status, diagnostic, applied`

func scanReports(rows *sql.Rows, err error) ([]*DeliveryReport, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*DeliveryReport
	for rows.Next() {
		r := &DeliveryReport{}
		if err := rows.Scan(&r.ID, &r.InboundID, &r.ReceivedAt, &r.Source, &r.Kind, &r.DeliveryID, &r.OwnerID,
			&r.MailingID, &r.Email, &r.Status, &r.Diagnostic, &r.Applied); err != nil {
			return nil, err
		}
		r.ReceivedAt = r.ReceivedAt.UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}

// ReportsOf returns the reports about each of deliveryIDs, oldest first.
func (s *Store) ReportsOf(ctx context.Context, deliveryIDs []int64) (map[int64][]*DeliveryReport, error) {
	out := map[int64][]*DeliveryReport{}
	if len(deliveryIDs) == 0 {
		return out, nil
	}
	args := make([]any, len(deliveryIDs))
	for i, id := range deliveryIDs {
		args[i] = id
	}
	reps, err := scanReports(s.query(ctx, `SELECT `+reportColumns+` FROM delivery_reports
		WHERE delivery_id IN (`+placeholders(len(args))+`) ORDER BY id`, args...))
	for _, r := range reps {
		out[r.DeliveryID] = append(out[r.DeliveryID], r)
	}
	return out, s.wrap(err, "reports of deliveries")
}

// UnmatchedReports returns a page of the reports that matched no delivery,
// newest first, and how many there are.
func (s *Store) UnmatchedReports(ctx context.Context, limit, offset int) ([]*DeliveryReport, int, error) {
	var n int
	if err := s.queryRow(ctx, `SELECT count(*) FROM delivery_reports WHERE owner_id IS NULL`).Scan(&n); err != nil {
		return nil, 0, s.wrap(err, "count unmatched reports")
	}
	out, err := scanReports(s.query(ctx, `SELECT `+reportColumns+` FROM delivery_reports WHERE owner_id IS NULL
		ORDER BY received_at DESC, id DESC LIMIT ? OFFSET ?`, limit, offsetArg(offset)))
	return out, n, s.wrap(err, "unmatched reports")
}

// SoftBounces returns how many other deliveries of owner to the address
// email (besides delivery besides) soft-bounced since the given time: each
// sending of a mailing counts once, however many reports it got.
func (s *Store) SoftBounces(ctx context.Context, owner int64, email string, besides int64, since time.Time) (int, error) {
	var n int
	err := s.queryRow(ctx, `SELECT count(DISTINCT delivery_id) FROM delivery_reports
		WHERE kind = 'soft' AND owner_id = ? AND email = ? AND delivery_id <> ? AND received_at >= ?`,
		owner, email, besides, since).Scan(&n)
	return n, s.wrap(err, "count soft bounces")
}

// ReportedDelivery is what a report needs to know of the delivery it names.
type ReportedDelivery struct {
	ID, RunID, MailingID, OwnerID int64
	Email                         string
	Status                        string
	MessageID                     string
}

// DeliveryForReport returns delivery id as a report sees it. Errors:
// NotFound.
func (s *Store) DeliveryForReport(ctx context.Context, id int64) (*ReportedDelivery, error) {
	d := &ReportedDelivery{}
	err := s.queryRow(ctx, `SELECT d.id, d.run_id, r.mailing_id, r.owner_id, d.email, d.status, d.message_id
		FROM deliveries d JOIN runs r ON r.id = d.run_id WHERE d.id = ?`, id).
		Scan(&d.ID, &d.RunID, &d.MailingID, &d.OwnerID, &d.Email, &d.Status, &d.MessageID)
	if err != nil {
		return nil, s.wrap(err, "delivery for report")
	}
	return d, nil
}

// ForgetInboundRaw drops the raw text of inbound messages received before
// the given time that were processed, and returns how many.
func (s *Store) ForgetInboundRaw(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.exec(ctx, `UPDATE inbound_messages SET raw = NULL
		WHERE raw IS NOT NULL AND received_at < ? AND processed_at IS NOT NULL`, before)
	if err != nil {
		return 0, s.wrap(err, "forget inbound messages")
	}
	n, err := res.RowsAffected()
	return n, s.wrap(err, "forget inbound messages")
}

// UnmatchedReport returns report id if it matched no delivery. Errors:
// NotFound.
func (s *Store) UnmatchedReport(ctx context.Context, id int64) (*DeliveryReport, error) {
	reps, err := scanReports(s.query(ctx, `SELECT `+reportColumns+` FROM delivery_reports WHERE id = ? AND owner_id IS NULL`, id))
	if err != nil {
		return nil, s.wrap(err, "read report")
	}
	if len(reps) == 0 {
		return nil, s.wrap(sql.ErrNoRows, "read report")
	}
	return reps[0], nil
}

// InboundByID returns inbound message id, with its raw text while it is
// kept (nil after). Errors: NotFound.
func (s *Store) InboundByID(ctx context.Context, id int64) (*InboundMessage, error) {
	m := &InboundMessage{}
	var processed sql.NullTime
	err := s.queryRow(ctx, `SELECT id, source, received_at, remote, envelope_from, envelope_to, COALESCE(event_id, ''), raw,
		processed_at, error FROM inbound_messages WHERE id = ?`, id).Scan(&m.ID, &m.Source, &m.ReceivedAt, &m.Remote,
		&m.EnvelopeFrom, &m.EnvelopeTo, &m.EventID, &m.Raw, &processed, &m.Error)
	if err != nil {
		return nil, s.wrap(err, "read inbound message")
	}
	m.ReceivedAt, m.ProcessedAt = m.ReceivedAt.UTC(), processed.Time.UTC()
	return m, nil
}
