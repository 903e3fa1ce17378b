package store

import (
	"context"
	"database/sql"

	"simplesender"
)

// DeliveryFilter selects deliveries of a run.
type DeliveryFilter struct {
	Status simplesender.DeliveryStatus
	Query  string
	Limit  int
	Offset int
}

const deliveryColumns = `id, run_id, recipient_id, email, last_name, first_name, middle_name, status, attempts,
	next_attempt_at, last_code, last_enhanced, last_response, message_id, sent_at, updated_at`

// ListDeliveries returns a page of run id's deliveries and the total matching.
func (s *Store) ListDeliveries(ctx context.Context, runID int64, f DeliveryFilter) ([]*simplesender.Delivery, int, error) {
	where, args := "WHERE run_id = ?", []any{runID}
	if f.Status != "" {
		if f.Status == simplesender.DeliveryPending {
			where += " AND status IN " + sqlOpen
		} else {
			where += " AND status = ?"
			args = append(args, string(f.Status))
		}
	}
	if f.Query != "" {
		where += ` AND lower(email) LIKE ? ESCAPE '\'`
		args = append(args, likePattern(f.Query))
	}
	var total int
	if err := s.queryRow(ctx, "SELECT count(*) FROM deliveries "+where, args...).Scan(&total); err != nil {
		return nil, 0, s.wrap(err, "count deliveries")
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	out, err := queryList(ctx, s, "list deliveries", scanDelivery, "SELECT "+deliveryColumns+" FROM deliveries "+where+" ORDER BY id LIMIT ? OFFSET ?",
		append(args, f.Limit, offsetArg(f.Offset))...)
	return out, total, err
}

// scanDelivery reads a row of deliveryColumns.
func scanDelivery(row scanner) (*simplesender.Delivery, error) {
	var d simplesender.Delivery
	var rid sql.NullInt64
	var next, sent sql.NullTime
	var st string
	if err := row.Scan(&d.ID, &d.RunID, &rid, &d.Email, &d.LastName, &d.FirstName, &d.MiddleName, &st, &d.Attempts,
		&next, &d.LastCode, &d.LastEnhanced, &d.LastResponse, &d.MessageID, &sent, &d.UpdatedAt); err != nil {
		return nil, err
	}
	d.RecipientID, d.Status = rid.Int64, simplesender.DeliveryStatus(st)
	if d.Status == simplesender.DeliveryDeferred {
		d.NextAttemptAt = nullTime(next)
	}
	d.SentAt = nullTime(sent)
	return &d, nil
}

// AttemptsOf returns the attempts of the given deliveries, oldest first,
// grouped by delivery id.
func (s *Store) AttemptsOf(ctx context.Context, deliveryIDs []int64) (map[int64][]*simplesender.Attempt, error) {
	out := map[int64][]*simplesender.Attempt{}
	if len(deliveryIDs) == 0 {
		return out, nil
	}
	args := make([]any, len(deliveryIDs))
	for i, id := range deliveryIDs {
		args[i] = id
	}
	rows, err := s.query(ctx, `SELECT id, delivery_id, run_id, email, attempted_at, success, code, enhanced, response
		FROM attempts WHERE delivery_id IN (`+placeholders(len(args))+`) ORDER BY id`, args...)
	if err != nil {
		return nil, s.wrap(err, "list attempts")
	}
	defer rows.Close()
	for rows.Next() {
		a, err := scanAttempt(rows)
		if err != nil {
			return nil, err
		}
		out[a.DeliveryID] = append(out[a.DeliveryID], a)
	}
	return out, s.wrap(rows.Err(), "list attempts")
}

func scanAttempt(rows scanner) (*simplesender.Attempt, error) {
	var a simplesender.Attempt
	if err := rows.Scan(&a.ID, &a.DeliveryID, &a.RunID, &a.Email, &a.AttemptedAt, &a.Success, &a.Code, &a.Enhanced, &a.Response); err != nil {
		return nil, err
	}
	a.AttemptedAt = a.AttemptedAt.UTC()
	return &a, nil
}

// ListAttempts returns a page of every attempt of mailing id, oldest first.
func (s *Store) ListAttempts(ctx context.Context, mailingID int64, limit, offset int) ([]*simplesender.Attempt, int, error) {
	var total int
	if err := s.queryRow(ctx, "SELECT count(*) FROM attempts WHERE mailing_id = ?", mailingID).Scan(&total); err != nil {
		return nil, 0, s.wrap(err, "count attempts")
	}
	out, err := queryList(ctx, s, "list attempts", scanAttempt, `SELECT id, delivery_id, run_id, email, attempted_at, success, code, enhanced, response
		FROM attempts WHERE mailing_id = ? ORDER BY id LIMIT ? OFFSET ?`, mailingID, limit, offsetArg(offset))
	return out, total, err
}

// WaitingDeliveries counts deliveries pending or deferred, for metrics.
func (db *DB) WaitingDeliveries(ctx context.Context) (int, error) {
	var n int
	err := db.r.QueryRowContext(ctx, "SELECT count(*) FROM deliveries WHERE status IN "+sqlWaiting).Scan(&n)
	return n, err
}
