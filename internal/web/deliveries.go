package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"simplesender"
	"simplesender/internal/app"
)

// deliveryFilters are the states the attempts page filters by: every one
// but sending, which "pending" takes in (with deferred).
var deliveryFilters = simplesender.DeliveryStatuses(func(st simplesender.DeliveryState) bool {
	return st.Status != simplesender.DeliverySending
})

type deliveriesData struct {
	M        *simplesender.Mailing
	Runs     []*simplesender.Run
	Page     *app.DeliveryPage
	RunID    int64
	Status   string
	Query    string
	Statuses []simplesender.DeliveryStatus
	Pager    pager
	// CanResendFailed and CanResendUnknown offer a new run to the last
	// run's failed or unknown deliveries.
	CanResendFailed, CanResendUnknown bool
}

// deliveries is the attempts page of a mailing: one run's deliveries with
// their state and every attempt.
func (s *Server) deliveries(w http.ResponseWriter, r *http.Request) {
	rc := reqCtx(r)
	m, ok := s.loadMailing(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	page, per, status, query := pageParam(r), perPageParam(r), q.Get("status"), strings.TrimSpace(q.Get("q"))
	runID, _ := strconv.ParseInt(q.Get("run"), 10, 64)
	if !slices.Contains(deliveryFilters, simplesender.DeliveryStatus(status)) {
		status = ""
	}
	runs, err := s.app.Runs(r.Context(), rc.actor(), m.ID)
	if err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	dp, _, page, err := listPage(page, per, func(off int) (*app.DeliveryPage, int, error) {
		dp, err := s.app.Deliveries(r.Context(), rc.actor(), m.ID, max(runID, 0), app.DeliveryFilter{
			Status: simplesender.DeliveryStatus(status), Query: query, Limit: per, Offset: off})
		if err != nil {
			return nil, 0, err
		}
		return dp, dp.Total, nil
	})
	if err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	d := deliveriesData{M: m, Runs: runs, Page: dp, Status: status, Query: query, Statuses: deliveryFilters,
		Pager: newPager(r.URL, page, per, dp.Total)}
	if dp.Run != nil {
		d.RunID = dp.Run.ID
	}
	st := stateOf(m, s.app.Now())
	idle := rc.actor().Can(app.ActSend, m.OwnerID) && !m.Disabled() && !st.Sending && !st.Queued
	d.CanResendFailed = idle && m.Counts.Failed > 0
	d.CanResendUnknown = idle && m.Counts.Unknown > 0
	s.render(w, r, http.StatusOK, "deliveries", &Page{Title: "page.deliveries.title", Nav: "mailings", Data: d})
}
