package web

import (
	"net/http"
	"time"

	"simplesender"
	"simplesender/internal/app"
)

// TimeZones offered on the profile page (any IANA name is accepted).
var TimeZones = []string{"UTC", "Europe/Kaliningrad", "Europe/Moscow", "Europe/Samara", "Asia/Yekaterinburg",
	"Asia/Omsk", "Asia/Novosibirsk", "Asia/Krasnoyarsk", "Asia/Irkutsk", "Asia/Yakutsk", "Asia/Vladivostok",
	"Asia/Magadan", "Asia/Kamchatka", "Europe/Minsk", "Europe/Kyiv", "Asia/Almaty", "Asia/Tashkent", "Asia/Tbilisi",
	"Asia/Yerevan", "Asia/Baku", "Europe/London", "Europe/Berlin", "Europe/Paris", "Europe/Istanbul", "Asia/Dubai",
	"Asia/Kolkata", "Asia/Shanghai", "Asia/Tokyo", "America/New_York", "America/Chicago", "America/Los_Angeles"}

type profileData struct {
	TimeZones []string
}

func (s *Server) profile(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "profile", s.profilePage(reqCtx(r).User))
}

// profilePage is the profile form filled with u's saved values.
func (s *Server) profilePage(u *simplesender.User) *Page {
	form := map[string]string{"name": u.Name, "phone": u.Phone, "country": u.Country, "lang": u.Lang, "timezone": u.TimeZone}
	return &Page{Title: "page.profile.title", Nav: "profile", Form: form, Data: profileData{TimeZones}}
}

func (s *Server) saveProfile(w http.ResponseWriter, r *http.Request) {
	rc := reqCtx(r)
	form := formValues(r, "name", "phone", "country", "lang", "timezone")
	p := &Page{Title: "page.profile.title", Nav: "profile", Form: form, Data: profileData{TimeZones}}
	prof := simplesender.Profile{Name: form["name"], Phone: form["phone"], Country: form["country"], Lang: form["lang"], TimeZone: form["timezone"]}
	if err := s.app.UpdateProfile(r.Context(), rc.actor(), prof); err != nil {
		s.fail(w, r, err, "profile", p)
		return
	}
	if prof.Lang != "" {
		s.setCookie(w, langCookie, prof.Lang, 365*24*time.Hour)
	}
	s.redirectFlash(w, r, "/profile", "success", "flash.profile_saved")
}

func (s *Server) passwordForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "password", &Page{Title: "page.password.title", Nav: "profile"})
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) {
	rc := reqCtx(r)
	p := &Page{Title: "page.password.title", Nav: "profile"}
	pw := r.PostFormValue("password")
	if pw != r.PostFormValue("password2") {
		s.fail(w, r, simplesender.Invalid(map[string]string{"password2": "error.password.mismatch"}), "password", p)
		return
	}
	raw, err := s.app.ChangePassword(r.Context(), rc.actor(), r.PostFormValue("current"), pw, clientIP(r), r.UserAgent())
	if err != nil {
		s.fail(w, r, err, "password", p)
		return
	}
	s.setCookie(w, sessionCookie, raw, s.cfg.SessionMax)
	s.redirectFlash(w, r, "/profile", "success", "flash.password_changed")
}

// ---- API tokens

type tokensData struct {
	Tokens   []*app.APIToken
	NewToken string
}

func (s *Server) tokens(w http.ResponseWriter, r *http.Request) {
	s.renderTokens(w, r, "")
}

func (s *Server) renderTokens(w http.ResponseWriter, r *http.Request, newToken string) {
	list, err := s.app.ListAPITokens(r.Context(), reqCtx(r).actor())
	if err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	s.render(w, r, http.StatusOK, "tokens", &Page{Title: "page.tokens.title", Nav: "tokens", Form: map[string]string{},
		Data: tokensData{Tokens: list, NewToken: newToken}})
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) {
	raw, _, err := s.app.CreateAPIToken(r.Context(), reqCtx(r).actor(), nil, r.PostFormValue("name"))
	if err != nil {
		list, _ := s.app.ListAPITokens(r.Context(), reqCtx(r).actor())
		s.fail(w, r, err, "tokens", &Page{Title: "page.tokens.title", Nav: "tokens",
			Form: formValues(r, "name"), Data: tokensData{Tokens: list}})
		return
	}
	// The token is shown once, on this response; it is not stored anywhere
	// but as a hash.
	s.renderTokens(w, r, raw)
}

func (s *Server) deleteToken(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	if err := s.app.RevokeAPIToken(r.Context(), reqCtx(r).actor(), id); err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	s.redirectFlash(w, r, "/tokens", "success", "flash.token_revoked")
}
