// Package web serves the server-rendered user interface: pages for accounts,
// profiles, API tokens, user administration, recipients, messages and
// mailings, in Russian and English. Every page works without JavaScript.
// Authorization is decided by package app; this package only shows what app
// allows.
package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/auth"
	"simplesender/internal/i18n"
)

// Cookie names.
const (
	sessionCookie = "ss_session"
	langCookie    = "ss_lang"
	flashCookie   = "ss_flash"
	// deviceCookie holds the device token of the account that last logged
	// in from this browser (see app.LoginRequest.Device); sent to /login only.
	deviceCookie = "ss_device"
)

// deviceCookieAge is how long a browser stays known to an account.
const deviceCookieAge = 180 * 24 * time.Hour

// Config is what the web UI needs besides the app.
type Config struct {
	SecureCookies bool          // set the Secure flag (https base URL)
	SessionMax    time.Duration // cookie lifetime
	// SecretKey signs the flash cookie, so that no other site (a sibling
	// subdomain, say) can plant a misleading message. Empty: a random key.
	SecretKey []byte
	// OpenAPI returns the JSON API's OpenAPI document, shown on the API
	// page. Nil: the page explains the API and links to the document.
	OpenAPI func() []byte
}

// Server is the web UI.
type Server struct {
	app    *app.App
	bundle *i18n.Bundle
	assets *Assets
	tmpl   templates
	log    *slog.Logger
	cfg    Config
}

// New parses every template (a broken one fails here) and returns the UI.
func New(a *app.App, b *i18n.Bundle, log *slog.Logger, cfg Config) (*Server, error) {
	assets, err := NewAssets()
	if err != nil {
		return nil, err
	}
	t, err := parseTemplates(assets)
	if err != nil {
		return nil, err
	}
	if len(cfg.SecretKey) == 0 {
		cfg.SecretKey = []byte(auth.NewToken(""))
	}
	if cfg.SessionMax == 0 {
		cfg.SessionMax = 30 * 24 * time.Hour
	}
	return &Server{app: a, bundle: b, assets: assets, tmpl: t, log: log, cfg: cfg}, nil
}

// Assets returns the static files handler's owner.
func (s *Server) Assets() *Assets { return s.assets }

// Handler returns the UI's routes wrapped in cross-origin protection (CSRF)
// and the per-request user and language.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /static/", s.assets.Handler())
	mux.HandleFunc("GET /{$}", s.home)

	mux.HandleFunc("GET /register", s.registerForm)
	mux.HandleFunc("POST /register", s.register)
	mux.HandleFunc("GET /confirm", s.confirmForm)
	mux.HandleFunc("POST /confirm", s.confirm)
	mux.HandleFunc("GET /confirm/resend", s.resendForm)
	mux.HandleFunc("POST /confirm/resend", s.resend)
	mux.HandleFunc("GET /login", s.loginForm)
	mux.HandleFunc("POST /login", s.login)
	mux.HandleFunc("POST /logout", s.logout)
	mux.HandleFunc("GET /password/forgot", s.forgotForm)
	mux.HandleFunc("POST /password/forgot", s.forgot)
	mux.HandleFunc("GET /password/reset", s.resetForm)
	mux.HandleFunc("POST /password/reset", s.reset)
	mux.HandleFunc("POST /lang", s.setLang)

	mux.Handle("GET /profile", s.authed(s.profile))
	mux.Handle("POST /profile", s.authed(s.saveProfile))
	mux.Handle("POST /profile/avatar", s.authed(s.uploadAvatar))
	mux.Handle("POST /profile/avatar/delete", s.authed(s.deleteAvatar))
	mux.Handle("GET /avatars/{id}/{v}", s.authed(s.avatarImage))
	mux.Handle("GET /profile/password", s.authed(s.passwordForm))
	mux.Handle("POST /profile/password", s.authed(s.changePassword))
	mux.Handle("GET /profile/sending", s.authed(s.sendingSettings))
	mux.Handle("POST /profile/sending", s.authed(s.saveSendingSettings))
	mux.Handle("GET /tokens", s.authed(s.tokens))
	mux.Handle("POST /tokens", s.authed(s.createToken))
	mux.Handle("POST /tokens/{id}/delete", s.authed(s.deleteToken))

	mux.Handle("GET /users", s.authed(s.users))
	mux.Handle("GET /users/{id}", s.authed(s.user))
	mux.Handle("POST /users/{id}/block", s.authed(s.blockUser))
	mux.Handle("POST /users/{id}/unblock", s.authed(s.unblockUser))
	mux.Handle("POST /users/{id}/role", s.authed(s.setRole))
	mux.Handle("GET /admin/smtp", s.authed(s.smtpSettings))

	mux.Handle("GET /recipients", s.authed(s.recipients))
	mux.Handle("GET /recipients/new", s.authed(s.newRecipientForm))
	mux.Handle("GET /recipients/export.csv", s.authed(s.exportRecipients))
	mux.Handle("GET /recipients/import", s.authed(s.importForm))
	mux.Handle("POST /recipients/import", s.authed(s.uploadImport))
	mux.Handle("GET /imports/{id}", s.authed(s.importPreview))
	mux.Handle("POST /imports/{id}", s.authed(s.importPreview))
	mux.Handle("GET /imports/{id}/status", s.authed(s.importStatus))
	mux.Handle("GET /imports/{id}/progress.json", s.authed(s.importProgressJSON))
	mux.Handle("POST /imports/{id}/cancel", s.authed(s.cancelImport))
	mux.Handle("POST /recipients", s.authed(s.createRecipient))
	mux.Handle("POST /recipients/bulk", s.authed(s.bulkRecipients))
	mux.Handle("POST /recipients/bulk/delete", s.authed(s.bulkDeleteRecipients))
	mux.Handle("POST /recipients/bulk/export", s.authed(s.bulkExportRecipients))
	mux.Handle("GET /recipients/{id}", s.authed(s.recipient))
	mux.Handle("GET /recipients/{id}/edit", s.authed(s.editRecipientForm))
	mux.Handle("POST /recipients/{id}", s.authed(s.updateRecipient))
	mux.Handle("GET /recipients/{id}/delete", s.authed(s.deleteRecipientForm))
	mux.Handle("POST /recipients/{id}/delete", s.authed(s.deleteRecipient))

	mux.Handle("GET /fields", s.authed(s.fields))
	mux.Handle("POST /fields", s.authed(s.createField))
	mux.Handle("POST /fields/{id}", s.authed(s.renameField))
	mux.Handle("GET /fields/{id}/delete", s.authed(s.deleteFieldForm))
	mux.Handle("POST /fields/{id}/delete", s.authed(s.deleteField))
	mux.Handle("GET /lists", s.authed(s.lists))
	mux.Handle("POST /lists", s.authed(s.createList))
	mux.Handle("GET /lists/{id}", s.authed(s.list))
	mux.Handle("POST /lists/{id}", s.authed(s.renameList))
	mux.Handle("GET /lists/{id}/delete", s.authed(s.deleteListForm))
	mux.Handle("POST /lists/{id}/delete", s.authed(s.deleteList))
	mux.Handle("POST /recipients/bulk/apply", s.authed(s.bulkApplyRecipients))

	mux.Handle("GET /segments", s.authed(s.segments))
	mux.Handle("GET /segments/new", s.authed(s.newSegment))
	mux.Handle("POST /segments/new", s.authed(s.saveSegment))
	mux.Handle("POST /segments/count", s.authed(s.countSegment))
	mux.Handle("GET /segments/{id}", s.authed(s.segment))
	mux.Handle("POST /segments/{id}", s.authed(s.saveSegment))
	mux.Handle("GET /segments/{id}/delete", s.authed(s.deleteSegmentForm))
	mux.Handle("POST /segments/{id}/delete", s.authed(s.deleteSegment))

	mux.Handle("GET /messages", s.authed(s.messages))
	mux.Handle("GET /messages/new", s.authed(s.newMessageForm))
	mux.Handle("POST /messages", s.authed(s.createMessage))
	mux.Handle("GET /messages/{id}", s.authed(s.message))
	mux.Handle("GET /messages/{id}/edit", s.authed(s.editMessageForm))
	mux.Handle("POST /messages/{id}", s.authed(s.updateMessage))
	mux.Handle("GET /messages/{id}/delete", s.authed(s.deleteMessageForm))
	mux.Handle("POST /messages/{id}/delete", s.authed(s.deleteMessage))
	mux.Handle("GET /messages/{id}/preview", s.authed(s.previewMessage))
	mux.Handle("GET /messages/{id}/preview.html", s.authed(s.previewHTML))

	mux.Handle("GET /mailings", s.authed(s.mailings))
	mux.Handle("GET /mailings/new", s.authed(s.newMailingForm))
	mux.Handle("POST /mailings", s.authed(s.createMailing))
	mux.Handle("GET /mailings/{id}", s.authed(s.mailing))
	mux.Handle("GET /mailings/{id}/edit", s.authed(s.editMailingForm))
	mux.Handle("POST /mailings/{id}", s.authed(s.updateMailing))
	mux.Handle("GET /mailings/{id}/delete", s.authed(s.deleteMailingForm))
	mux.Handle("POST /mailings/{id}/delete", s.authed(s.deleteMailing))
	mux.Handle("GET /mailings/{id}/recipients", s.authed(s.mailingRecipients))
	mux.Handle("GET /mailings/{id}/deliveries", s.authed(s.deliveries))
	mux.Handle("GET /mailings/{id}/progress.json", s.authed(s.progressJSON))
	mux.Handle("GET /mailings/{id}/attempts.csv", s.authed(s.attemptsCSV))

	s.identityRoutes(mux)
	s.webhookRoutes(mux)
	mux.Handle("GET /suppressions", s.authed(s.suppressions))
	mux.Handle("POST /suppressions", s.authed(s.addSuppression))
	mux.Handle("POST /suppressions/import", s.authed(s.importSuppressions))
	mux.Handle("GET /suppressions/export.csv", s.authed(s.exportSuppressions))
	mux.Handle("GET /suppressions/{id}/remove", s.authed(s.removeSuppressionForm))
	mux.Handle("POST /suppressions/{id}/remove", s.authed(s.removeSuppression))

	mux.Handle("GET /reports", s.authed(s.reports))
	mux.Handle("GET /reports.csv", s.authed(s.reportCSV))
	mux.Handle("GET /reports/senders", s.authed(s.senders))
	mux.Handle("GET /reports/unmatched", s.authed(s.unmatched))
	mux.Handle("GET /reports/unmatched/{id}", s.authed(s.unmatchedReport))

	mux.HandleFunc("GET /docs/api", s.apiDocs)
	mux.Handle("POST /mailings/{id}/send", s.authed(s.sendMailing))
	mux.Handle("POST /mailings/{id}/schedule", s.authed(s.scheduleMailing))
	mux.Handle("POST /mailings/{id}/cancel", s.authed(s.cancelMailing))
	mux.Handle("POST /mailings/{id}/resend", s.authed(s.resendMailing))
	mux.Handle("POST /mailings/{id}/disable", s.authed(s.disableMailing))
	mux.Handle("POST /mailings/{id}/enable", s.authed(s.enableMailing))
	mux.Handle("POST /mailings/{id}/duplicate", s.authed(s.duplicateMailing))
	mux.Handle("POST /mailings/{id}/test", s.authed(s.testMailing))

	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.errorPage(w, r, http.StatusForbidden, "error.csrf")
	}))
	ui := s.withRequest(cop.Handler(s.notFoundTo(mux)))
	unsub := s.unsubscribeRoutes()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := unsubscribeToken(r.URL.Path); ok {
			unsub.ServeHTTP(w, r)
			return
		}
		ui.ServeHTTP(w, r)
	})
}

// ---- per-request context: who and in which language

type ctxKey struct{}

type requestCtx struct {
	User      *simplesender.User
	L         *i18n.Localizer
	sessionID string
}

func reqCtx(r *http.Request) *requestCtx {
	if rc, ok := r.Context().Value(ctxKey{}).(*requestCtx); ok {
		return rc
	}
	return &requestCtx{}
}

func (rc *requestCtx) actor() *app.Actor { return &app.Actor{User: rc.User} }

// withRequest finds the session user and the language: the user's setting,
// then the switch's cookie, then Accept-Language.
func (s *Server) withRequest(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := &requestCtx{}
		if strings.HasPrefix(r.URL.Path, "/static/") {
			next.ServeHTTP(w, r)
			return
		}
		if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
			u, err := s.app.SessionUser(r.Context(), c.Value)
			switch {
			case err == nil:
				rc.User, rc.sessionID = u, c.Value
			case simplesender.IsKind(err, simplesender.KindUnauthenticated):
				s.clearCookie(w, sessionCookie)
			default:
				s.log.Error("load session", "err", err)
			}
		}
		if r.Method == http.MethodPost && r.URL.Path == "/recipients/import" && isUpload(r) {
			// A file: streamed by the handler, not parsed here.
			maxFile, _ := s.app.ImportLimits()
			r.Body = http.MaxBytesReader(w, r.Body, maxFile+maxFormBytes)
		} else if r.Method == http.MethodPost {
			var err error
			if avatarPaths[r.URL.Path] && isUpload(r) {
				// A form with a picture: kept in memory, checked by app.
				r.Body = http.MaxBytesReader(w, r.Body, maxAvatarPost)
				err = r.ParseMultipartForm(maxAvatarPost)
			} else {
				r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
				err = r.ParseForm()
			}
			if err != nil {
				rc.L = s.bundle.For(s.bundle.Match(r.Header.Get("Accept-Language")))
				r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, rc))
				var mbe *http.MaxBytesError
				if errors.As(err, &mbe) {
					s.errorPage(w, r, http.StatusRequestEntityTooLarge, "error.too_large")
					return
				}
				s.errorPage(w, r, http.StatusBadRequest, "error.bad_request")
				return
			}
		}
		var cookieLang string
		if c, err := r.Cookie(langCookie); err == nil {
			cookieLang = c.Value
		}
		userLang := ""
		if rc.User != nil {
			userLang = rc.User.Lang
		}
		rc.L = s.bundle.For(s.bundle.Match(userLang, cookieLang, r.Header.Get("Accept-Language")))
		w.Header().Set("Content-Language", rc.L.Lang())
		w.Header().Add("Vary", "Accept-Language, Cookie")
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, rc)))
	})
}

// authed sends anonymous visitors to the login page.
func (s *Server) authed(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if reqCtx(r).User == nil {
			if r.Method == http.MethodGet {
				redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()))
				return
			}
			s.errorPage(w, r, http.StatusUnauthorized, "error.unauthenticated")
			return
		}
		h(w, r)
	})
}

// notFoundTo answers unknown paths and wrong methods with a page in the
// user's language instead of the mux's plain text.
func (s *Server) notFoundTo(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern == "" {
			rec := &statusRecorder{header: http.Header{}}
			h.ServeHTTP(rec, r)
			if rec.status == http.StatusMethodNotAllowed {
				w.Header().Set("Allow", rec.header.Get("Allow"))
				s.errorPage(w, r, http.StatusMethodNotAllowed, "error.method")
				return
			}
			s.errorPage(w, r, http.StatusNotFound, "error.not_found")
			return
		}
		mux.ServeHTTP(w, r)
	})
}

type statusRecorder struct {
	header http.Header
	status int
}

func (s *statusRecorder) Header() http.Header         { return s.header }
func (s *statusRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (s *statusRecorder) WriteHeader(code int)        { s.status = code }

// ---- errors

// errorPage renders the friendly error page with a translated message.
func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, status int, key string, args ...any) {
	if r.Context().Value(ctxKey{}) == nil {
		// Outside withRequest (should not happen): still answer in a language.
		rc := &requestCtx{L: s.bundle.For(s.bundle.Match(r.Header.Get("Accept-Language")))}
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, rc))
	}
	l := reqCtx(r).L
	s.render(w, r, status, "error", &Page{Title: "page.error.title", Error: l.T(key, args...), Data: status})
}

// fail shows err: a form page again with messages for Invalid errors (when
// form is given), the error page otherwise. Internal errors are logged.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error, form string, p *Page) {
	e := simplesender.AsError(err)
	l := reqCtx(r).L
	if e.Kind == simplesender.KindInternal {
		s.log.Error("request failed", "path", r.URL.Path, "err", err)
		s.errorPage(w, r, http.StatusInternalServerError, "error.internal")
		return
	}
	// Browsers get the wait in words ("15 minutes"); Retry-After keeps
	// seconds for machines.
	var wait string
	if e.RetryAfterSeconds > 0 && (e.Kind == simplesender.KindRateLimited || e.Kind == simplesender.KindUnavailable) {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfterSeconds))
		wait = l.Wait(time.Duration(e.RetryAfterSeconds) * time.Second)
	}
	msg := e.Message
	if msg == "" {
		msg = "error." + e.Kind.String()
	}
	if form == "" || p == nil {
		s.errorPage(w, r, e.Kind.HTTPStatus(), msg, "Wait", wait)
		return
	}
	p.Errors = map[string]string{}
	for f, k := range e.Fields {
		p.Errors[f] = l.T(k, e.FieldArgs[f]...)
	}
	p.Error = l.T(msg, "Wait", wait)
	s.render(w, r, e.Kind.HTTPStatus(), form, p)
}

// ---- cookies and flashes

func (s *Server) setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: int(maxAge / time.Second),
		HttpOnly: true, Secure: s.cfg.SecureCookies, SameSite: http.SameSiteLaxMode})
}

func (s *Server) clearCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: s.cfg.SecureCookies, SameSite: http.SameSiteLaxMode})
}

// redirectFlash redirects to target (a path of this site, see redirect) with
// a one-time message. The cookie holds only a message key from our own
// catalogue, never user text.
func (s *Server) redirectFlash(w http.ResponseWriter, r *http.Request, target, kind, key string) {
	s.setCookie(w, flashCookie, s.sign(kind+":"+key), time.Minute)
	redirect(w, r, target)
}

func (s *Server) takeFlash(w http.ResponseWriter, r *http.Request) *flash {
	c, err := r.Cookie(flashCookie)
	if err != nil || c.Value == "" {
		return nil
	}
	s.clearCookie(w, flashCookie)
	v, ok := s.verify(c.Value)
	if !ok {
		return nil
	}
	kind, key, ok := strings.Cut(v, ":")
	l := reqCtx(r).L
	if !ok || (kind != "success" && kind != "error" && kind != "info") || !strings.HasPrefix(key, "flash.") || !l.Has(key) {
		return nil
	}
	return &flash{Kind: kind, Text: l.T(key)}
}

// sign appends an HMAC of v.
func (s *Server) sign(v string) string {
	m := hmac.New(sha256.New, s.cfg.SecretKey)
	m.Write([]byte(v))
	return v + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// verify returns the value of a signed string when its HMAC is right.
func (s *Server) verify(signed string) (string, bool) {
	i := strings.LastIndexByte(signed, '.')
	if i < 0 {
		return "", false
	}
	v := signed[:i]
	return v, hmac.Equal([]byte(s.sign(v)), []byte(signed))
}

// ---- small helpers

// clientIP is the peer address. Behind a reverse proxy every client shares
// the proxy's address; we do not trust forwarding headers by default.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func pathID(r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	return id, err == nil && id > 0
}

// pathID is the {id} of the path; a value that is no id is answered 404,
// and pathID returns false.
func (s *Server) pathID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, ok := pathID(r)
	if !ok {
		s.errorPage(w, r, http.StatusNotFound, "error.not_found")
	}
	return id, ok
}

// loadByID reads, with get, the object of the path's {id} as the viewer;
// when there is none the viewer may see, it answers 404 (or get's error
// page) and returns false.
func loadByID[T any](s *Server, w http.ResponseWriter, r *http.Request, get func(context.Context, *app.Actor, int64) (T, error)) (T, bool) {
	var zero T
	id, ok := s.pathID(w, r)
	if !ok {
		return zero, false
	}
	v, err := get(r.Context(), reqCtx(r).actor(), id)
	if err != nil {
		s.fail(w, r, err, "", nil)
		return zero, false
	}
	return v, true
}

// ownership is what a detail page says of whose object it shows.
type ownership struct {
	Owner  string // staff viewing another user's object: the owner's address
	Mine   bool
	Change *simplesender.AdminChange // an admin's last change, if any
}

// ownershipOf finds the ownership of the object of kind and id owned by
// ownerID, for the viewer; on an error it answers the error page and
// returns false.
func (s *Server) ownershipOf(w http.ResponseWriter, r *http.Request, kind string, id, ownerID int64) (ownership, bool) {
	rc := reqCtx(r)
	o := ownership{Mine: ownerID == rc.User.ID}
	if !o.Mine {
		o.Owner = s.ownerEmails(r.Context(), rc.actor(), []int64{ownerID})[ownerID]
	}
	var err error
	if o.Change, err = s.app.AdminChange(r.Context(), rc.actor(), kind, id); err != nil {
		s.fail(w, r, err, "", nil)
		return o, false
	}
	return o, true
}

func formValues(r *http.Request, names ...string) map[string]string {
	m := make(map[string]string, len(names))
	for _, n := range names {
		m[n] = r.PostFormValue(n)
	}
	return m
}

// maxFormBytes bounds a form post.
const maxFormBytes = 256 << 10
