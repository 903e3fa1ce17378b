package api

import (
	"net/http"
	"strconv"

	"simplesender"
	"simplesender/internal/app"
)

// runJSON is one send run of a mailing.
type runJSON struct {
	ID          int64                       `json:"id"`
	Number      int                         `json:"number"`
	Kind        simplesender.RunKind        `json:"kind"`
	Trigger     simplesender.Trigger        `json:"trigger"`
	ScheduledAt *string                     `json:"scheduled_at"`
	StartedAt   string                      `json:"started_at"`
	FinishedAt  *string                     `json:"finished_at"`
	Cancelled   bool                        `json:"cancelled"`
	Subject     string                      `json:"subject"`
	Counts      simplesender.DeliveryCounts `json:"counts"`
}

func runOf(r *simplesender.Run) *runJSON {
	if r == nil {
		return nil
	}
	return &runJSON{ID: r.ID, Number: r.Number, Kind: r.Kind, Trigger: r.Trigger, ScheduledAt: optTime(r.ScheduledAt),
		StartedAt: timeJSON(r.StartedAt), FinishedAt: optTime(r.FinishedAt), Cancelled: r.Cancelled, Subject: r.Subject,
		Counts: r.Counts}
}

// deliveryJSON is one recipient of one run.
type deliveryJSON struct {
	ID            int64   `json:"id"`
	RunID         int64   `json:"run_id"`
	RecipientID   int64   `json:"recipient_id"`
	Email         string  `json:"email"`
	FirstName     string  `json:"first_name"`
	LastName      string  `json:"last_name"`
	MiddleName    string  `json:"middle_name"`
	Status        string  `json:"status"`
	Attempts      int     `json:"attempts"`
	NextAttemptAt *string `json:"next_attempt_at"`
	LastCode      *int    `json:"last_code"` // null before the first attempt
	LastEnhanced  string  `json:"last_enhanced"`
	LastResponse  string  `json:"last_response"`
	SentAt        *string `json:"sent_at"`
	UpdatedAt     string  `json:"updated_at"`
	// Reports are the bounces and complaints that came back about it,
	// oldest first.
	Reports []reportJSON `json:"reports"`
}

func deliveryOf(d *simplesender.Delivery, reps []*app.DeliveryReport) deliveryJSON {
	out := deliveryJSON{ID: d.ID, RunID: d.RunID, RecipientID: d.RecipientID, Email: d.Email, FirstName: d.FirstName,
		LastName: d.LastName, MiddleName: d.MiddleName, Status: string(d.Status), Attempts: d.Attempts,
		NextAttemptAt: optTime(d.NextAttemptAt), LastEnhanced: d.LastEnhanced, LastResponse: d.LastResponse,
		SentAt: optTime(d.SentAt), UpdatedAt: timeJSON(d.UpdatedAt), Reports: make([]reportJSON, 0, len(reps))}
	for _, r := range reps {
		out.Reports = append(out.Reports, reportOf(r))
	}
	if d.Attempts > 0 || d.LastCode != 0 {
		code := d.LastCode
		out.LastCode = &code
	}
	return out
}

// deliveryList is a page of one run's deliveries, with the run (null when
// the mailing was never sent).
type deliveryList struct {
	list[deliveryJSON]
	Run *runJSON `json:"run"`
}

// attemptJSON is one try to hand a delivery to the mail server.
type attemptJSON struct {
	ID          int64  `json:"id"`
	DeliveryID  int64  `json:"delivery_id"`
	RunID       int64  `json:"run_id"`
	Email       string `json:"email"`
	AttemptedAt string `json:"attempted_at"`
	Status      string `json:"status"` // success or failure
	Code        int    `json:"code"`
	Enhanced    string `json:"enhanced"`
	Response    string `json:"response"`
}

func attemptOf(a *simplesender.Attempt) attemptJSON {
	st := "failure"
	if a.Success {
		st = "success"
	}
	return attemptJSON{ID: a.ID, DeliveryID: a.DeliveryID, RunID: a.RunID, Email: a.Email, AttemptedAt: timeJSON(a.AttemptedAt),
		Status: st, Code: a.Code, Enhanced: a.Enhanced, Response: a.Response}
}

// listRuns answers every send run of a mailing, newest first, as a list.
// Errors: NotFound.
func (x *API) listRuns(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	p, err := pagingOf(r)
	if err != nil {
		return err
	}
	runs, err := x.app.Runs(r.Context(), as(u), id)
	if err != nil {
		return err
	}
	out := list[runJSON]{Items: []runJSON{}, Total: len(runs), Page: p.Page, PerPage: p.PerPage, Pages: p.pages(len(runs))}
	if off := p.offset(); off < len(runs) {
		for _, run := range runs[off:min(off+p.PerPage, len(runs))] {
			out.Items = append(out.Items, *runOf(run))
		}
	}
	x.reply(w, http.StatusOK, out)
	return nil
}

// listDeliveries answers a page of the deliveries of a run (?run= its id;
// the last run by default), one per recipient, filtered by ?status= (pending
// takes in sending and deferred too) and ?q= (part of the address).
// Errors: NotFound (also an unknown run), BadRequest.
func (x *API) listDeliveries(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	p, err := pagingOf(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := app.DeliveryFilter{Status: simplesender.DeliveryStatus(q.Get("status")), Query: q.Get("q"),
		Limit: p.PerPage, Offset: p.offset()}
	bad := simplesender.FieldErrors{}
	if f.Status != "" && !f.Status.Valid() {
		bad.Add("status", "error.query.invalid")
	}
	if len(f.Query) > maxQueryLen {
		bad.Add("q", "error.query.invalid")
	}
	var runID int64
	if s := q.Get("run"); s != "" {
		if runID, err = strconv.ParseInt(s, 10, 64); err != nil || runID <= 0 {
			bad.Add("run", "error.query.invalid")
		}
	}
	if len(bad) > 0 {
		return badQuery(bad)
	}
	page, err := x.app.Deliveries(r.Context(), as(u), id, runID, f)
	if err != nil {
		return err
	}
	out := deliveryList{list: list[deliveryJSON]{Items: make([]deliveryJSON, 0, len(page.Deliveries)), Total: page.Total,
		Page: p.Page, PerPage: p.PerPage, Pages: p.pages(page.Total)}, Run: runOf(page.Run)}
	for _, d := range page.Deliveries {
		out.Items = append(out.Items, deliveryOf(d, page.Reports[d.ID]))
	}
	x.reply(w, http.StatusOK, out)
	return nil
}

// listAttempts answers a page of every attempt of a mailing, over all its
// runs, oldest first. Errors: NotFound, BadRequest.
func (x *API) listAttempts(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	p, err := pagingOf(r)
	if err != nil {
		return err
	}
	items, total, err := x.app.Attempts(r.Context(), as(u), id, p.PerPage, p.offset())
	if err != nil {
		return err
	}
	out := list[attemptJSON]{Items: make([]attemptJSON, 0, len(items)), Total: total, Page: p.Page, PerPage: p.PerPage, Pages: p.pages(total)}
	for _, a := range items {
		out.Items = append(out.Items, attemptOf(a))
	}
	x.reply(w, http.StatusOK, out)
	return nil
}

// attemptsCSV streams every attempt of a mailing as CSV (?bom=1 starts it
// with a UTF-8 byte order mark for Excel). Errors: NotFound, BadRequest.
func (x *API) attemptsCSV(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	bom, err := boolParam(r, "bom", false)
	if err != nil {
		return err
	}
	cw := &csvWriter{w: w, filename: "mailing-" + strconv.FormatInt(id, 10) + "-attempts.csv"}
	return x.finishCSV(r, cw, x.app.WriteAttemptsCSV(r.Context(), as(u), id, cw, bom))
}

// oneDeliveryJSON is one delivery with its mailing and its attempts.
type oneDeliveryJSON struct {
	deliveryJSON
	MailingID   int64         `json:"mailing_id"`
	AttemptList []attemptJSON `json:"attempt_list"`
}

// getDelivery answers one delivery with its attempts and the bounces and
// complaints that came back about it. Errors: NotFound.
func (x *API) getDelivery(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	d, err := x.app.Delivery(r.Context(), as(u), id)
	if err != nil {
		return err
	}
	out := oneDeliveryJSON{deliveryJSON: deliveryOf(d.Delivery, d.Reports), MailingID: d.MailingID,
		AttemptList: make([]attemptJSON, 0, len(d.Attempts))}
	for _, a := range d.Attempts {
		out.AttemptList = append(out.AttemptList, attemptOf(a))
	}
	x.reply(w, http.StatusOK, out)
	return nil
}
