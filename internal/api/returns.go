package api

import (
	"net/http"
	"time"

	"simplesender"
	"simplesender/internal/app"
)

// reportJSON is a report that came back (a bounce, a complaint) as the API
// shows it.
type reportJSON struct {
	ID         int64     `json:"id"`
	ReceivedAt time.Time `json:"received_at"`
	Source     string    `json:"source"`
	Kind       string    `json:"kind"`
	Email      string    `json:"email"`
	Status     string    `json:"status"`
	Diagnostic string    `json:"diagnostic"`
	Applied    string    `json:"applied"`
}

// unmatchedReports lists the reports that named no delivery (staff).
func (x *API) unmatchedReports(w http.ResponseWriter, r *http.Request, u *simplesender.User) error {
	p, err := pagingOf(r)
	if err != nil {
		return err
	}
	reps, total, err := x.app.UnmatchedReports(r.Context(), as(u), p.PerPage, p.offset())
	if err != nil {
		return err
	}
	out := list[reportJSON]{Items: make([]reportJSON, 0, len(reps)), Total: total, Page: p.Page, PerPage: p.PerPage, Pages: p.pages(total)}
	for _, d := range reps {
		out.Items = append(out.Items, reportOf(d))
	}
	x.reply(w, http.StatusOK, out)
	return nil
}

func reportOf(d *app.DeliveryReport) reportJSON {
	return reportJSON{ID: d.ID, ReceivedAt: d.ReceivedAt, Source: d.Source, Kind: d.Kind,
		Email: d.Email, Status: d.Status, Diagnostic: d.Diagnostic, Applied: d.Applied}
}
