package store

import (
	"context"
	"database/sql"
	"slices"
	"strings"

	"simplesender"
)

const suppressionColumns = `s.id, s.owner_id, s.email, s.reason, s.note, s.mailing_id, s.created_at, s.created_by,
	COALESCE(o.email, ''), COALESCE(c.email, '')`

const suppressionFrom = ` FROM suppressions s LEFT JOIN users o ON o.id = s.owner_id LEFT JOIN users c ON c.id = s.created_by `

func scanSuppression(row scanner) (*simplesender.Suppression, error) {
	var x simplesender.Suppression
	var owner, mailing, by sql.NullInt64
	var reason string
	err := row.Scan(&x.ID, &owner, &x.Email, &reason, &x.Note, &mailing, &x.CreatedAt, &by, &x.OwnerEmail, &x.CreatedByEmail)
	x.OwnerID, x.MailingID, x.CreatedBy = owner.Int64, mailing.Int64, by.Int64
	x.Reason = simplesender.SuppressionReason(reason)
	x.CreatedAt = x.CreatedAt.UTC()
	return &x, err
}

// nullID is id as a nullable column value: NULL for 0.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// Suppress adds email (normalised: trimmed, lower-case) to the suppression
// list of owner (0: service-wide), with the reason, the mailing it came
// from (0: none), who added it (0: the recipient or the system) and a
// note. It is idempotent: when the owner already suppresses the address,
// the first record stays and is returned with created false. Errors:
// Invalid (empty address or unknown reason).
func (s *Store) Suppress(ctx context.Context, owner int64, email string, reason simplesender.SuppressionReason,
	mailing, by int64, note string) (x *simplesender.Suppression, created bool, err error) {
	if created, err = s.AddSuppressionEntry(ctx, owner, email, reason, mailing, by, note); err != nil {
		return nil, false, err
	}
	x, err = s.suppressionWhere(ctx, "s.email = ? AND COALESCE(s.owner_id, 0) = ?", simplesender.NormalizeEmail(email), owner)
	if err != nil {
		return nil, false, err
	}
	return x, created, nil
}

// AddSuppressionEntry is Suppress without reading the entry back, for
// callers that need only to know the address is suppressed (one statement
// fewer: bounces and complaints are applied by the thousand).
func (s *Store) AddSuppressionEntry(ctx context.Context, owner int64, email string, reason simplesender.SuppressionReason,
	mailing, by int64, note string) (created bool, err error) {
	email = simplesender.NormalizeEmail(email)
	if email == "" || !reason.Valid() {
		return false, simplesender.E(simplesender.KindInvalid, "error.invalid")
	}
	res, err := s.exec(ctx, `INSERT INTO suppressions (owner_id, email, reason, note, mailing_id, created_at, created_by)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		nullID(owner), email, string(reason), note, nullID(mailing), s.Now(), nullID(by))
	if err != nil {
		return false, s.wrap(err, "suppress address")
	}
	if n, _ := res.RowsAffected(); n > 0 {
		created = true
		if reason == simplesender.ReasonUnsubscribed {
			var counts tally // the mailing's unsubscribes, for its rates
			counts.returned(mailing, owner, s.Now(), returnUnsubscribed)
			if err := counts.save(ctx, s); err != nil {
				return false, err
			}
		}
	}
	return created, s.touch(ctx, nil, owner)
}

func (s *Store) suppressionWhere(ctx context.Context, where string, args ...any) (*simplesender.Suppression, error) {
	x, err := scanSuppression(s.queryRow(ctx, "SELECT "+suppressionColumns+suppressionFrom+"WHERE "+where, args...))
	if err != nil {
		return nil, s.wrap(err, "read suppression")
	}
	return x, nil
}

// SuppressionByID returns suppression id, of any owner (the caller checks
// who may see it). Errors: NotFound.
func (s *Store) SuppressionByID(ctx context.Context, id int64) (*simplesender.Suppression, error) {
	return s.suppressionWhere(ctx, "s.id = ?", id)
}

// Unsuppress removes email from the suppression list of owner (0: the
// service-wide list) and returns the removed record. Errors: NotFound when
// the owner does not suppress it.
func (s *Store) Unsuppress(ctx context.Context, owner int64, email string) (*simplesender.Suppression, error) {
	x, err := s.suppressionWhere(ctx, "s.email = ? AND COALESCE(s.owner_id, 0) = ?", simplesender.NormalizeEmail(email), owner)
	if err != nil {
		return nil, err
	}
	return x, s.DeleteSuppression(ctx, x.ID)
}

// DeleteSuppression removes suppression id. Errors: NotFound.
func (s *Store) DeleteSuppression(ctx context.Context, id int64) error {
	var owner sql.NullInt64
	err := s.writeRow(ctx, "DELETE FROM suppressions WHERE id = ? RETURNING owner_id", id).Scan(&owner)
	return s.touch(ctx, s.wrap(err, "delete suppression"), owner.Int64)
}

// IsSuppressed returns the suppression that stops mail from owner to email:
// the owner's own entry, else a service-wide one; nil when there is none.
func (s *Store) IsSuppressed(ctx context.Context, owner int64, email string) (*simplesender.Suppression, error) {
	x, err := s.suppressionWhere(ctx, `s.email = ? AND COALESCE(s.owner_id, 0) IN (?, 0)
		ORDER BY COALESCE(s.owner_id, 0) DESC LIMIT 1`, simplesender.NormalizeEmail(email), owner)
	if simplesender.IsKind(err, simplesender.KindNotFound) {
		return nil, nil
	}
	return x, err
}

// SuppressedAmong returns which of emails are suppressed for owner (its own
// list or the service-wide one), by normalised address, with the reason.
func (s *Store) SuppressedAmong(ctx context.Context, owner int64, emails []string) (map[string]simplesender.SuppressionReason, error) {
	out := map[string]simplesender.SuppressionReason{}
	seen := map[string]bool{}
	var norm []string
	for _, e := range emails {
		if n := simplesender.NormalizeEmail(e); n != "" && !seen[n] {
			seen[n] = true
			norm = append(norm, n)
		}
	}
	for len(norm) > 0 {
		chunk := norm[:min(len(norm), 500)]
		norm = norm[len(chunk):]
		args := []any{owner}
		for _, e := range chunk {
			args = append(args, e)
		}
		rows, err := s.query(ctx, `SELECT email, reason FROM suppressions WHERE COALESCE(owner_id, 0) IN (?, 0)
			AND email IN (`+placeholders(len(chunk))+`) ORDER BY COALESCE(owner_id, 0)`, args...)
		if err != nil {
			return nil, s.wrap(err, "find suppressed addresses")
		}
		for rows.Next() {
			var e, r string
			if err := rows.Scan(&e, &r); err != nil {
				rows.Close()
				return nil, s.wrap(err, "find suppressed addresses")
			}
			out[e] = simplesender.SuppressionReason(r) // the owner's own, read last, wins
		}
		if err := rows.Close(); err != nil {
			return nil, s.wrap(err, "find suppressed addresses")
		}
		if err := rows.Err(); err != nil {
			return nil, s.wrap(err, "find suppressed addresses")
		}
	}
	return out, nil
}

// SuppressionFilter selects suppressions.
type SuppressionFilter struct {
	// Everyone: every owner's suppressions and the service-wide ones;
	// otherwise those of Owner (0: the service-wide list).
	Everyone bool
	Owner    int64
	Query    string                         // case-insensitive substring of the address or the note
	Reason   simplesender.SuppressionReason // "" for any
	Limit    int                            // at most 500; 0: 50
	Offset   int
}

func (f SuppressionFilter) where() (string, []any) {
	var conds []string
	var args []any
	if !f.Everyone {
		conds = append(conds, "COALESCE(s.owner_id, 0) = ?")
		args = append(args, f.Owner)
	}
	if f.Query != "" {
		conds = append(conds, `(s.email LIKE ? ESCAPE '\' OR lower(s.note) LIKE ? ESCAPE '\')`)
		p := likePattern(f.Query)
		args = append(args, p, p)
	}
	if f.Reason != "" {
		conds = append(conds, "s.reason = ?")
		args = append(args, string(f.Reason))
	}
	if len(conds) == 0 {
		return "", nil
	}
	return "WHERE " + strings.Join(conds, " AND ") + " ", args
}

// ListSuppressions returns a page of the suppressions f selects, newest
// first, and how many it selects in all.
func (s *Store) ListSuppressions(ctx context.Context, f SuppressionFilter) ([]*simplesender.Suppression, int, error) {
	where, args := f.where()
	var total int
	if err := s.queryRow(ctx, "SELECT count(*) FROM suppressions s "+where, args...).Scan(&total); err != nil {
		return nil, 0, s.wrap(err, "count suppressions")
	}
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	out, err := queryList(ctx, s, "list suppressions", scanSuppression,
		"SELECT "+suppressionColumns+suppressionFrom+where+"ORDER BY s.id DESC LIMIT ? OFFSET ?",
		append(args, limit, offsetArg(f.Offset))...)
	return out, total, err
}

// CountSuppressions returns how many suppressions f selects.
func (s *Store) CountSuppressions(ctx context.Context, f SuppressionFilter) (int, error) {
	where, args := f.where()
	var total int
	err := s.queryRow(ctx, "SELECT count(*) FROM suppressions s "+where, args...).Scan(&total)
	return total, s.wrap(err, "count suppressions")
}

// EachSuppression calls fn with every suppression f selects (its Limit and
// Offset ignored), oldest first, reading them in pages so that an export
// of any size holds one page at a time. An error of fn stops it and is
// returned.
func (s *Store) EachSuppression(ctx context.Context, f SuppressionFilter, fn func(*simplesender.Suppression) error) error {
	where, args := f.where()
	if where == "" {
		where = "WHERE "
	} else {
		where += "AND "
	}
	var after int64
	for {
		page, err := queryList(ctx, s, "export suppressions", scanSuppression,
			"SELECT "+suppressionColumns+suppressionFrom+where+"s.id > ? ORDER BY s.id LIMIT 500", append(slices.Clone(args), after)...)
		if err != nil {
			return err
		}
		for _, x := range page {
			if err := fn(x); err != nil {
				return err
			}
		}
		if len(page) < 500 {
			return nil
		}
		after = page[len(page)-1].ID
	}
}

// suppressColumns are the values the claim looks suppressions up by.
var suppressColumns = []valueColumn{{"id", "BIGINT"}, {"run_id", "BIGINT"}, {"email", "TEXT"}}

// markSuppressed sets Suppressed on the claims whose address is suppressed
// for their run's owner or service-wide, in one statement read in the
// claim's transaction, so an entry added a moment ago counts for the next
// claim (no cache).
func (s *Store) markSuppressed(ctx context.Context, cs []Claimed) error {
	if len(cs) == 0 {
		return nil
	}
	args := make([]any, 0, len(cs)*len(suppressColumns))
	at := make(map[int64]int, len(cs))
	for i, c := range cs {
		at[c.ID] = i
		args = append(args, c.ID, c.RunID, simplesender.NormalizeEmail(c.Email))
	}
	// The owner's own entry sorts last, so its reason wins.
	rows, err := s.queryW(ctx, s.db.withValues(suppressColumns, len(cs))+`SELECT v.id, x.reason FROM v
		JOIN runs r ON r.id = v.run_id
		JOIN suppressions x ON x.email = v.email AND COALESCE(x.owner_id, 0) IN (0, r.owner_id)
		ORDER BY COALESCE(x.owner_id, 0)`, args...)
	if err != nil {
		return s.wrap(err, "check suppressions")
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var reason string
		if err := rows.Scan(&id, &reason); err != nil {
			return s.wrap(err, "check suppressions")
		}
		if i, ok := at[id]; ok {
			cs[i].Suppressed = simplesender.SuppressionReason(reason)
		}
	}
	return s.wrap(rows.Err(), "check suppressions")
}

// SuppressionAudit returns the newest audit events about the suppression
// list of owner (0: the service-wide list), at most limit.
func (s *Store) SuppressionAudit(ctx context.Context, owner int64, limit int) ([]*simplesender.AuditEvent, error) {
	return s.audit(ctx, `a.target_type = 'suppression' AND COALESCE(a.owner_id, 0) = ?`, owner, limit)
}

// SuppressionAuditAll returns the newest audit events about every
// suppression list, at most limit.
func (s *Store) SuppressionAuditAll(ctx context.Context, limit int) ([]*simplesender.AuditEvent, error) {
	return s.audit(ctx, `a.target_type = 'suppression'`, limit)
}

// SuppressedReasons counts the suppressed deliveries of the last run of
// mailing by the reason their claim found (the last response after
// SuppressedPrefix). It reads only the suppressed rows, through the
// index of a run's deliveries by state.
func (s *Store) SuppressedReasons(ctx context.Context, mailing int64) (map[simplesender.SuppressionReason]int, error) {
	rows, err := s.query(ctx, `SELECT last_response, count(*) FROM deliveries
		WHERE run_id = (SELECT max(id) FROM runs WHERE mailing_id = ?) AND status = `+sqlSuppressed+`
		GROUP BY last_response`, mailing)
	if err != nil {
		return nil, s.wrap(err, "count suppressed deliveries")
	}
	defer rows.Close()
	out := map[simplesender.SuppressionReason]int{}
	for rows.Next() {
		var resp string
		var n int
		if err := rows.Scan(&resp, &n); err != nil {
			return nil, s.wrap(err, "count suppressed deliveries")
		}
		out[simplesender.SuppressionReason(strings.TrimPrefix(resp, simplesender.SuppressedPrefix))] += n
	}
	return out, s.wrap(rows.Err(), "count suppressed deliveries")
}

// SuppressedReasonsOf counts the suppressed deliveries of every run of
// each of mailings by reason, by mailing.
func (s *Store) SuppressedReasonsOf(ctx context.Context, mailings []int64) (map[int64]map[simplesender.SuppressionReason]int, error) {
	out := map[int64]map[simplesender.SuppressionReason]int{}
	for len(mailings) > 0 {
		chunk := mailings[:min(len(mailings), 500)]
		mailings = mailings[len(chunk):]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		rows, err := s.query(ctx, `SELECT r.mailing_id, d.last_response, count(*) FROM runs r
			JOIN deliveries d ON d.run_id = r.id AND d.status = `+sqlSuppressed+`
			WHERE r.mailing_id IN (`+placeholders(len(chunk))+`) GROUP BY r.mailing_id, d.last_response`, args...)
		if err != nil {
			return nil, s.wrap(err, "count suppressed deliveries")
		}
		for rows.Next() {
			var id int64
			var resp string
			var n int
			if err := rows.Scan(&id, &resp, &n); err != nil {
				rows.Close()
				return nil, s.wrap(err, "count suppressed deliveries")
			}
			if out[id] == nil {
				out[id] = map[simplesender.SuppressionReason]int{}
			}
			out[id][simplesender.SuppressionReason(strings.TrimPrefix(resp, simplesender.SuppressedPrefix))] += n
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, s.wrap(err, "count suppressed deliveries")
		}
	}
	return out, nil
}

// SuppressRecipients puts the addresses of owner's recipients ids on
// owner's suppression list by hand (reason manual, added by owner), and
// returns how many were not on it yet.
func (s *Store) SuppressRecipients(ctx context.Context, owner int64, ids []int64) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	rows, err := s.w.QueryContext(ctx, s.db.dialect.rebind("SELECT email FROM recipients WHERE owner_id = ? AND id IN ("+placeholders(len(ids))+")"),
		append([]any{owner}, idArgs(ids)...)...)
	if err != nil {
		return 0, s.wrap(err, "read recipients to suppress")
	}
	var emails []string
	for rows.Next() {
		var e string
		if err := rows.Scan(&e); err != nil {
			rows.Close()
			return 0, s.wrap(err, "read recipients to suppress")
		}
		emails = append(emails, simplesender.NormalizeEmail(e))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, s.wrap(err, "read recipients to suppress")
	}
	n, now := 0, s.Now()
	for _, e := range emails {
		res, err := s.exec(ctx, `INSERT INTO suppressions (owner_id, email, reason, note, created_at, created_by)
			VALUES (?, ?, ?, '', ?, ?) ON CONFLICT DO NOTHING`, owner, e, string(simplesender.ReasonManual), now, owner)
		if err != nil {
			return n, s.wrap(err, "suppress recipients")
		}
		k, _ := res.RowsAffected()
		n += int(k)
	}
	return n, s.touch(ctx, nil, owner)
}
