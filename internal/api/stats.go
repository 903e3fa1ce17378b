package api

import (
	"net/http"

	"simplesender"
	"simplesender/internal/app"
)

// stats answers the caller's figures over all time; managers and admins get
// everyone's.
func (x *API) stats(w http.ResponseWriter, r *http.Request, u *simplesender.User) error {
	st, err := x.app.Stats(r.Context(), as(u))
	if err != nil {
		return err
	}
	x.reply(w, http.StatusOK, st)
	return nil
}

// statsUsers answers, for managers and admins, a page of users ordered by
// id, each with their own figures. Errors: Forbidden, BadRequest.
func (x *API) statsUsers(w http.ResponseWriter, r *http.Request, u *simplesender.User) error {
	p, err := pagingOf(r)
	if err != nil {
		return err
	}
	page, err := x.app.StatsUsers(r.Context(), as(u), p.PerPage, p.offset())
	if err != nil {
		return err
	}
	// app.Stats and app.UserStats carry the JSON names of the API.
	items := append([]app.UserStats{}, page.Items...) // never null
	x.reply(w, http.StatusOK, list[app.UserStats]{Items: items, Total: page.Total, Page: p.Page, PerPage: p.PerPage, Pages: p.pages(page.Total)})
	return nil
}

// periodOf reads ?from= and ?to= (dates YYYY-MM-DD; app checks them).
func periodOf(r *http.Request) app.Period {
	q := r.URL.Query()
	return app.Period{From: q.Get("from"), To: q.Get("to")}
}

// reportCSV downloads the report of the caller's mailings (staff: ?owner_id=
// names another user) over ?from= .. ?to= as CSV, ?bom=1 for Excel. Errors:
// Invalid (from, to), NotFound, BadRequest.
func (x *API) reportCSV(w http.ResponseWriter, r *http.Request, u *simplesender.User) error {
	bom, err := boolParam(r, "bom", false)
	if err != nil {
		return err
	}
	owner, ok := ownerIDOf(r)
	if !ok {
		return badQuery(simplesender.FieldErrors{"owner_id": "error.query.invalid"})
	}
	cw := &csvWriter{w: w, filename: "report.csv"}
	return x.finishCSV(r, cw, x.app.WriteReportCSV(r.Context(), as(u), cw, owner, periodOf(r), bom))
}

// usersReportCSV downloads the staff's report, one row per user, as CSV.
// Errors: Forbidden, Invalid (from, to), BadRequest.
func (x *API) usersReportCSV(w http.ResponseWriter, r *http.Request, u *simplesender.User) error {
	bom, err := boolParam(r, "bom", false)
	if err != nil {
		return err
	}
	cw := &csvWriter{w: w, filename: "report-users.csv"}
	return x.finishCSV(r, cw, x.app.WriteUsersReportCSV(r.Context(), as(u), cw, periodOf(r), bom))
}
