package app

import (
	"context"
	"io"
	"strconv"
	"time"

	"simplesender"
	"simplesender/internal/csvio"
)

// The CSV exports of the reports. Every CSV export writes through
// csvio.Writer: one byte order mark option, CRLF line ends, and one rule
// against formula injection (csvio.Neutralize) applied to every cell.

// figureColumns are the header cells of the figures of a report row.
var figureColumns = []string{"mailings", "mailings_active", "sent", "failed", "unknown", "pending", "cancelled",
	"attempts_success", "attempts_failure", "success_rate"}

func figureCells(f Figures) []string {
	rate := ""
	if r, ok := f.SuccessRate(); ok {
		rate = strconv.FormatFloat(r, 'f', 4, 64)
	}
	out := []string{}
	for _, n := range []int{f.Mailings, f.MailingsActive, f.Sent, f.Failed, f.Unknown, f.Pending, f.Cancelled,
		f.AttemptsSuccess, f.AttemptsFailure} {
		out = append(out, strconv.Itoa(n))
	}
	return append(out, rate)
}

// WriteReportCSV writes Report(ctx, ac, owner, p) as CSV to w: a header
// row, one row per mailing, and a last row whose mailing_id is "total".
// The columns are mailing_id, mailing, status, disabled, then the Figures
// (attempts in the period) and success_rate (0-1, 4 decimals, empty when
// undefined), then suppressed and suppressed_<reason> for each reason
// (deliveries not sent because the address is suppressed, as of now). Text cells are neutralised against formula injection. Errors:
// those of Report, and w's.
func (a *App) WriteReportCSV(ctx context.Context, ac *Actor, w io.Writer, owner int64, p Period, bom bool) error {
	r, err := a.Report(ctx, ac, owner, p)
	if err != nil {
		return err
	}
	// Suppressed deliveries, in all and by reason, come last: read from
	// the suppressed rows only, and only when there are any.
	reasons := map[int64]map[simplesender.SuppressionReason]int{}
	if r.Totals.Suppressed > 0 {
		ids := make([]int64, len(r.Mailings))
		for i, m := range r.Mailings {
			ids[i] = m.ID
		}
		if reasons, err = a.DB.Store().SuppressedReasonsOf(ctx, ids); err != nil {
			return err
		}
	}
	total := map[simplesender.SuppressionReason]int{}
	suppressed := func(n int, by map[simplesender.SuppressionReason]int) []string {
		out := []string{strconv.Itoa(n)}
		for _, rs := range simplesender.SuppressionReasons {
			out = append(out, strconv.Itoa(by[rs]))
		}
		return out
	}
	head := append([]string{"mailing_id", "mailing", "status", "disabled"}, figureColumns...)
	head = append(head, "suppressed")
	for _, rs := range simplesender.SuppressionReasons {
		head = append(head, "suppressed_"+string(rs))
	}
	cw := csvio.NewWriter(w, csvio.WriterOptions{BOM: bom})
	cw.Write(head...)
	for _, m := range r.Mailings {
		row := append([]string{strconv.FormatInt(m.ID, 10), m.Name, string(m.Status), strconv.FormatBool(m.Disabled)},
			figureCells(m.Figures)...)
		for rs, n := range reasons[m.ID] {
			total[rs] += n
		}
		cw.Write(append(row, suppressed(m.Figures.Suppressed, reasons[m.ID])...)...)
	}
	cw.Write(append(append([]string{"total", "", "", ""}, figureCells(r.Totals)...), suppressed(r.Totals.Suppressed, total)...)...)
	return cw.Flush()
}

// WriteUsersReportCSV writes the staff's report over period p as CSV to w:
// a header row, one row per user (every user, by id), and a last row whose
// user_id is "total". The columns are user_id, email, name, role, status,
// then the Figures and success_rate as in WriteReportCSV. Errors:
// Unauthenticated, Forbidden, Invalid, and w's.
func (a *App) WriteUsersReportCSV(ctx context.Context, ac *Actor, w io.Writer, p Period, bom bool) error {
	const per = 500
	page, err := a.UsersReport(ctx, ac, p, per, 0) // refused before anything is written
	if err != nil {
		return err
	}
	totals := page.Totals
	cw := csvio.NewWriter(w, csvio.WriterOptions{BOM: bom})
	cw.Write(append([]string{"user_id", "email", "name", "role", "status"}, figureColumns...)...)
	for offset := 0; ; {
		for _, u := range page.Users {
			cw.Write(append([]string{strconv.FormatInt(u.UserID, 10), u.Email, u.Name, string(u.Role), string(u.Status)},
				figureCells(u.Figures)...)...)
		}
		if len(page.Users) < per {
			break
		}
		if err := cw.Flush(); err != nil {
			return err
		}
		offset += per
		if page, err = a.UsersReport(ctx, ac, p, per, offset); err != nil {
			return err
		}
	}
	cw.Write(append([]string{"total", "", "", "", ""}, figureCells(totals)...)...)
	return cw.Flush()
}

// WriteAttemptsCSV streams every attempt of a mailing the actor may see as
// CSV to w, oldest first, without holding them in memory: columns id, run
// (the run's number), email, attempted_at (RFC 3339 in the actor's time
// zone), status (success or failure), code, enhanced, response. Text cells
// are neutralised against formula injection. Errors: Unauthenticated,
// NotFound, and w's.
func (a *App) WriteAttemptsCSV(ctx context.Context, ac *Actor, mailingID int64, w io.Writer, bom bool) error {
	if ac.anonymous() {
		return errUnauthenticated
	}
	if _, err := a.GetMailing(ctx, ac, mailingID); err != nil {
		return err
	}
	st := a.DB.Store()
	numbers, err := st.RunNumbers(ctx, mailingID)
	if err != nil {
		return err
	}
	cw := csvio.NewWriter(w, csvio.WriterOptions{BOM: bom})
	loc := ac.User.Location()
	cw.Write("id", "run", "email", "attempted_at", "status", "code", "enhanced", "response")
	n := 0
	err = st.EachAttempt(ctx, mailingID, func(at *simplesender.Attempt) error {
		status := "failure"
		if at.Success {
			status = "success"
		}
		cw.Write([]string{strconv.FormatInt(at.ID, 10), strconv.Itoa(numbers[at.RunID]), at.Email,
			at.AttemptedAt.In(loc).Format(time.RFC3339), status, strconv.Itoa(at.Code), at.Enhanced, at.Response}...)
		if n++; n%1000 == 0 {
			if err := cw.Flush(); err != nil {
				return err
			}
			return ctx.Err()
		}
		return nil
	})
	if err != nil {
		return err
	}
	return cw.Flush()
}
