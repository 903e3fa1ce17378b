package app

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"simplesender"
	"simplesender/internal/store"
)

// Waker is told when a send should start now (the engine of this process).
type Waker interface{ Wake() }

// MailingInput is what a user fills in for a mailing.
type MailingInput struct {
	Name         string
	MessageID    int64
	RecipientIDs []int64
	// IdentityID is the sender identity, one of the owner's; 0: their default.
	IdentityID int64
	// Audience adds lists and tags to the chosen recipients, or takes them
	// out (see simplesender.AudienceRule); resolved when a run starts.
	Audience []simplesender.AudienceRule
}

// maxAudienceRules bounds the rules of one mailing's audience.
const maxAudienceRules = 50

// validateAudience checks in's rules against owner's lists and reports
// whether one includes anyone.
func validateAudience(ctx context.Context, s *store.Store, owner int64, in *MailingInput, f simplesender.FieldErrors) (bool, error) {
	if len(in.Audience) > maxAudienceRules {
		f.Add("audience", "error.audience.too_many")
		return false, nil
	}
	includes := false
	out := in.Audience[:0:0]
	for _, r := range in.Audience {
		switch r.Kind {
		case simplesender.AudienceList:
			if _, err := s.ListByID(ctx, owner, r.ListID); err != nil {
				if !simplesender.IsKind(err, simplesender.KindNotFound) {
					return false, err
				}
				f.Add("audience", "error.list.unknown")
				continue
			}
			r.Tag, r.SegmentID = "", 0
		case simplesender.AudienceTag:
			tag, ok := simplesender.NormalizeTag(r.Tag)
			if !ok {
				f.Add("audience", "error.tag.invalid")
				continue
			}
			r.Tag, r.ListID, r.SegmentID = tag, 0, 0
		case simplesender.AudienceSegment:
			if _, err := s.SegmentByID(ctx, owner, r.SegmentID); err != nil {
				if !simplesender.IsKind(err, simplesender.KindNotFound) {
					return false, err
				}
				f.Add("audience", "error.segment.unknown")
				continue
			}
			r.Tag, r.ListID = "", 0
		default:
			f.Add("audience", "error.audience.kind")
			continue
		}
		r.ListName, r.SegmentName, r.Segment = "", "", nil
		if slices.Contains(out, r) {
			continue
		}
		includes = includes || !r.Exclude
		out = append(out, r)
	}
	in.Audience = out
	return includes, nil
}

// ListMailings returns a page of mailings: the actor's, or for managers
// everyone's (owner narrows it to one user). status may be created,
// running, finished, or "" for all ("active" is running).
func (a *App) ListMailings(ctx context.Context, ac *Actor, owner int64, f store.MailingFilter) ([]*simplesender.Mailing, int, error) {
	return listFor(ctx, ac, owner, f, a.DB.Store().ListMailings)
}

// GetMailing returns a mailing the actor may see, with the counts of its
// last run. Errors: NotFound.
func (a *App) GetMailing(ctx context.Context, ac *Actor, id int64) (*simplesender.Mailing, error) {
	if ac.anonymous() && !ac.isSystem() {
		return nil, errUnauthenticated
	}
	return a.DB.Store().MailingByID(ctx, readScope(ac), id)
}

// MailingRecipientIDs returns the audience of a mailing the actor may see.
func (a *App) MailingRecipientIDs(ctx context.Context, ac *Actor, id int64) ([]int64, error) {
	if _, err := a.GetMailing(ctx, ac, id); err != nil {
		return nil, err
	}
	return a.DB.Store().MailingRecipientIDs(ctx, id)
}

// MailingRecipients returns a page of the audience of mailing m, as
// GetMailing gave it to the caller.
func (a *App) MailingRecipients(ctx context.Context, m *simplesender.Mailing, limit, offset int) ([]*simplesender.Recipient, error) {
	return a.DB.Store().MailingRecipients(ctx, m.ID, limit, offset)
}

// MailingAudienceRules returns the lists and tags of the audience of
// mailing m, as GetMailing gave it to the caller, without counting it.
func (a *App) MailingAudienceRules(ctx context.Context, m *simplesender.Mailing) ([]simplesender.AudienceRule, error) {
	return a.DB.Store().MailingAudience(ctx, m.ID)
}

// MailingAudience returns the lists and tags of the audience of mailing m,
// as GetMailing gave it to the caller, and the number of recipients a run
// starting now would be sent to.
func (a *App) MailingAudience(ctx context.Context, m *simplesender.Mailing) ([]simplesender.AudienceRule, int, error) {
	rules, err := a.DB.Store().MailingAudience(ctx, m.ID)
	if err != nil || len(rules) == 0 {
		return rules, m.RecipientCount, err
	}
	n, err := a.DB.Store().CountAudience(ctx, m.OwnerID, m.ID)
	return rules, n, err
}

// validateMailing checks that the message and every recipient are owner's.
func validateMailing(ctx context.Context, s *store.Store, owner int64, in *MailingInput) error {
	in.Name = strings.TrimSpace(in.Name)
	f := simplesender.FieldErrors{}
	if !simplesender.PlainText(in.Name, 200) {
		f.Add("name", "error.mailing.name")
	}
	if in.MessageID == 0 {
		f.Add("message_id", "error.mailing.message_required")
	} else if _, err := s.MessageByID(ctx, owner, in.MessageID); err != nil {
		if !simplesender.IsKind(err, simplesender.KindNotFound) {
			return err
		}
		f.Add("message_id", "error.mailing.message_unknown")
	}
	includes, err := validateAudience(ctx, s, owner, in, f)
	if err != nil {
		return err
	}
	ids := dedupe(in.RecipientIDs)
	in.RecipientIDs = ids
	switch {
	case len(ids) == 0 && includes:
	case len(ids) == 0:
		f.Add("recipient_ids", "error.mailing.recipients_required")
	case len(ids) > 1_000_000:
		f.Add("recipient_ids", "error.mailing.too_many")
	default:
		n, err := s.CountOwnedRecipients(ctx, owner, ids)
		if err != nil {
			return err
		}
		if n != len(ids) {
			f.Add("recipient_ids", "error.mailing.recipients_unknown")
		}
	}
	return f.Err()
}

func dedupe(ids []int64) []int64 {
	seen := make(map[int64]bool, len(ids))
	out := make([]int64, 0, len(ids))
	for _, id := range ids {
		if id > 0 && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// CreateMailing makes a mailing for the actor. Errors: Invalid, Forbidden
// (managers).
func (a *App) CreateMailing(ctx context.Context, ac *Actor, in MailingInput) (*simplesender.Mailing, error) {
	if err := authorize(ac, ActCreate, ac.id()); err != nil {
		return nil, err
	}
	m := &simplesender.Mailing{OwnerID: ac.id()}
	err := a.DB.InTx(ctx, func(s *store.Store) error {
		if err := validateMailing(ctx, s, ac.id(), &in); err != nil {
			return err
		}
		if err := validateMailingIdentity(ctx, s, ac.id(), in.IdentityID); err != nil {
			return err
		}
		m.Name, m.MessageID = in.Name, in.MessageID
		if err := s.CreateMailing(ctx, m, in.RecipientIDs); err != nil {
			return err
		}
		if err := s.SetMailingAudience(ctx, m.ID, in.Audience); err != nil {
			return err
		}
		return s.SetMailingIdentity(ctx, m.OwnerID, m.ID, in.IdentityID)
	})
	if err != nil {
		return nil, err
	}
	return a.GetMailing(ctx, ac, m.ID)
}

// mailingForChange returns the mailing when the actor may change it
// (ActEdit; the other changing actions have the same rule).
func (a *App) mailingForChange(ctx context.Context, ac *Actor, id int64) (*simplesender.Mailing, error) {
	return a.mailingFor(ctx, ac, id, ActEdit)
}

// mailingFor returns the mailing when the actor may do act to it.
func (a *App) mailingFor(ctx context.Context, ac *Actor, id int64, act Action) (*simplesender.Mailing, error) {
	m, err := a.GetMailing(ctx, ac, id)
	if err != nil {
		return nil, err
	}
	if err := authorize(ac, act, m.OwnerID); err != nil {
		return nil, err
	}
	return m, nil
}

// UpdateMailing changes a mailing: the actor's, or for admins anyone's
// (recorded; the message and recipients must be the owner's). A run in
// progress keeps the audience and message it started with. Errors: Invalid,
// NotFound, Forbidden, Conflict (disabled).
func (a *App) UpdateMailing(ctx context.Context, ac *Actor, id int64, in MailingInput) (*simplesender.Mailing, error) {
	m, err := a.mailingFor(ctx, ac, id, ActEdit)
	if err != nil {
		return nil, err
	}
	if err := simplesender.CheckEdit(m); err != nil {
		return nil, err
	}
	err = a.DB.InTx(ctx, func(s *store.Store) error {
		if err := validateMailing(ctx, s, m.OwnerID, &in); err != nil {
			return err
		}
		if err := validateMailingIdentity(ctx, s, m.OwnerID, in.IdentityID); err != nil {
			return err
		}
		m.Name, m.MessageID = in.Name, in.MessageID
		if err := s.UpdateMailing(ctx, m.OwnerID, m); err != nil {
			return err
		}
		if err := s.SetMailingIdentity(ctx, m.OwnerID, id, in.IdentityID); err != nil {
			return err
		}
		if err := s.SetMailingRecipients(ctx, id, in.RecipientIDs); err != nil {
			return err
		}
		if err := s.SetMailingAudience(ctx, id, in.Audience); err != nil {
			return err
		}
		return recordOnBehalf(ctx, s, ac, m.OwnerID, targetMailing, id, "update")
	})
	if err != nil {
		return nil, err
	}
	return a.GetMailing(ctx, ac, id)
}

// DeleteMailing removes a mailing and its history, as UpdateMailing. A
// mailing that is being sent must be cancelled first (Conflict).
func (a *App) DeleteMailing(ctx context.Context, ac *Actor, id int64) error {
	m, err := a.mailingFor(ctx, ac, id, ActDelete)
	if err != nil {
		return err
	}
	err = a.DB.InTx(ctx, func(s *store.Store) error {
		active, err := s.RunActive(ctx, id)
		if err != nil {
			return err
		}
		if err := simplesender.CheckDelete(m, active); err != nil {
			return err
		}
		if err := s.DeleteMailing(ctx, m.OwnerID, id); err != nil {
			return err
		}
		return recordOnBehalf(ctx, s, ac, m.OwnerID, targetMailing, id, "delete")
	})
	return err
}

// SendNow queues a send of the whole audience at once; the engine starts it
// within moments. trigger is TriggerNow (web, API) or TriggerCLI. A second
// request while one is due or running is a Conflict, so a double click makes
// one run. Errors: NotFound, Forbidden, Conflict (see
// simplesender.CheckStart).
func (a *App) SendNow(ctx context.Context, ac *Actor, id int64, trigger simplesender.Trigger) error {
	return a.requestStart(ctx, ac, id, a.Now(), simplesender.RunSend, trigger)
}

// Resend queues a new run to the deliveries of the last run that failed
// (kind RunResendFailed) or whose outcome is unknown (RunResendUnknown).
// Errors: Invalid (another kind), NotFound, Forbidden, Conflict.
func (a *App) Resend(ctx context.Context, ac *Actor, id int64, kind simplesender.RunKind) error {
	if _, ok := kind.Resends(); !ok {
		return simplesender.Invalid(map[string]string{"kind": "error.invalid"})
	}
	return a.requestStart(ctx, ac, id, a.Now(), kind, simplesender.TriggerNow)
}

// Schedule sets a one-time send at `at` (a time in the future), replacing
// a pending one. Errors: Invalid (field send_at), NotFound, Forbidden,
// Conflict.
func (a *App) Schedule(ctx context.Context, ac *Actor, id int64, at time.Time) error {
	if !at.After(a.Now()) {
		return simplesender.Invalid(map[string]string{"send_at": "error.schedule.past"})
	}
	if at.After(a.Now().AddDate(5, 0, 0)) {
		return simplesender.Invalid(map[string]string{"send_at": "error.schedule.far"})
	}
	return a.requestStart(ctx, ac, id, at.UTC().Truncate(time.Second), simplesender.RunSend, simplesender.TriggerSchedule)
}

// requestStart asks for a run after the actor's right to send the
// mailing; the store checks the request on the locked rows.
func (a *App) requestStart(ctx context.Context, ac *Actor, id int64, at time.Time, kind simplesender.RunKind, trigger simplesender.Trigger) error {
	m, err := a.mailingFor(ctx, ac, id, ActSend)
	if err != nil {
		return err
	}
	if err := a.checkMailingSender(ctx, m); err != nil {
		return err
	}
	err = a.DB.InTx(ctx, func(s *store.Store) error {
		if err := s.RequestStart(ctx, m.OwnerID, id, at, kind, trigger, a.RepeatWindow); err != nil {
			return err
		}
		action := "send"
		switch {
		case trigger == simplesender.TriggerSchedule:
			action = "schedule"
		case kind != simplesender.RunSend:
			action = "resend"
		}
		return recordOnBehalf(ctx, s, ac, m.OwnerID, targetMailing, id, action)
	})
	err = a.conflictAsNow(ctx, id, err)
	if err == nil && a.Waker != nil && !at.After(a.Now()) {
		a.Waker.Wake()
	}
	return err
}

// CancelMailing drops a pending start and stops a running send: waiting
// deliveries become cancelled, messages already in flight finish. The owner
// and admins may cancel (an admin's cancel of another user's mailing is
// recorded); managers disable instead. Errors: NotFound, Forbidden,
// Conflict (nothing to cancel).
func (a *App) CancelMailing(ctx context.Context, ac *Actor, id int64) error {
	m, err := a.mailingFor(ctx, ac, id, ActCancel)
	if err != nil {
		return err
	}
	if err := simplesender.CheckCancel(m); err != nil {
		return err
	}
	err = a.DB.InTx(ctx, func(s *store.Store) error {
		if _, err := s.CancelRuns(ctx, 0, id); err != nil {
			return err
		}
		return recordOnBehalf(ctx, s, ac, m.OwnerID, targetMailing, id, "cancel")
	})
	return err
}

// SetMailingDisabled switches a mailing off (cancelling what is pending or
// running) or on; managers and admins only, recorded. Errors: Forbidden,
// NotFound.
func (a *App) SetMailingDisabled(ctx context.Context, ac *Actor, id int64, disabled bool) (*simplesender.Mailing, error) {
	m, err := a.mailingFor(ctx, ac, id, ActDisable)
	if err != nil {
		return nil, err
	}
	err = a.DB.InTx(ctx, func(s *store.Store) error {
		if _, err := s.SetDisabled(ctx, id, disabled); err != nil {
			return err
		}
		action := "mailing.enable"
		if disabled {
			action = "mailing.disable"
		}
		return s.AddAudit(ctx, &simplesender.AuditEvent{ActorID: ac.id(), OwnerID: m.OwnerID, Action: action,
			TargetType: "mailing", TargetID: id})
	})
	if err != nil {
		return nil, err
	}
	m, err = a.GetMailing(ctx, ac, id)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// MailingAudit returns the recorded manager actions on a mailing the actor
// may see, newest first.
func (a *App) MailingAudit(ctx context.Context, ac *Actor, id int64) ([]*simplesender.AuditEvent, error) {
	if _, err := a.GetMailing(ctx, ac, id); err != nil {
		return nil, err
	}
	return a.DB.Store().AuditFor(ctx, "mailing", id, 50)
}

// Runs returns a mailing's runs, newest first.
func (a *App) Runs(ctx context.Context, ac *Actor, id int64) ([]*simplesender.Run, error) {
	if _, err := a.GetMailing(ctx, ac, id); err != nil {
		return nil, err
	}
	return a.DB.Store().ListRuns(ctx, id)
}

// DeliveryPage is a page of one run's deliveries with their attempts.
type DeliveryPage struct {
	Run        *simplesender.Run
	Deliveries []*simplesender.Delivery
	Attempts   map[int64][]*simplesender.Attempt
	// Reports are the bounces and complaints that came back, by delivery.
	Reports map[int64][]*store.DeliveryReport
	Total   int
}

// Deliveries returns a page of the deliveries of a run of a mailing (runID
// 0: the last run) with every attempt. Errors: NotFound.
func (a *App) Deliveries(ctx context.Context, ac *Actor, id, runID int64, f store.DeliveryFilter) (*DeliveryPage, error) {
	runs, err := a.Runs(ctx, ac, id)
	if err != nil {
		return nil, err
	}
	p := &DeliveryPage{Attempts: map[int64][]*simplesender.Attempt{}}
	for _, r := range runs {
		if r.ID == runID || (runID == 0 && p.Run == nil) {
			p.Run = r
		}
	}
	if p.Run == nil {
		if runID != 0 {
			return nil, simplesender.E(simplesender.KindNotFound, "error.not_found")
		}
		return p, nil
	}
	st := a.DB.Store()
	if p.Deliveries, p.Total, err = st.ListDeliveries(ctx, p.Run.ID, f); err != nil {
		return nil, err
	}
	ids := make([]int64, len(p.Deliveries))
	for i, d := range p.Deliveries {
		ids[i] = d.ID
	}
	if p.Attempts, err = st.AttemptsOf(ctx, ids); err != nil {
		return nil, err
	}
	p.Reports, err = st.ReportsOf(ctx, ids)
	return p, err
}

// OneDelivery is a delivery with the mailing it belongs to, its attempts
// and the bounces and complaints that came back about it.
type OneDelivery struct {
	Delivery  *simplesender.Delivery
	MailingID int64
	Attempts  []*simplesender.Attempt
	Reports   []*store.DeliveryReport
}

// Delivery returns delivery id when the actor may see its mailing.
// Errors: NotFound (also another user's), Unauthenticated.
func (a *App) Delivery(ctx context.Context, ac *Actor, id int64) (*OneDelivery, error) {
	st := a.DB.Store()
	d, mailing, err := st.GetDelivery(ctx, id)
	if err != nil {
		return nil, err
	}
	if _, err := a.GetMailing(ctx, ac, mailing); err != nil {
		return nil, err
	}
	atts, err := st.AttemptsOf(ctx, []int64{id})
	if err != nil {
		return nil, err
	}
	reps, err := st.ReportsOf(ctx, []int64{id})
	if err != nil {
		return nil, err
	}
	return &OneDelivery{Delivery: d, MailingID: mailing, Attempts: atts[id], Reports: reps[id]}, nil
}

// Attempts returns a page of every attempt of a mailing, oldest first.
func (a *App) Attempts(ctx context.Context, ac *Actor, id int64, limit, offset int) ([]*simplesender.Attempt, int, error) {
	m, err := a.GetMailing(ctx, ac, id)
	if err != nil {
		return nil, 0, err
	}
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	type page struct {
		Items []*simplesender.Attempt
		Total int
	}
	key := fmt.Sprintf("attempts:%s:m%d:l%d:o%d", viewerKey(ac), id, limit, offset)
	p, err := cached(ctx, a, []string{scopeUser(m.OwnerID)}, key, func() (page, error) {
		items, total, err := a.DB.Store().ListAttempts(ctx, id, limit, offset)
		return page{items, total}, err
	})
	return p.Items, p.Total, err
}

// Counters are the figures on the home page.
type Counters struct {
	Mailings, Active, Recipients int
}

// HomeCounters returns the actor's figures (managers: everyone's): mailings,
// of them running or scheduled, and distinct recipient addresses. Cached;
// retired by every change to them.
func (a *App) HomeCounters(ctx context.Context, ac *Actor) (Counters, error) {
	if ac.anonymous() {
		return Counters{}, errUnauthenticated
	}
	scope := []string{scopeUser(ac.id())}
	if readScope(ac) == 0 {
		scope = []string{scopeAll}
	}
	return cached(ctx, a, scope, "home:"+viewerKey(ac), func() (Counters, error) {
		t, act, r, err := a.DB.Store().CountMailings(ctx, readScope(ac))
		return Counters{Mailings: t, Active: act, Recipients: r}, err
	})
}

// ParseIDs parses a list of ids such as "1,2, 3"; bad entries are dropped.
func ParseIDs(s []string) []int64 {
	var out []int64
	for _, part := range s {
		for _, f := range strings.FieldsFunc(part, func(r rune) bool { return r == ',' || r == ' ' }) {
			if id, err := strconv.ParseInt(f, 10, 64); err == nil && id > 0 {
				out = append(out, id)
			}
		}
	}
	return out
}
