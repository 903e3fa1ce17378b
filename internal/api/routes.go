package api

import (
	"context"
	"net/http"
	"strings"

	"simplesender"
	"simplesender/internal/app"
)

// access says who may call a route.
type access int

const (
	// anyone: no authentication; an Authorization header is ignored.
	anyone access = iota
	// optionalUser: authenticated when an Authorization header is present
	// (and then it must be valid), anonymous otherwise.
	optionalUser
	// user: a valid bearer token of an active account is required.
	user
)

// handlerFunc serves one route. u is the authenticated caller, nil only for
// an anonymous caller of an anyone or optionalUser route. A returned error is
// answered by fail; a handler that returns nil has written its answer.
type handlerFunc func(w http.ResponseWriter, r *http.Request, u *simplesender.User) error

// idHandlerFunc serves a route whose path has an {id}: id is its value.
type idHandlerFunc func(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error

// byID makes h a handlerFunc that reads the path's {id} first; a value that
// is not a positive integer is NotFound (pathID) and h does not run.
func byID(h idHandlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, u *simplesender.User) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		return h(w, r, u, id)
	}
}

// route is one entry of the route table: a ServeMux pattern relative to
// Prefix, who may call it, and its handler.
type route struct {
	pattern string
	access  access
	h       handlerFunc
}

// routeTable is the one list of the API's routes. The OpenAPI document
// (openapi.go) describes each of them, and a test checks that the two agree.
func (x *API) routeTable() []route {
	return []route{
		{"GET /openapi.json", anyone, x.openAPI},

		{"POST /auth/register", anyone, x.register},
		{"POST /auth/confirm", anyone, x.confirm},
		{"POST /auth/password-reset", anyone, x.requestPasswordReset},
		{"POST /auth/password-reset/confirm", anyone, x.resetPassword},

		{"POST /tokens", optionalUser, x.createToken},
		{"GET /tokens", user, x.listTokens},
		{"DELETE /tokens/{id}", user, byID(x.revokeToken)},

		{"GET /me", user, x.me},
		{"PUT /me/avatar", user, x.putAvatar},
		{"DELETE /me/avatar", user, x.deleteAvatar},
		{"GET /me/sending", user, x.getSending},
		{"PUT /me/sending", user, x.putSending},

		{"GET /users", user, x.listUsers},
		{"GET /users/{id}", user, byID(x.getUser)},
		{"PATCH /users/{id}", user, byID(x.patchUser)},
		{"POST /users/{id}/block", user, byID(x.blockUser)},
		{"POST /users/{id}/unblock", user, byID(x.unblockUser)},

		{"GET /recipients", user, x.listRecipients},
		{"POST /recipients", user, x.createRecipient},
		{"GET /recipients.csv", user, x.exportRecipients},
		{"POST /recipients/bulk/count", user, x.countSelectedRecipients},
		{"POST /recipients/bulk/delete", user, x.deleteSelectedRecipients},
		{"POST /recipients/bulk/export.csv", user, x.exportSelectedRecipients},
		{"POST /recipients/bulk/add-to-list", user, x.bulkApply(app.BulkAddToList)},
		{"POST /recipients/bulk/remove-from-list", user, x.bulkApply(app.BulkRemoveFromList)},
		{"POST /recipients/bulk/tag", user, x.bulkApply(app.BulkTag)},
		{"POST /recipients/bulk/untag", user, x.bulkApply(app.BulkUntag)},
		{"POST /recipients/bulk/suppress", user, x.bulkApply(app.BulkSuppress)},
		{"POST /recipients/import", user, x.importRecipients},
		{"GET /imports/{id}", user, x.getImport},
		{"DELETE /imports/{id}", user, x.cancelImport},
		{"GET /recipients/{id}", user, byID(x.getRecipient)},
		{"PATCH /recipients/{id}", user, byID(x.patchRecipient)},
		{"DELETE /recipients/{id}", user, byID(x.deleteRecipient)},

		{"GET /lists", user, x.listLists},
		{"POST /lists", user, x.createList},
		{"GET /lists/{id}", user, byID(x.getList)},
		{"PATCH /lists/{id}", user, byID(x.patchList)},
		{"DELETE /lists/{id}", user, byID(x.deleteList)},
		{"GET /lists/{id}/recipients", user, byID(x.listListRecipients)},
		{"GET /segments", user, x.listSegments},
		{"POST /segments", user, x.createSegment},
		{"POST /segments/count", user, x.countSegment},
		{"GET /segments/{id}", user, byID(x.getSegment)},
		{"PUT /segments/{id}", user, byID(x.putSegment)},
		{"DELETE /segments/{id}", user, byID(x.deleteSegment)},
		{"GET /segments/{id}/recipients", user, byID(x.listSegmentRecipients)},

		{"GET /fields", user, x.listFields},
		{"POST /fields", user, x.createField},
		{"GET /fields/{id}", user, byID(x.getField)},
		{"PATCH /fields/{id}", user, byID(x.patchField)},
		{"DELETE /fields/{id}", user, byID(x.deleteField)},

		{"GET /messages", user, x.listMessages},
		{"POST /messages", user, x.createMessage},
		{"GET /messages/{id}", user, byID(x.getMessage)},
		{"PATCH /messages/{id}", user, byID(x.patchMessage)},
		{"DELETE /messages/{id}", user, byID(x.deleteMessage)},

		{"GET /mailings", user, x.listMailings},
		{"POST /mailings", user, x.createMailing},
		{"GET /mailings/{id}", user, byID(x.getMailing)},
		{"PATCH /mailings/{id}", user, byID(x.patchMailing)},
		{"DELETE /mailings/{id}", user, byID(x.deleteMailing)},
		{"POST /mailings/{id}/send", user, byID(x.sendMailing)},
		{"POST /mailings/{id}/schedule", user, byID(x.scheduleMailing)},
		{"POST /mailings/{id}/cancel", user, byID(x.cancelMailing)},
		{"POST /mailings/{id}/resend", user, byID(x.resendMailing)},
		{"POST /mailings/{id}/disable", user, byID(x.disableMailing)},
		{"POST /mailings/{id}/enable", user, byID(x.enableMailing)},
		{"POST /mailings/{id}/duplicate", user, byID(x.duplicateMailing)},
		{"POST /mailings/{id}/test", user, byID(x.testMailing)},
		{"GET /mailings/{id}/recipients", user, byID(x.listMailingRecipients)},
		{"GET /mailings/{id}/audience", user, byID(x.getMailingAudience)},
		{"GET /mailings/{id}/runs", user, byID(x.listRuns)},
		{"GET /mailings/{id}/deliveries", user, byID(x.listDeliveries)},
		{"GET /mailings/{id}/attempts", user, byID(x.listAttempts)},
		{"GET /deliveries/{id}", user, byID(x.getDelivery)},
		{"GET /mailings/{id}/attempts.csv", user, byID(x.attemptsCSV)},
		{"GET /mailings/{id}/rates", user, byID(x.mailingRates)},

		{"GET /identities", user, x.listIdentities},
		{"POST /identities", user, x.createIdentity},
		{"GET /identities/{id}", user, byID(x.getIdentity)},
		{"PATCH /identities/{id}", user, byID(x.patchIdentity)},
		{"DELETE /identities/{id}", user, byID(x.deleteIdentity)},
		{"GET /domains", user, x.listDomains},
		{"POST /domains", user, x.createDomain},
		{"GET /domains/{id}", user, byID(x.getDomain)},
		{"DELETE /domains/{id}", user, byID(x.deleteDomain)},
		{"POST /domains/{id}/verify", user, byID(x.domainAction(verifyDomain))},
		{"GET /domains/{id}/health", user, byID(x.domainHealth)},
		{"POST /domains/{id}/rotate", user, byID(x.domainAction(rotateKeys))},
		{"POST /domains/{id}/switch", user, byID(x.domainAction(switchKeys))},
		{"POST /domains/{id}/remove-retired", user, byID(x.domainAction(removeRetiredKeys))},
		{"GET /domain-rules", user, x.listDomainRules},
		{"POST /domain-rules", user, x.setDomainRule},
		{"GET /suppressions", user, x.listSuppressions},
		{"POST /suppressions", user, x.addSuppression},
		{"GET /suppressions.csv", user, x.exportSuppressions},
		{"POST /suppressions/import", user, x.importSuppressions},
		{"GET /suppressions/{id}", user, byID(x.getSuppression)},
		{"DELETE /suppressions/{id}", user, byID(x.removeSuppression)},

		{"GET /webhooks", user, x.listWebhooks},
		{"POST /webhooks", user, x.createWebhook},
		{"GET /webhooks/{id}", user, byID(x.getWebhook)},
		{"PATCH /webhooks/{id}", user, byID(x.patchWebhook)},
		{"DELETE /webhooks/{id}", user, byID(x.deleteWebhook)},
		{"POST /webhooks/{id}/test", user, byID(x.testWebhook)},
		{"POST /webhooks/{id}/rotate-secret", user, byID(x.rotateWebhookSecret)},
		{"GET /webhooks/{id}/log", user, byID(x.webhookLog)},

		{"GET /stats", user, x.stats},
		{"GET /stats/users", user, x.statsUsers},
		{"GET /reports/unmatched", user, x.unmatchedReports},
		{"GET /reports/unmatched/{id}", user, byID(x.unmatchedReport)},
		{"GET /reports/rates", user, x.reportRates},
		{"GET /reports/senders", user, x.senders},
		{"GET /reports.csv", user, x.reportCSV},
		{"GET /reports/users.csv", user, x.usersReportCSV},
	}
}

// routes registers every route of routeTable on the mux.
func (x *API) routes() {
	for _, rt := range x.routeTable() {
		method, path, _ := strings.Cut(rt.pattern, " ")
		pattern := method + " " + Prefix + path
		x.patterns[pattern] = true
		x.mux.Handle(pattern, x.handle(rt.access, rt.h))
	}
}

// userKey is the context key of the authenticated user.
type userKey struct{}

// requestUser returns the authenticated user of r, or nil.
func requestUser(r *http.Request) *simplesender.User {
	u, _ := r.Context().Value(userKey{}).(*simplesender.User)
	return u
}

// handle authenticates as acc asks, runs h, and answers h's error.
func (x *API) handle(acc access, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var u *simplesender.User
		if acc == user || (acc == optionalUser && r.Header.Get("Authorization") != "") {
			var err error
			if u, err = x.authenticate(w, r); err != nil {
				x.fail(w, r, err)
				return
			}
			r = r.WithContext(context.WithValue(r.Context(), userKey{}, u))
		}
		if err := h(w, r, u); err != nil {
			x.fail(w, r, err)
		}
	})
}

// authenticate returns the active user owning the request's bearer token.
// Errors: Unauthenticated, with a WWW-Authenticate header set on w.
func (x *API) authenticate(w http.ResponseWriter, r *http.Request) (*simplesender.User, error) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil, errUnauthenticated
	}
	u, err := x.app.TokenUser(r.Context(), strings.TrimSpace(token))
	if err == nil && u == nil {
		// Never let a nil user through as if authenticated.
		err = errUnauthenticated
	}
	if simplesender.IsKind(err, simplesender.KindUnauthenticated) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="simplesender", error="invalid_token"`)
	}
	return u, err
}

// as returns the app actor for the authenticated user u. A nil u, which only
// a route wrongly left open to anyone can produce, panics (answered 500): the
// API never acts without a user, and never as app.System.
func as(u *simplesender.User) *app.Actor {
	if u == nil {
		panic("api: a use case called without an authenticated user")
	}
	return &app.Actor{User: u}
}
