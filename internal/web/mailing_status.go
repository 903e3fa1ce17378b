package web

import (
	"encoding/json"
	"time"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/i18n"
)

// loc is the viewer's time zone (UTC when logged out).
func (p *Page) loc() *time.Location {
	if p.User != nil {
		return p.User.Location()
	}
	return time.UTC
}

// MailingDetail is what mailing m is doing now, shown beside its status
// label: "scheduled for 12:00", "sending 40%", "finished 11:02, next at
// 12:00"; "" for a mailing never sent.
func (p *Page) MailingDetail(m *simplesender.Mailing) string {
	return app.StatusText(p.L, p.loc(), m.Detail(p.now), p.now)
}

// pageTime formats t in loc as Page.Time does ("—" for nil), for figures
// that the page's script replaces.
func pageTime(loc *time.Location, t *time.Time) string {
	if t == nil {
		return "—"
	}
	return t.In(loc).Format(timeLayout)
}

// pluralSamples renders the plural message key for counts that between
// them reach every plural form of English and Russian, as JSON [[count,
// text], ...]: the page's script picks the sample whose form
// (Intl.PluralRules) is that of the count it shows, and puts the count in.
func pluralSamples(l *i18n.Localizer, key string) string {
	var out [][2]any
	for _, n := range []int{0, 1, 2, 5, 21} {
		out = append(out, [2]any{n, l.N(key, n)})
	}
	b, _ := json.Marshal(out)
	return string(b)
}

// PlannedAt is the planned start of m when it is still ahead, else nil: a
// send now, due at once, has no planned time to show.
func (p *Page) PlannedAt(m *simplesender.Mailing) *time.Time {
	if m.ScheduledAt != nil && m.ScheduledAt.After(p.now) {
		return m.ScheduledAt
	}
	return nil
}
