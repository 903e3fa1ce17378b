package web

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"simplesender"
	"simplesender/internal/app"
)

// reportData is the reports page: a user's report (Report), or for managers
// and admins without ?user= the report of every user (Users).
type reportData struct {
	Report *app.Report
	Users  *app.UsersReport
	// Target is the user whose report staff are reading; nil for the
	// viewer's own.
	Target *simplesender.User
	Totals app.Figures
	// Suppressed counts the report's suppressed deliveries by reason (a
	// user's report only).
	Suppressed map[simplesender.SuppressionReason]int
	Zone       string
	From       string
	To         string
	Chart      chart
	Pager      pager
	// CSVURL and ExcelURL download what the page shows, as CSV (with a
	// byte order mark for Excel). Built whole here: html/template escapes a
	// value in a URL's query as one parameter's value, so a query string
	// put after a "?" in a template loses its "&" and "=".
	CSVURL, ExcelURL string
	// Rates: what came back over the period (a user's report only).
	Rates *ratesView
}

// periodOf reads the period of a reports request.
func periodOf(r *http.Request) app.Period {
	q := r.URL.Query()
	return app.Period{From: strings.TrimSpace(q.Get("from")), To: strings.TrimSpace(q.Get("to"))}
}

// reportQuery reads the report asked for: the period and ?user= (0 for
// none). A user that is no id is answered 404, and reportQuery returns false.
func (s *Server) reportQuery(w http.ResponseWriter, r *http.Request) (per app.Period, owner int64, ok bool) {
	per = periodOf(r)
	v := r.URL.Query().Get("user")
	if v == "" {
		return per, 0, true
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		s.errorPage(w, r, http.StatusNotFound, "error.not_found")
		return per, 0, false
	}
	return per, id, true
}

// reports shows the viewer's report, another user's to staff (?user=ID), or
// the report of every user to staff (no ?user=).
func (s *Server) reports(w http.ResponseWriter, r *http.Request) {
	rc := reqCtx(r)
	per, owner, ok := s.reportQuery(w, r)
	if !ok {
		return
	}
	p := &Page{Title: "page.reports.title", Nav: "reports", Form: map[string]string{"from": per.From, "to": per.To, "user": r.URL.Query().Get("user")}}
	d := reportData{}
	p.Data = d
	if owner == 0 && rc.User.Role.IsStaff() {
		size := perPageParam(r)
		ur, _, page, err := listPage(pageParam(r), size, func(off int) (*app.UsersReport, int, error) {
			ur, err := s.app.UsersReport(r.Context(), rc.actor(), per, size, off)
			if err != nil {
				return nil, 0, err
			}
			return ur, ur.Total, nil
		})
		if err != nil {
			s.fail(w, r, err, formFor(err, "reports"), p)
			return
		}
		d.Users, d.Totals, d.Zone, d.From, d.To = ur, ur.Totals, ur.TimeZone, ur.From, ur.To
		d.Pager = newPager(r.URL, page, size, ur.Total)
		d.Chart = newChart(ur.Days)
	} else {
		rep, err := s.app.Report(r.Context(), rc.actor(), owner, per)
		if err != nil {
			s.fail(w, r, err, formFor(err, "reports"), p)
			return
		}
		if rep.OwnerID != rc.User.ID {
			if d.Target, err = s.app.GetUser(r.Context(), rc.actor(), rep.OwnerID); err != nil {
				s.fail(w, r, err, "", nil)
				return
			}
		}
		d.Report, d.Totals, d.Zone, d.From, d.To = rep, rep.Totals, rep.TimeZone, rep.From, rep.To
		if d.Suppressed, err = s.app.ReportSuppressedReasons(r.Context(), rep); err != nil {
			s.fail(w, r, err, "", nil)
			return
		}
		d.Chart = newChart(rep.Days)
		rates, err := s.app.ReportRates(r.Context(), rc.actor(), owner, per)
		if err != nil {
			s.fail(w, r, err, "", nil)
			return
		}
		v := s.newRatesView(r, rates, r.URL, "")
		d.Rates = &v
	}
	v := url.Values{"from": {d.From}, "to": {d.To}}
	if owner != 0 {
		v.Set("user", strconv.FormatInt(owner, 10))
	}
	d.CSVURL = "/reports.csv?" + v.Encode()
	v.Set("bom", "1")
	d.ExcelURL = "/reports.csv?" + v.Encode()
	p.Form["from"], p.Form["to"] = d.From, d.To
	p.Data = d
	s.render(w, r, http.StatusOK, "reports", p)
}

// Rate formats the success rate of f as a percentage in the page's
// language, or a dash when no delivery has an outcome yet.
func (p *Page) Rate(f app.Figures) string {
	rate, ok := f.SuccessRate()
	if !ok {
		return "—"
	}
	s := strconv.FormatFloat(rate*100, 'f', 1, 64)
	if p.L != nil && p.L.Lang() == "ru" {
		s = strings.Replace(s, ".", ",", 1) + "\u00a0%"
	} else {
		s += "%"
	}
	return s
}

// reportCSV exports the report the reports page shows: the viewer's (or,
// for staff, ?user='s), or every user's for staff without ?user=.
func (s *Server) reportCSV(w http.ResponseWriter, r *http.Request) {
	rc := reqCtx(r)
	per, owner, ok := s.reportQuery(w, r)
	if !ok {
		return
	}
	bom := r.URL.Query().Get("bom") == "1"
	dates := ""
	if isDate(per.From) && isDate(per.To) {
		dates = "-" + per.From + "-" + per.To
	}
	var err error
	if owner == 0 && rc.User.Role.IsStaff() {
		out := newCSVResponse(w, "users-report"+dates+".csv")
		err = s.app.WriteUsersReportCSV(r.Context(), rc.actor(), out, per, bom)
		s.endCSV(w, r, out, err)
		return
	}
	name := "report" + dates + ".csv"
	if owner != 0 {
		name = "report-user-" + strconv.FormatInt(owner, 10) + dates + ".csv"
	}
	out := newCSVResponse(w, name)
	err = s.app.WriteReportCSV(r.Context(), rc.actor(), out, owner, per, bom)
	s.endCSV(w, r, out, err)
}

// attemptsCSV exports every attempt of a mailing.
func (s *Server) attemptsCSV(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	out := newCSVResponse(w, "mailing-"+strconv.FormatInt(id, 10)+"-attempts.csv")
	err := s.app.WriteAttemptsCSV(r.Context(), reqCtx(r).actor(), id, out, r.URL.Query().Get("bom") == "1")
	s.endCSV(w, r, out, err)
}

var datePattern = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

func isDate(s string) bool { return datePattern.MatchString(s) }

// csvResponse sends the CSV headers with the first byte written, so that
// an error found before anything is written can still be an error page.
type csvResponse struct {
	w       http.ResponseWriter
	name    string // ASCII file name
	started bool
}

func newCSVResponse(w http.ResponseWriter, name string) *csvResponse {
	return &csvResponse{w: w, name: name}
}

func (c *csvResponse) Write(b []byte) (int, error) {
	if !c.started {
		c.started = true
		h := c.w.Header()
		h.Set("Content-Type", "text/csv; charset=utf-8")
		h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": c.name}))
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		c.w.WriteHeader(http.StatusOK)
	}
	return c.w.Write(b)
}

var _ io.Writer = (*csvResponse)(nil)

// endCSV finishes an export: an error before the first byte is an error
// page; after it, the download is cut short (the browser sees it fail) and
// the error is logged.
func (s *Server) endCSV(w http.ResponseWriter, r *http.Request, out *csvResponse, err error) {
	if err == nil {
		if !out.started {
			_, _ = out.Write(nil)
		}
		return
	}
	if !out.started {
		s.fail(w, r, err, "", nil)
		return
	}
	s.log.Error("CSV export cut short", "path", r.URL.Path, "err", err)
	panic(http.ErrAbortHandler)
}

// ---- the chart of attempts per day

// chart is a bar chart of attempts per day, drawn by the template as SVG:
// each day a bar of successful attempts with the failed ones on top.
type chart struct {
	Days          []app.Day
	Bars          []chartBar
	Ticks         []chartTick
	Labels        []chartLabel
	Success, Fail int // totals over the days
	// The plot area inside the SVG's viewBox (0 0 W H).
	W, H, Left, Top, Right, Bottom float64
}

type chartBar struct {
	X, W, SuccY, SuccH, FailY, FailH float64
	Date                             string
	Success, Failure                 int
}

type chartTick struct {
	Y     float64
	Value int
}

type chartLabel struct {
	X    float64
	Text string
}

const (
	chartW, chartH     = 760.0, 260.0
	chartLeft          = 48.0
	chartRight         = chartW - 8
	chartTop           = 12.0
	chartBottom        = chartH - 28
	chartMaxDateLabels = 8
)

func newChart(days []app.Day) chart {
	c := chart{Days: days, W: chartW, H: chartH, Left: chartLeft, Top: chartTop, Right: chartRight, Bottom: chartBottom}
	if len(days) == 0 {
		return c
	}
	peak := 0
	for _, d := range days {
		c.Success += d.Success
		c.Fail += d.Failure
		peak = max(peak, d.Success+d.Failure)
	}
	step := niceStep(max(peak, 1))
	top := step * ((max(peak, 1) + step - 1) / step)
	scale := (chartBottom - chartTop) / float64(top)
	for v := 0; v <= top; v += step {
		c.Ticks = append(c.Ticks, chartTick{Y: chartBottom - float64(v)*scale, Value: v})
	}
	slot := (chartRight - chartLeft) / float64(len(days))
	gap := min(slot*0.2, 4)
	every := (len(days) + chartMaxDateLabels - 1) / chartMaxDateLabels
	for i, d := range days {
		x := chartLeft + float64(i)*slot
		sh, fh := float64(d.Success)*scale, float64(d.Failure)*scale
		c.Bars = append(c.Bars, chartBar{X: x + gap/2, W: slot - gap, SuccY: chartBottom - sh, SuccH: sh,
			FailY: chartBottom - sh - fh, FailH: fh, Date: d.Date, Success: d.Success, Failure: d.Failure})
		if i%every == 0 {
			c.Labels = append(c.Labels, chartLabel{X: x + slot/2, Text: d.Date[5:]})
		}
	}
	return c
}

// niceStep is a step of 1, 2 or 5 times a power of ten that divides
// 0..peak into at most 5 intervals.
func niceStep(peak int) int {
	for pow := 1; ; pow *= 10 {
		for _, m := range []int{1, 2, 5} {
			if m*pow*5 >= peak {
				return m * pow
			}
		}
	}
}

// f1 formats a coordinate for SVG.
func f1(v float64) string { return fmt.Sprintf("%.1f", v) }

// SuppressedReasons lists, in the order of simplesender.SuppressionReasons,
// the reasons the report's suppressed deliveries had.
func (d reportData) SuppressedReasons() []simplesender.SuppressionReason {
	var out []simplesender.SuppressionReason
	for _, r := range simplesender.SuppressionReasons {
		if d.Suppressed[r] > 0 {
			out = append(out, r)
		}
	}
	return out
}
