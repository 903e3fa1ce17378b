package app

import (
	"sort"
	"strings"
	"time"

	"simplesender"
	"simplesender/internal/store"
)

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
