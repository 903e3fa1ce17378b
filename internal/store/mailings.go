package store

import (
	"context"
	"database/sql"
	"time"

	"simplesender"
)

// mailingColumns are a mailing's columns with its last run's counters and
// times (lr, c: see mailingFrom), so that one statement reads a mailing as
// it is shown; scanMailing reads them.
var mailingColumns = `m.id, m.owner_id, u.email, m.name, m.message_id, m.status, m.scheduled_at, m.started_at,
	m.finished_at, m.disabled_at, m.created_at, m.updated_at, m.recipient_count, m.start_note,
	COALESCE((SELECT ms.subject FROM messages ms WHERE ms.id = m.message_id), ''),
	COALESCE(lr.total, 0), lr.scheduled_at, lr.started_at, ` + finalCountsSQL

const mailingFrom = ` FROM mailings m JOIN users u ON u.id = m.owner_id
	LEFT JOIN runs lr ON lr.id = m.last_run_id LEFT JOIN run_counts c ON c.run_id = lr.id `

func scanMailing(row scanner) (*simplesender.Mailing, error) {
	var m simplesender.Mailing
	var st string
	var sched, started, finished, disabled, runSched, runStarted sql.NullTime
	var total int
	final := make([]int, len(finalColumns))
	dest := []any{&m.ID, &m.OwnerID, &m.OwnerEmail, &m.Name, &m.MessageID, &st, &sched, &started, &finished, &disabled,
		&m.CreatedAt, &m.UpdatedAt, &m.RecipientCount, &m.StartNote, &m.Subject, &total, &runSched, &runStarted}
	for i := range final {
		dest = append(dest, &final[i])
	}
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	m.Status = simplesender.MailingStatus(st)
	m.ScheduledAt, m.StartedAt, m.FinishedAt, m.DisabledAt = nullTime(sched), nullTime(started), nullTime(finished), nullTime(disabled)
	m.CreatedAt, m.UpdatedAt = m.CreatedAt.UTC(), m.UpdatedAt.UTC()
	if runStarted.Valid { // the last run's counts and lateness
		for i, k := range simplesender.FinalCounters {
			m.Counts.Add(k, final[i])
		}
		m.Counts.Pending = max(total-m.Counts.Done(), 0) // waiting, being sent or to be tried again
		if runSched.Valid && runStarted.Time.After(runSched.Time) {
			m.LateBy = runStarted.Time.Sub(runSched.Time)
		}
	}
	return &m, nil
}

// CreateMailing inserts m with its audience and sets its ID.
func (s *Store) CreateMailing(ctx context.Context, m *simplesender.Mailing, recipientIDs []int64) error {
	now := s.Now()
	m.CreatedAt, m.UpdatedAt, m.Status = now, now, simplesender.MailingCreated
	err := s.writeRow(ctx, `INSERT INTO mailings (owner_id, name, message_id, status, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, m.OwnerID, m.Name, m.MessageID, string(m.Status), now, now).Scan(&m.ID)
	if err != nil {
		return s.wrap(err, "create mailing")
	}
	return s.touch(ctx, s.SetMailingRecipients(ctx, m.ID, recipientIDs), m.OwnerID)
}

// UpdateMailing saves the name and message of owner's mailing m.
func (s *Store) UpdateMailing(ctx context.Context, owner int64, m *simplesender.Mailing) error {
	m.UpdatedAt = s.Now()
	res, err := s.exec(ctx, "UPDATE mailings SET name = ?, message_id = ?, updated_at = ? WHERE id = ? AND owner_id = ?",
		m.Name, m.MessageID, m.UpdatedAt, m.ID, owner)
	return s.touch(ctx, s.affected(res, err, "update mailing"), owner)
}

// SetMailingRecipients replaces the audience of mailing id.
func (s *Store) SetMailingRecipients(ctx context.Context, id int64, recipientIDs []int64) error {
	if _, err := s.exec(ctx, "DELETE FROM mailing_recipients WHERE mailing_id = ?", id); err != nil {
		return s.wrap(err, "clear mailing recipients")
	}
	for len(recipientIDs) > 0 {
		chunk := recipientIDs[:min(len(recipientIDs), 400)]
		recipientIDs = recipientIDs[len(chunk):]
		q := "INSERT INTO mailing_recipients (mailing_id, recipient_id) VALUES "
		args := make([]any, 0, 2*len(chunk))
		for i, r := range chunk {
			if i > 0 {
				q += ", "
			}
			q += "(?, ?)"
			args = append(args, id, r)
		}
		if _, err := s.exec(ctx, q+" ON CONFLICT DO NOTHING", args...); err != nil {
			return s.wrap(err, "set mailing recipients")
		}
	}
	return nil
}

// MailingRecipientIDs returns the ids of mailing id's audience.
func (s *Store) MailingRecipientIDs(ctx context.Context, id int64) ([]int64, error) {
	rows, err := s.query(ctx, "SELECT recipient_id FROM mailing_recipients WHERE mailing_id = ? ORDER BY recipient_id", id)
	if err != nil {
		return nil, s.wrap(err, "list mailing recipients")
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var r int64
		if err := rows.Scan(&r); err != nil {
			return nil, s.wrap(err, "scan")
		}
		out = append(out, r)
	}
	return out, s.wrap(rows.Err(), "list mailing recipients")
}

// mailingRecipientsSQL reads a page of a mailing's audience.
var mailingRecipientsSQL = `SELECT ` + prefixed("r.", recipientColumns) + ` FROM (SELECT recipient_id FROM mailing_recipients
	WHERE mailing_id = ? ORDER BY recipient_id LIMIT ? OFFSET ?) mr JOIN recipients r ON r.id = mr.recipient_id ORDER BY mr.recipient_id`

// MailingRecipients returns a page of mailing id's audience, by id. The
// page is cut from the audience's own index (mailing_id, recipient_id)
// before the recipients are joined, so that it reads its own rows only, not
// the whole audience sorted.
func (s *Store) MailingRecipients(ctx context.Context, id int64, limit, offset int) ([]*simplesender.Recipient, error) {
	return queryList(ctx, s, "list mailing recipients", scanRecipient, mailingRecipientsSQL, id, limit, offsetArg(offset))
}

func prefixed(p, cols string) string {
	out := ""
	for i, c := range splitCols(cols) {
		if i > 0 {
			out += ", "
		}
		out += p + c
	}
	return out
}

func splitCols(cols string) []string {
	var out []string
	cur := ""
	for _, r := range cols {
		switch r {
		case ',':
			out = append(out, cur)
			cur = ""
		case ' ', '\n', '\t':
		default:
			cur += string(r)
		}
	}
	return append(out, cur)
}

// mailingByIDSQL reads one mailing; every column is the mailing's own or a
// primary-key lookup (its recipient_count is kept by the database, its last
// run's counts in run_counts).
var mailingByIDSQL = "SELECT " + mailingColumns + mailingFrom + "WHERE m.id = ?"

// MailingByID returns mailing id of owner (any owner when owner is 0), with
// the counts of its last run.
func (s *Store) MailingByID(ctx context.Context, owner, id int64) (*simplesender.Mailing, error) {
	mine, args := ownedBy("m.owner_id", owner)
	m, err := scanMailing(s.queryRow(ctx, mailingByIDSQL+" AND "+mine, append([]any{id}, args...)...))
	if err != nil {
		return nil, s.wrap(err, "get mailing")
	}
	return m, nil
}

// MailingFilter selects mailings.
type MailingFilter struct {
	ListFilter
	Status simplesender.MailingStatus // "" for all
}

// ListMailings returns a page of owner's mailings (everyone's when owner is
// 0), newest first, with the counts of their last runs.
func (s *Store) ListMailings(ctx context.Context, owner int64, f MailingFilter) ([]*simplesender.Mailing, int, error) {
	where, args := ownedBy("m.owner_id", owner)
	where = "WHERE " + where
	if f.Status != "" {
		where += " AND m.status = ?"
		args = append(args, string(f.Status))
	}
	if f.Query != "" {
		where += ` AND lower(m.name) LIKE ? ESCAPE '\'`
		args = append(args, likePattern(f.Query))
	}
	var total int
	if err := s.queryRow(ctx, "SELECT count(*)"+mailingFrom+where, args...).Scan(&total); err != nil {
		return nil, 0, s.wrap(err, "count mailings")
	}
	order := "m.id DESC"
	switch f.Sort {
	case "name", "created_at", "status", "id", "scheduled_at":
		order = "m." + f.Sort
		if f.Desc {
			order += " DESC"
		}
		order += ", m.id DESC"
	}
	out, err := queryList(ctx, s, "list mailings", scanMailing, "SELECT "+mailingColumns+mailingFrom+where+" ORDER BY "+order+" LIMIT ? OFFSET ?",
		append(args, f.limit(), offsetArg(f.Offset))...)
	return out, total, err
}

// runCountsSQL reads the counters and times of n runs.
func runCountsSQL(n int) string {
	return `SELECT r.id, r.total, r.scheduled_at, r.started_at, ` + finalCountsSQL + `
		FROM runs r LEFT JOIN run_counts c ON c.run_id = r.id WHERE r.id IN (` + placeholders(n) + `)`
}

// runCount is what runCounts reads of a run.
type runCount struct {
	counts    simplesender.DeliveryCounts
	scheduled sql.NullTime
	started   time.Time
}

// runCounts returns the delivery counts and times of the given runs. The
// counts come from the counters kept with the rows (run_counts, and the
// run's total), which cost the same for a run of ten and of a million.
func (s *Store) runCounts(ctx context.Context, ids []any) (map[int64]runCount, error) {
	out := make(map[int64]runCount, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.query(ctx, runCountsSQL(len(ids)), ids...)
	if err != nil {
		return nil, s.wrap(err, "count deliveries")
	}
	defer rows.Close()
	final := make([]int, len(finalColumns))
	dest := make([]any, 0, 4+len(final))
	for rows.Next() {
		var id int64
		var total int
		var rc runCount
		dest = append(dest[:0], &id, &total, &rc.scheduled, &rc.started)
		for i := range final {
			dest = append(dest, &final[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, s.wrap(err, "scan counts")
		}
		for i, k := range simplesender.FinalCounters {
			rc.counts.Add(k, final[i])
		}
		rc.counts.Pending = max(total-rc.counts.Done(), 0) // waiting, being sent or to be tried again
		out[id] = rc
	}
	return out, s.wrap(rows.Err(), "count deliveries")
}

// DeleteMailing removes owner's mailing id with its runs and their history.
func (s *Store) DeleteMailing(ctx context.Context, owner, id int64) error {
	res, err := s.exec(ctx, "DELETE FROM mailings WHERE id = ? AND owner_id = ?", id, owner)
	return s.touch(ctx, s.affected(res, err, "delete mailing"), owner)
}

// CountMailings returns owner's mailings in total and those running, and the
// number of distinct recipients (owner 0: everyone's).
func (s *Store) CountMailings(ctx context.Context, owner int64) (total, active, recipients int, err error) {
	where, args := "", []any{}
	if owner != 0 {
		where, args = " WHERE owner_id = ?", []any{owner}
	}
	err = s.queryRow(ctx, `SELECT count(*), COALESCE(sum(CASE WHEN status = `+sqlMailingRunning+` THEN 1 ELSE 0 END), 0)
		FROM mailings`+where, args...).Scan(&total, &active)
	if err != nil {
		return 0, 0, 0, s.wrap(err, "count mailings")
	}
	err = s.queryRow(ctx, "SELECT count(DISTINCT email_norm) FROM recipients"+where, args...).Scan(&recipients)
	return total, active, recipients, s.wrap(err, "count recipients")
}

// BulkRecipients inserts n recipients made by gen for owner with multi-row
// inserts (load tests and imports).
func (s *Store) BulkRecipients(ctx context.Context, owner int64, n int, gen func(i int) simplesender.Recipient) error {
	now := s.Now()
	const per = 200
	for i := 0; i < n; i += per {
		q := "INSERT INTO recipients (owner_id, email, email_norm, last_name, first_name, middle_name, comment, created_at, updated_at) VALUES "
		args := make([]any, 0, per*9)
		for j := i; j < min(n, i+per); j++ {
			r := gen(j)
			if j > i {
				q += ", "
			}
			q += "(?, ?, ?, ?, ?, ?, ?, ?, ?)"
			args = append(args, owner, r.Email, lower(r.Email), r.LastName, r.FirstName, r.MiddleName, r.Comment, now, now)
		}
		if _, err := s.exec(ctx, q, args...); err != nil {
			return s.wrap(err, "insert recipients")
		}
	}
	return s.touch(ctx, nil, owner)
}

// AddAllRecipients puts every recipient of owner into mailing id's audience.
func (s *Store) AddAllRecipients(ctx context.Context, id, owner int64) error {
	_, err := s.exec(ctx, `INSERT INTO mailing_recipients (mailing_id, recipient_id)
		SELECT ?, id FROM recipients WHERE owner_id = ? ON CONFLICT DO NOTHING`, id, owner)
	return s.wrap(err, "add all recipients")
}

// AttemptSpan returns the times of the first and the last attempt of a mailing.
func (s *Store) AttemptSpan(ctx context.Context, id int64) (first, last time.Time, err error) {
	var f, l any
	err = s.queryRow(ctx, "SELECT min(attempted_at), max(attempted_at) FROM attempts WHERE mailing_id = ?", id).Scan(&f, &l)
	return anyTime(f), anyTime(l), s.wrap(err, "attempt span")
}

// anyTime reads a time from an aggregate, which SQLite returns as text.
func anyTime(v any) time.Time {
	switch t := v.(type) {
	case time.Time:
		return t.UTC()
	case string:
		for _, layout := range []string{"2006-01-02 15:04:05.999999999-07:00", time.RFC3339Nano, "2006-01-02 15:04:05.999999999"} {
			if p, err := time.Parse(layout, t); err == nil {
				return p.UTC()
			}
		}
	}
	return time.Time{}
}
