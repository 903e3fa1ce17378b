package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"simplesender"
	"simplesender/internal/csvio"
	"simplesender/internal/store"
)

// ---- figures

// Figures are the numbers of a report row: one mailing, one user, or
// everyone. No two of them count the same thing:
//
//   - Mailings: mailings that exist now. MailingsActive: of them, those
//     running (being sent, or scheduled to be).
//   - Sent: e-mails accepted by the recipient's mail server (deliveries in
//     state sent), over every run of every mailing, as of now.
//   - Failed: deliveries that failed for good (refused, or given up after
//     the retries). Unknown: deliveries whose outcome cannot be known (the
//     sending process stopped mid-send; never resent on its own).
//     Pending: deliveries waiting, being sent, or deferred for a retry.
//     Cancelled: deliveries cancelled before they were tried. A delivery is
//     one recipient in one run, so a recipient who failed in a run and got
//     the message in a later "resend failed" run counts once in Failed and
//     once in Sent. Sent+Failed+Unknown+Pending+Cancelled is every delivery.
//   - AttemptsSuccess, AttemptsFailure: tries to hand an e-mail to the mail
//     server in the report's period (all time in Stats), by outcome. A
//     delivery deferred twice and then sent makes 2 failed attempts and 1
//     successful one. Over all time every sent delivery has exactly one
//     successful attempt, which is why reports show attempts for a period
//     only, beside the deliveries as of now.
//
// SuccessRate derives from the deliveries: see its doc.
type Figures struct {
	Mailings        int `json:"mailings"`
	MailingsActive  int `json:"mailings_active"`
	Sent            int `json:"sent"`
	Failed          int `json:"failed"`
	Unknown         int `json:"unknown"`
	Pending         int `json:"pending"`
	Cancelled       int `json:"cancelled"`
	Suppressed      int `json:"suppressed"`
	Bounced         int `json:"bounced"`
	Complained      int `json:"complained"`
	AttemptsSuccess int `json:"attempts_success"`
	AttemptsFailure int `json:"attempts_failure"`
}

// SuccessRate is the share of deliveries with a known final outcome that
// the mail server accepted: Sent / (Sent + Failed + Unknown), from 0 to 1.
// Pending and cancelled deliveries do not count. ok is false when no
// delivery has a final outcome yet (show a dash, not 0%).
func (f Figures) SuccessRate() (rate float64, ok bool) {
	done := f.Sent + f.Failed + f.Unknown
	if done == 0 {
		return 0, false
	}
	return float64(f.Sent) / float64(done), true
}

func (f *Figures) add(o Figures) {
	c := store.FigureCounts(*f)
	c.Add(store.FigureCounts(o))
	*f = Figures(c)
}

// MailingFigures is one mailing's row of a report.
type MailingFigures struct {
	ID        int64                      `json:"id"`
	Name      string                     `json:"name"`
	Status    simplesender.MailingStatus `json:"status"`
	Disabled  bool                       `json:"disabled"`
	CreatedAt time.Time                  `json:"created_at"`
	Figures
}

// UserFigures is one user's row of the staff's report.
type UserFigures struct {
	UserID int64               `json:"user_id"`
	Email  string              `json:"email"`
	Name   string              `json:"name"`
	Role   simplesender.Role   `json:"role"`
	Status simplesender.Status `json:"status"`
	Figures
}

// Day is one day of the chart: the attempts made between the day's local
// midnight and the next (days follow the time zone's daylight saving time,
// so a day may last 23 or 25 hours).
type Day struct {
	Date    string    `json:"date"`  // YYYY-MM-DD in the report's time zone
	Start   time.Time `json:"start"` // the local midnight that starts it, as an instant
	Success int       `json:"success"`
	Failure int       `json:"failure"`
}

// Period is a range of whole days in the viewer's time zone (the actor's
// profile setting; UTC when unset): From and To are dates "YYYY-MM-DD", both
// included. Empty From and To mean the 30 days ending today; one of them
// empty means a 30-day period starting or ending on the other. Errors
// (Invalid, fields "from" and "to"): "error.period.date" for a date that does
// not parse, "error.period.order" when To is before From,
// "error.period.long" for more than 366 days.
type Period struct {
	From, To string
}

// Report is a user's report: their mailings, totals and the chart.
type Report struct {
	OwnerID  int64     `json:"owner_id"`
	TimeZone string    `json:"time_zone"` // IANA name the days follow
	From     string    `json:"from"`      // first day, YYYY-MM-DD
	To       string    `json:"to"`        // last day, YYYY-MM-DD
	Start    time.Time `json:"start"`     // the period as instants: [Start, End)
	End      time.Time `json:"end"`
	// Totals add up the mailings' rows.
	Totals   Figures          `json:"totals"`
	Mailings []MailingFigures `json:"mailings"` // newest first
	Days     []Day            `json:"days"`     // every day of the period, oldest first
}

// UsersReport is the staff's report: one row per user of the page asked
// for, totals over everyone, and the chart of everyone's attempts.
type UsersReport struct {
	TimeZone string        `json:"time_zone"`
	From     string        `json:"from"`
	To       string        `json:"to"`
	Start    time.Time     `json:"start"`
	End      time.Time     `json:"end"`
	Totals   Figures       `json:"totals"` // every user, not only the page
	Users    []UserFigures `json:"users"`  // ordered by user id
	Total    int           `json:"total"`  // users in all (for paging)
	Days     []Day         `json:"days"`
}

// Stats are the figures of GET /api/v1/stats, over all time: the actor's own
// for a regular user, everyone's for managers and admins. MailingsTotal and
// MailingsActive are Figures.Mailings and .MailingsActive; MessagesSent is
// Figures.Sent; AttemptsSuccess and AttemptsFailure count every attempt ever
// made (so AttemptsSuccess equals MessagesSent but for a delivery whose
// sender was declared dead while it was in fact finishing). RecipientsUnique
// is the number of distinct addresses in the address book (everyone's
// address books for staff: an address two users keep counts once).
type Stats struct {
	MailingsTotal    int `json:"mailings_total"`
	MailingsActive   int `json:"mailings_active"`
	RecipientsUnique int `json:"recipients_unique"`
	MessagesSent     int `json:"messages_sent"`
	AttemptsSuccess  int `json:"attempts_success"`
	AttemptsFailure  int `json:"attempts_failure"`
}

// UserStats is one row of GET /api/v1/stats/users: Stats of one user (the
// user's own address book for RecipientsUnique).
type UserStats struct {
	UserID int64  `json:"user_id"`
	Email  string `json:"email"`
	Stats
}

func statsOf(c store.FigureCounts, recipients int) Stats {
	return Stats{MailingsTotal: c.Mailings, MailingsActive: c.MailingsActive, RecipientsUnique: recipients,
		MessagesSent: c.Sent, AttemptsSuccess: c.AttemptsSuccess, AttemptsFailure: c.AttemptsFailure}
}

// ---- cache keys and invalidation

// cacheTTL bounds how long an entry lives. It is a backstop only: every
// write retires what it changes at once (see FiguresChanged).
const cacheTTL = 10 * time.Minute

// keyFormat changes whenever a cached type changes shape, so that instances
// of two versions sharing Redis never read each other's entries.
const keyFormat = "k1"

// Cache scopes: one per user (their own figures), "all" (anything shown to
// staff about everyone: every user's change bumps it too), and "users" (the
// list of users itself: addresses, names, roles, states).
const (
	scopeAll   = "all"
	scopeUsers = "users"
)

func scopeUser(id int64) string { return "u:" + strconv.FormatInt(id, 10) }

// viewerKey is the part of every key that names who is looking: user id and
// role, never anything taken from an e-mail address.
func viewerKey(ac *Actor) string {
	return "u" + strconv.FormatInt(ac.id(), 10) + ":r-" + string(ac.role())
}

// FiguresChanged retires every cached figure of owners, and the staff's views
// of everyone. The delivery engine calls it (delivery.Config.Changed) after
// each batch of outcomes and each run start; the use cases that write call
// it after their transaction commits.
func (a *App) FiguresChanged(ctx context.Context, owners []int64) {
	scopes := []string{scopeAll}
	for _, o := range owners {
		if o != 0 {
			scopes = append(scopes, scopeUser(o))
		}
	}
	a.Cache.Bump(ctx, scopes...)
}

// usersChanged retires what shows the list of users (and user id's figures:
// a blocked user's sends were cancelled).
func (a *App) usersChanged(ctx context.Context, ids ...int64) {
	scopes := []string{scopeAll, scopeUsers}
	for _, id := range ids {
		if id != 0 {
			scopes = append(scopes, scopeUser(id))
		}
	}
	a.Cache.Bump(ctx, scopes...)
}

// cached returns the value under key (with the stamp of scopes), or loads,
// stores and returns it. The stamp is read before loading, so a write that
// commits meanwhile retires what this call stores.
func cached[T any](ctx context.Context, a *App, scopes []string, key string, load func() (T, error)) (T, error) {
	stamp, ok := a.Cache.Stamp(ctx, scopes...)
	key = keyFormat + ":" + key + "#" + stamp
	if ok {
		if b, hit := a.Cache.Get(ctx, key); hit {
			var v T
			if err := json.Unmarshal(b, &v); err == nil {
				return v, nil
			}
		}
	}
	v, err := load()
	if err == nil && ok {
		if b, err := json.Marshal(v); err == nil {
			a.Cache.Set(ctx, key, b, cacheTTL)
		}
	}
	return v, err
}

// PageKey names a rendered page for StaffPage.
type PageKey struct {
	// Name is the page, e.g. "users".
	Name string
	// Lang is the language it is rendered in.
	Lang string
	// Variant is everything else the page depends on besides the viewer and
	// the language, e.g. the query string. It is hashed into the key.
	Variant string
	// Figures is true when the page shows figures (mailings, deliveries):
	// then every figure change retires it, not only changes to the users.
	Figures bool
}

// StaffPage returns a page for managers and admins, rendered by render or
// taken from the cache. The key holds the viewer's id and role, the
// language and a hash of the variant; it is retired whenever a user is
// added, changed, blocked or unblocked, or changes role (and, with
// Figures, whenever any figure changes). Anyone else gets Unauthenticated
// (nobody logged in) or Forbidden, and neither a cached copy nor a call to
// render. render's error is returned as is and nothing is cached.
func (a *App) StaffPage(ctx context.Context, ac *Actor, k PageKey, render func() ([]byte, error)) ([]byte, error) {
	if ac.anonymous() {
		return nil, errUnauthenticated
	}
	if !ac.role().IsStaff() {
		return nil, errForbidden
	}
	scopes := []string{scopeUsers}
	if k.Figures {
		scopes = []string{scopeUsers, scopeAll}
	}
	h := sha256.Sum256([]byte(k.Variant))
	key := fmt.Sprintf("page:%s:%s:lang-%s:%s", k.Name, viewerKey(ac), k.Lang, hex.EncodeToString(h[:12]))
	return cached(ctx, a, scopes, key, render)
}

// ---- periods

const maxPeriodDays = 366

type period struct {
	loc      *time.Location
	from, to string
	bounds   []time.Time // local midnight of each day, and of the day after the last
}

func (p *period) start() time.Time { return p.bounds[0] }
func (p *period) end() time.Time   { return p.bounds[len(p.bounds)-1] }

// resolvePeriod turns p into instants in the actor's time zone.
func (a *App) resolvePeriod(ac *Actor, p Period) (*period, error) {
	loc := ac.User.Location()
	parse := func(field, s string) (time.Time, error) {
		t, err := time.Parse(time.DateOnly, strings.TrimSpace(s))
		if err != nil {
			return t, simplesender.Invalid(map[string]string{field: "error.period.date"})
		}
		return t, nil
	}
	y, m, d := a.Now().In(loc).Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	var from, to time.Time
	var err error
	switch {
	case p.From == "" && p.To == "":
		to = today
		from = to.AddDate(0, 0, -29)
	case p.From == "":
		if to, err = parse("to", p.To); err != nil {
			return nil, err
		}
		from = to.AddDate(0, 0, -29)
	case p.To == "":
		if from, err = parse("from", p.From); err != nil {
			return nil, err
		}
		to = from.AddDate(0, 0, 29)
	default:
		if from, err = parse("from", p.From); err != nil {
			return nil, err
		}
		if to, err = parse("to", p.To); err != nil {
			return nil, err
		}
	}
	days := int(to.Sub(from).Hours()/24) + 1 // both are UTC midnights: whole days
	switch {
	case days < 1:
		return nil, simplesender.Invalid(map[string]string{"to": "error.period.order"})
	case days > maxPeriodDays:
		return nil, simplesender.Invalid(map[string]string{"to": "error.period.long"})
	}
	out := &period{loc: loc, from: from.Format(time.DateOnly), to: to.Format(time.DateOnly)}
	for i := 0; i <= days; i++ {
		// time.Date normalises the day and finds the zone's offset at that
		// local midnight, so the days follow daylight saving time.
		out.bounds = append(out.bounds, time.Date(from.Year(), from.Month(), from.Day()+i, 0, 0, 0, 0, loc).UTC())
	}
	return out, nil
}

// days buckets per-slot counts into the period's days.
func (p *period) days(slots []store.SlotCount) []Day {
	out := make([]Day, len(p.bounds)-1)
	for i := range out {
		out[i] = Day{Date: p.bounds[i].In(p.loc).Format(time.DateOnly), Start: p.bounds[i]}
	}
	for _, s := range slots {
		// The last day whose midnight is at or before the slot's start.
		i := sort.Search(len(p.bounds), func(i int) bool { return p.bounds[i].Unix() > s.Slot }) - 1
		if i >= 0 && i < len(out) {
			out[i].Success += s.Success
			out[i].Failure += s.Failure
		}
	}
	return out
}

// ---- use cases

// Report returns the report of owner's mailings (owner 0: the actor's own)
// over period p in the actor's time zone: one row per mailing, newest
// first, their totals, and the attempts of each day. Managers and admins
// may ask for anyone's. It is cached per viewer, owner, period and zone,
// and retired by every change to owner's figures. Errors:
// Unauthenticated (no user), NotFound (another user's report asked by a
// regular user, or no such user), Invalid (the period).
func (a *App) Report(ctx context.Context, ac *Actor, owner int64, p Period) (*Report, error) {
	if ac.anonymous() {
		return nil, errUnauthenticated
	}
	if owner == 0 {
		owner = ac.id()
	}
	if owner != ac.id() {
		if !ac.role().IsStaff() {
			return nil, simplesender.E(simplesender.KindNotFound, "error.not_found")
		}
		if _, err := a.DB.Store().UserByID(ctx, owner); err != nil {
			return nil, err
		}
	}
	per, err := a.resolvePeriod(ac, p)
	if err != nil {
		return nil, err
	}
	key := fmt.Sprintf("report:%s:o%d:%s:%s:%s", viewerKey(ac), owner, per.from, per.to, per.loc)
	return cached(ctx, a, []string{scopeUser(owner)}, key, func() (*Report, error) {
		r := &Report{OwnerID: owner, TimeZone: per.loc.String(), From: per.from, To: per.to, Start: per.start(), End: per.end(),
			Mailings: []MailingFigures{}}
		err := a.DB.ReadTx(ctx, func(s *store.Store) error {
			rows, err := s.MailingFigures(ctx, owner, r.Start, r.End)
			if err != nil {
				return err
			}
			for _, m := range rows {
				f := Figures(m.FigureCounts)
				r.Mailings = append(r.Mailings, MailingFigures{ID: m.ID, Name: m.Name, Status: m.Status, Disabled: m.Disabled,
					CreatedAt: m.CreatedAt, Figures: f})
				r.Totals.add(f)
			}
			slots, err := s.AttemptSlots(ctx, owner, r.Start, r.End)
			r.Days = per.days(slots)
			return err
		})
		return r, err
	})
}

// UsersReport returns, for managers and admins, one row per user (a page of
// limit users from offset, ordered by id; limit 1-500, default 50) with the
// figures of Report's totals over period p, the totals over every user, and
// the chart of everyone's attempts, days in the actor's time zone. Errors:
// Unauthenticated, Forbidden (regular users), Invalid (the period).
func (a *App) UsersReport(ctx context.Context, ac *Actor, p Period, limit, offset int) (*UsersReport, error) {
	if ac.anonymous() {
		return nil, errUnauthenticated
	}
	if !ac.role().IsStaff() {
		return nil, errForbidden
	}
	per, err := a.resolvePeriod(ac, p)
	if err != nil {
		return nil, err
	}
	limit, offset = pageBounds(limit, offset)
	key := fmt.Sprintf("usersreport:%s:%s:%s:%s:l%d:o%d", viewerKey(ac), per.from, per.to, per.loc, limit, offset)
	return cached(ctx, a, []string{scopeAll}, key, func() (*UsersReport, error) {
		r := &UsersReport{TimeZone: per.loc.String(), From: per.from, To: per.to, Start: per.start(), End: per.end(),
			Users: []UserFigures{}}
		err := a.DB.ReadTx(ctx, func(s *store.Store) error {
			users, total, err := s.ListUsers(ctx, store.UserFilter{Limit: limit, Offset: offset})
			if err != nil {
				return err
			}
			r.Total = total
			if r.Users, err = userFigures(ctx, s, users, r.Start, r.End); err != nil {
				return err
			}
			all, err := s.OwnerFigures(ctx, store.Owners{}, r.Start, r.End)
			if err != nil {
				return err
			}
			for _, c := range all {
				r.Totals.add(Figures(*c))
			}
			slots, err := s.AttemptSlots(ctx, 0, r.Start, r.End)
			r.Days = per.days(slots)
			return err
		})
		return r, err
	})
}

func pageBounds(limit, offset int) (int, int) {
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	return limit, max(offset, 0)
}

// pageOwners selects the owners of a page of users ordered by id (with no
// filter, so the page is every user from its first id to its last).
func pageOwners(users []*simplesender.User) store.Owners {
	if len(users) == 0 {
		return store.Owners{Min: 1, Max: 0} // nobody
	}
	return store.Owners{Min: users[0].ID, Max: users[len(users)-1].ID}
}

// userFigures returns the rows of users (a page ordered by id) with their
// figures in [from, to).
func userFigures(ctx context.Context, s *store.Store, users []*simplesender.User, from, to time.Time) ([]UserFigures, error) {
	figs, err := s.OwnerFigures(ctx, pageOwners(users), from, to)
	if err != nil {
		return nil, err
	}
	out := make([]UserFigures, 0, len(users))
	for _, u := range users {
		row := UserFigures{UserID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role, Status: u.Status()}
		if c := figs[u.ID]; c != nil {
			row.Figures = Figures(*c)
		}
		out = append(out, row)
	}
	return out, nil
}

// Stats returns the figures of GET /api/v1/stats: the actor's own, or
// everyone's for managers and admins (see Stats). Cached; retired by every
// change to them. Errors: Unauthenticated.
func (a *App) Stats(ctx context.Context, ac *Actor) (*Stats, error) {
	if ac.anonymous() {
		return nil, errUnauthenticated
	}
	scope, owners := []string{scopeUser(ac.id())}, store.Owner(ac.id())
	if ac.role().IsStaff() {
		scope, owners = []string{scopeAll}, store.Owners{}
	}
	return cached(ctx, a, scope, "stats:"+viewerKey(ac), func() (*Stats, error) {
		var st Stats
		err := a.DB.ReadTx(ctx, func(s *store.Store) error {
			figs, err := s.OwnerFigures(ctx, owners, time.Time{}, time.Time{})
			if err != nil {
				return err
			}
			var sum store.FigureCounts
			for _, c := range figs {
				sum.Add(*c)
			}
			var recipients int
			if owners == (store.Owners{}) {
				recipients, err = s.DistinctRecipients(ctx)
			} else {
				var n map[int64]int
				n, err = s.RecipientCounts(ctx, owners)
				recipients = n[ac.id()]
			}
			st = statsOf(sum, recipients)
			return err
		})
		return &st, err
	})
}

// StatsList is a page of GET /api/v1/stats/users.
type StatsList struct {
	Items []UserStats `json:"items"`
	Total int         `json:"total"` // users in all
}

// StatsUsers returns, for managers and admins, a page of users (limit 1-500,
// default 50, ordered by id) each with their own Stats. Cached; retired by
// every change to users or figures. Errors: Unauthenticated, Forbidden.
func (a *App) StatsUsers(ctx context.Context, ac *Actor, limit, offset int) (*StatsList, error) {
	if ac.anonymous() {
		return nil, errUnauthenticated
	}
	if !ac.role().IsStaff() {
		return nil, errForbidden
	}
	limit, offset = pageBounds(limit, offset)
	key := fmt.Sprintf("statsusers:%s:l%d:o%d", viewerKey(ac), limit, offset)
	return cached(ctx, a, []string{scopeAll}, key, func() (*StatsList, error) {
		out := &StatsList{Items: []UserStats{}}
		err := a.DB.ReadTx(ctx, func(s *store.Store) error {
			users, total, err := s.ListUsers(ctx, store.UserFilter{Limit: limit, Offset: offset})
			if err != nil {
				return err
			}
			out.Total = total
			figs, err := s.OwnerFigures(ctx, pageOwners(users), time.Time{}, time.Time{})
			if err != nil {
				return err
			}
			recips, err := s.RecipientCounts(ctx, pageOwners(users))
			if err != nil {
				return err
			}
			for _, u := range users {
				var c store.FigureCounts
				if f := figs[u.ID]; f != nil {
					c = *f
				}
				out.Items = append(out.Items, UserStats{UserID: u.ID, Email: u.Email, Stats: statsOf(c, recips[u.ID])})
			}
			return nil
		})
		return out, err
	})
}

// ---- CSV
//
// Every CSV export writes through csvio.Writer: one byte order mark option,
// CRLF line ends, and one rule against formula injection (csvio.Neutralize)
// applied to every cell.

var figureColumns = []string{"mailings", "mailings_active", "sent", "failed", "unknown", "pending", "cancelled",
	"attempts_success", "attempts_failure", "success_rate"}

func figureCells(f Figures) []string {
	rate := ""
	if r, ok := f.SuccessRate(); ok {
		rate = strconv.FormatFloat(r, 'f', 4, 64)
	}
	out := []string{}
	for _, n := range []int{f.Mailings, f.MailingsActive, f.Sent, f.Failed, f.Unknown, f.Pending, f.Cancelled,
		f.AttemptsSuccess, f.AttemptsFailure} {
		out = append(out, strconv.Itoa(n))
	}
	return append(out, rate)
}

// WriteReportCSV writes Report(ctx, ac, owner, p) as CSV to w: a header
// row, one row per mailing, and a last row whose mailing_id is "total".
// The columns are mailing_id, mailing, status, disabled, then the Figures
// (attempts in the period) and success_rate (0-1, 4 decimals, empty when
// undefined). Text cells are neutralised against formula injection. Errors:
// those of Report, and w's.
func (a *App) WriteReportCSV(ctx context.Context, ac *Actor, w io.Writer, owner int64, p Period, bom bool) error {
	r, err := a.Report(ctx, ac, owner, p)
	if err != nil {
		return err
	}
	cw := csvio.NewWriter(w, csvio.WriterOptions{BOM: bom})
	cw.Write(append([]string{"mailing_id", "mailing", "status", "disabled"}, figureColumns...)...)
	for _, m := range r.Mailings {
		cw.Write(append([]string{strconv.FormatInt(m.ID, 10), m.Name, string(m.Status), strconv.FormatBool(m.Disabled)},
			figureCells(m.Figures)...)...)
	}
	cw.Write(append([]string{"total", "", "", ""}, figureCells(r.Totals)...)...)
	return cw.Flush()
}

// WriteUsersReportCSV writes the staff's report over period p as CSV to w:
// a header row, one row per user (every user, by id), and a last row whose
// user_id is "total". The columns are user_id, email, name, role, status,
// then the Figures and success_rate as in WriteReportCSV. Errors:
// Unauthenticated, Forbidden, Invalid, and w's.
func (a *App) WriteUsersReportCSV(ctx context.Context, ac *Actor, w io.Writer, p Period, bom bool) error {
	const per = 500
	page, err := a.UsersReport(ctx, ac, p, per, 0) // refused before anything is written
	if err != nil {
		return err
	}
	totals := page.Totals
	cw := csvio.NewWriter(w, csvio.WriterOptions{BOM: bom})
	cw.Write(append([]string{"user_id", "email", "name", "role", "status"}, figureColumns...)...)
	for offset := 0; ; {
		for _, u := range page.Users {
			cw.Write(append([]string{strconv.FormatInt(u.UserID, 10), u.Email, u.Name, string(u.Role), string(u.Status)},
				figureCells(u.Figures)...)...)
		}
		if len(page.Users) < per {
			break
		}
		if err := cw.Flush(); err != nil {
			return err
		}
		offset += per
		if page, err = a.UsersReport(ctx, ac, p, per, offset); err != nil {
			return err
		}
	}
	cw.Write(append([]string{"total", "", "", "", ""}, figureCells(totals)...)...)
	return cw.Flush()
}

// WriteAttemptsCSV streams every attempt of a mailing the actor may see as
// CSV to w, oldest first, without holding them in memory: columns id, run
// (the run's number), email, attempted_at (RFC 3339 in the actor's time
// zone), status (success or failure), code, enhanced, response. Text cells
// are neutralised against formula injection. Errors: Unauthenticated,
// NotFound, and w's.
func (a *App) WriteAttemptsCSV(ctx context.Context, ac *Actor, mailingID int64, w io.Writer, bom bool) error {
	if ac.anonymous() {
		return errUnauthenticated
	}
	if _, err := a.GetMailing(ctx, ac, mailingID); err != nil {
		return err
	}
	st := a.DB.Store()
	numbers, err := st.RunNumbers(ctx, mailingID)
	if err != nil {
		return err
	}
	cw := csvio.NewWriter(w, csvio.WriterOptions{BOM: bom})
	loc := ac.User.Location()
	cw.Write("id", "run", "email", "attempted_at", "status", "code", "enhanced", "response")
	n := 0
	err = st.EachAttempt(ctx, mailingID, func(at *simplesender.Attempt) error {
		status := "failure"
		if at.Success {
			status = "success"
		}
		cw.Write([]string{strconv.FormatInt(at.ID, 10), strconv.Itoa(numbers[at.RunID]), at.Email,
			at.AttemptedAt.In(loc).Format(time.RFC3339), status, strconv.Itoa(at.Code), at.Enhanced, at.Response}...)
		if n++; n%1000 == 0 {
			if err := cw.Flush(); err != nil {
				return err
			}
			return ctx.Err()
		}
		return nil
	})
	if err != nil {
		return err
	}
	return cw.Flush()
}
