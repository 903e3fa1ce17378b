package main

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"simplesender"
	"simplesender/internal/store"
)

// seeded is what the measurements need to know about the seeded data.
type seeded struct {
	big      *simplesender.User // the user with most of the attempts
	manager  *simplesender.User
	users    []*simplesender.User // the other users
	attempts int                  // attempt rows written in all
	bigAtt   int                  // of them, the big user's
}

// seeder writes rows with multi-row INSERTs straight into the tables (the
// counters are rebuilt from them afterwards, as an import would).
type seeder struct {
	db  *store.DB
	pg  bool
	now time.Time
	ids map[string]int64 // next explicit id per table
}

func (s *seeder) next(table string) int64 {
	s.ids[table]++
	return s.ids[table]
}

// insert writes rows into table with statements of at most 500 rows, in one
// transaction.
func (s *seeder) insert(ctx context.Context, table string, cols []string, rows [][]any) error {
	tx, err := s.db.Writer().BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck
	for len(rows) > 0 {
		chunk := rows[:min(len(rows), 500)]
		rows = rows[len(chunk):]
		var b strings.Builder
		b.WriteString("INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ")
		args := make([]any, 0, len(chunk)*len(cols))
		n := 0
		for i, r := range chunk {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('(')
			for j := range cols {
				if j > 0 {
					b.WriteString(", ")
				}
				n++
				if s.pg {
					b.WriteString("$" + strconv.Itoa(n))
				} else {
					b.WriteByte('?')
				}
			}
			b.WriteByte(')')
			args = append(args, r...)
		}
		if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("insert into %s: %w", table, err)
		}
	}
	return tx.Commit()
}

// history seeds owner's mailings: each with one run of perMailing
// deliveries (90% sent, 5% failed, 3% unknown, 2% cancelled), spread over
// the last `days` days, the last mailing still being sent (40% pending).
// Deliveries get one attempt, and as many get a failed attempt before it
// as it takes to write `target` attempt rows in all (when possible). It
// returns the number of attempt rows written.
func (s *seeder) history(ctx context.Context, owner *simplesender.User, mailings, perMailing, target, days int) (int, error) {
	msg := &simplesender.Message{OwnerID: owner.ID, Subject: "Новости", BodyText: "Здравствуйте!"}
	if err := s.db.Store().CreateMessage(ctx, msg); err != nil {
		return 0, err
	}
	if err := s.db.Store().BulkRecipients(ctx, owner.ID, perMailing, func(i int) simplesender.Recipient {
		return simplesender.Recipient{Email: fmt.Sprintf("r%d.%d@example.com", owner.ID, i), FirstName: "Иван"}
	}); err != nil {
		return 0, err
	}
	var firstRecipient int64
	if err := s.db.Writer().QueryRowContext(ctx, s.rebind("SELECT min(id) FROM recipients WHERE owner_id = ?"), owner.ID).
		Scan(&firstRecipient); err != nil {
		return 0, err
	}
	attempts := 0
	for k := range mailings {
		running := k == mailings-1
		mid, rid := s.next("mailings"), s.next("runs")
		start := s.now.Add(-time.Duration(days)*24*time.Hour + time.Duration(k)*time.Duration(days)*24*time.Hour/time.Duration(mailings))
		status, finished := "finished", any(start.Add(6*time.Hour))
		if running {
			status, finished = "running", nil
		}
		if err := s.insert(ctx, "mailings", []string{"id", "owner_id", "name", "message_id", "status", "started_at",
			"finished_at", "last_run_id", "created_at", "updated_at"},
			[][]any{{mid, owner.ID, fmt.Sprintf("Рассылка %d", k+1), msg.ID, status, start, finished, rid, start, start}}); err != nil {
			return 0, err
		}
		if err := s.insert(ctx, "runs", []string{"id", "mailing_id", "owner_id", "number", "kind", "trigger", "started_at",
			"finished_at", "subject", "body_text", "total"},
			[][]any{{rid, mid, owner.ID, 1, "send", "now", start, finished, msg.Subject, msg.BodyText, perMailing}}); err != nil {
			return 0, err
		}
		var dels, atts [][]any
		// Retries for this mailing: its share of what the target still needs
		// beyond one attempt per delivery (98% of them have one).
		settled := perMailing*98/100*(mailings-k-1) + perMailing*6/10*98/100
		extra := max(target-attempts-settled, 0) / (mailings - k)
		for i := range perMailing {
			did := s.next("deliveries")
			email := fmt.Sprintf("r%d.%d@example.com", owner.ID, i)
			at := start.Add(time.Duration(i) * 6 * time.Hour / time.Duration(perMailing))
			st := "sent"
			switch {
			case running && i >= perMailing*6/10:
				st = "pending"
			case i%100 < 5:
				st = "failed"
			case i%100 < 8:
				st = "unknown"
			case i%100 < 10:
				st = "cancelled"
			}
			var sentAt any
			if st == "sent" {
				sentAt = at
			}
			dels = append(dels, []any{did, rid, firstRecipient + int64(i), email, st, 1, at, sentAt, at})
			if st == "pending" || st == "cancelled" {
				continue
			}
			if extra > 0 {
				extra--
				// A temporary failure an hour before the attempt that settled it.
				atts = append(atts, []any{did, rid, mid, owner.ID, email, at.Add(-time.Hour), false, 451, "451 4.3.0 try later"})
			}
			code, resp := 250, "250 2.0.0 OK"
			if st != "sent" {
				code, resp = 550, "550 5.1.1 no such user"
			}
			atts = append(atts, []any{did, rid, mid, owner.ID, email, at, st == "sent", code, resp})
		}
		if err := s.insert(ctx, "deliveries", []string{"id", "run_id", "recipient_id", "email", "status", "attempts",
			"next_attempt_at", "sent_at", "updated_at"}, dels); err != nil {
			return 0, err
		}
		if err := s.insert(ctx, "attempts", []string{"delivery_id", "run_id", "mailing_id", "owner_id", "email",
			"attempted_at", "success", "code", "response"}, atts); err != nil {
			return 0, err
		}
		attempts += len(atts)
	}
	return attempts, nil
}

func (s *seeder) rebind(q string) string {
	if !s.pg {
		return q
	}
	n := 0
	var b strings.Builder
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// seed writes the benchmark's data: the big user with about `attempts`
// attempt rows in 100 mailings over 90 days, and `users` more users with a
// small history each, and a manager.
func seed(ctx context.Context, db *store.DB, attempts, users int) (*seeded, error) {
	s := &seeder{db: db, pg: db.Engine() == "postgres", now: time.Now().UTC(), ids: map[string]int64{}}
	mk := func(email string, role simplesender.Role) (*simplesender.User, error) {
		now := s.now
		u := &simplesender.User{Email: email, Name: "Bench", Role: role, PasswordHash: "x", TimeZone: "Europe/Moscow", ConfirmedAt: &now}
		return u, db.Store().CreateUser(ctx, u)
	}
	out := &seeded{}
	var err error
	if out.manager, err = mk("boss@example.com", simplesender.RoleManager); err != nil {
		return nil, err
	}
	if out.big, err = mk("big@example.com", simplesender.RoleUser); err != nil {
		return nil, err
	}
	// 100 mailings of 8,000 deliveries; the attempts beyond one per
	// delivery are retries.
	if out.bigAtt, err = s.history(ctx, out.big, 100, 8000, attempts, 90); err != nil {
		return nil, err
	}
	out.attempts = out.bigAtt
	for i := range users {
		u, err := mk(fmt.Sprintf("user%03d@example.com", i), simplesender.RoleUser)
		if err != nil {
			return nil, err
		}
		out.users = append(out.users, u)
		n, err := s.history(ctx, u, 2, 50, 110, 30)
		if err != nil {
			return nil, err
		}
		out.attempts += n
	}
	if s.pg {
		for _, t := range []string{"mailings", "runs", "deliveries"} {
			if _, err := db.Writer().ExecContext(ctx, "SELECT setval(pg_get_serial_sequence('"+t+"', 'id'), (SELECT max(id) FROM "+t+"))"); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// analyze refreshes the planner's statistics, as autovacuum would.
func analyze(ctx context.Context, w *sql.DB) error {
	_, err := w.ExecContext(ctx, "ANALYZE")
	return err
}
