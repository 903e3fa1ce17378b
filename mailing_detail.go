package simplesender

import "time"

// Phase is what a mailing is doing now: the detail shown beside its status
// label, so that the label ("running" covers both a planned start and a
// send in progress) never misleads.
type Phase string

// The phases of a mailing.
const (
	PhaseNew       Phase = "new"       // never sent and nothing planned
	PhaseScheduled Phase = "scheduled" // a start is planned at At
	PhaseStarting  Phase = "starting"  // a start is due: the engine takes it within moments
	PhaseSending   Phase = "sending"   // a send is in progress, Percent done
	PhaseFinished  Phase = "finished"  // the last send ended at At; Next, when set, is the planned next start
)

// StatusDetail is what a mailing is doing now, in figures.
type StatusDetail struct {
	Phase Phase
	// At is the planned start (scheduled), the start of the send in
	// progress (sending) or the end of the last send (finished).
	At *time.Time
	// Next is a later start planned after a finished send.
	Next *time.Time
	// Percent is the share of the send's deliveries that are done
	// (sending), rounded down.
	Percent int
}

// Detail returns what m is doing at now. It reads only the mailing's own
// fields (ScheduledAt, StartedAt, FinishedAt, Counts), so lists and the
// mailing page agree.
func (m *Mailing) Detail(now time.Time) StatusDetail {
	switch {
	case m.StartedAt != nil && m.FinishedAt == nil:
		d := StatusDetail{Phase: PhaseSending, At: m.StartedAt}
		if t := m.Counts.Total(); t > 0 {
			d.Percent = m.Counts.Done() * 100 / t
		}
		return d
	case m.ScheduledAt != nil && !m.ScheduledAt.After(now):
		return StatusDetail{Phase: PhaseStarting}
	case m.FinishedAt != nil:
		return StatusDetail{Phase: PhaseFinished, At: m.FinishedAt, Next: m.ScheduledAt}
	case m.ScheduledAt != nil:
		return StatusDetail{Phase: PhaseScheduled, At: m.ScheduledAt}
	}
	return StatusDetail{Phase: PhaseNew}
}
