package web

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/i18n"
)

// mailingStatuses are the filters of the mailing list; "active" is a
// friendlier name for running.
var mailingStatuses = []string{"created", "running", "finished", "active"}

type mailingsData struct {
	Mailings   []*simplesender.Mailing
	Status     string
	Query      string
	Statuses   []string
	Pager      pager
	ShowOwners bool
}

func (s *Server) mailings(w http.ResponseWriter, r *http.Request) {
	rc := reqCtx(r)
	q := r.URL.Query()
	page, per, status, query := pageParam(r), perPageParam(r), q.Get("status"), strings.TrimSpace(q.Get("q"))
	f := app.MailingFilter{ListFilter: app.ListFilter{Query: query, Limit: per}}
	switch status {
	case "created", "running", "finished":
		f.Status = simplesender.MailingStatus(status)
	case "active":
		f.Status = simplesender.MailingRunning
	default:
		status = ""
	}
	list, total, page, err := listPage(page, per, func(off int) ([]*simplesender.Mailing, int, error) {
		f.Offset = off
		return s.app.ListMailings(r.Context(), rc.actor(), 0, f)
	})
	if err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	s.render(w, r, http.StatusOK, "mailings", &Page{Title: "page.mailings.title", Nav: "mailings", Data: mailingsData{
		Mailings: list, Status: status, Query: query, Statuses: mailingStatuses, Pager: newPager(r.URL, page, per, total),
		ShowOwners: rc.User.Role.IsStaff()}})
}

func (s *Server) loadMailing(w http.ResponseWriter, r *http.Request) (*simplesender.Mailing, bool) {
	return loadByID(s, w, r, s.app.GetMailing)
}

// ---- the detail page

// firstRecipients is how many of the audience the mailing page lists.
const firstRecipients = 10

// mailingState is what a mailing is doing now, and so which buttons make
// sense on its page.
type mailingState struct {
	Sending   bool // a run is in progress
	Queued    bool // a start is due and the engine is about to take it
	Scheduled bool // a start is planned for later
}

func stateOf(m *simplesender.Mailing, now time.Time) mailingState {
	st := mailingState{Sending: m.StartedAt != nil && m.FinishedAt == nil}
	if m.ScheduledAt != nil {
		st.Queued = !m.ScheduledAt.After(now)
		st.Scheduled = !st.Queued
	}
	return st
}

// progress is the figures of the last run, as the page and its JSON show
// them. Text holds every other figure of the page that moves during a send,
// already in words, keyed as the page's [data-text] elements: the status
// detail, the times and why a send waits; the page's script updates them all
// together from progress.json.
type progress struct {
	Status      string `json:"status"`
	StatusLabel string `json:"status_label"`
	Running     bool   `json:"running"`
	Phase       string `json:"phase"` // what the mailing does now (simplesender.Phase)
	Total       int    `json:"total"`
	Done        int    `json:"done"`
	simplesender.DeliveryCounts
	Text map[string]string `json:"text"`
}

// progressOf reports the last run of m. Running is true while a send is in
// progress or about to start, not while it waits for a later time: the page
// only needs to move while something happens.
func (s *Server) progressOf(r *http.Request, m *simplesender.Mailing) (progress, error) {
	rc := reqCtx(r)
	now, l, loc := s.app.Now(), rc.L, rc.User.Location()
	st := stateOf(m, now)
	p := progress{Status: string(m.Status), StatusLabel: l.T("mailing.status." + string(m.Status)),
		Running: m.Status == simplesender.MailingRunning && (st.Sending || st.Queued) && !m.Disabled(),
		Total:   m.Counts.Total(), Done: m.Counts.Done(), DeliveryCounts: m.Counts}
	w, err := s.app.MailingWaiting(r.Context(), m)
	if err != nil {
		return p, err
	}
	detail := m.Detail(now)
	p.Phase = string(detail.Phase)
	p.Text = map[string]string{
		"detail":       app.StatusText(l, loc, detail, now),
		"scheduled_at": "—",
		"started_at":   pageTime(loc, m.StartedAt),
		"finished_at":  "—",
		"why":          app.WaitingText(l, loc, w, now),
		// Shown live only while the page says "never sent": then the
		// last run, once started, is the first one.
		"first_sent_at": l.T("mailing.never_sent"),
	}
	if m.StartedAt != nil {
		p.Text["first_sent_at"] = pageTime(loc, m.StartedAt)
	}
	if st.Scheduled {
		p.Text["scheduled_at"] = pageTime(loc, m.ScheduledAt)
	}
	if !st.Sending {
		p.Text["finished_at"] = pageTime(loc, m.FinishedAt)
	}
	return p, nil
}

type mailingData struct {
	M          *simplesender.Mailing
	Message    *simplesender.Message
	Recipients []*simplesender.Recipient
	State      mailingState
	Progress   progress
	Mine       bool
	Staff      bool
	// Watch: the planned start is within the hour, so the page watches for
	// it and shows the send when it starts.
	Watch    bool
	Audit    []*simplesender.AuditEvent
	Change   *simplesender.AdminChange // an admin's last change, if any
	LastTest *simplesender.AuditEvent  // the newest test sent, if any
	// LateMinutes (or LateHours, from two hours on) say how late the last
	// run started after its planned time; under a minute is not worth a word.
	LateMinutes, LateHours int
	// Buttons.
	CanSend, CanSchedule, CanCancel, CanEdit, CanDelete      bool
	CanResendFailed, CanResendUnknown, CanDisable, CanEnable bool
	// NoRecipients: the send and schedule buttons are shown disabled, with
	// the reason, rather than offered and refused.
	NoRecipients bool
	// The schedule form.
	SendAt, MinSendAt, TimeZone string
	// Suppressed counts the last run's suppressed deliveries by reason.
	Suppressed map[simplesender.SuppressionReason]int
	// FirstSentAt is when the mailing was first sent (nil: never), shown
	// beside the last run's start and end as the original did.
	FirstSentAt *time.Time
	// Audience are the lists and tags of the audience; AudienceCount how
	// many recipients a run starting now would be sent to.
	Audience      []simplesender.AudienceRule
	AudienceCount int
	// Rates: what came back over the chosen period, and its chart.
	Rates *ratesView
	// SegmentText describes each segment of the audience, by id.
	SegmentText map[int64]string
}

// mailingPage builds the detail page of the mailing in the path.
func (s *Server) mailingPage(r *http.Request, m *simplesender.Mailing) (*Page, error) {
	rc := reqCtx(r)
	ctx, ac := r.Context(), rc.actor()
	now := s.app.Now()
	d := &mailingData{M: m, State: stateOf(m, now), Mine: m.OwnerID == rc.User.ID, Staff: rc.User.Role.IsStaff()}
	d.Watch = d.State.Scheduled && !m.Disabled() && m.ScheduledAt.Sub(now) <= time.Hour
	var err error
	if d.Progress, err = s.progressOf(r, m); err != nil {
		return nil, err
	}
	if d.Suppressed, err = s.app.SuppressedReasons(ctx, m); err != nil {
		return nil, err
	}
	if late := int(m.LateBy / time.Minute); late >= 120 {
		d.LateHours = int(m.LateBy / time.Hour)
	} else {
		d.LateMinutes = late
	}
	if d.Message, err = s.app.GetMessage(ctx, ac, m.MessageID); err != nil && !simplesender.IsKind(err, simplesender.KindNotFound) {
		return nil, err
	}
	if d.Recipients, err = s.app.MailingRecipients(ctx, m, firstRecipients, 0); err != nil {
		return nil, err
	}
	if d.FirstSentAt, err = s.app.MailingFirstSent(ctx, m); err != nil {
		return nil, err
	}
	if d.LastTest, err = s.app.LastTest(ctx, m); err != nil {
		return nil, err
	}
	if d.Rates, err = s.mailingRates(r, m); err != nil {
		return nil, err
	}
	if d.Staff {
		if d.Audit, err = s.app.MailingAudit(ctx, ac, m.ID); err != nil {
			return nil, err
		}
	}
	if d.Change, err = s.app.AdminChange(ctx, ac, "mailing", m.ID); err != nil {
		return nil, err
	}
	idle := !d.State.Sending && !d.State.Queued
	if ac.Can(app.ActSend, m.OwnerID) && !m.Disabled() {
		d.CanSend, d.CanSchedule = idle, idle
		d.CanResendFailed = idle && m.Counts.Failed > 0
		d.CanResendUnknown = idle && m.Counts.Unknown > 0
	}
	if d.Audience, d.AudienceCount, err = s.app.MailingAudience(ctx, m); err != nil {
		return nil, err
	}
	d.NoRecipients = d.AudienceCount == 0
	d.SegmentText = map[int64]string{}
	for _, a := range d.Audience {
		if a.Kind == simplesender.AudienceSegment {
			d.SegmentText[a.SegmentID] = s.segmentText(ctx, ac, rc.L, a.Segment)
		}
	}
	d.CanEdit = ac.Can(app.ActEdit, m.OwnerID) && !m.Disabled()
	d.CanDelete = ac.Can(app.ActDelete, m.OwnerID)
	d.CanCancel = ac.Can(app.ActCancel, m.OwnerID) && m.Status == simplesender.MailingRunning && !m.Disabled()
	d.CanDisable = ac.Can(app.ActDisable, m.OwnerID) && !m.Disabled()
	d.CanEnable = ac.Can(app.ActDisable, m.OwnerID) && m.Disabled()
	loc := rc.User.Location()
	d.TimeZone = loc.String()
	d.MinSendAt = now.In(loc).Format(dateTimeLocal)
	if m.ScheduledAt != nil && d.State.Scheduled {
		d.SendAt = m.ScheduledAt.In(loc).Format(dateTimeLocal)
	} else {
		d.SendAt = now.In(loc).Add(time.Hour).Truncate(time.Hour).Format(dateTimeLocal)
	}
	p := &Page{Title: "page.mailing.title", Nav: "mailings", Data: d, Form: map[string]string{"send_at": d.SendAt, "to_me": "1"}}
	return p, nil
}

// dateTimeLocal is the value format of <input type="datetime-local">.
const dateTimeLocal = "2006-01-02T15:04"

func (s *Server) mailing(w http.ResponseWriter, r *http.Request) {
	m, ok := s.loadMailing(w, r)
	if !ok {
		return
	}
	p, err := s.mailingPage(r, m)
	if err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	s.render(w, r, http.StatusOK, "mailing", p)
}

// progressJSON is polled by app.js while a mailing runs.
func (s *Server) progressJSON(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	rc := reqCtx(r)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":"not_found"}`))
		return
	}
	m, err := s.app.GetMailing(r.Context(), rc.actor(), id)
	if err != nil {
		e := simplesender.AsError(err)
		if e.Kind == simplesender.KindInternal {
			s.log.Error("mailing progress", "err", err)
		}
		w.WriteHeader(e.Kind.HTTPStatus())
		_ = json.NewEncoder(w).Encode(map[string]string{"error": e.Kind.String()})
		return
	}
	p, err := s.progressOf(r, m)
	if err != nil {
		s.log.Error("mailing progress", "err", err)
		w.WriteHeader(http.StatusInternalServerError)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": simplesender.KindInternal.String()})
		return
	}
	_ = json.NewEncoder(w).Encode(p)
}

// mailingRecipients lists the whole audience of a mailing, page by page.
func (s *Server) mailingRecipients(w http.ResponseWriter, r *http.Request) {
	m, ok := s.loadMailing(w, r)
	if !ok {
		return
	}
	per := perPageParam(r)
	page := min(pageParam(r), app.LastPage(m.RecipientCount, per))
	list, err := s.app.MailingRecipients(r.Context(), m, per, app.Offset(page, per))
	if err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	s.render(w, r, http.StatusOK, "mailing_recipients", &Page{Title: "page.mailing_recipients.title", Nav: "mailings",
		Data: struct {
			M          *simplesender.Mailing
			Recipients []*simplesender.Recipient
			Pager      pager
		}{m, list, newPager(r.URL, page, per, m.RecipientCount)}})
}

// ---- actions

// mailingAction runs do on the mailing in the path and comes back to its
// page with a flash, or shows the page again with the error.
func (s *Server) mailingAction(w http.ResponseWriter, r *http.Request, flashKey string, do func(ac *app.Actor, id int64) error) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	rc := reqCtx(r)
	self := "/mailings/" + strconv.FormatInt(id, 10)
	if err := do(rc.actor(), id); err != nil {
		s.mailingFail(w, r, id, err)
		return
	}
	s.redirectFlash(w, r, localTarget(r.PostFormValue("next"), self), "success", flashKey)
}

// mailingFail shows the mailing page with the error message, or the error
// page when the mailing cannot be shown.
func (s *Server) mailingFail(w http.ResponseWriter, r *http.Request, id int64, err error) {
	switch simplesender.ErrorKind(err) {
	case simplesender.KindNotFound, simplesender.KindInternal:
		s.fail(w, r, err, "", nil)
		return
	}
	m, gerr := s.app.GetMailing(r.Context(), reqCtx(r).actor(), id)
	if gerr != nil {
		s.fail(w, r, gerr, "", nil)
		return
	}
	p, perr := s.mailingPage(r, m)
	if perr != nil {
		s.fail(w, r, perr, "", nil)
		return
	}
	if v := r.PostFormValue("send_at"); v != "" {
		p.Form["send_at"] = v
	}
	if _, ok := r.PostForm["to"]; ok { // the test form
		p.Form["to"], p.Form["to_me"] = r.PostFormValue("to"), r.PostFormValue("to_me")
		p.Form["recipient_id"] = r.PostFormValue("recipient_id")
	}
	s.fail(w, r, err, "mailing", p)
}

func (s *Server) sendMailing(w http.ResponseWriter, r *http.Request) {
	s.mailingAction(w, r, "flash.mailing_queued", func(ac *app.Actor, id int64) error {
		return s.app.SendNow(r.Context(), ac, id, "now")
	})
}

func (s *Server) scheduleMailing(w http.ResponseWriter, r *http.Request) {
	loc := reqCtx(r).User.Location()
	s.mailingAction(w, r, "flash.mailing_scheduled", func(ac *app.Actor, id int64) error {
		at, err := parseLocalTime(r.PostFormValue("send_at"), loc)
		if err != nil {
			// Who may schedule is decided by app; check it first so that a
			// stranger gets 404, not a form error.
			if _, gerr := s.app.GetMailing(r.Context(), ac, id); gerr != nil {
				return gerr
			}
			return err
		}
		return s.app.Schedule(r.Context(), ac, id, at)
	})
}

// parseLocalTime reads a datetime-local value as a time in loc.
func parseLocalTime(v string, loc *time.Location) (time.Time, error) {
	v = strings.TrimSpace(v)
	for _, layout := range []string{dateTimeLocal, "2006-01-02T15:04:05", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, v, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, simplesender.Invalid(map[string]string{"send_at": "error.schedule.invalid"})
}

func (s *Server) cancelMailing(w http.ResponseWriter, r *http.Request) {
	s.mailingAction(w, r, "flash.mailing_cancelled", func(ac *app.Actor, id int64) error {
		return s.app.CancelMailing(r.Context(), ac, id)
	})
}

func (s *Server) resendMailing(w http.ResponseWriter, r *http.Request) {
	kind := simplesender.RunResendFailed
	if r.PostFormValue("kind") == "unknown" {
		kind = simplesender.RunResendUnknown
	}
	s.mailingAction(w, r, "flash.mailing_resend_queued", func(ac *app.Actor, id int64) error {
		return s.app.Resend(r.Context(), ac, id, kind)
	})
}

func (s *Server) disableMailing(w http.ResponseWriter, r *http.Request) {
	s.mailingAction(w, r, "flash.mailing_disabled", func(ac *app.Actor, id int64) error {
		_, err := s.app.SetMailingDisabled(r.Context(), ac, id, true)
		return err
	})
}

func (s *Server) enableMailing(w http.ResponseWriter, r *http.Request) {
	s.mailingAction(w, r, "flash.mailing_enabled", func(ac *app.Actor, id int64) error {
		_, err := s.app.SetMailingDisabled(r.Context(), ac, id, false)
		return err
	})
}

// ---- delete

func mailingLabel(l *i18n.Localizer, m *simplesender.Mailing) string {
	if m.Name != "" {
		return m.Name
	}
	return l.T("mailings.untitled", "ID", m.ID)
}

func (s *Server) deleteMailingForm(w http.ResponseWriter, r *http.Request) {
	m, ok := s.loadMailing(w, r)
	if !ok || s.refused(w, r, app.ActDelete, m.OwnerID) {
		return
	}
	s.render(w, r, http.StatusOK, "confirm_delete", &Page{Title: "page.mailing_delete.title", Nav: "mailings",
		Data: mailingDeleteData(reqCtx(r).L, m)})
}

func mailingDeleteData(l *i18n.Localizer, m *simplesender.Mailing) confirmData {
	self := "/mailings/" + strconv.FormatInt(m.ID, 10)
	return confirmData{Question: "mailings.delete_confirm", What: mailingLabel(l, m), Action: self + "/delete", Cancel: self}
}

func (s *Server) deleteMailing(w http.ResponseWriter, r *http.Request) {
	rc := reqCtx(r)
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	err := s.app.DeleteMailing(r.Context(), rc.actor(), id)
	if simplesender.IsKind(err, simplesender.KindConflict) {
		if m, gerr := s.app.GetMailing(r.Context(), rc.actor(), id); gerr == nil {
			s.fail(w, r, err, "confirm_delete", &Page{Title: "page.mailing_delete.title", Nav: "mailings", Data: mailingDeleteData(rc.L, m)})
			return
		}
	}
	if err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	s.redirectFlash(w, r, "/mailings", "success", "flash.mailing_deleted")
}

// SuppressedReasons lists, in the order of simplesender.SuppressionReasons,
// the reasons the last run's suppressed deliveries had.
func (d *mailingData) SuppressedReasons() []simplesender.SuppressionReason {
	var out []simplesender.SuppressionReason
	for _, r := range simplesender.SuppressionReasons {
		if d.Suppressed[r] > 0 {
			out = append(out, r)
		}
	}
	return out
}
