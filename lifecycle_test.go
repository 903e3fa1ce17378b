package simplesender_test

import (
	"testing"
	"time"

	ss "simplesender"
)

// TestTransitions is the specification of a delivery's life: every move
// listed here is allowed, with the reason it happens, and every other
// combination of state, state and cause is refused.
func TestTransitions(t *testing.T) {
	allowed := []struct {
		from, to ss.DeliveryStatus
		cause    ss.Cause
		why      string
	}{
		{ss.DeliveryPending, ss.DeliverySending, ss.CauseClaim, "the engine claims a waiting delivery before it sends"},
		{ss.DeliveryDeferred, ss.DeliverySending, ss.CauseClaim, "a deferred delivery whose time came is claimed again"},
		{ss.DeliverySending, ss.DeliveryPending, ss.CauseRelease, "nothing was tried (every server rests): given back untried"},
		{ss.DeliverySending, ss.DeliverySent, ss.CauseAccepted, "the server accepted the message"},
		{ss.DeliverySending, ss.DeliveryDeferred, ss.CauseTemporary, "a temporary failure: tried again later"},
		{ss.DeliverySending, ss.DeliveryFailed, ss.CauseTemporary, "the last retry failed too: given up"},
		{ss.DeliverySending, ss.DeliveryFailed, ss.CausePermanent, "the server refused the recipient or the message for good"},
		{ss.DeliverySending, ss.DeliveryUnknown, ss.CauseUnknown, "the sender stopped mid-send: never resent on its own"},
		{ss.DeliveryPending, ss.DeliveryCancelled, ss.CauseCancel, "a cancel stops what waits"},
		{ss.DeliveryDeferred, ss.DeliveryCancelled, ss.CauseCancel, "a cancel stops a retry"},
		{ss.DeliverySending, ss.DeliveryCancelled, ss.CauseCancel, "the engine sees the cancel before it sends"},
		{ss.DeliveryPending, ss.DeliverySuppressed, ss.CauseSuppressed, "a suppressed address is not sent to"},
		{ss.DeliveryDeferred, ss.DeliverySuppressed, ss.CauseSuppressed, "nor retried"},
		{ss.DeliverySending, ss.DeliverySuppressed, ss.CauseSuppressed, "the engine checks the list before it sends"},
		{ss.DeliverySent, ss.DeliveryBounced, ss.CauseBounce, "a bounce report after the server accepted it"},
		{ss.DeliverySent, ss.DeliveryComplained, ss.CauseComplaint, "the recipient reported it as spam"},
		{ss.DeliveryBounced, ss.DeliveryComplained, ss.CauseComplaint, "a complaint outweighs a bounce"},
	}
	want := map[ss.Transition]string{}
	for _, a := range allowed {
		want[ss.Transition{From: a.from, To: a.to, Cause: a.cause}] = a.why
	}
	n := 0
	for _, from := range ss.DeliveryStates {
		for _, to := range ss.DeliveryStates {
			for _, cause := range ss.Causes {
				why, ok := want[ss.Transition{From: from.Status, To: to.Status, Cause: cause}]
				name := string(from.Status) + "→" + string(to.Status) + " by " + string(cause)
				if ok {
					n++
				}
				if got := ss.CanTransition(from.Status, to.Status, cause); got != ok {
					if ok {
						t.Errorf("%s refused; want allowed: %s", name, why)
					} else {
						t.Errorf("%s allowed; want refused", name)
					}
				}
			}
		}
	}
	if n != len(allowed) || len(ss.Transitions) != len(allowed) {
		t.Errorf("the domain allows %d moves, this table %d (%d of them between known states)", len(ss.Transitions), len(allowed), n)
	}
}

// TestDeliveryStates checks the one list of states: what the engine is
// done with, what waits for it, and the counter each state moves.
func TestDeliveryStates(t *testing.T) {
	for _, tc := range []struct {
		s              ss.DeliveryStatus
		final, waiting bool
		counter        ss.Counter
	}{
		{ss.DeliveryPending, false, true, ss.CountPending},
		{ss.DeliverySending, false, false, ss.CountPending},
		{ss.DeliveryDeferred, false, true, ss.CountPending},
		{ss.DeliverySent, true, false, ss.CountSent},
		{ss.DeliveryFailed, true, false, ss.CountFailed},
		{ss.DeliveryUnknown, true, false, ss.CountUnknown},
		{ss.DeliveryCancelled, true, false, ss.CountCancelled},
		{ss.DeliverySuppressed, true, false, ss.CountSuppressed},
		{ss.DeliveryBounced, true, false, ss.CountBounced},
		{ss.DeliveryComplained, true, false, ss.CountComplained},
	} {
		st, ok := tc.s.State()
		if !ok || st.Final != tc.final || st.Waiting != tc.waiting || st.Counter != tc.counter {
			t.Errorf("%s: got %+v (known %v), want final %v waiting %v counter %s", tc.s, st, ok, tc.final, tc.waiting, tc.counter)
		}
	}
	if ss.DeliveryStatus("lost").Valid() {
		t.Error("an unknown status is valid")
	}
	// A run is done when its deliveries are all final: no move may leave a
	// final state for one that is not, or the run would open again.
	for _, tr := range ss.Transitions {
		from, _ := tr.From.State()
		to, _ := tr.To.State()
		if from.Final && !to.Final {
			t.Errorf("%s→%s reopens a final delivery", tr.From, tr.To)
		}
	}
}

// TestCountsUnderLaterReports follows one run of four deliveries through
// sending and the reports that come back after: the counts add up to the
// run at every step, and a bounce moves a delivery from Sent to Bounced.
func TestCountsUnderLaterReports(t *testing.T) {
	c := ss.DeliveryCounts{Pending: 4}
	states := []ss.DeliveryStatus{ss.DeliveryPending, ss.DeliveryPending, ss.DeliveryPending, ss.DeliveryPending}
	move := func(i int, to ss.DeliveryStatus) {
		c.Move(states[i], to)
		states[i] = to
		if c.Total() != 4 {
			t.Fatalf("after delivery %d→%s the counts add up to %d: %+v", i, to, c.Total(), c)
		}
	}
	for i := range states {
		move(i, ss.DeliverySending)
		move(i, ss.DeliverySent)
	}
	if c.Sent != 4 || c.Pending != 0 || c.Done() != 4 {
		t.Fatalf("all sent: %+v", c)
	}
	to, err := ss.AfterReport(ss.DeliverySent, ss.CauseBounce)
	if err != nil || to != ss.DeliveryBounced {
		t.Fatalf("bounce of a sent delivery: %s, %v", to, err)
	}
	move(0, to)
	to, _ = ss.AfterReport(ss.DeliverySent, ss.CauseComplaint)
	move(1, to)
	if c.Sent != 2 || c.Bounced != 1 || c.Complained != 1 || c.Done() != 4 {
		t.Errorf("after a bounce and a complaint: %+v; want sent 2, bounced 1, complained 1", c)
	}
	for _, tc := range []struct {
		from  ss.DeliveryStatus
		cause ss.Cause
	}{
		{ss.DeliveryFailed, ss.CauseBounce},  // never accepted: nothing to bounce
		{ss.DeliveryBounced, ss.CauseBounce}, // a second report of the same bounce
		{ss.DeliveryPending, ss.CauseBounce}, // not sent yet
		{ss.DeliverySent, ss.CauseAccepted},  // not a report
		{ss.DeliveryCancelled, ss.CauseComplaint},
	} {
		got, err := ss.AfterReport(tc.from, tc.cause)
		if !ss.IsKind(err, ss.KindConflict) || got != tc.from {
			t.Errorf("%s report of a %s delivery: %s, %v; want it ignored (Conflict)", tc.cause, tc.from, got, err)
		}
	}
	var d ss.DeliveryCounts
	for i, k := range append([]ss.Counter{ss.CountPending}, ss.FinalCounters...) {
		d.Add(k, i+1)
		if d.Of(k) != i+1 {
			t.Errorf("counter %s holds %d after adding %d", k, d.Of(k), i+1)
		}
	}
}

// TestMailingStatusOf: the owner sees running while a start is pending or
// a run goes, finished after a run, created before any.
func TestMailingStatusOf(t *testing.T) {
	for _, tc := range []struct {
		hasRun, active, pending bool
		want                    ss.MailingStatus
	}{
		{false, false, false, ss.MailingCreated},
		{false, false, true, ss.MailingRunning},
		{true, true, false, ss.MailingRunning},
		{true, false, true, ss.MailingRunning},
		{true, false, false, ss.MailingFinished},
	} {
		if got := ss.MailingStatusOf(tc.hasRun, tc.active, tc.pending); got != tc.want {
			t.Errorf("ran %v, run going %v, start pending %v: %s; want %s", tc.hasRun, tc.active, tc.pending, got, tc.want)
		}
	}
}

func TestMailingChecks(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) *time.Time { t := now.Add(-d); return &t }
	base := func() *ss.Mailing { return &ss.Mailing{RecipientCount: 3, StartedAt: ago(time.Hour)} }
	for _, tc := range []struct {
		name string
		m    func(*ss.Mailing)
		r    ss.StartRequest
		want error
	}{
		{"a send starts", nil, ss.StartRequest{Kind: ss.RunSend}, nil},
		{"a blocked owner's is refused", nil, ss.StartRequest{Kind: ss.RunSend, OwnerBlocked: true}, ss.ErrOwnerBlocked},
		{"a disabled one is refused", func(m *ss.Mailing) { m.DisabledAt = ago(time.Minute) }, ss.StartRequest{Kind: ss.RunSend}, ss.ErrMailingDisabled},
		{"one going is refused", nil, ss.StartRequest{Kind: ss.RunSend, RunActive: true}, ss.ErrAlreadyRunning},
		{"one due is refused", func(m *ss.Mailing) { m.ScheduledAt = ago(0) }, ss.StartRequest{Kind: ss.RunSend}, ss.ErrAlreadyRunning},
		{"a schedule is replaced", func(m *ss.Mailing) { t := now.Add(time.Hour); m.ScheduledAt = &t }, ss.StartRequest{Kind: ss.RunSend}, nil},
		{"no one to send to", func(m *ss.Mailing) { m.RecipientCount = 0 }, ss.StartRequest{Kind: ss.RunSend}, ss.ErrNoRecipients},
		{"a double click", func(m *ss.Mailing) { m.StartedAt = ago(time.Second) }, ss.StartRequest{Kind: ss.RunSend, RepeatWindow: 10 * time.Second}, ss.ErrJustStarted},
		{"a schedule right after a run", func(m *ss.Mailing) { m.StartedAt = ago(time.Second) }, ss.StartRequest{Kind: ss.RunSend, At: now.Add(time.Hour), RepeatWindow: 10 * time.Second}, nil},
		{"no failed to resend", nil, ss.StartRequest{Kind: ss.RunResendFailed}, ss.ErrNothingToResend},
		{"failed are resent", func(m *ss.Mailing) { m.Counts.Failed = 1 }, ss.StartRequest{Kind: ss.RunResendFailed}, nil},
		{"unknown are resent", func(m *ss.Mailing) { m.Counts.Unknown = 2; m.RecipientCount = 0 }, ss.StartRequest{Kind: ss.RunResendUnknown}, nil},
		{"an unknown kind", nil, ss.StartRequest{Kind: "everyone"}, ss.E(ss.KindInvalid, "")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := base()
			if tc.m != nil {
				tc.m(m)
			}
			tc.r.Now = now
			if tc.r.At.IsZero() {
				tc.r.At = now
			}
			err := ss.CheckStart(m, tc.r)
			if !sameError(err, tc.want) {
				t.Errorf("CheckStart: %v; want %v", err, tc.want)
			}
		})
	}

	due := &ss.Mailing{ScheduledAt: ago(time.Second)}
	if !ss.CanStartDue(due, false, false, now) {
		t.Error("a due start is not started")
	}
	for name, ok := range map[string]bool{
		"blocked owner": ss.CanStartDue(due, true, false, now),
		"run going":     ss.CanStartDue(due, false, true, now),
		"not yet due":   ss.CanStartDue(due, false, false, now.Add(-time.Minute)),
		"disabled":      ss.CanStartDue(&ss.Mailing{ScheduledAt: ago(time.Second), DisabledAt: ago(0)}, false, false, now),
		"nothing due":   ss.CanStartDue(&ss.Mailing{}, false, false, now),
	} {
		if ok {
			t.Errorf("%s: the start is started", name)
		}
	}

	if err := ss.CheckCancel(&ss.Mailing{Status: ss.MailingFinished}); err != ss.ErrNothingToCancel {
		t.Errorf("cancel of a finished mailing: %v", err)
	}
	if err := ss.CheckCancel(&ss.Mailing{Status: ss.MailingRunning}); err != nil {
		t.Errorf("cancel of a running mailing: %v", err)
	}
	if err := ss.CheckEdit(&ss.Mailing{DisabledAt: ago(0)}); err != ss.ErrMailingDisabled {
		t.Errorf("edit of a disabled mailing: %v", err)
	}
	if err := ss.CheckEdit(&ss.Mailing{}); err != nil {
		t.Errorf("edit: %v", err)
	}
	if err := ss.CheckDelete(&ss.Mailing{}, true); err != ss.ErrMailingRunning {
		t.Errorf("delete while a run goes: %v", err)
	}
	if err := ss.CheckDelete(&ss.Mailing{}, false); err != nil {
		t.Errorf("delete: %v", err)
	}
}

// sameError compares domain errors by kind and message.
func sameError(got, want error) bool {
	if got == nil || want == nil {
		return got == want
	}
	g, w := ss.AsError(got), ss.AsError(want)
	return g.Kind == w.Kind && (w.Message == "" || g.Message == w.Message)
}

func TestClassify(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	retry := []time.Duration{time.Minute, 5 * time.Minute}
	for _, tc := range []struct {
		name     string
		f        *ss.SendFailure
		attempts int
		want     ss.DeliveryStatus
		cause    ss.Cause
		next     time.Duration // after at; 0: none
		gaveUp   bool
	}{
		{"accepted", nil, 1, ss.DeliverySent, ss.CauseAccepted, 0, false},
		{"550 to RCPT fails", &ss.SendFailure{Stage: ss.StageRcpt, Code: 550}, 1, ss.DeliveryFailed, ss.CausePermanent, 0, false},
		{"554 after the data fails", &ss.SendFailure{Stage: ss.StageAfterData, Code: 554}, 1, ss.DeliveryFailed, ss.CausePermanent, 0, false},
		{"552 to DATA fails", &ss.SendFailure{Stage: ss.StageData, Code: 552}, 2, ss.DeliveryFailed, ss.CausePermanent, 0, false},
		{"451 to RCPT waits", &ss.SendFailure{Stage: ss.StageRcpt, Code: 451, Temporary: true}, 1, ss.DeliveryDeferred, ss.CauseTemporary, time.Minute, false},
		{"421 at the greeting waits", &ss.SendFailure{Stage: ss.StageConnect, Code: 421, Temporary: true}, 2, ss.DeliveryDeferred, ss.CauseTemporary, 5 * time.Minute, false},
		{"535 to AUTH is the account's, not the recipient's: waits", &ss.SendFailure{Stage: ss.StageAuth, Code: 535}, 1, ss.DeliveryDeferred, ss.CauseTemporary, time.Minute, false},
		{"550 to MAIL FROM waits", &ss.SendFailure{Stage: ss.StageMail, Code: 550}, 1, ss.DeliveryDeferred, ss.CauseTemporary, time.Minute, false},
		{"a TLS failure waits", &ss.SendFailure{Stage: ss.StageTLS, Temporary: true}, 1, ss.DeliveryDeferred, ss.CauseTemporary, time.Minute, false},
		{"a connection refused waits", &ss.SendFailure{Stage: ss.StageConnect, Temporary: true}, 1, ss.DeliveryDeferred, ss.CauseTemporary, time.Minute, false},
		{"lost after the data is unknown", &ss.SendFailure{Stage: ss.StageAfterData, AfterData: true}, 1, ss.DeliveryUnknown, ss.CauseUnknown, 0, false},
		{"the last retry failing gives up", &ss.SendFailure{Stage: ss.StageRcpt, Code: 451, Temporary: true}, 3, ss.DeliveryFailed, ss.CauseTemporary, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := ss.Classify(tc.f, tc.attempts, retry, at)
			var next time.Time
			if tc.next != 0 {
				next = at.Add(tc.next)
			}
			if v.Status != tc.want || v.Cause != tc.cause || !v.NextAt.Equal(next) || v.GaveUp != tc.gaveUp {
				t.Errorf("got %+v; want %s by %s, next %v, gave up %v", v, tc.want, tc.cause, next, tc.gaveUp)
			}
			if !ss.CanTransition(ss.DeliverySending, v.Status, v.Cause) {
				t.Errorf("sending→%s by %s is no allowed move", v.Status, v.Cause)
			}
		})
	}
}
