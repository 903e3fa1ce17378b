package api

import (
	"net/http"

	"simplesender"
	"simplesender/internal/app"
)

// webhookJSON is a user's webhook endpoint. The secret is shown to those
// who may change the endpoint (its owner, admins) and null to managers.
type webhookJSON struct {
	ID             int64    `json:"id"`
	OwnerID        int64    `json:"owner_id"`
	OwnerEmail     string   `json:"owner_email"`
	URL            string   `json:"url"`
	Events         []string `json:"events"`
	Enabled        bool     `json:"enabled"`
	Secret         *string  `json:"secret"`
	FailingSince   *string  `json:"failing_since"`
	DisabledAt     *string  `json:"disabled_at"`
	DisabledReason string   `json:"disabled_reason"`
	Pending        int      `json:"pending_batches"`
	CreatedAt      string   `json:"created_at"`
	UpdatedAt      string   `json:"updated_at"`
}

func webhookOf(ac *app.Actor, w *app.Webhook) webhookJSON {
	out := webhookJSON{ID: w.ID, OwnerID: w.OwnerID, OwnerEmail: w.OwnerEmail, URL: w.URL, Events: w.Events, Enabled: w.Enabled,
		FailingSince: optTime(w.FailingSince), DisabledAt: optTime(w.DisabledAt), DisabledReason: w.DisabledReason,
		Pending: w.Pending, CreatedAt: timeJSON(w.CreatedAt), UpdatedAt: timeJSON(w.UpdatedAt)}
	if out.Events == nil {
		out.Events = []string{}
	}
	if ac.Can(app.ActEdit, w.OwnerID) {
		s := w.Secret
		out.Secret = &s
	}
	return out
}

// webhookLogJSON is one request made to an endpoint.
type webhookLogJSON struct {
	ID         int64  `json:"id"`
	At         string `json:"at"`
	BatchID    *int64 `json:"batch_id"` // null for a test
	Attempt    int    `json:"attempt"`
	Events     int    `json:"events"`
	Status     int    `json:"status"`
	DurationMS int64  `json:"duration_ms"`
	Failure    string `json:"failure"`
	Response   string `json:"response"`
}

func webhookLogOf(l *app.WebhookLog) webhookLogJSON {
	out := webhookLogJSON{ID: l.ID, At: timeJSON(l.At), Attempt: l.Attempt, Events: l.Events, Status: l.Status,
		DurationMS: l.DurationMS, Failure: l.Error, Response: l.Response}
	if l.BatchID != 0 {
		b := l.BatchID
		out.BatchID = &b
	}
	return out
}

// webhookInput is the body of POST and PATCH /webhooks; nil is absent.
type webhookInput struct {
	URL     *string   `json:"url"`
	Events  *[]string `json:"events"`
	Enabled *bool     `json:"enabled"`
}

func (in webhookInput) over(wi app.WebhookInput) app.WebhookInput {
	if in.URL != nil {
		wi.URL = *in.URL
	}
	if in.Events != nil {
		wi.Events = *in.Events
	}
	if in.Enabled != nil {
		wi.Enabled = *in.Enabled
	}
	return wi
}

// listWebhooks answers the caller's endpoints (staff: everyone's).
func (x *API) listWebhooks(w http.ResponseWriter, r *http.Request, u *simplesender.User) error {
	ac := as(u)
	list, err := x.app.ListWebhooks(r.Context(), ac)
	if err != nil {
		return err
	}
	out := items[webhookJSON]{Items: make([]webhookJSON, 0, len(list))}
	for _, h := range list {
		out.Items = append(out.Items, webhookOf(ac, h))
	}
	x.reply(w, http.StatusOK, out)
	return nil
}

// createWebhook adds an endpoint of the caller's and answers 201 with it
// and its secret. Events default to all, enabled to true.
func (x *API) createWebhook(w http.ResponseWriter, r *http.Request, u *simplesender.User) error {
	var in webhookInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	ac := as(u)
	h, err := x.app.CreateWebhook(r.Context(), ac, in.over(app.WebhookInput{Events: app.WebhookEvents, Enabled: true}))
	if err != nil {
		return err
	}
	x.reply(w, http.StatusCreated, webhookOf(ac, h))
	return nil
}

// getWebhook answers one endpoint. Errors: NotFound.
func (x *API) getWebhook(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	ac := as(u)
	h, err := x.app.GetWebhook(r.Context(), ac, id)
	if err != nil {
		return err
	}
	x.reply(w, http.StatusOK, webhookOf(ac, h))
	return nil
}

// patchWebhook changes an endpoint; absent fields keep their value.
// Errors: NotFound, Forbidden, Invalid.
func (x *API) patchWebhook(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	var in webhookInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	ac := as(u)
	h, err := x.app.GetWebhook(r.Context(), ac, id)
	if err != nil {
		return err
	}
	h, err = x.app.UpdateWebhook(r.Context(), ac, id, in.over(app.WebhookInput{URL: h.URL, Events: h.Events, Enabled: h.Enabled}))
	if err != nil {
		return err
	}
	x.reply(w, http.StatusOK, webhookOf(ac, h))
	return nil
}

// deleteWebhook removes an endpoint and answers 204. Errors: NotFound,
// Forbidden.
func (x *API) deleteWebhook(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	if err := x.app.DeleteWebhook(r.Context(), as(u), id); err != nil {
		return err
	}
	x.reply(w, http.StatusNoContent, nil)
	return nil
}

// rotateWebhookSecret gives an endpoint a new secret and answers it.
func (x *API) rotateWebhookSecret(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	ac := as(u)
	h, err := x.app.RotateWebhookSecret(r.Context(), ac, id)
	if err != nil {
		return err
	}
	x.reply(w, http.StatusOK, webhookOf(ac, h))
	return nil
}

// testWebhook sends an endpoint one webhook.test event now and answers the
// request's log entry (200 whatever the endpoint answered).
func (x *API) testWebhook(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	l, err := x.app.TestWebhook(r.Context(), as(u), id)
	if err != nil {
		return err
	}
	x.reply(w, http.StatusOK, webhookLogOf(l))
	return nil
}

// webhookLog answers a page of the requests made to an endpoint, newest
// first.
func (x *API) webhookLog(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	p, err := pagingOf(r)
	if err != nil {
		return err
	}
	logs, total, err := x.app.WebhookLog(r.Context(), as(u), id, p.PerPage, p.offset())
	if err != nil {
		return err
	}
	out := list[webhookLogJSON]{Items: make([]webhookLogJSON, 0, len(logs)), Total: total, Page: p.Page, PerPage: p.PerPage,
		Pages: p.pages(total)}
	for _, l := range logs {
		out.Items = append(out.Items, webhookLogOf(l))
	}
	x.reply(w, http.StatusOK, out)
	return nil
}
