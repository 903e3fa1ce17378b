package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"simplesender"
	"simplesender/internal/app"
)

// ratesView is what the rates section of the reports and mailing pages
// shows: the figures of a period, the chart of bounce and complaint rates
// per day, and the period selector's shortcuts.
type ratesView struct {
	R         *app.Rates
	Chart     rateChart
	Shortcuts []periodShortcut
	Action    string // where the period form goes
	Hidden    map[string]string
	// PeriodError is the message key of a period that could not be read
	// (the default period is shown instead).
	PeriodError string
}

// periodShortcut is a link to the last N days.
type periodShortcut struct {
	Days    int
	URL     string
	Current bool
}

// newRatesView builds the view of r; base is the page's URL, whose query
// the shortcuts change.
func (s *Server) newRatesView(r *http.Request, rates *app.Rates, base *url.URL, fragment string) ratesView {
	v := ratesView{R: rates, Chart: newRateChart(rates.Days, s.app.Returns), Action: base.Path, Hidden: map[string]string{}}
	if u := r.URL.Query().Get("user"); u != "" {
		v.Hidden["user"] = u
	}
	for _, n := range []int{7, 30, 90} {
		p := s.app.PeriodLastDays(reqCtx(r).actor(), n)
		q := base.Query()
		q.Set("from", p.From)
		q.Set("to", p.To)
		q.Del("page")
		v.Shortcuts = append(v.Shortcuts, periodShortcut{Days: n, URL: base.Path + "?" + q.Encode() + fragment,
			Current: p.From == rates.From && p.To == rates.To})
	}
	return v
}

// Pct formats a percentage in the page's language: two decimals under 10,
// one above.
func (p *Page) Pct(v float64) string {
	prec := 2
	if v >= 10 {
		prec = 1
	}
	s := strconv.FormatFloat(v, 'f', prec, 64)
	if p.L != nil && p.L.Lang() == "ru" {
		return strings.Replace(s, ".", ",", 1) + "\u00a0%"
	}
	return s + "%"
}

// ---- the chart of bounce and complaint rates per day

// rateChart is a bar chart of the hard-bounce and complaint rates of each
// day, two bars side by side, with the two alert lines across; the
// template draws it as SVG.
type rateChart struct {
	Days  []app.RateDay
	Bars  []rateBar
	Ticks []rateTick
	// Labels are the dates under the axis.
	Labels []chartLabel
	// The lines: the complaint line and the hard-bounce alert rate.
	ComplaintY, BounceY       float64
	ComplaintLine, AlertRate  float64
	W, H, Left, Right, Bottom float64
}

type rateBar struct {
	Date                       string
	HardX, CompX, W            float64
	HardY, HardH, CompY, CompH float64
	app.Returns
}

type rateTick struct {
	Y     float64
	Value float64
}

func newRateChart(days []app.RateDay, rc app.ReturnsConfig) rateChart {
	alert := rc.BounceAlertRate
	if alert <= 0 {
		alert = 2
	}
	c := rateChart{Days: days, W: chartW, H: chartH, Left: chartLeft, Right: chartRight, Bottom: chartBottom,
		ComplaintLine: app.ComplaintLine, AlertRate: alert}
	peak := max(alert, app.ComplaintLine)
	for _, d := range days {
		if d.Rates != nil {
			peak = max(peak, d.Rates.HardBounce, d.Rates.Complaint)
		}
	}
	step := niceStepF(peak)
	top := step * float64(int(peak/step+0.999999))
	scale := (chartBottom - chartTop) / top
	for i := 0; float64(i)*step <= top+step/1000; i++ {
		v := float64(i) * step
		c.Ticks = append(c.Ticks, rateTick{Y: chartBottom - v*scale, Value: v})
	}
	c.ComplaintY, c.BounceY = chartBottom-app.ComplaintLine*scale, chartBottom-alert*scale
	if len(days) == 0 {
		return c
	}
	slot := (chartRight - chartLeft) / float64(len(days))
	gap := min(slot*0.2, 4)
	w := (slot - gap) / 2
	every := (len(days) + chartMaxDateLabels - 1) / chartMaxDateLabels
	for i, d := range days {
		x := chartLeft + float64(i)*slot + gap/2
		b := rateBar{Date: d.Date, HardX: x, CompX: x + w, W: w, Returns: d.Returns, HardY: chartBottom, CompY: chartBottom}
		if d.Rates != nil {
			b.HardH, b.CompH = d.Rates.HardBounce*scale, d.Rates.Complaint*scale
			b.HardY, b.CompY = chartBottom-b.HardH, chartBottom-b.CompH
		}
		c.Bars = append(c.Bars, b)
		if i%every == 0 {
			c.Labels = append(c.Labels, chartLabel{X: x + w, Text: d.Date[5:]})
		}
	}
	return c
}

// niceStepF is a step of 1, 2 or 5 times a power of ten that divides
// 0..peak into at most 5 intervals.
func niceStepF(peak float64) float64 {
	for pow := 0.01; ; pow *= 10 {
		for _, m := range []float64{1, 2, 5} {
			if m*pow*5 >= peak {
				return m * pow
			}
		}
	}
}

// TickText formats a tick of the rate chart.
func (p *Page) TickText(v float64) string {
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if p.L != nil && p.L.Lang() == "ru" {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s + "%"
}

// ---- the staff's page of senders

type sendersData struct {
	S     *app.Senders
	Pager pager
	Rates ratesView // the period selector (no figures)
	// Back is this page's URL, where the block and disable forms come back.
	Back string
}

// senders lists, for managers and admins, every user who sent in the
// period with their hard-bounce and complaint rates, worst first.
func (s *Server) senders(w http.ResponseWriter, r *http.Request) {
	rc := reqCtx(r)
	if !rc.User.Role.IsStaff() {
		s.errorPage(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	per := periodOf(r)
	p := &Page{Title: "page.senders.title", Nav: "reports", Form: map[string]string{"from": per.From, "to": per.To}}
	size := perPageParam(r)
	res, _, page, err := listPage(pageParam(r), size, func(off int) (*app.Senders, int, error) {
		res, err := s.app.SenderRatesPage(r.Context(), rc.actor(), per, size, off)
		if err != nil {
			return nil, 0, err
		}
		return res, res.Total, nil
	})
	if err != nil {
		p.Data = sendersData{}
		s.fail(w, r, err, formFor(err, "senders"), p)
		return
	}
	d := sendersData{S: res, Pager: newPager(r.URL, page, size, res.Total), Back: r.URL.RequestURI()}
	d.Rates = s.newRatesView(r, &app.Rates{From: res.From, To: res.To, TimeZone: res.TimeZone}, &url.URL{Path: "/reports/senders"}, "")
	p.Form["from"], p.Form["to"] = res.From, res.To
	p.Data = d
	s.render(w, r, http.StatusOK, "senders", p)
}

// ---- the staff's page of reports that matched no delivery

type unmatchedData struct {
	Reports []*app.DeliveryReport
	Pager   pager
}

func (s *Server) unmatched(w http.ResponseWriter, r *http.Request) {
	rc := reqCtx(r)
	if !rc.User.Role.IsStaff() {
		s.errorPage(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	p := &Page{Title: "page.unmatched.title", Nav: "reports"}
	size := perPageParam(r)
	total := 0
	reps, _, page, err := listPage(pageParam(r), size, func(off int) ([]*app.DeliveryReport, int, error) {
		reps, n, err := s.app.UnmatchedReports(r.Context(), rc.actor(), size, off)
		total = n
		return reps, n, err
	})
	if err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	p.Data = unmatchedData{Reports: reps, Pager: newPager(r.URL, page, size, total)}
	s.render(w, r, http.StatusOK, "unmatched", p)
}

type unmatchedReportData struct {
	R       *app.DeliveryReport
	Inbound bool   // the message is still stored
	Raw     string // its text while kept ("" after)
	Kept    bool
	Remote  string
	From    string
	To      string
	Error   string
}

func (s *Server) unmatchedReport(w http.ResponseWriter, r *http.Request) {
	rc := reqCtx(r)
	id, ok := pathID(r)
	if !ok || !rc.User.Role.IsStaff() {
		s.errorPage(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	rep, m, err := s.app.UnmatchedReport(r.Context(), rc.actor(), id)
	if err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	p := &Page{Title: "page.unmatched_report.title", Nav: "reports"}
	d := unmatchedReportData{R: rep}
	if m != nil {
		d.Inbound, d.Kept, d.Raw = true, m.Raw != nil, strings.ToValidUTF8(string(m.Raw), "\uFFFD")
		d.Remote, d.From, d.To, d.Error = m.Remote, m.EnvelopeFrom, m.EnvelopeTo, m.Error
	}
	p.Data = d
	s.render(w, r, http.StatusOK, "unmatched_report", p)
}

// mailingRates reads the rates section of a mailing's page: over the
// period of the query, or the default one (with the error) when that
// period cannot be read.
func (s *Server) mailingRates(r *http.Request, m *simplesender.Mailing) (*ratesView, error) {
	ac := reqCtx(r).actor()
	rates, err := s.app.MailingRates(r.Context(), ac, m.ID, periodOf(r))
	bad := ""
	if simplesender.IsKind(err, simplesender.KindInvalid) {
		bad = "error.period.date"
		if e := simplesender.AsError(err); e != nil {
			for _, k := range e.Fields {
				bad = k
				break
			}
		}
		rates, err = s.app.MailingRates(r.Context(), ac, m.ID, app.Period{})
	}
	if err != nil {
		return nil, err
	}
	v := s.newRatesView(r, rates, &url.URL{Path: "/mailings/" + strconv.FormatInt(m.ID, 10)}, "#rates")
	v.PeriodError = bad
	return &v, nil
}
