package app

import (
	"time"

	"simplesender"
	"simplesender/internal/store"
)

// Figures are the numbers of a report row: one mailing, one user, or
// everyone. No two of them count the same thing:
//
//   - Mailings: mailings that exist now. MailingsActive: of them, those
//     running (being sent, or scheduled to be).
//   - Sent: e-mails accepted by the recipient's mail server (deliveries in
//     state sent), over every run of every mailing, as of now.
//   - Failed: deliveries that failed for good (refused, or given up after
//     the retries). Unknown: deliveries whose outcome cannot be known (the
//     sending process stopped mid-send; never resent on its own).
//     Pending: deliveries waiting, being sent, or deferred for a retry.
//     Cancelled: deliveries cancelled before they were tried. A delivery is
//     one recipient in one run, so a recipient who failed in a run and got
//     the message in a later "resend failed" run counts once in Failed and
//     once in Sent. Suppressed, Bounced, Complained: the states that come
//     back from the outside world (a bounce report moves a delivery from
//     Sent to Bounced). Together with them, Sent+Failed+Unknown+Pending+
//     Cancelled is every delivery.
//   - AttemptsSuccess, AttemptsFailure: tries to hand an e-mail to the mail
//     server in the report's period (all time in Stats), by outcome. A
//     delivery deferred twice and then sent makes 2 failed attempts and 1
//     successful one. Over all time every sent delivery has exactly one
//     successful attempt, which is why reports show attempts for a period
//     only, beside the deliveries as of now.
//
// SuccessRate derives from the deliveries: see its doc.
type Figures struct {
	Mailings        int `json:"mailings"`
	MailingsActive  int `json:"mailings_active"`
	Sent            int `json:"sent"`
	Failed          int `json:"failed"`
	Unknown         int `json:"unknown"`
	Pending         int `json:"pending"`
	Cancelled       int `json:"cancelled"`
	Suppressed      int `json:"suppressed"`
	Bounced         int `json:"bounced"`
	Complained      int `json:"complained"`
	AttemptsSuccess int `json:"attempts_success"`
	AttemptsFailure int `json:"attempts_failure"`
}

// SuccessRate is the share of deliveries with a known final outcome that
// the mail server accepted: Sent / (Sent + Failed + Unknown), from 0 to 1.
// Pending and cancelled deliveries do not count. ok is false when no
// delivery has a final outcome yet (show a dash, not 0%).
func (f Figures) SuccessRate() (rate float64, ok bool) {
	done := f.Sent + f.Failed + f.Unknown
	if done == 0 {
		return 0, false
	}
	return float64(f.Sent) / float64(done), true
}

func (f *Figures) add(o Figures) {
	c := store.FigureCounts(*f)
	c.Add(store.FigureCounts(o))
	*f = Figures(c)
}

// MailingFigures is one mailing's row of a report.
type MailingFigures struct {
	ID        int64                      `json:"id"`
	Name      string                     `json:"name"`
	Status    simplesender.MailingStatus `json:"status"`
	Disabled  bool                       `json:"disabled"`
	CreatedAt time.Time                  `json:"created_at"`
	Figures
}

// UserFigures is one user's row of the staff's report.
type UserFigures struct {
	UserID int64               `json:"user_id"`
	Email  string              `json:"email"`
	Name   string              `json:"name"`
	Role   simplesender.Role   `json:"role"`
	Status simplesender.Status `json:"status"`
	Figures
}

// Day is one day of the chart: the attempts made between the day's local
// midnight and the next (days follow the time zone's daylight saving time,
// so a day may last 23 or 25 hours).
type Day struct {
	Date    string    `json:"date"`  // YYYY-MM-DD in the report's time zone
	Start   time.Time `json:"start"` // the local midnight that starts it, as an instant
	Success int       `json:"success"`
	Failure int       `json:"failure"`
}

// Period is a range of whole days in the viewer's time zone (the actor's
// profile setting; UTC when unset): From and To are dates "YYYY-MM-DD", both
// included. Empty From and To mean the 30 days ending today; one of them
// empty means a 30-day period starting or ending on the other. Errors
// (Invalid, fields "from" and "to"): "error.period.date" for a date that does
// not parse, "error.period.order" when To is before From,
// "error.period.long" for more than 366 days.
type Period struct {
	From, To string
}

// Report is a user's report: their mailings, totals and the chart.
type Report struct {
	OwnerID  int64     `json:"owner_id"`
	TimeZone string    `json:"time_zone"` // IANA name the days follow
	From     string    `json:"from"`      // first day, YYYY-MM-DD
	To       string    `json:"to"`        // last day, YYYY-MM-DD
	Start    time.Time `json:"start"`     // the period as instants: [Start, End)
	End      time.Time `json:"end"`
	// Totals add up the mailings' rows.
	Totals   Figures          `json:"totals"`
	Mailings []MailingFigures `json:"mailings"` // newest first
	Days     []Day            `json:"days"`     // every day of the period, oldest first
}

// UsersReport is the staff's report: one row per user of the page asked
// for, totals over everyone, and the chart of everyone's attempts.
type UsersReport struct {
	TimeZone string        `json:"time_zone"`
	From     string        `json:"from"`
	To       string        `json:"to"`
	Start    time.Time     `json:"start"`
	End      time.Time     `json:"end"`
	Totals   Figures       `json:"totals"` // every user, not only the page
	Users    []UserFigures `json:"users"`  // ordered by user id
	Total    int           `json:"total"`  // users in all (for paging)
	Days     []Day         `json:"days"`
}

// Stats are the figures of GET /api/v1/stats, over all time: the actor's own
// for a regular user, everyone's for managers and admins. MailingsTotal and
// MailingsActive are Figures.Mailings and .MailingsActive; MessagesSent is
// Figures.Sent; AttemptsSuccess and AttemptsFailure count every attempt ever
// made (so AttemptsSuccess equals MessagesSent but for a delivery whose
// sender was declared dead while it was in fact finishing). RecipientsUnique
// is the number of distinct addresses in the address book (everyone's
// address books for staff: an address two users keep counts once).
type Stats struct {
	MailingsTotal    int `json:"mailings_total"`
	MailingsActive   int `json:"mailings_active"`
	RecipientsUnique int `json:"recipients_unique"`
	MessagesSent     int `json:"messages_sent"`
	AttemptsSuccess  int `json:"attempts_success"`
	AttemptsFailure  int `json:"attempts_failure"`
}

// UserStats is one row of GET /api/v1/stats/users: Stats of one user (the
// user's own address book for RecipientsUnique).
type UserStats struct {
	UserID int64  `json:"user_id"`
	Email  string `json:"email"`
	Stats
}

func statsOf(c store.FigureCounts, recipients int) Stats {
	return Stats{MailingsTotal: c.Mailings, MailingsActive: c.MailingsActive, RecipientsUnique: recipients,
		MessagesSent: c.Sent, AttemptsSuccess: c.AttemptsSuccess, AttemptsFailure: c.AttemptsFailure}
}
