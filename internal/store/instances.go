package store

import (
	"context"
	"time"

	"simplesender"
)

// Heartbeat records that engine instance id is alive.
func (db *DB) Heartbeat(ctx context.Context, id, host string, now time.Time) error {
	s := db.Store()
	_, err := s.exec(ctx, `INSERT INTO engine_instances (id, host, started_at, heartbeat_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`, id, host, now, now)
	return s.wrap(err, "heartbeat")
}

// RemoveInstance forgets an instance that stopped cleanly.
func (db *DB) RemoveInstance(ctx context.Context, id string) error {
	s := db.Store()
	_, err := s.exec(ctx, "DELETE FROM engine_instances WHERE id = ?", id)
	return s.wrap(err, "remove instance")
}

// unknownResponse is stored for deliveries whose sender died mid-send.
const unknownResponse = "outcome unknown: the sending process stopped while this message was being sent; it is not resent automatically"

// SweepOrphans turns deliveries left in sending by instances that stopped
// heart-beating before staleBefore (a crash) into unknown, each with an
// attempt row (and the report counters with them), and ends their runs when
// nothing else is open. It returns how many it marked; whose deliveries
// they were goes to the change hook with the commit.
func (db *DB) SweepOrphans(ctx context.Context, self string, staleBefore, now time.Time) (int, error) {
	n := 0
	err := db.InTx(ctx, func(s *Store) error {
		rows, err := s.w.QueryContext(ctx, db.dialect.rebind(`SELECT d.id, d.run_id, r.mailing_id, r.owner_id, d.email
			FROM deliveries d JOIN runs r ON r.id = d.run_id
			WHERE d.run_id IN (SELECT id FROM runs WHERE finished_at IS NULL) AND d.status = `+sqlSending+` AND (d.claimed_by IS NULL OR (d.claimed_by <> ? AND NOT EXISTS (
				SELECT 1 FROM engine_instances i WHERE i.id = d.claimed_by AND i.heartbeat_at >= ?)))`), self, staleBefore)
		if err != nil {
			return s.wrap(err, "find orphans")
		}
		var outs []Outcome
		for rows.Next() {
			o := Outcome{Status: simplesender.DeliveryUnknown, Cause: simplesender.CauseUnknown, Attempted: true, At: now, Response: unknownResponse}
			if err := rows.Scan(&o.DeliveryID, &o.RunID, &o.MailingID, &o.OwnerID, &o.Email); err != nil {
				rows.Close()
				return s.wrap(err, "scan orphan")
			}
			outs = append(outs, o)
		}
		rows.Close()
		runs := map[int64]struct{}{}
		var counts tally // the report counters move with the rows, in this transaction
		for _, o := range outs {
			runs[o.RunID] = struct{}{}
			res, err := s.exec(ctx, `UPDATE deliveries SET status = `+sqlUnknown+`, claimed_by = NULL, last_response = ?, updated_at = ?
				WHERE id = ? AND status = `+sqlSending, o.Response, now, o.DeliveryID)
			if err != nil {
				return s.wrap(err, "mark unknown")
			}
			if changed, err := affectedOne(res); err != nil {
				return s.wrap(err, "mark unknown")
			} else if changed {
				counts.delivery(o.RunID, simplesender.DeliveryUnknown)
			}
			if _, err := s.exec(ctx, `INSERT INTO attempts (delivery_id, run_id, mailing_id, owner_id, email, attempted_at,
				success, code, enhanced, response) VALUES (?, ?, ?, ?, ?, ?, ?, 0, '', ?)`, o.DeliveryID, o.RunID, o.MailingID,
				o.OwnerID, o.Email, now, false, o.Response); err != nil {
				return s.wrap(err, "record unknown attempt")
			}
			counts.attempt(o.MailingID, o.OwnerID, now, false)
		}
		if err := counts.save(ctx, s); err != nil {
			return err
		}
		n = len(outs)
		var owners []int64
		seen := map[int64]bool{}
		for _, o := range outs {
			if !seen[o.OwnerID] {
				seen[o.OwnerID] = true
				owners = append(owners, o.OwnerID)
			}
		}
		s.touch(ctx, nil, owners...)
		if _, err := s.exec(ctx, "DELETE FROM engine_instances WHERE heartbeat_at < ? AND id <> ?", staleBefore, self); err != nil {
			return s.wrap(err, "forget dead instances")
		}
		for r := range runs {
			if err := s.FinishRunIfDone(ctx, r, now); err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}

// CancelledRuns returns the ids of runs cancelled but not yet finished.
func (db *DB) CancelledRuns(ctx context.Context) (map[int64]bool, error) {
	rows, err := db.w.QueryContext(ctx, "SELECT id FROM runs WHERE cancelled_at IS NOT NULL AND finished_at IS NULL")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}
