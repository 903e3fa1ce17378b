package api

import (
	"net/http"
	"strings"
	"time"

	"simplesender"
	"simplesender/internal/app"
)

// mailingJSON is a mailing as the API shows it. RecipientIDs is set on the
// answers about one mailing only, not in lists.
type mailingJSON struct {
	ID             int64                       `json:"id"`
	OwnerID        int64                       `json:"owner_id"`
	OwnerEmail     string                      `json:"owner_email"`
	Name           string                      `json:"name"`
	MessageID      int64                       `json:"message_id"`
	Status         string                      `json:"status"`
	Disabled       bool                        `json:"disabled"`
	DisabledAt     *string                     `json:"disabled_at"`
	ScheduledAt    *string                     `json:"scheduled_at"`
	StartedAt      *string                     `json:"started_at"`
	FinishedAt     *string                     `json:"finished_at"`
	CreatedAt      string                      `json:"created_at"`
	UpdatedAt      string                      `json:"updated_at"`
	RecipientCount int                         `json:"recipient_count"`
	Counts         simplesender.DeliveryCounts `json:"counts"`
	// StatusDetail says what the mailing does now (see statusDetailJSON).
	StatusDetail statusDetailJSON `json:"status_detail"`
	RecipientIDs []int64          `json:"recipient_ids,omitempty"`
	// IdentityID is the sender identity chosen (null: the owner's
	// default); in the answers about one mailing only.
	IdentityID *int64 `json:"identity_id,omitempty"`
	// Audience are the lists and tags of the audience (answers about one
	// mailing only).
	Audience []audienceRuleJSON `json:"audience,omitempty"`
	// SuppressedReasons counts the last run's suppressed deliveries by
	// reason, in the answers about one mailing; absent when none was.
	SuppressedReasons map[simplesender.SuppressionReason]int `json:"suppressed_reasons,omitempty"`
	// StartRefused says why the last pending start did not happen when it
	// came due ("sender": its sender address may no longer be used); absent
	// when it did, or none was refused.
	StartRefused string `json:"start_refused,omitempty"`
}

func mailingOf(m *simplesender.Mailing) mailingJSON {
	return mailingJSON{ID: m.ID, OwnerID: m.OwnerID, OwnerEmail: m.OwnerEmail, Name: m.Name, MessageID: m.MessageID,
		Status: string(m.Status), Disabled: m.Disabled(), DisabledAt: optTime(m.DisabledAt), ScheduledAt: optTime(m.ScheduledAt),
		StartedAt: optTime(m.StartedAt), FinishedAt: optTime(m.FinishedAt), CreatedAt: timeJSON(m.CreatedAt),
		UpdatedAt: timeJSON(m.UpdatedAt), RecipientCount: m.RecipientCount, Counts: m.Counts, StartRefused: m.StartNote}
}

// mailingInput is the body of POST and PATCH /mailings; nil is absent.
type mailingInput struct {
	Name         *string  `json:"name"`
	MessageID    *int64   `json:"message_id"`
	RecipientIDs *[]int64 `json:"recipient_ids"`
	IdentityID   *int64   `json:"identity_id"`
	// Audience, when present, replaces the lists and tags of the audience.
	Audience *[]audienceInput `json:"audience"`
}

// over returns mi with the fields present in the input set.
func (in mailingInput) over(mi app.MailingInput) app.MailingInput {
	if in.Name != nil {
		mi.Name = *in.Name
	}
	if in.MessageID != nil {
		mi.MessageID = *in.MessageID
	}
	if in.RecipientIDs != nil {
		mi.RecipientIDs = *in.RecipientIDs
	}
	if in.IdentityID != nil {
		mi.IdentityID = *in.IdentityID
	}
	if in.Audience != nil {
		mi.Audience = audienceRules(*in.Audience)
	}
	return mi
}

// mailingSorts are the fields a mailing list may be sorted by.
var mailingSorts = []string{"id", "name", "created_at", "status", "scheduled_at"}

// listMailings answers a page of mailings, newest first by default, like
// listRecipients; ?q= searches the name and ?status= is created, running,
// finished or active (the same as running).
func (x *API) listMailings(w http.ResponseWriter, r *http.Request, u *simplesender.User) error {
	p, lf, owner, err := listQuery(r, mailingSorts)
	if err != nil {
		return err
	}
	f := app.MailingFilter{ListFilter: lf}
	switch s := r.URL.Query().Get("status"); s {
	case "":
	case "created", "running", "finished":
		f.Status = simplesender.MailingStatus(s)
	case "active":
		f.Status = simplesender.MailingRunning
	default:
		return badQuery(simplesender.FieldErrors{"status": "error.query.invalid"})
	}
	items, total, err := x.app.ListMailings(r.Context(), as(u), owner, f)
	if err != nil {
		return err
	}
	out := list[mailingJSON]{Items: make([]mailingJSON, 0, len(items)), Total: total, Page: p.Page, PerPage: p.PerPage, Pages: p.pages(total)}
	for _, it := range items {
		mj := mailingOf(it)
		mj.StatusDetail = x.statusDetailOf(r, u, it)
		out.Items = append(out.Items, mj)
	}
	x.reply(w, http.StatusOK, out)
	return nil
}

// fullMailing is the JSON of mailing m; with audience, also the ids of its
// recipients (the answers to the writes that set them: create, change,
// duplicate). Reading a mailing, which clients poll while it is sent, does
// not list them: its cost must not grow with the audience, which
// GET /mailings/{id}/recipients pages instead.
func (x *API) fullMailing(r *http.Request, u *simplesender.User, m *simplesender.Mailing, audience bool) (mailingJSON, error) {
	out := mailingOf(m)
	out.StatusDetail = x.statusDetailOf(r, u, m)
	iid, err := x.app.MailingIdentityID(r.Context(), m)
	if err != nil {
		return mailingJSON{}, err
	}
	if iid != 0 {
		out.IdentityID = &iid
	}
	rules, err := x.app.MailingAudienceRules(r.Context(), m)
	if err != nil {
		return mailingJSON{}, err
	}
	out.Audience = audienceOf(rules)
	reasons, err := x.app.SuppressedReasons(r.Context(), m)
	if err != nil {
		return mailingJSON{}, err
	}
	out.SuppressedReasons = reasons
	if !audience {
		return out, nil
	}
	ids, err := x.app.MailingRecipientIDs(r.Context(), as(u), m.ID)
	if err != nil {
		return mailingJSON{}, err
	}
	out.RecipientIDs = ids
	if out.RecipientIDs == nil {
		out.RecipientIDs = []int64{}
	}
	return out, nil
}

// replyMailing answers mailing id as it is now, with its audience when
// audience is true (see fullMailing).
func (x *API) replyMailing(w http.ResponseWriter, r *http.Request, u *simplesender.User, status int, id int64, audience bool) error {
	m, err := x.app.GetMailing(r.Context(), as(u), id)
	if err != nil {
		return err
	}
	out, err := x.fullMailing(r, u, m, audience)
	if err != nil {
		return err
	}
	x.reply(w, status, out)
	return nil
}

// createMailing makes a mailing of one of the caller's messages to some of
// the caller's recipients and answers 201. Errors: BadRequest, Invalid
// (message_id, recipient_ids: missing, or not the caller's; name).
func (x *API) createMailing(w http.ResponseWriter, r *http.Request, u *simplesender.User) error {
	var in mailingInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	m, err := x.app.CreateMailing(r.Context(), as(u), in.over(app.MailingInput{}))
	if err != nil {
		return err
	}
	created(w, "/mailings/", m.ID)
	return x.replyMailing(w, r, u, http.StatusCreated, m.ID, true)
}

// getMailing answers one mailing with its counts and status detail, with an
// ETag; its cost does not grow with the audience (see fullMailing).
// Errors: NotFound.
func (x *API) getMailing(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	m, err := x.app.GetMailing(r.Context(), as(u), id)
	if err != nil {
		return err
	}
	out, err := x.fullMailing(r, u, m, false)
	if err != nil {
		return err
	}
	x.replyObject(w, r, out)
	return nil
}

// patchMailing changes the fields present in the body; recipient_ids, when
// present, replaces the whole audience. A run in progress keeps what it
// started with. Errors: BadRequest, Invalid, NotFound, Forbidden, Conflict
// (disabled).
func (x *API) patchMailing(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	var in mailingInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	m, err := x.app.GetMailing(r.Context(), as(u), id)
	if err != nil {
		return err
	}
	iid, err := x.app.MailingIdentityID(r.Context(), m)
	if err != nil {
		return err
	}
	mi := in.over(app.MailingInput{Name: m.Name, MessageID: m.MessageID, IdentityID: iid})
	if in.RecipientIDs == nil {
		if mi.RecipientIDs, err = x.app.MailingRecipientIDs(r.Context(), as(u), id); err != nil {
			return err
		}
	}
	if in.Audience == nil {
		if mi.Audience, err = x.app.MailingAudienceRules(r.Context(), m); err != nil {
			return err
		}
	}
	if _, err := x.app.UpdateMailing(r.Context(), as(u), id, mi); err != nil {
		return err
	}
	return x.replyMailing(w, r, u, http.StatusOK, id, true)
}

// deleteMailing removes a mailing and its history and answers 204. Errors:
// NotFound, Forbidden, Conflict (being sent: cancel first).
func (x *API) deleteMailing(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	if err := x.app.DeleteMailing(r.Context(), as(u), id); err != nil {
		return err
	}
	x.reply(w, http.StatusNoContent, nil)
	return nil
}

// sendMailing queues a send of the whole audience and answers 202 with the
// mailing; the background engine sends it. Errors: NotFound, Forbidden,
// Conflict (already due or running, disabled, no recipients).
func (x *API) sendMailing(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	if err := x.app.SendNow(r.Context(), as(u), id, "now"); err != nil {
		return err
	}
	return x.replyMailing(w, r, u, http.StatusAccepted, id, false)
}

// scheduleMailing sets a one-time send at {send_at} (RFC 3339, in the
// future), replacing a pending one. Errors: BadRequest, Invalid (send_at),
// NotFound, Forbidden, Conflict.
func (x *API) scheduleMailing(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	var in struct {
		SendAt *string `json:"send_at"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if in.SendAt == nil || strings.TrimSpace(*in.SendAt) == "" {
		return simplesender.Invalid(map[string]string{"send_at": "error.required"})
	}
	at, err := time.Parse(time.RFC3339, strings.TrimSpace(*in.SendAt))
	if err != nil {
		return simplesender.Invalid(map[string]string{"send_at": "error.schedule.invalid"})
	}
	if err := x.app.Schedule(r.Context(), as(u), id, at); err != nil {
		return err
	}
	return x.replyMailing(w, r, u, http.StatusOK, id, false)
}

// cancelMailing drops a pending start and stops a running send (the owner
// and staff). Errors: NotFound, Forbidden, Conflict (nothing to cancel).
func (x *API) cancelMailing(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	if err := x.app.CancelMailing(r.Context(), as(u), id); err != nil {
		return err
	}
	return x.replyMailing(w, r, u, http.StatusOK, id, false)
}

// resendMailing queues a new run to the deliveries of the last run that
// failed ({kind: "failed"}) or whose outcome is unknown ({kind: "unknown"})
// and answers 202. Errors: BadRequest, Invalid (kind), NotFound, Forbidden,
// Conflict (nothing to resend, already running, disabled).
func (x *API) resendMailing(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	var in struct {
		Kind string `json:"kind"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	var kind simplesender.RunKind
	switch in.Kind {
	case "failed":
		kind = simplesender.RunResendFailed
	case "unknown":
		kind = simplesender.RunResendUnknown
	case "":
		return simplesender.Invalid(map[string]string{"kind": "error.required"})
	default:
		return simplesender.Invalid(map[string]string{"kind": "error.invalid"})
	}
	if err := x.app.Resend(r.Context(), as(u), id, kind); err != nil {
		return err
	}
	return x.replyMailing(w, r, u, http.StatusAccepted, id, false)
}

// disableMailing switches a mailing off (managers and admins), cancelling
// what is scheduled or running. Errors: Forbidden, NotFound.
func (x *API) disableMailing(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	return x.setDisabled(w, r, u, id, true)
}

// enableMailing switches a mailing on again, as disableMailing.
func (x *API) enableMailing(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	return x.setDisabled(w, r, u, id, false)
}

func (x *API) setDisabled(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64, disabled bool) error {
	if _, err := x.app.SetMailingDisabled(r.Context(), as(u), id, disabled); err != nil {
		return err
	}
	return x.replyMailing(w, r, u, http.StatusOK, id, false)
}
