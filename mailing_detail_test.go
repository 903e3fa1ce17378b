package simplesender

import (
	"testing"
	"time"
)

func TestMailingDetail(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	at := func(min int) *time.Time { v := now.Add(time.Duration(min) * time.Minute); return &v }
	cases := []struct {
		name string
		m    Mailing
		want StatusDetail
	}{
		{"never sent: new", Mailing{Status: MailingCreated}, StatusDetail{Phase: PhaseNew}},
		{"planned later: scheduled for that time", Mailing{Status: MailingRunning, ScheduledAt: at(60)},
			StatusDetail{Phase: PhaseScheduled, At: at(60)}},
		{"send now, not yet taken: starting, no planned time", Mailing{Status: MailingRunning, ScheduledAt: at(0)},
			StatusDetail{Phase: PhaseStarting}},
		{"in progress: sending with the share done", Mailing{Status: MailingRunning, StartedAt: at(-1),
			Counts: DeliveryCounts{Sent: 3, Failed: 1, Pending: 6}}, StatusDetail{Phase: PhaseSending, At: at(-1), Percent: 40}},
		{"finished: the end time", Mailing{Status: MailingFinished, StartedAt: at(-60), FinishedAt: at(-58)},
			StatusDetail{Phase: PhaseFinished, At: at(-58)}},
		{"finished and planned again: the end and the next start", Mailing{Status: MailingRunning, StartedAt: at(-60),
			FinishedAt: at(-58), ScheduledAt: at(30)}, StatusDetail{Phase: PhaseFinished, At: at(-58), Next: at(30)}},
		{"finished and sent again now: starting", Mailing{Status: MailingRunning, StartedAt: at(-60),
			FinishedAt: at(-58), ScheduledAt: at(-1)}, StatusDetail{Phase: PhaseStarting}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := c.m.Detail(now)
			if got.Phase != c.want.Phase || got.Percent != c.want.Percent || !sameTime(got.At, c.want.At) || !sameTime(got.Next, c.want.Next) {
				t.Errorf("Detail = %+v, want %+v", got, c.want)
			}
		})
	}
}

func sameTime(a, b *time.Time) bool {
	return (a == nil) == (b == nil) && (a == nil || a.Equal(*b))
}
