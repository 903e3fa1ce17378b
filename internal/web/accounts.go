package web

import (
	"context"
	"net/http"
	"time"

	"simplesender"
	"simplesender/internal/app"
)

// ---- registration and confirmation

var registerFields = []string{"email", "name", "phone", "country", "timezone"}

func (s *Server) registerForm(w http.ResponseWriter, r *http.Request) {
	if reqCtx(r).User != nil {
		redirect(w, r, "/")
		return
	}
	s.render(w, r, http.StatusOK, "register", &Page{Title: "page.register.title", Nav: "register", Form: map[string]string{}})
}

func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	rc := reqCtx(r)
	form := formValues(r, registerFields...)
	p := &Page{Title: "page.register.title", Nav: "register", Form: form}
	pw := r.PostFormValue("password")
	if pw != r.PostFormValue("password2") {
		s.fail(w, r, simplesender.Invalid(map[string]string{"password2": "error.password.mismatch"}), "register", p)
		return
	}
	if !simplesender.ValidTimeZone(form["timezone"]) {
		// Filled by a script from the browser, not typed: a zone the server
		// does not know is dropped (UTC), not an error the visitor cannot fix.
		form["timezone"] = ""
	}
	reg := app.Registration{Email: form["email"], Password: pw, Profile: simplesender.Profile{
		Name: form["name"], Phone: form["phone"], Country: form["country"], Lang: rc.L.Lang(), TimeZone: form["timezone"]}}
	if f, _, err := r.FormFile("avatar"); err == nil {
		defer f.Close()
		reg.Avatar = f
	}
	if err := s.app.Register(r.Context(), reg, clientIP(r)); err != nil {
		s.fail(w, r, err, "register", p)
		return
	}
	s.checkEmail(w, r, "register")
}

func (s *Server) confirmForm(w http.ResponseWriter, r *http.Request) {
	s.tokenForm(w, r, "confirm")
}

// tokenForm shows the form of page for the token of an e-mail's link, or
// why the link no longer works (linkUsable).
func (s *Server) tokenForm(w http.ResponseWriter, r *http.Request, page string) {
	token := r.URL.Query().Get("token")
	p := &Page{Title: "page." + page + ".title", Form: map[string]string{"token": token}}
	if !s.linkUsable(w, r, page, token, p) {
		return
	}
	s.render(w, r, http.StatusOK, page, p)
}

// linkUsable checks the token of a link from an e-mail before its form is
// shown. A used, expired or unknown link gets the error and the way to a
// new link (the page's template shows it when Data is "bad-link") instead
// of a form that would only fail on submit; it reports false when it
// answered.
func (s *Server) linkUsable(w http.ResponseWriter, r *http.Request, purpose, token string, p *Page) bool {
	err := s.app.CheckLinkToken(r.Context(), purpose, token, clientIP(r))
	if err == nil {
		return true
	}
	if simplesender.IsKind(err, simplesender.KindInvalid) {
		p.Data = "bad-link"
		s.render(w, r, http.StatusNotFound, purpose, p)
		return false
	}
	s.fail(w, r, err, "", nil)
	return false
}

func (s *Server) confirm(w http.ResponseWriter, r *http.Request) {
	token := r.PostFormValue("token")
	p := &Page{Title: "page.confirm.title", Form: map[string]string{"token": token}}
	if _, err := s.app.Confirm(r.Context(), token, clientIP(r)); err != nil {
		s.fail(w, r, err, "confirm", p)
		return
	}
	s.redirectFlash(w, r, "/login", "success", "flash.confirmed")
}

func (s *Server) resendForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "email_request", emailRequestPage("resend", map[string]string{}))
}

func (s *Server) resend(w http.ResponseWriter, r *http.Request) {
	s.emailForm(w, r, "resend", "resend", s.app.ResendConfirmation)
}

// emailForm answers the form of page that asks for an address only: send
// mails it, and the check-your-mail page of kind follows; on an error the
// form shows again with it.
func (s *Server) emailForm(w http.ResponseWriter, r *http.Request, page, kind string, send func(ctx context.Context, email, lang, ip string) error) {
	form := formValues(r, "email")
	if err := send(r.Context(), form["email"], reqCtx(r).L.Lang(), clientIP(r)); err != nil {
		s.fail(w, r, err, "email_request", emailRequestPage(page, form))
		return
	}
	s.checkEmail(w, r, kind)
}

// emailRequestData is what the pages that ask for an address to e-mail a
// link to differ in: "forgot" (a password reset) or "resend" (a new
// confirmation link), and where their form posts.
type emailRequestData struct {
	Page   string
	Action string
}

// emailRequestPage is the page of the form that asks for an address for
// page ("forgot" or "resend"), with the values typed so far.
func emailRequestPage(page string, form map[string]string) *Page {
	action := map[string]string{"forgot": "/password/forgot", "resend": "/confirm/resend"}[page]
	return &Page{Title: "page." + page + ".title", Form: form, Data: emailRequestData{Page: page, Action: action}}
}

// checkEmailData is what the "check your e-mail" page shows.
type checkEmailData struct {
	Kind   string // register, resend or reset
	Outbox bool   // no SMTP server: the e-mail is a file in the outbox folder
}

// checkEmail tells the visitor that an e-mail is on its way; where it went
// only when it went to the outbox folder (no SMTP server).
func (s *Server) checkEmail(w http.ResponseWriter, r *http.Request, kind string) {
	s.render(w, r, http.StatusOK, "check_email", &Page{Title: "page.check_email.title",
		Data: checkEmailData{Kind: kind, Outbox: s.app.OutboxMode()}})
}

// ---- log in and out

func (s *Server) loginForm(w http.ResponseWriter, r *http.Request) {
	if reqCtx(r).User != nil {
		redirect(w, r, r.URL.Query().Get("next"))
		return
	}
	s.render(w, r, http.StatusOK, "login", &Page{Title: "page.login.title", Nav: "login",
		Form: map[string]string{"next": r.URL.Query().Get("next")}})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	form := formValues(r, "email", "next")
	p := &Page{Title: "page.login.title", Nav: "login", Form: form}
	req := app.LoginRequest{Email: form["email"], Password: r.PostFormValue("password"), IP: clientIP(r), UserAgent: r.UserAgent()}
	if c, err := r.Cookie(deviceCookie); err == nil {
		req.Device = c.Value
	}
	res, err := s.app.LoginWith(r.Context(), req)
	if err != nil {
		s.fail(w, r, err, "login", p)
		return
	}
	raw, u := res.Session, res.User
	// This browser is now known to the account: it keeps logging in while
	// guessers are locked out of it.
	http.SetCookie(w, &http.Cookie{Name: deviceCookie, Value: res.Device, Path: "/login", MaxAge: int(deviceCookieAge / time.Second),
		HttpOnly: true, Secure: s.cfg.SecureCookies, SameSite: http.SameSiteLaxMode})
	// A new session id at every login; the old one, if any, ends.
	if old := reqCtx(r).sessionID; old != "" {
		_ = s.app.Logout(r.Context(), old)
	}
	s.setCookie(w, sessionCookie, raw, s.cfg.SessionMax)
	if u.Lang != "" {
		s.setCookie(w, langCookie, u.Lang, 365*24*time.Hour)
	}
	s.redirectFlash(w, r, form["next"], "success", "flash.logged_in")
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if id := reqCtx(r).sessionID; id != "" {
		if err := s.app.Logout(r.Context(), id); err != nil {
			s.log.Error("logout", "err", err)
		}
	}
	s.clearCookie(w, sessionCookie)
	// The account's language leaves with it: the next person on this
	// browser gets the browser's language.
	s.clearCookie(w, langCookie)
	s.redirectFlash(w, r, "/", "info", "flash.logged_out")
}

// ---- password reset

func (s *Server) forgotForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "email_request", emailRequestPage("forgot", map[string]string{}))
}

func (s *Server) forgot(w http.ResponseWriter, r *http.Request) {
	s.emailForm(w, r, "forgot", "reset", s.app.RequestPasswordReset)
}

func (s *Server) resetForm(w http.ResponseWriter, r *http.Request) {
	s.tokenForm(w, r, "reset")
}

func (s *Server) reset(w http.ResponseWriter, r *http.Request) {
	form := formValues(r, "token")
	p := &Page{Title: "page.reset.title", Form: form}
	pw := r.PostFormValue("password")
	if pw != r.PostFormValue("password2") {
		s.fail(w, r, simplesender.Invalid(map[string]string{"password2": "error.password.mismatch"}), "reset", p)
		return
	}
	if _, err := s.app.ResetPassword(r.Context(), form["token"], pw, clientIP(r)); err != nil {
		s.fail(w, r, err, "reset", p)
		return
	}
	if id := reqCtx(r).sessionID; id != "" {
		s.clearCookie(w, sessionCookie)
	}
	s.redirectFlash(w, r, "/login", "success", "flash.password_reset")
}

// ---- language

func (s *Server) setLang(w http.ResponseWriter, r *http.Request) {
	lang := r.PostFormValue("lang")
	if lang != "en" && lang != "ru" {
		s.errorPage(w, r, http.StatusUnprocessableEntity, "error.lang.invalid")
		return
	}
	rc := reqCtx(r)
	if rc.User != nil {
		if err := s.app.SetLanguage(r.Context(), rc.actor(), lang); err != nil {
			s.fail(w, r, err, "", nil)
			return
		}
	}
	s.setCookie(w, langCookie, lang, 365*24*time.Hour)
	redirect(w, r, r.PostFormValue("next"))
}
