package app

import (
	"context"
	"errors"
	"strconv"
	"strings"
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

// Waiting is why a mailing's send in progress does not move: how many
// deliveries wait, when the next is tried, the last error, and the SMTP
// servers that rest after repeated failures.
type Waiting struct {
	Pending     int
	NextAttempt *time.Time // nil, or now or earlier: nothing to wait for
	LastError   string     // the server's answer, untrusted text, at most 200 characters
	LastErrorAt *time.Time
	Resting     []simplesender.SMTPServerStatus
}

// maxShownError bounds the server answer shown as the last error.
const maxShownError = 200

// MailingWaiting returns why the send in progress of m waits, or nil when
// m is not being sent or nothing waits. m must come from GetMailing (which
// decided that the actor may see it). The resting servers are this
// instance's view of them.
func (a *App) MailingWaiting(ctx context.Context, m *simplesender.Mailing) (*Waiting, error) {
	now := a.Now()
	if m.Detail(now).Phase != simplesender.PhaseSending || m.Counts.Pending == 0 {
		return nil, nil
	}
	sw, err := a.DB.Store().MailingWaiting(ctx, m.ID)
	if err != nil {
		return nil, err
	}
	w := &Waiting{Pending: m.Counts.Pending}
	if sw.NextAttempt != nil && sw.NextAttempt.After(now) {
		w.NextAttempt = sw.NextAttempt
	}
	if f := sw.LastFailure; f != nil {
		w.LastError, w.LastErrorAt = failureText(f), &f.AttemptedAt
	}
	if a.SMTP != nil {
		for _, sv := range a.SMTP().Servers {
			if sv.State == simplesender.SMTPServerResting && sv.RestingUntil.After(now) {
				w.Resting = append(w.Resting, sv)
			}
		}
	}
	return w, nil
}

// failureText is a failed attempt's answer on one line: the code, the
// enhanced code (unless the text starts with it, as servers often write
// it) and the text, at most maxShownError characters.
func failureText(f *simplesender.Attempt) string {
	parts := []string{}
	if f.Code != 0 {
		parts = append(parts, strconv.Itoa(f.Code))
	}
	resp := strings.Join(strings.Fields(f.Response), " ")
	if f.Enhanced != "" && !strings.HasPrefix(resp, f.Enhanced) {
		parts = append(parts, f.Enhanced)
	}
	text := strings.Join(append(parts, resp), " ")
	if r := []rune(text); len(r) > maxShownError {
		text = string(r[:maxShownError]) + "…"
	}
	return strings.TrimSpace(text)
}

// WaitingText says in l's language why a send waits, as "3 waiting; next
// attempt at 12:05; last error: 451 4.7.1 try later; server
// smtp.example.com:587 is resting until 12:10"; "" for nil.
func WaitingText(l *i18n.Localizer, loc *time.Location, w *Waiting, now time.Time) string {
	if w == nil {
		return ""
	}
	parts := []string{l.N("mailing.why.waiting", w.Pending)}
	if w.NextAttempt != nil {
		parts = append(parts, l.T("mailing.why.next_attempt", "At", ShortTime(loc, w.NextAttempt, now)))
	}
	if w.LastError != "" {
		parts = append(parts, l.T("mailing.why.last_error", "Error", w.LastError))
	}
	for _, sv := range w.Resting {
		parts = append(parts, l.T("mailing.why.resting", "Server", sv.Addr, "Until", ShortTime(loc, &sv.RestingUntil, now)))
	}
	return strings.Join(parts, "; ")
}

// conflictAsNow turns the refusal of a start because one is under way (a
// double click) into words that match the mailing's state as the page then
// shows it: being sent, about to start, or, when the send that the first
// click started has already finished, just sent. Other errors pass as they
// are.
func (a *App) conflictAsNow(ctx context.Context, id int64, err error) error {
	e, ok := errors.AsType[*simplesender.Error](err)
	if !ok || e.Kind != simplesender.KindConflict || (e.Message != "error.mailing.already_running" && e.Message != "error.mailing.just_started") {
		return err
	}
	m, gerr := a.DB.Store().MailingByID(ctx, 0, id)
	if gerr != nil {
		return err
	}
	key := "error.mailing.already_running"
	switch m.Detail(a.Now()).Phase {
	case simplesender.PhaseStarting:
		key = "error.mailing.already_queued"
	case simplesender.PhaseFinished, simplesender.PhaseNew:
		key = "error.mailing.just_sent"
	}
	return &simplesender.Error{Kind: simplesender.KindConflict, Message: key, Cause: err}
}
