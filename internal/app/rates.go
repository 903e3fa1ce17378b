package app

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"simplesender"
	"simplesender/internal/store"
)

// ComplaintLine is the complaint rate, in percent of the messages sent,
// above which Gmail's sender guidelines say mail gets filtered: senders
// above it are flagged on the staff's page of senders.
const ComplaintLine = 0.3

// Returns are what came back over a period for the messages sent in it,
// from the report counters (nothing here reads the deliveries):
//
//   - Sent: messages the recipients' mail servers accepted in the period
//     (successful attempts). Delivered: of them, not bounced back
//     (Sent − HardBounces − SoftBounces, never below 0).
//   - HardBounces, Complaints: deliveries a hard bounce or a spam complaint
//     received in the period moved to bounced or complained (a delivery
//     counts once however many reports it gets).
//   - SoftBounces: deliveries whose first soft bounce (mailbox full,
//     server busy) came in the period.
//   - Unsubscribes: recipients who unsubscribed through a mailing's link
//     or List-Unsubscribe in the period.
//   - Suppressed: deliveries not sent in the period because the address is
//     on a suppression list.
//
// Rates gives each as a percentage of Sent; it is nil when nothing was
// sent in the period (show a dash, not 0%).
type Returns struct {
	Sent         int          `json:"sent"`
	Delivered    int          `json:"delivered"`
	HardBounces  int          `json:"hard_bounces"`
	SoftBounces  int          `json:"soft_bounces"`
	Complaints   int          `json:"complaints"`
	Unsubscribes int          `json:"unsubscribes"`
	Suppressed   int          `json:"suppressed"`
	Rates        *ReturnRates `json:"rates"`
}

// ReturnRates are Returns' counts in percent of Returns.Sent (0 to 100, and
// above 100 for Suppressed, which counts messages that were not sent).
type ReturnRates struct {
	Delivered   float64 `json:"delivered"`
	HardBounce  float64 `json:"hard_bounce"`
	SoftBounce  float64 `json:"soft_bounce"`
	Complaint   float64 `json:"complaint"`
	Unsubscribe float64 `json:"unsubscribe"`
	Suppressed  float64 `json:"suppressed"`
}

func returnsOf(c store.ReturnCounts) Returns {
	r := Returns{Sent: c.Sent, Delivered: max(c.Sent-c.Hard-c.Soft, 0), HardBounces: c.Hard, SoftBounces: c.Soft,
		Complaints: c.Complaints, Unsubscribes: c.Unsubscribes, Suppressed: c.Suppressed}
	if c.Sent > 0 {
		pct := func(n int) float64 { return 100 * float64(n) / float64(c.Sent) }
		r.Rates = &ReturnRates{Delivered: pct(r.Delivered), HardBounce: pct(c.Hard), SoftBounce: pct(c.Soft),
			Complaint: pct(c.Complaints), Unsubscribe: pct(c.Unsubscribes), Suppressed: pct(c.Suppressed)}
	}
	return r
}

// HardBounceRate and ComplaintRate return the rate (percent of Sent), ok
// false when nothing was sent.
func (r Returns) HardBounceRate() (float64, bool) {
	if r.Rates == nil {
		return 0, false
	}
	return r.Rates.HardBounce, true
}

// ComplaintRate: see HardBounceRate.
func (r Returns) ComplaintRate() (float64, bool) {
	if r.Rates == nil {
		return 0, false
	}
	return r.Rates.Complaint, true
}

// RateDay is one day of the chart of bounce and complaint rates: what was
// sent and came back between the day's local midnight and the next.
type RateDay struct {
	Date  string    `json:"date"`  // YYYY-MM-DD in the report's time zone
	Start time.Time `json:"start"` // the local midnight that starts it
	Returns
}

// MailingReturns is one mailing's Returns over a period.
type MailingReturns struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	Disabled bool   `json:"disabled"`
	Returns
}

// Rates is what came back over a period for a user's mailings, or one
// mailing's: the totals, each mailing's (a user's only, those that sent
// or got anything back in the period, newest first), and every day.
type Rates struct {
	OwnerID   int64            `json:"owner_id"`
	MailingID int64            `json:"mailing_id"` // the mailing of one mailing's rates; 0 for a user's
	TimeZone  string           `json:"time_zone"`
	From      string           `json:"from"`
	To        string           `json:"to"`
	Start     time.Time        `json:"start"`
	End       time.Time        `json:"end"`
	Totals    Returns          `json:"totals"`
	Mailings  []MailingReturns `json:"mailings"`
	Days      []RateDay        `json:"days"` // every day of the period, oldest first
}

// ReportRates returns what came back for owner's mailings (0: the
// actor's own) over period p in the actor's time zone. Managers and admins
// may ask for anyone's. Cached like Report. Errors: Unauthenticated,
// NotFound (another user's asked by a regular user, or no such user),
// Invalid (the period).
func (a *App) ReportRates(ctx context.Context, ac *Actor, owner int64, p Period) (*Rates, error) {
	owner, err := a.reportOwner(ctx, ac, owner)
	if err != nil {
		return nil, err
	}
	per, err := a.resolvePeriod(ac, p)
	if err != nil {
		return nil, err
	}
	key := fmt.Sprintf("rates:%s:o%d:%s:%s:%s", viewerKey(ac), owner, per.from, per.to, per.loc)
	return cached(ctx, a, []string{scopeUser(owner)}, key, func() (*Rates, error) {
		return a.rates(ctx, per, owner, store.ReturnScope{Owners: store.Owner(owner)})
	})
}

// MailingRates returns what came back for mailing id over period p in the
// actor's time zone, for whoever may see the mailing. Errors:
// Unauthenticated, NotFound (no such mailing, or another user's for a
// regular user), Invalid (the period).
func (a *App) MailingRates(ctx context.Context, ac *Actor, id int64, p Period) (*Rates, error) {
	m, err := a.GetMailing(ctx, ac, id)
	if err != nil {
		return nil, err
	}
	per, err := a.resolvePeriod(ac, p)
	if err != nil {
		return nil, err
	}
	key := fmt.Sprintf("mrates:%s:m%d:%s:%s:%s", viewerKey(ac), id, per.from, per.to, per.loc)
	return cached(ctx, a, []string{scopeUser(m.OwnerID)}, key, func() (*Rates, error) {
		r, err := a.rates(ctx, per, m.OwnerID, store.ReturnScope{Mailing: id})
		if r != nil {
			r.MailingID, r.Mailings = id, []MailingReturns{}
		}
		return r, err
	})
}

func (a *App) rates(ctx context.Context, per *period, owner int64, sc store.ReturnScope) (*Rates, error) {
	r := &Rates{OwnerID: owner, TimeZone: per.loc.String(), From: per.from, To: per.to, Start: per.start(), End: per.end(),
		Mailings: []MailingReturns{}}
	err := a.DB.ReadTx(ctx, func(s *store.Store) error {
		var sum store.ReturnCounts
		if sc.Mailing == 0 {
			figs, err := s.ReturnFigures(ctx, "mailing_id", sc, r.Start, r.End)
			if err != nil {
				return err
			}
			ids := make([]int64, 0, len(figs))
			for id := range figs {
				ids = append(ids, id)
			}
			names, err := s.MailingNames(ctx, ids)
			if err != nil {
				return err
			}
			slices.SortFunc(ids, func(x, y int64) int { return cmp.Compare(y, x) })
			for _, id := range ids {
				sum.Add(*figs[id])
				n := names[id]
				r.Mailings = append(r.Mailings, MailingReturns{ID: id, Name: n.Name, Disabled: n.Disabled, Returns: returnsOf(*figs[id])})
			}
		}
		slots, err := s.ReturnSlots(ctx, sc, r.Start, r.End)
		if err != nil {
			return err
		}
		days := per.rateDays(slots)
		if sc.Mailing != 0 {
			for _, sl := range slots {
				sum.Add(sl.ReturnCounts)
			}
		}
		r.Totals, r.Days = returnsOf(sum), days
		return nil
	})
	return r, err
}

// rateDays buckets per-slot counts into the period's days.
func (p *period) rateDays(slots []store.ReturnSlot) []RateDay {
	sums := make([]store.ReturnCounts, len(p.bounds)-1)
	for _, s := range slots {
		if i := p.dayOf(s.Slot); i >= 0 {
			sums[i].Add(s.ReturnCounts)
		}
	}
	out := make([]RateDay, len(sums))
	for i := range out {
		out[i] = RateDay{Date: p.bounds[i].In(p.loc).Format(time.DateOnly), Start: p.bounds[i], Returns: returnsOf(sums[i])}
	}
	return out
}

// dayOf returns the index of the period's day holding the slot starting
// at Unix second slot, -1 when outside.
func (p *period) dayOf(slot int64) int {
	for i := len(p.bounds) - 2; i >= 0; i-- {
		if p.bounds[i].Unix() <= slot {
			if slot < p.bounds[i+1].Unix() {
				return i
			}
			return -1
		}
	}
	return -1
}

// SenderRates is one user's row of the staff's page of senders.
type SenderRates struct {
	UserID int64               `json:"user_id"`
	Email  string              `json:"email"`
	Name   string              `json:"name"`
	Status simplesender.Status `json:"status"`
	Returns
	// HardBounceAlert: the hard-bounce rate is above the alert rate;
	// ComplaintAlert: the complaint rate is above ComplaintLine.
	HardBounceAlert bool `json:"hard_bounce_alert"`
	ComplaintAlert  bool `json:"complaint_alert"`
	// Mailings are the user's mailings that sent or got anything back in
	// the period, worst first (for disabling one right there).
	Mailings []MailingReturns `json:"mailings"`
}

// Alert reports whether the row is above either line.
func (s SenderRates) Alert() bool { return s.HardBounceAlert || s.ComplaintAlert }

// Senders is the staff's page of senders over a period.
type Senders struct {
	TimeZone string    `json:"time_zone"`
	From     string    `json:"from"`
	To       string    `json:"to"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	// BounceAlertRate and ComplaintLine are the lines, in percent of sent.
	BounceAlertRate float64       `json:"bounce_alert_rate"`
	ComplaintLine   float64       `json:"complaint_line"`
	Items           []SenderRates `json:"items"`
	Total           int           `json:"total"`   // users with anything in the period
	Flagged         int           `json:"flagged"` // of them, above a line
}

// severity orders senders worst first: how far above its line the worse
// of the two rates is.
func (a *App) severity(r Returns) float64 {
	if r.Rates == nil {
		return -1
	}
	return max(r.Rates.HardBounce/a.Returns.bounceAlertRate(), r.Rates.Complaint/ComplaintLine)
}

// SenderRatesPage returns, for managers and admins, every user who sent or
// got anything back in period p, worst first (the larger of the hard-bounce
// rate over the alert rate and the complaint rate over ComplaintLine; then
// more sent first; then by id), a page of limit (1-500, default 50) from
// offset. Errors: Unauthenticated, Forbidden (regular users), Invalid (the
// period).
func (a *App) SenderRatesPage(ctx context.Context, ac *Actor, p Period, limit, offset int) (*Senders, error) {
	per, err := a.staffPeriod(ac, p)
	if err != nil {
		return nil, err
	}
	limit, offset = pageBounds(limit, offset)
	alert := a.Returns.bounceAlertRate()
	key := fmt.Sprintf("senders:%s:%s:%s:%s:%g:l%d:o%d", viewerKey(ac), per.from, per.to, per.loc, alert, limit, offset)
	return cached(ctx, a, []string{scopeAll}, key, func() (*Senders, error) {
		out := &Senders{TimeZone: per.loc.String(), From: per.from, To: per.to, Start: per.start(), End: per.end(),
			BounceAlertRate: alert, ComplaintLine: ComplaintLine, Items: []SenderRates{}}
		err := a.DB.ReadTx(ctx, func(s *store.Store) error {
			figs, err := s.ReturnFigures(ctx, "owner_id", store.ReturnScope{}, out.Start, out.End)
			if err != nil {
				return err
			}
			rows := make([]SenderRates, 0, len(figs))
			for id, c := range figs {
				r := SenderRates{UserID: id, Returns: returnsOf(*c)}
				if hb, ok := r.HardBounceRate(); ok {
					r.HardBounceAlert = hb > alert
				}
				if cr, ok := r.ComplaintRate(); ok {
					r.ComplaintAlert = cr > ComplaintLine
				}
				if r.Alert() {
					out.Flagged++
				}
				rows = append(rows, r)
			}
			slices.SortFunc(rows, func(x, y SenderRates) int {
				return cmp.Or(cmp.Compare(a.severity(y.Returns), a.severity(x.Returns)), cmp.Compare(y.Sent, x.Sent),
					cmp.Compare(x.UserID, y.UserID))
			})
			out.Total = len(rows)
			rows = rows[min(offset, len(rows)):min(offset+limit, len(rows))]
			for i := range rows {
				if err := a.senderRow(ctx, s, &rows[i], out.Start, out.End); err != nil {
					return err
				}
			}
			out.Items = rows
			return nil
		})
		return out, err
	})
}

// senderRow fills in a row's user and mailings.
func (a *App) senderRow(ctx context.Context, s *store.Store, r *SenderRates, from, to time.Time) error {
	u, err := s.UserByID(ctx, r.UserID)
	if err != nil {
		return err
	}
	r.Email, r.Name, r.Status = u.Email, u.Name, u.Status()
	figs, err := s.ReturnFigures(ctx, "mailing_id", store.ReturnScope{Owners: store.Owner(r.UserID)}, from, to)
	if err != nil {
		return err
	}
	ids := make([]int64, 0, len(figs))
	for id := range figs {
		ids = append(ids, id)
	}
	names, err := s.MailingNames(ctx, ids)
	if err != nil {
		return err
	}
	r.Mailings = make([]MailingReturns, 0, len(ids))
	for _, id := range ids {
		n := names[id]
		r.Mailings = append(r.Mailings, MailingReturns{ID: id, Name: n.Name, Disabled: n.Disabled, Returns: returnsOf(*figs[id])})
	}
	slices.SortFunc(r.Mailings, func(x, y MailingReturns) int {
		return cmp.Or(cmp.Compare(a.severity(y.Returns), a.severity(x.Returns)), cmp.Compare(y.ID, x.ID))
	})
	return nil
}

// PeriodLastDays returns the period of the n days ending today in the
// actor's time zone (today included), for the period selector's shortcuts.
func (a *App) PeriodLastDays(ac *Actor, n int) Period {
	now := a.Now()
	if ac != nil && ac.User != nil {
		now = now.In(ac.User.Location())
	}
	y, m, d := now.Date()
	to := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	return Period{From: to.AddDate(0, 0, 1-n).Format(time.DateOnly), To: to.Format(time.DateOnly)}
}
