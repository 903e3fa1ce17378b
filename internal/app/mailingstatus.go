package app

import (
	"time"

	"simplesender"
	"simplesender/internal/i18n"
)

// StatusText returns the detail shown beside a mailing's status label, in
// l's language and loc's time zone: "scheduled for 12:00", "starting",
// "sending 40%", "finished 11:02" or "finished 11:02, next at 12:00"; ""
// for a mailing never sent. Times of the day of now are shown without the
// date.
func StatusText(l *i18n.Localizer, loc *time.Location, d simplesender.StatusDetail, now time.Time) string {
	switch d.Phase {
	case simplesender.PhaseScheduled:
		return l.T("mailing.detail.scheduled", "At", ShortTime(loc, d.At, now))
	case simplesender.PhaseStarting:
		return l.T("mailing.detail.starting")
	case simplesender.PhaseSending:
		return l.T("mailing.detail.sending", "Percent", d.Percent)
	case simplesender.PhaseFinished:
		if d.Next != nil {
			return l.T("mailing.detail.finished_next", "At", ShortTime(loc, d.At, now), "Next", ShortTime(loc, d.Next, now))
		}
		return l.T("mailing.detail.finished", "At", ShortTime(loc, d.At, now))
	}
	return ""
}

// ShortTime formats t in loc: the time of day alone when it falls on the
// day of now there, else the date and the time; "" for nil.
func ShortTime(loc *time.Location, t *time.Time, now time.Time) string {
	if t == nil {
		return ""
	}
	lt, ln := t.In(loc), now.In(loc)
	if lt.Year() == ln.Year() && lt.YearDay() == ln.YearDay() {
		return lt.Format("15:04")
	}
	return lt.Format("2006-01-02 15:04")
}
