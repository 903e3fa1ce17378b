package store

import (
	"context"
	"slices"
	"time"
)

// ReturnCounts are what came back for sendings in a time range, from the
// counters (attempt_counts, return_counts): never from the deliveries.
type ReturnCounts struct {
	Sent         int // attempts the mail server accepted in the range
	Hard         int // deliveries that hard-bounced (reported in the range)
	Soft         int // deliveries that soft-bounced (first report in the range)
	Complaints   int // deliveries reported as spam in the range
	Unsubscribes int // unsubscribes in the range
	Suppressed   int // deliveries not sent in the range: the address is suppressed
}

// Add adds o to c.
func (c *ReturnCounts) Add(o ReturnCounts) {
	c.Sent += o.Sent
	c.Hard += o.Hard
	c.Soft += o.Soft
	c.Complaints += o.Complaints
	c.Unsubscribes += o.Unsubscribes
	c.Suppressed += o.Suppressed
}

// ReturnScope selects whose returns are counted: one mailing (Mailing not
// 0), else the owners selected by Owners (the zero value: everyone).
type ReturnScope struct {
	Mailing int64
	Owners  Owners
}

func (sc ReturnScope) where() (string, []any) {
	if sc.Mailing != 0 {
		return "mailing_id = ?", []any{sc.Mailing}
	}
	if o := sc.Owners; o.Min == o.Max && o.Min != 0 {
		// An equality, not BETWEEN, so that the (owner_id, slot) index
		// bounds the slots too.
		return "owner_id = ?", []any{o.Min}
	}
	return inOwners("owner_id", sc.Owners)
}

// ReturnFigures returns the counts of sc in [from, to), keyed by key
// ("mailing_id" or "owner_id"); ids with nothing in the range are absent.
// Both queries read the counters' (owner_id, slot) or (mailing_id, slot)
// index over the range only.
func (s *Store) ReturnFigures(ctx context.Context, key string, sc ReturnScope, from, to time.Time) (map[int64]*ReturnCounts, error) {
	out := map[int64]*ReturnCounts{}
	get := func(id int64) *ReturnCounts {
		c := out[id]
		if c == nil {
			c = &ReturnCounts{}
			out[id] = c
		}
		return c
	}
	where, args := sc.where()
	cond, more := slotRange(from, to)
	args = append(args, more...)
	rows, err := s.query(ctx, `SELECT `+key+`, sum(success) FROM attempt_counts WHERE `+where+cond+
		` GROUP BY `+key+` HAVING sum(success) > 0`, args...)
	if err != nil {
		return nil, s.wrap(err, "count sent")
	}
	for rows.Next() {
		var id int64
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			rows.Close()
			return nil, s.wrap(err, "scan sent")
		}
		get(id).Sent = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, s.wrap(err, "count sent")
	}
	rows, err = s.query(ctx, `SELECT `+key+`, sum(hard), sum(soft), sum(complaint), sum(unsubscribed), sum(suppressed)
		FROM return_counts WHERE `+where+cond+` GROUP BY `+key, args...)
	if err != nil {
		return nil, s.wrap(err, "count returns")
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var c ReturnCounts
		if err := rows.Scan(&id, &c.Hard, &c.Soft, &c.Complaints, &c.Unsubscribes, &c.Suppressed); err != nil {
			return nil, s.wrap(err, "scan returns")
		}
		g := get(id)
		c.Sent = g.Sent
		*g = c
	}
	return out, s.wrap(rows.Err(), "count returns")
}

// ReturnSlot is what came back in one slot (see SlotSeconds).
type ReturnSlot struct {
	Slot int64 // Unix seconds of the slot's start
	ReturnCounts
}

// ReturnSlots returns the counts of sc per slot in [from, to), oldest
// first; slots with nothing are left out.
func (s *Store) ReturnSlots(ctx context.Context, sc ReturnScope, from, to time.Time) ([]ReturnSlot, error) {
	where, args := sc.where()
	cond, more := slotRange(from, to)
	args = append(args, more...)
	bySlot := map[int64]*ReturnSlot{}
	var order []int64
	get := func(slot int64) *ReturnSlot {
		c := bySlot[slot]
		if c == nil {
			c = &ReturnSlot{Slot: slot}
			bySlot[slot] = c
			order = append(order, slot)
		}
		return c
	}
	rows, err := s.query(ctx, `SELECT slot, sum(success) FROM attempt_counts WHERE `+where+cond+
		` GROUP BY slot HAVING sum(success) > 0`, args...)
	if err != nil {
		return nil, s.wrap(err, "count sent per slot")
	}
	for rows.Next() {
		var slot int64
		var n int
		if err := rows.Scan(&slot, &n); err != nil {
			rows.Close()
			return nil, s.wrap(err, "scan sent per slot")
		}
		get(slot).Sent = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, s.wrap(err, "count sent per slot")
	}
	rows, err = s.query(ctx, `SELECT slot, sum(hard), sum(soft), sum(complaint), sum(unsubscribed), sum(suppressed)
		FROM return_counts WHERE `+where+cond+` GROUP BY slot`, args...)
	if err != nil {
		return nil, s.wrap(err, "count returns per slot")
	}
	defer rows.Close()
	for rows.Next() {
		var slot int64
		var c ReturnCounts
		if err := rows.Scan(&slot, &c.Hard, &c.Soft, &c.Complaints, &c.Unsubscribes, &c.Suppressed); err != nil {
			return nil, s.wrap(err, "scan returns per slot")
		}
		g := get(slot)
		c.Sent = g.Sent
		g.ReturnCounts = c
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap(err, "count returns per slot")
	}
	slices.Sort(order)
	out := make([]ReturnSlot, 0, len(order))
	for _, slot := range order {
		out = append(out, *bySlot[slot])
	}
	return out, nil
}

// MailingNames returns the owner, name and whether it is disabled of each
// of mailings ids that exists, keyed by id.
func (s *Store) MailingNames(ctx context.Context, ids []int64) (map[int64]MailingName, error) {
	out := map[int64]MailingName{}
	for len(ids) > 0 {
		n := min(len(ids), 500)
		args := make([]any, n)
		for i, id := range ids[:n] {
			args[i] = id
		}
		ids = ids[n:]
		rows, err := s.query(ctx, `SELECT id, owner_id, name, disabled_at IS NOT NULL FROM mailings
			WHERE id IN (`+placeholders(n)+`)`, args...)
		if err != nil {
			return nil, s.wrap(err, "list mailing names")
		}
		for rows.Next() {
			var m MailingName
			if err := rows.Scan(&m.ID, &m.OwnerID, &m.Name, &m.Disabled); err != nil {
				rows.Close()
				return nil, s.wrap(err, "scan mailing name")
			}
			out[m.ID] = m
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, s.wrap(err, "list mailing names")
		}
	}
	return out, nil
}

// MailingName is a mailing as a list of figures names it.
type MailingName struct {
	ID, OwnerID int64
	Name        string
	Disabled    bool
}
