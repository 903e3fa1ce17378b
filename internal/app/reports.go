package app

import (
	"context"
	"fmt"
	"time"

	"simplesender"
	"simplesender/internal/store"
)

// reportOwner returns whose figures the actor asks for (owner; 0: the
// actor's own) once the actor may see them: a regular user only their own
// (another user's is NotFound), staff anyone's who exists. Errors:
// Unauthenticated, NotFound.
func (a *App) reportOwner(ctx context.Context, ac *Actor, owner int64) (int64, error) {
	if ac.anonymous() {
		return 0, errUnauthenticated
	}
	if owner == 0 {
		owner = ac.id()
	}
	if owner != ac.id() {
		if !ac.role().IsStaff() {
			return 0, simplesender.E(simplesender.KindNotFound, "error.not_found")
		}
		if _, err := a.DB.Store().UserByID(ctx, owner); err != nil {
			return 0, err
		}
	}
	return owner, nil
}

// Report returns the report of owner's mailings (owner 0: the actor's own)
// over period p in the actor's time zone: one row per mailing, newest
// first, their totals, and the attempts of each day. Managers and admins
// may ask for anyone's. It is cached per viewer, owner, period and zone,
// and retired by every change to owner's figures. Errors:
// Unauthenticated (no user), NotFound (another user's report asked by a
// regular user, or no such user), Invalid (the period).
func (a *App) Report(ctx context.Context, ac *Actor, owner int64, p Period) (*Report, error) {
	owner, err := a.reportOwner(ctx, ac, owner)
	if err != nil {
		return nil, err
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

// staffPeriod resolves period p for a page that only managers and admins
// see. Errors: Unauthenticated, Forbidden (regular users), Invalid.
func (a *App) staffPeriod(ac *Actor, p Period) (*period, error) {
	if ac.anonymous() {
		return nil, errUnauthenticated
	}
	if !ac.role().IsStaff() {
		return nil, errForbidden
	}
	return a.resolvePeriod(ac, p)
}

// UsersReport returns, for managers and admins, one row per user (a page of
// limit users from offset, ordered by id; limit 1-500, default 50) with the
// figures of Report's totals over period p, the totals over every user, and
// the chart of everyone's attempts, days in the actor's time zone. Errors:
// Unauthenticated, Forbidden (regular users), Invalid (the period).
func (a *App) UsersReport(ctx context.Context, ac *Actor, p Period, limit, offset int) (*UsersReport, error) {
	per, err := a.staffPeriod(ac, p)
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
