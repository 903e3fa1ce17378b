package web

import (
	"net/http"
	"strconv"

	"simplesender"
	"simplesender/internal/app"
)

// webhookRoutes registers the pages of users' webhook endpoints.
func (s *Server) webhookRoutes(mux *http.ServeMux) {
	mux.Handle("GET /profile/webhooks", s.authed(s.webhooks))
	mux.Handle("POST /profile/webhooks", s.authed(s.createWebhook))
	mux.Handle("GET /profile/webhooks/{id}", s.authed(s.webhook))
	mux.Handle("POST /profile/webhooks/{id}", s.authed(s.updateWebhook))
	mux.Handle("POST /profile/webhooks/{id}/rotate", s.authed(s.rotateWebhook))
	mux.Handle("POST /profile/webhooks/{id}/test", s.authed(s.testWebhook))
	mux.Handle("POST /profile/webhooks/{id}/delete", s.authed(s.deleteWebhook))
}

// webhookEvent is one event type as the forms offer it.
type webhookEvent struct {
	Type    string
	Checked bool
}

type webhooksData struct {
	Hooks    []*app.Webhook
	Everyone bool // the list is everyone's (staff)
	Events   []webhookEvent
}

// webhookData is the page of one endpoint.
type webhookData struct {
	Hook    *app.Webhook
	Events  []webhookEvent
	Enabled bool
	Log     []*app.WebhookLog
	Total   int
	CanEdit bool
}

// eventsOf marks the event types chosen among all of them.
func eventsOf(chosen []string) []webhookEvent {
	out := make([]webhookEvent, 0, len(app.WebhookEvents))
	for _, e := range app.WebhookEvents {
		ev := webhookEvent{Type: e}
		for _, c := range chosen {
			ev.Checked = ev.Checked || c == e
		}
		out = append(out, ev)
	}
	return out
}

func (s *Server) webhooks(w http.ResponseWriter, r *http.Request) {
	s.renderWebhooks(w, r, http.StatusOK, nil)
}

// renderWebhooks shows the list with the add form; err is the refusal of
// an addition, shown on the form with what was typed.
func (s *Server) renderWebhooks(w http.ResponseWriter, r *http.Request, status int, err error) {
	rc := reqCtx(r)
	list, lerr := s.app.ListWebhooks(r.Context(), rc.actor())
	if lerr != nil {
		s.fail(w, r, lerr, "", nil)
		return
	}
	d := webhooksData{Hooks: list, Everyone: rc.User.Role.IsStaff(), Events: eventsOf(app.WebhookEvents)}
	p := &Page{Title: "page.webhooks.title", Nav: "profile", Data: &d, Form: map[string]string{}}
	if r.Method == http.MethodPost {
		p.Form = formValues(r, "url")
		d.Events = eventsOf(r.PostForm["events"])
	}
	if err != nil {
		s.fail(w, r, err, "webhooks", p)
		return
	}
	s.render(w, r, status, "webhooks", p)
}

func webhookInput(r *http.Request) app.WebhookInput {
	return app.WebhookInput{URL: r.PostFormValue("url"), Events: r.PostForm["events"], Enabled: r.PostFormValue("enabled") != ""}
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request) {
	in := webhookInput(r)
	in.Enabled = true
	h, err := s.app.CreateWebhook(r.Context(), reqCtx(r).actor(), in)
	if err != nil {
		if !simplesender.IsKind(err, simplesender.KindInvalid) {
			s.fail(w, r, err, "", nil)
			return
		}
		s.renderWebhooks(w, r, 0, err)
		return
	}
	s.redirectFlash(w, r, "/profile/webhooks/"+strconv.FormatInt(h.ID, 10), "success", "flash.webhook_created")
}

func (s *Server) webhook(w http.ResponseWriter, r *http.Request) {
	s.renderWebhook(w, r, http.StatusOK, nil)
}

// renderWebhook shows one endpoint with its form and its log; err is the
// refusal of a change, shown on the form with what was typed.
func (s *Server) renderWebhook(w http.ResponseWriter, r *http.Request, status int, err error) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	ac := reqCtx(r).actor()
	h, gerr := s.app.GetWebhook(r.Context(), ac, id)
	if gerr != nil {
		s.fail(w, r, gerr, "", nil)
		return
	}
	logs, total, lerr := s.app.WebhookLog(r.Context(), ac, id, 50, 0)
	if lerr != nil {
		s.fail(w, r, lerr, "", nil)
		return
	}
	d := webhookData{Hook: h, Events: eventsOf(h.Events), Enabled: h.Enabled, Log: logs, Total: total,
		CanEdit: ac.Can(app.ActEdit, h.OwnerID)}
	p := &Page{Title: "page.webhook.title", Nav: "profile", Data: &d, Form: map[string]string{"url": h.URL}}
	if r.Method == http.MethodPost {
		p.Form = formValues(r, "url")
		d.Events = eventsOf(r.PostForm["events"])
		d.Enabled = r.PostFormValue("enabled") != ""
	}
	if err != nil {
		s.fail(w, r, err, "webhook", p)
		return
	}
	s.render(w, r, status, "webhook", p)
}

func (s *Server) updateWebhook(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	if _, err := s.app.UpdateWebhook(r.Context(), reqCtx(r).actor(), id, webhookInput(r)); err != nil {
		if !simplesender.IsKind(err, simplesender.KindInvalid) {
			s.fail(w, r, err, "", nil)
			return
		}
		s.renderWebhook(w, r, 0, err)
		return
	}
	s.redirectFlash(w, r, "/profile/webhooks/"+strconv.FormatInt(id, 10), "success", "flash.webhook_saved")
}

func (s *Server) rotateWebhook(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	if _, err := s.app.RotateWebhookSecret(r.Context(), reqCtx(r).actor(), id); err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	s.redirectFlash(w, r, "/profile/webhooks/"+strconv.FormatInt(id, 10), "success", "flash.webhook_rotated")
}

func (s *Server) testWebhook(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	l, err := s.app.TestWebhook(r.Context(), reqCtx(r).actor(), id)
	if err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	kind, key := "success", "flash.webhook_test_ok"
	if l.Error != "" {
		kind, key = "error", "flash.webhook_test_failed"
	}
	s.redirectFlash(w, r, "/profile/webhooks/"+strconv.FormatInt(id, 10), kind, key)
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	if err := s.app.DeleteWebhook(r.Context(), reqCtx(r).actor(), id); err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	s.redirectFlash(w, r, "/profile/webhooks", "success", "flash.webhook_deleted")
}
