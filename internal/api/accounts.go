package api

import (
	"net/http"
	"strings"

	"simplesender"
	"simplesender/internal/app"
)

// accepted is the answer to requests whose outcome must not be revealed
// (registration, password reset): the same for every address.
var accepted = map[string]bool{"accepted": true}

// registerRequest is the body of POST /auth/register.
type registerRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Name     string `json:"name"`
	Phone    string `json:"phone"`
	Country  string `json:"country"`
	Lang     string `json:"lang"`
	TimeZone string `json:"timezone"`
}

// register answers 202 {"accepted": true} whether or not the address already
// has an account; the address gets a confirmation e-mail, or a note that it
// already has an account. Errors: Invalid, RateLimited.
func (x *API) register(w http.ResponseWriter, r *http.Request, _ *simplesender.User) error {
	var req registerRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	name := strings.TrimSpace(req.Name)
	if name == "" {
		// The API contract makes the name optional but accounts need one: start with
		// the mailbox name, which the user may change later.
		name = localPart(strings.TrimSpace(req.Email))
		if name == "" || !simplesender.PlainText(name, 200) {
			name = "-" // the address is invalid and will be refused
		}
	}
	lang := req.Lang
	if lang == "" {
		// The confirmation e-mail goes out in the caller's language.
		lang = x.lang(r)
	}
	reg := app.Registration{Email: req.Email, Password: req.Password, Profile: simplesender.Profile{
		Name: name, Phone: req.Phone, Country: req.Country, Lang: lang, TimeZone: req.TimeZone}}
	if err := x.app.Register(r.Context(), reg, clientIP(r)); err != nil {
		return err
	}
	x.reply(w, http.StatusAccepted, accepted)
	return nil
}

// localPart returns the part of an address before its last @.
func localPart(email string) string {
	if i := strings.LastIndexByte(email, '@'); i >= 0 {
		return email[:i]
	}
	return email
}

// tokenRequest is the body of the confirmation endpoint.
type tokenRequest struct {
	Token string `json:"token"`
}

// confirm uses a confirmation token and answers 200 with the account.
// Errors: Invalid (missing, unknown, used or expired token), RateLimited.
func (x *API) confirm(w http.ResponseWriter, r *http.Request, _ *simplesender.User) error {
	var req tokenRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.Token == "" {
		return simplesender.Invalid(map[string]string{"token": "error.required"})
	}
	u, err := x.app.Confirm(r.Context(), req.Token, clientIP(r))
	if err != nil {
		return err
	}
	x.reply(w, http.StatusOK, userOf(u))
	return nil
}

// requestPasswordReset answers 202 for any well-formed address; an account
// that may reset its password gets an e-mail with a link, in the account's
// language or else the caller's. Errors: Invalid (not an address),
// RateLimited.
func (x *API) requestPasswordReset(w http.ResponseWriter, r *http.Request, _ *simplesender.User) error {
	var req struct {
		Email string `json:"email"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := x.app.RequestPasswordReset(r.Context(), req.Email, x.lang(r), clientIP(r)); err != nil {
		return err
	}
	x.reply(w, http.StatusAccepted, accepted)
	return nil
}

// resetPassword sets a new password with a reset token and answers 200 with
// the account. Every API token of the account stops working. Errors: Invalid
// (token, password rules), RateLimited.
func (x *API) resetPassword(w http.ResponseWriter, r *http.Request, _ *simplesender.User) error {
	var req struct {
		Token    string `json:"token"`
		Password string `json:"password"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	f := simplesender.FieldErrors{}
	if req.Token == "" {
		f.Add("token", "error.required")
	}
	if req.Password == "" {
		f.Add("password", "error.required")
	}
	if err := f.Err(); err != nil {
		return err
	}
	u, err := x.app.ResetPassword(r.Context(), req.Token, req.Password, clientIP(r))
	if err != nil {
		return err
	}
	x.reply(w, http.StatusOK, userOf(u))
	return nil
}

// me answers the caller's account.
func (x *API) me(w http.ResponseWriter, _ *http.Request, u *simplesender.User) error {
	x.reply(w, http.StatusOK, userOf(u))
	return nil
}
