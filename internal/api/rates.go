package api

import (
	"net/http"
	"time"

	"simplesender"
	"simplesender/internal/app"
)

// reportRates answers what came back for the caller's mailings over ?from=
// .. ?to= (staff: ?owner_id= names another user). Errors: Invalid (from,
// to), NotFound, BadRequest.
func (x *API) reportRates(w http.ResponseWriter, r *http.Request, u *simplesender.User) error {
	owner, ok := ownerIDOf(r)
	if !ok {
		return badQuery(simplesender.FieldErrors{"owner_id": "error.query.invalid"})
	}
	rates, err := x.app.ReportRates(r.Context(), as(u), owner, periodOf(r))
	if err != nil {
		return err
	}
	x.reply(w, http.StatusOK, rates)
	return nil
}

// mailingRates answers what came back for one mailing over ?from= .. ?to=.
// Errors: NotFound, Invalid (from, to).
func (x *API) mailingRates(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	rates, err := x.app.MailingRates(r.Context(), as(u), id, periodOf(r))
	if err != nil {
		return err
	}
	x.reply(w, http.StatusOK, rates)
	return nil
}

// sendersPage is a page of the staff's list of senders.
type sendersPage struct {
	*app.Senders
	Page    int `json:"page"`
	PerPage int `json:"per_page"`
	Pages   int `json:"pages"`
}

// senders answers, for managers and admins, every user who sent or got
// anything back over ?from= .. ?to=, worst first. Errors: Forbidden,
// Invalid (from, to), BadRequest.
func (x *API) senders(w http.ResponseWriter, r *http.Request, u *simplesender.User) error {
	p, err := pagingOf(r)
	if err != nil {
		return err
	}
	res, err := x.app.SenderRatesPage(r.Context(), as(u), periodOf(r), p.PerPage, p.offset())
	if err != nil {
		return err
	}
	x.reply(w, http.StatusOK, sendersPage{Senders: res, Page: p.Page, PerPage: p.PerPage, Pages: p.pages(res.Total)})
	return nil
}

// unmatchedReportJSON is one unmatched report with the message it came in.
type unmatchedReportJSON struct {
	reportJSON
	// Raw is the message as received (a webhook's body), null once the
	// retention time has passed.
	Raw          *string   `json:"raw"`
	Remote       string    `json:"remote"`
	EnvelopeFrom string    `json:"envelope_from"`
	EnvelopeTo   string    `json:"envelope_to"`
	Error        string    `json:"error"`
	ProcessedAt  time.Time `json:"processed_at"`
}

// unmatchedReport answers one report that named no delivery, with its raw
// message while kept (staff). Errors: Forbidden, NotFound.
func (x *API) unmatchedReport(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	d, m, err := x.app.UnmatchedReport(r.Context(), as(u), id)
	if err != nil {
		return err
	}
	out := unmatchedReportJSON{reportJSON: reportJSON{ID: d.ID, ReceivedAt: d.ReceivedAt, Source: d.Source, Kind: d.Kind,
		Email: d.Email, Status: d.Status, Diagnostic: d.Diagnostic, Applied: d.Applied}}
	if m != nil {
		out.Remote, out.EnvelopeFrom, out.EnvelopeTo, out.Error, out.ProcessedAt = m.Remote, m.EnvelopeFrom, m.EnvelopeTo, m.Error, m.ProcessedAt
		if m.Raw != nil {
			s := string(m.Raw)
			out.Raw = &s
		}
	}
	x.reply(w, http.StatusOK, out)
	return nil
}
