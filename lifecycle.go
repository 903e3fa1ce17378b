package simplesender

import (
	"strconv"
	"time"
)

// This file is the life of a mailing and of its deliveries: the run kinds
// and triggers, the delivery states and the counter each one moves, the
// transitions between them and their causes, the checks that guard a
// mailing's start, cancel, edit and delete, and the classification of a
// failed send. The store and the engine call these functions rather than
// repeat the rules; lifecycle_test.go is the readable specification.

// RunKind is what a run sends to.
type RunKind string

// The run kinds.
const (
	RunSend          RunKind = "send"           // the mailing's whole audience
	RunResendFailed  RunKind = "resend_failed"  // the failed deliveries of the last run
	RunResendUnknown RunKind = "resend_unknown" // the unknown deliveries of the last run
)

// RunKinds lists every run kind, in the order the API documents them.
var RunKinds = []RunKind{RunSend, RunResendFailed, RunResendUnknown}

// Resends returns the state of the last run's deliveries that a resend of
// kind k sends to again, and false for RunSend (and unknown kinds).
func (k RunKind) Resends() (DeliveryStatus, bool) {
	switch k {
	case RunResendFailed:
		return DeliveryFailed, true
	case RunResendUnknown:
		return DeliveryUnknown, true
	}
	return "", false
}

// Trigger is what asked for a run.
type Trigger string

// The triggers.
const (
	TriggerNow      Trigger = "now"      // "send now" in the web UI or the API
	TriggerSchedule Trigger = "schedule" // a one-time schedule whose time came
	TriggerCLI      Trigger = "cli"      // the operator's command line
)

// Triggers lists every trigger, in the order the API documents them.
var Triggers = []Trigger{TriggerNow, TriggerSchedule, TriggerCLI}

// Counter names one of the counts of DeliveryCounts.
type Counter int

// The counters a delivery state moves.
const (
	CountPending    Counter = iota // waiting, being sent or to be tried again
	CountSent                      // accepted by the mail server
	CountFailed                    // refused for good
	CountUnknown                   // the sender stopped mid-send
	CountCancelled                 // cancelled before it was tried
	CountSuppressed                // not sent: the address is suppressed
	CountBounced                   // accepted, then reported undeliverable
	CountComplained                // accepted, then reported as spam
	numCounters
)

// FinalCounters are the counters of final states, in the order the store
// keeps them (run_counts columns of the same names).
var FinalCounters = []Counter{CountSent, CountFailed, CountUnknown, CountCancelled, CountSuppressed, CountBounced, CountComplained}

var counterNames = [numCounters]string{"pending", "sent", "failed", "unknown", "cancelled", "suppressed", "bounced", "complained"}

// String returns the counter's name, which is also its column and JSON name.
func (c Counter) String() string {
	if c >= 0 && c < numCounters {
		return counterNames[c]
	}
	return "counter(" + strconv.Itoa(int(c)) + ")"
}

// DeliveryState describes one delivery status.
type DeliveryState struct {
	Status DeliveryStatus
	// Final: the engine is done with it; a run whose deliveries are all
	// final is finished. A later report may still move a final delivery
	// (see AfterReport).
	Final bool
	// Waiting: it waits to be claimed by the engine, and a cancel stops it.
	Waiting bool
	// Counter is the count of DeliveryCounts it adds to.
	Counter Counter
}

// The delivery states that come back from the outside world after a send
// or before it.
const (
	DeliverySuppressed DeliveryStatus = "suppressed" // not sent: the address is on the suppression list
	DeliveryBounced    DeliveryStatus = "bounced"    // sent, then reported undeliverable
	DeliveryComplained DeliveryStatus = "complained" // sent, then reported as spam by the recipient
)

// DeliveryStates is the one list of delivery states, in the order the UI
// and the API show them.
var DeliveryStates = []DeliveryState{
	{DeliveryPending, false, true, CountPending},
	{DeliverySending, false, false, CountPending},
	{DeliveryDeferred, false, true, CountPending},
	{DeliverySent, true, false, CountSent},
	{DeliveryFailed, true, false, CountFailed},
	{DeliveryUnknown, true, false, CountUnknown},
	{DeliveryCancelled, true, false, CountCancelled},
	{DeliverySuppressed, true, false, CountSuppressed},
	{DeliveryBounced, true, false, CountBounced},
	{DeliveryComplained, true, false, CountComplained},
}

// State returns the description of s, and false for an unknown status.
func (s DeliveryStatus) State() (DeliveryState, bool) {
	for _, st := range DeliveryStates {
		if st.Status == s {
			return st, true
		}
	}
	return DeliveryState{}, false
}

// Valid reports whether s is a known delivery status.
func (s DeliveryStatus) Valid() bool {
	_, ok := s.State()
	return ok
}

// DeliveryStatuses returns the statuses of the states for which keep
// returns true (every one when keep is nil), in the order of DeliveryStates.
func DeliveryStatuses(keep func(DeliveryState) bool) []DeliveryStatus {
	var out []DeliveryStatus
	for _, st := range DeliveryStates {
		if keep == nil || keep(st) {
			out = append(out, st.Status)
		}
	}
	return out
}

// IsWaiting keeps the states that wait for the engine (pending, deferred).
func IsWaiting(st DeliveryState) bool { return st.Waiting }

// IsOpen keeps the states that are not final (pending, sending, deferred):
// what the owner sees as pending.
func IsOpen(st DeliveryState) bool { return !st.Final }

// count returns the field of counter k, or nil for an unknown counter.
func (c *DeliveryCounts) count(k Counter) *int {
	switch k {
	case CountPending:
		return &c.Pending
	case CountSent:
		return &c.Sent
	case CountFailed:
		return &c.Failed
	case CountUnknown:
		return &c.Unknown
	case CountCancelled:
		return &c.Cancelled
	case CountSuppressed:
		return &c.Suppressed
	case CountBounced:
		return &c.Bounced
	case CountComplained:
		return &c.Complained
	}
	return nil
}

// Add adds n to counter k.
func (c *DeliveryCounts) Add(k Counter, n int) {
	if p := c.count(k); p != nil {
		*p += n
	}
}

// Of returns counter k.
func (c DeliveryCounts) Of(k Counter) int {
	if p := c.count(k); p != nil {
		return *p
	}
	return 0
}

// Move counts one delivery that went from one state to another: the
// counter of from loses it and the counter of to gains it (nothing moves
// when both share a counter, as pending, sending and deferred do).
func (c *DeliveryCounts) Move(from, to DeliveryStatus) {
	if out, in, ok := Moved(from, to); ok {
		c.Add(out, -1)
		c.Add(in, 1)
	}
}

// Moved returns the counter a delivery leaves and the one it enters when it
// goes from one state to another; ok is false when no counter changes (an
// unknown state, or two states that share a counter).
func Moved(from, to DeliveryStatus) (out, in Counter, ok bool) {
	f, okf := from.State()
	t, okt := to.State()
	if !okf || !okt || f.Counter == t.Counter {
		return 0, 0, false
	}
	return f.Counter, t.Counter, true
}

// Cause is why a delivery changes state.
type Cause string

// The causes of a transition.
const (
	CauseClaim      Cause = "claim"      // the engine takes it to send
	CauseRelease    Cause = "release"    // the engine gives it back untried (every server rests, a database hiccup)
	CauseAccepted   Cause = "accepted"   // the server accepted the message
	CauseTemporary  Cause = "temporary"  // a temporary failure: tried again later, or failed after the last retry
	CausePermanent  Cause = "permanent"  // a permanent failure of this recipient or message
	CauseUnknown    Cause = "unknown"    // the outcome is unknown: a crash, or a connection lost after the data
	CauseCancel     Cause = "cancel"     // the owner or a manager cancelled the run, or disabled the mailing
	CauseSuppressed Cause = "suppressed" // the address is suppressed: it is not sent to
	CauseBounce     Cause = "bounce"     // a bounce report came back after the server accepted it
	CauseComplaint  Cause = "complaint"  // the recipient reported the message as spam
)

// Causes lists every cause.
var Causes = []Cause{CauseClaim, CauseRelease, CauseAccepted, CauseTemporary, CausePermanent, CauseUnknown,
	CauseCancel, CauseSuppressed, CauseBounce, CauseComplaint}

// Transition is an allowed change of a delivery's state.
type Transition struct {
	From, To DeliveryStatus
	Cause    Cause
}

// Transitions are every allowed change of a delivery's state; every other
// one is refused. The engine claims waiting deliveries and records the
// outcome of each try; the store cancels waiting ones, and marks unknown
// those left in sending by a stopped engine; reports that come back later
// turn a sent delivery into bounced or complained.
var Transitions = []Transition{
	{DeliveryPending, DeliverySending, CauseClaim},
	{DeliveryDeferred, DeliverySending, CauseClaim},
	{DeliverySending, DeliveryPending, CauseRelease},
	{DeliverySending, DeliverySent, CauseAccepted},
	{DeliverySending, DeliveryDeferred, CauseTemporary},
	{DeliverySending, DeliveryFailed, CauseTemporary}, // the last retry failed too
	{DeliverySending, DeliveryFailed, CausePermanent},
	{DeliverySending, DeliveryUnknown, CauseUnknown},
	{DeliveryPending, DeliveryCancelled, CauseCancel},
	{DeliveryDeferred, DeliveryCancelled, CauseCancel},
	{DeliverySending, DeliveryCancelled, CauseCancel}, // the engine saw the cancel before sending
	{DeliveryPending, DeliverySuppressed, CauseSuppressed},
	{DeliveryDeferred, DeliverySuppressed, CauseSuppressed},
	{DeliverySending, DeliverySuppressed, CauseSuppressed},
	{DeliverySent, DeliveryBounced, CauseBounce},
	{DeliverySent, DeliveryComplained, CauseComplaint},
	{DeliveryBounced, DeliveryComplained, CauseComplaint}, // a complaint outweighs a bounce
}

// CanTransition reports whether a delivery in state from may move to state
// to for cause.
func CanTransition(from, to DeliveryStatus, cause Cause) bool {
	for _, t := range Transitions {
		if t.From == from && t.To == to && t.Cause == cause {
			return true
		}
	}
	return false
}

// Sources returns the states from which cause leads to state to, in the
// order of DeliveryStates: the store builds its conditions from them.
func Sources(to DeliveryStatus, cause Cause) []DeliveryStatus {
	return DeliveryStatuses(func(st DeliveryState) bool { return CanTransition(st.Status, to, cause) })
}

var errReportIgnored = E(KindConflict, "error.delivery.report_ignored")

// AfterReport returns the state a delivery in state from reaches when a
// report of cause (CauseBounce or CauseComplaint) comes back after it was
// sent. A report that does not apply (a bounce of a delivery that was
// never sent, a second bounce) is a Conflict, and the delivery stays as
// it is. The counters follow with DeliveryCounts.Move: a sent delivery
// that bounces leaves Sent and joins Bounced, so a report stays exact.
func AfterReport(from DeliveryStatus, cause Cause) (DeliveryStatus, error) {
	var to DeliveryStatus
	switch cause {
	case CauseBounce:
		to = DeliveryBounced
	case CauseComplaint:
		to = DeliveryComplained
	default:
		return from, errReportIgnored
	}
	if !CanTransition(from, to, cause) {
		return from, errReportIgnored
	}
	return to, nil
}

// MailingStatusOf returns the status of a mailing as its owner sees it: it
// is running while a start is pending (scheduled, or due) or a run is not
// finished; finished when it has run before; created when it never ran.
func MailingStatusOf(hasRun, runActive, startPending bool) MailingStatus {
	switch {
	case runActive || startPending:
		return MailingRunning
	case hasRun:
		return MailingFinished
	}
	return MailingCreated
}

// The refusals of the mailing checks.
var (
	ErrMailingDisabled     = E(KindConflict, "error.mailing.disabled")
	ErrOwnerBlocked        = E(KindConflict, "error.mailing.owner_blocked")
	ErrAlreadyRunning      = E(KindConflict, "error.mailing.already_running")
	ErrJustStarted         = E(KindConflict, "error.mailing.just_started")
	ErrNoRecipients        = E(KindConflict, "error.mailing.no_recipients")
	ErrNothingToResend     = E(KindConflict, "error.mailing.nothing_to_resend")
	ErrNothingToCancel     = E(KindConflict, "error.mailing.nothing_to_cancel")
	ErrMailingRunning      = E(KindConflict, "error.mailing.running")
	errUnknownRunKindField = Invalid(map[string]string{"kind": "error.invalid"})
)

// StartRequest is a request to start a run of a mailing, with what the
// checks need to know beyond the mailing itself.
type StartRequest struct {
	Kind RunKind
	At   time.Time // when it should start; not after Now: at once
	Now  time.Time
	// OwnerBlocked: the mailing's owner is blocked.
	OwnerBlocked bool
	// RunActive: a run of the mailing is not finished.
	RunActive bool
	// RepeatWindow: an immediate send of the whole audience this soon
	// after the last run's start is a double click.
	RepeatWindow time.Duration
}

// CheckStart checks that a run of kind r.Kind of mailing m may be asked
// for. m.Counts are those of its last run. Errors: Invalid (unknown kind),
// Conflict (ErrOwnerBlocked, ErrMailingDisabled, ErrAlreadyRunning when a
// start is due or a run going, ErrNoRecipients, ErrNothingToResend,
// ErrJustStarted).
func CheckStart(m *Mailing, r StartRequest) error {
	resends, isResend := r.Kind.Resends()
	switch {
	case r.Kind != RunSend && !isResend:
		return errUnknownRunKindField
	case r.OwnerBlocked:
		return ErrOwnerBlocked
	case m.Disabled():
		return ErrMailingDisabled
	case r.RunActive || m.ScheduledAt != nil && !m.ScheduledAt.After(r.Now):
		return ErrAlreadyRunning
	case r.Kind == RunSend && m.RecipientCount == 0:
		return ErrNoRecipients
	case isResend && m.Counts.Of(mustState(resends).Counter) == 0:
		return ErrNothingToResend
	case r.Kind == RunSend && !r.At.After(r.Now) && m.StartedAt != nil && r.Now.Sub(*m.StartedAt) < r.RepeatWindow:
		// A double click, or "send now" just as the schedule fired: the
		// run that just started is the one the user asked for.
		return ErrJustStarted
	}
	return nil
}

// CanStartDue reports whether the engine starts the pending start of m
// now: it is due, and neither the mailing is disabled, nor its owner
// blocked, nor a run of it going.
func CanStartDue(m *Mailing, ownerBlocked, runActive bool, now time.Time) bool {
	return m.ScheduledAt != nil && !m.ScheduledAt.After(now) && !m.Disabled() && !ownerBlocked && !runActive
}

// CheckCancel checks that mailing m has something to cancel: a pending
// start or a run going. Errors: Conflict (ErrNothingToCancel).
func CheckCancel(m *Mailing) error {
	if m.Status != MailingRunning {
		return ErrNothingToCancel
	}
	return nil
}

// CheckEdit checks that mailing m may be changed. A run going keeps the
// audience and message it started with. Errors: Conflict
// (ErrMailingDisabled).
func CheckEdit(m *Mailing) error {
	if m.Disabled() {
		return ErrMailingDisabled
	}
	return nil
}

// CheckDelete checks that mailing m may be deleted: not while a run of it
// is going. Errors: Conflict (ErrMailingRunning).
func CheckDelete(m *Mailing, runActive bool) error {
	if runActive {
		return ErrMailingRunning
	}
	return nil
}

func mustState(s DeliveryStatus) DeliveryState {
	st, _ := s.State()
	return st
}

// SMTPStage is the step of an SMTP session at which a send failed. The
// values are those of the mailer's stages.
type SMTPStage string

// The SMTP stages.
const (
	StageConnect   SMTPStage = "connect"  // TCP connection, implicit TLS, greeting
	StageGreeting  SMTPStage = "helo"     // EHLO or HELO
	StageTLS       SMTPStage = "starttls" // STARTTLS and its handshake
	StageAuth      SMTPStage = "auth"     // AUTH
	StageMail      SMTPStage = "mail"     // MAIL FROM
	StageRcpt      SMTPStage = "rcpt"     // RCPT TO
	StageData      SMTPStage = "data"     // DATA and the message up to the final "."
	StageAfterData SMTPStage = "data-end" // the reply to the final "."
)

// AboutRecipient reports whether a failure at stage s concerns this
// recipient or message (RCPT and later) rather than the server or the
// account (a 5xx to MAIL FROM or AUTH: another try, or another server,
// may succeed).
func (s SMTPStage) AboutRecipient() bool {
	return s == StageRcpt || s == StageData || s == StageAfterData
}

// SendFailure is how one try to hand a message to the mail server failed.
type SendFailure struct {
	Stage SMTPStage
	Code  int // the reply code; 0 when the server sent none
	// Temporary: the message was not handed over and a later try may
	// succeed (a 4xx, or the connection failed before the data ended).
	Temporary bool
	// AfterData: the connection failed after the final "." and before
	// the reply: the server may have accepted the message.
	AfterData bool
}

// Verdict is the next state of a delivery after one try.
type Verdict struct {
	Status DeliveryStatus
	Cause  Cause
	NextAt time.Time // deferred: when to try again
	GaveUp bool      // failed because the last retry failed too
}

// Classify returns the next state of a delivery tried for the attempts-th
// time at `at`: f nil means the server accepted it. A lost connection after
// the data is unknown (never resent on its own); a permanent refusal of the
// recipient or message fails it; anything else is tried again after
// retry[attempts-1], and fails once the retries are used up.
func Classify(f *SendFailure, attempts int, retry []time.Duration, at time.Time) Verdict {
	switch {
	case f == nil:
		return Verdict{Status: DeliverySent, Cause: CauseAccepted}
	case f.AfterData:
		return Verdict{Status: DeliveryUnknown, Cause: CauseUnknown}
	case !f.Temporary && f.Stage.AboutRecipient():
		return Verdict{Status: DeliveryFailed, Cause: CausePermanent}
	case attempts > len(retry) || attempts < 1:
		return Verdict{Status: DeliveryFailed, Cause: CauseTemporary, GaveUp: true}
	}
	return Verdict{Status: DeliveryDeferred, Cause: CauseTemporary, NextAt: at.Add(retry[attempts-1])}
}
