package web

import (
	"net/http"
	"strconv"
	"strings"

	"simplesender"
	"simplesender/internal/app"
)

// identityRow is an identity as the list shows it.
type identityRow struct {
	*simplesender.Identity
	Usable bool // may send mailings now
}

type identitiesData struct {
	Rows     []identityRow
	Everyone bool   // the list is everyone's (staff)
	From     string // the service's address, used when there is none
	Edit     *simplesender.Identity
}

func (s *Server) identities(w http.ResponseWriter, r *http.Request) {
	s.renderIdentities(w, r, http.StatusOK, nil, nil)
}

// renderIdentities shows the list with the add form (or, when edit is set,
// the edit form); err is the refusal of a save, shown on the form.
func (s *Server) renderIdentities(w http.ResponseWriter, r *http.Request, status int, edit *simplesender.Identity, err error) {
	rc := reqCtx(r)
	ac := rc.actor()
	list, lerr := s.app.ListIdentities(r.Context(), ac)
	if lerr != nil {
		s.fail(w, r, lerr, "", nil)
		return
	}
	d := identitiesData{Everyone: rc.User.Role != simplesender.RoleUser, From: s.app.MailFrom.Email, Edit: edit}
	for _, i := range list {
		ok, uerr := s.app.IdentityUsable(r.Context(), i.OwnerID, i.Email)
		if uerr != nil {
			s.fail(w, r, uerr, "", nil)
			return
		}
		d.Rows = append(d.Rows, identityRow{Identity: i, Usable: ok})
	}
	p := &Page{Title: "page.identities.title", Nav: "profile", Data: d, Form: map[string]string{}}
	if edit != nil {
		p.Form = map[string]string{"name": edit.Name, "email": edit.Email, "reply_to": edit.ReplyTo}
	}
	if r.Method == http.MethodPost {
		p.Form = formValues(r, "name", "email", "reply_to")
	}
	if err != nil {
		s.fail(w, r, err, "identities", p)
		return
	}
	s.render(w, r, status, "identities", p)
}

func identityInput(r *http.Request) app.IdentityInput {
	return app.IdentityInput{Name: r.PostFormValue("name"), Email: r.PostFormValue("email"), ReplyTo: r.PostFormValue("reply_to"),
		Default: r.PostFormValue("default") != ""}
}

func (s *Server) createIdentity(w http.ResponseWriter, r *http.Request) {
	if _, err := s.app.CreateIdentity(r.Context(), reqCtx(r).actor(), identityInput(r)); err != nil {
		if !simplesender.IsKind(err, simplesender.KindInvalid) {
			s.fail(w, r, err, "", nil)
			return
		}
		s.renderIdentities(w, r, 0, nil, err)
		return
	}
	s.redirectFlash(w, r, "/identities", "success", "flash.identity_created")
}

func (s *Server) editIdentityForm(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	i, err := s.app.GetIdentity(r.Context(), reqCtx(r).actor(), id)
	if err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	if s.refused(w, r, app.ActEdit, i.OwnerID) {
		return
	}
	s.renderIdentities(w, r, http.StatusOK, i, nil)
}

func (s *Server) updateIdentity(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	ac := reqCtx(r).actor()
	in := identityInput(r)
	if r.PostFormValue("only") == "default" {
		// "Make default" keeps everything else.
		i, err := s.app.GetIdentity(r.Context(), ac, id)
		if err != nil {
			s.fail(w, r, err, "", nil)
			return
		}
		in = app.IdentityInput{Name: i.Name, Email: i.Email, ReplyTo: i.ReplyTo, Default: true}
	}
	if _, err := s.app.UpdateIdentity(r.Context(), ac, id, in); err != nil {
		i, gerr := s.app.GetIdentity(r.Context(), ac, id)
		if !simplesender.IsKind(err, simplesender.KindInvalid) || gerr != nil {
			s.fail(w, r, err, "", nil)
			return
		}
		s.renderIdentities(w, r, 0, i, err)
		return
	}
	s.redirectFlash(w, r, "/identities", "success", "flash.identity_saved")
}

func (s *Server) deleteIdentity(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	if err := s.app.DeleteIdentity(r.Context(), reqCtx(r).actor(), id); err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	s.redirectFlash(w, r, "/identities", "success", "flash.identity_deleted")
}

type domainsData struct {
	Domains    []*simplesender.SenderDomain
	Everyone   bool
	Staff      bool // sees the rules
	Admin      bool // sets them
	Rules      []*simplesender.DomainRule
	Configured string
}

func (s *Server) domains(w http.ResponseWriter, r *http.Request) {
	s.renderDomains(w, r, nil)
}

func (s *Server) renderDomains(w http.ResponseWriter, r *http.Request, err error) {
	rc := reqCtx(r)
	ac := rc.actor()
	list, lerr := s.app.ListDomains(r.Context(), ac)
	if lerr != nil {
		s.fail(w, r, lerr, "", nil)
		return
	}
	d := domainsData{Domains: list, Everyone: rc.User.Role != simplesender.RoleUser, Staff: rc.User.Role != simplesender.RoleUser,
		Admin: rc.User.Role == simplesender.RoleAdmin}
	if d.Staff {
		rules, configured, rerr := s.app.DomainRules(r.Context(), ac)
		if rerr != nil {
			s.fail(w, r, rerr, "", nil)
			return
		}
		d.Rules, d.Configured = rules, strings.Join(configured, ", ")
		if d.Configured == "" {
			d.Configured = "—"
		}
	}
	p := &Page{Title: "page.domains.title", Nav: "profile", Data: d, Form: map[string]string{}}
	if r.Method == http.MethodPost {
		p.Form = formValues(r, "domain", "rule_domain")
	}
	if err != nil {
		s.fail(w, r, err, "domains", p)
		return
	}
	s.render(w, r, http.StatusOK, "domains", p)
}

func (s *Server) createDomain(w http.ResponseWriter, r *http.Request) {
	d, err := s.app.AddDomain(r.Context(), reqCtx(r).actor(), r.PostFormValue("domain"))
	if err != nil {
		if k := simplesender.AsError(err).Kind; k != simplesender.KindInvalid && k != simplesender.KindConflict {
			s.fail(w, r, err, "", nil)
			return
		}
		s.renderDomains(w, r, err)
		return
	}
	s.redirectFlash(w, r, "/domains/"+strconv.FormatInt(d.ID, 10), "success", "flash.domain_added")
}

// setDomainRule allows, forbids or frees (rule "none") a domain for
// everyone.
func (s *Server) setDomainRule(w http.ResponseWriter, r *http.Request) {
	ac, name := reqCtx(r).actor(), r.PostFormValue("rule_domain")
	var err error
	key := "flash.rule_saved"
	switch r.PostFormValue("rule") {
	case "allow", "forbid":
		err = s.app.SetDomainRule(r.Context(), ac, name, r.PostFormValue("rule") == "allow")
	default:
		err, key = s.app.DeleteDomainRule(r.Context(), ac, name), "flash.rule_deleted"
	}
	if err != nil {
		if simplesender.AsError(err).Kind != simplesender.KindInvalid {
			s.fail(w, r, err, "", nil)
			return
		}
		err = &simplesender.Error{Kind: simplesender.KindInvalid, Message: "error.domain.invalid",
			Fields: map[string]string{"rule_domain": "error.domain.invalid"}}
		s.renderDomains(w, r, err)
		return
	}
	s.redirectFlash(w, r, "/domains", "success", key)
}

type domainData struct {
	D      *simplesender.SenderDomain
	Rec    *app.DomainHealth // the records; with the DNS answers when Health
	Health bool
	Can    bool // may change it
	Next   bool // a rotation waits
	Old    bool // retired keys are kept
}

func (s *Server) domain(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	s.renderDomain(w, r, id, nil)
}

// renderDomain shows domain id; refused is the refusal of an action on it,
// shown on the page with its status.
func (s *Server) renderDomain(w http.ResponseWriter, r *http.Request, id int64, refused error) {
	ac := reqCtx(r).actor()
	d, err := s.app.GetDomain(r.Context(), ac, id)
	if err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	data := domainData{D: d, Rec: s.app.DomainRecords(d), Can: ac.Can(app.ActEdit, d.OwnerID)}
	for _, k := range d.Keys {
		data.Next = data.Next || k.State == simplesender.KeyNext
		data.Old = data.Old || k.State == simplesender.KeyRetired
	}
	p := &Page{Title: "page.domains.title", Nav: "profile", Data: &data}
	if r.URL.Query().Get("check") != "" {
		// A lookup, not a change: safe on GET.
		h, err := s.app.CheckDomain(r.Context(), ac, id)
		if err != nil && simplesender.AsError(err).Kind != simplesender.KindUnavailable {
			s.fail(w, r, err, "", nil)
			return
		}
		if err != nil {
			p.Error = reqCtx(r).L.T(simplesender.AsError(err).Message)
		} else {
			data.Rec, data.Health = h, true
		}
	}
	status := http.StatusOK
	if refused != nil {
		e := simplesender.AsError(refused)
		p.Error, status = reqCtx(r).L.T(e.Message), e.Kind.HTTPStatus()
	}
	s.render(w, r, status, "domain", p)
}

// domainAction runs one change of a domain and comes back to its page
// with a flash (or the refusal's message on the page).
func (s *Server) domainAction(do func(r *http.Request, ac *app.Actor, id int64) error, flash string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := s.pathID(w, r)
		if !ok {
			return
		}
		if err := do(r, reqCtx(r).actor(), id); err != nil {
			if k := simplesender.AsError(err).Kind; k == simplesender.KindConflict || k == simplesender.KindUnavailable {
				s.renderDomain(w, r, id, err)
				return
			}
			s.fail(w, r, err, "", nil)
			return
		}
		s.redirectFlash(w, r, "/domains/"+strconv.FormatInt(id, 10), "success", flash)
	}
}

func (s *Server) deleteDomain(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	if err := s.app.DeleteDomain(r.Context(), reqCtx(r).actor(), id); err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	s.redirectFlash(w, r, "/domains", "success", "flash.domain_deleted")
}

// identityRoutes registers the pages of senders and domains.
func (s *Server) identityRoutes(mux *http.ServeMux) {
	mux.Handle("GET /identities", s.authed(s.identities))
	mux.Handle("POST /identities", s.authed(s.createIdentity))
	mux.Handle("GET /identities/{id}/edit", s.authed(s.editIdentityForm))
	mux.Handle("POST /identities/{id}", s.authed(s.updateIdentity))
	mux.Handle("POST /identities/{id}/delete", s.authed(s.deleteIdentity))
	mux.Handle("GET /domains", s.authed(s.domains))
	mux.Handle("POST /domains", s.authed(s.createDomain))
	mux.Handle("POST /domains/rules", s.authed(s.setDomainRule))
	mux.Handle("GET /domains/{id}", s.authed(s.domain))
	mux.Handle("POST /domains/{id}/delete", s.authed(s.deleteDomain))
	mux.Handle("POST /domains/{id}/verify", s.authed(s.domainAction(func(r *http.Request, ac *app.Actor, id int64) error {
		_, err := s.app.VerifyDomain(r.Context(), ac, id)
		return err
	}, "flash.domain_verified")))
	mux.Handle("POST /domains/{id}/rotate", s.authed(s.domainAction(func(r *http.Request, ac *app.Actor, id int64) error {
		return s.app.RotateKeys(r.Context(), ac, id)
	}, "flash.keys_rotated")))
	mux.Handle("POST /domains/{id}/switch", s.authed(s.domainAction(func(r *http.Request, ac *app.Actor, id int64) error {
		return s.app.SwitchKeys(r.Context(), ac, id)
	}, "flash.keys_switched")))
	mux.Handle("POST /domains/{id}/remove-retired", s.authed(s.domainAction(func(r *http.Request, ac *app.Actor, id int64) error {
		return s.app.RemoveRetiredKeys(r.Context(), ac, id)
	}, "flash.keys_removed")))
}
