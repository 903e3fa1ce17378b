package api

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/csvio"
)

// importRowJSON is a row that was not imported, and why.
type importRowJSON struct {
	Line   int               `json:"line"`
	Email  string            `json:"email"`
	Fields map[string]string `json:"fields"` // field (or "row") -> message
}

// importDuplicateJSON is a row ignored because its address came earlier.
type importDuplicateJSON struct {
	Line      int    `json:"line"`
	FirstLine int    `json:"first_line"`
	Email     string `json:"email"`
}

// importFormatJSON is how the file was read.
type importFormatJSON struct {
	Encoding  string   `json:"encoding"`
	BOM       bool     `json:"bom"`
	Separator string   `json:"separator"`
	Header    []string `json:"header"`  // null when the file has no header row
	Mapping   []string `json:"mapping"` // field of each column; "" for an ignored one
}

// importJSON is the summary of an import.
type importJSON struct {
	app.ImportCounts
	Committed     bool                  `json:"committed"`
	DryRun        bool                  `json:"dry_run"`
	Format        importFormatJSON      `json:"format"`
	Errors        []importRowJSON       `json:"errors"`
	DuplicateRows []importDuplicateJSON `json:"duplicate_rows"`
	// Suppressed counts the rows whose address is suppressed: imported,
	// and still not mailed; SuppressedRows lists the first ones.
	Suppressed     int                    `json:"suppressed"`
	SuppressedRows []app.ImportSuppressed `json:"suppressed_rows"`
}

// importOf builds the summary of res, with messages in the caller's language.
func (x *API) importOf(r *http.Request, res *app.ImportResult, dry bool) importJSON {
	l := x.bundle.For(x.lang(r))
	f := res.Format
	out := importJSON{ImportCounts: res.ImportCounts, Committed: res.Committed, DryRun: dry,
		Format: importFormatJSON{Encoding: string(f.Encoding), BOM: f.BOM, Separator: string(f.Separator),
			Header: f.Header, Mapping: make([]string, len(f.Mapping))},
		Errors: make([]importRowJSON, 0, len(res.Errors)), DuplicateRows: make([]importDuplicateJSON, 0, len(res.DuplicateRows)),
		Suppressed: res.Suppressed, SuppressedRows: append([]app.ImportSuppressed{}, res.SuppressedRows...)}
	for i, m := range f.Mapping {
		out.Format.Mapping[i] = string(m)
	}
	for _, e := range res.Errors {
		row := importRowJSON{Line: e.Line, Email: e.Email, Fields: map[string]string{}}
		for field, key := range e.Fields {
			row.Fields[field] = x.text(r.Context(), l, key, "error.invalid")
		}
		out.Errors = append(out.Errors, row)
	}
	for _, d := range res.DuplicateRows {
		out.DuplicateRows = append(out.DuplicateRows, importDuplicateJSON(d))
	}
	return out
}

// importOptions reads the options of an import from the query: mode=skip
// (default) or update, valid_only, dry_run, separator and encoding.
// Errors: BadRequest naming the parameter.
func importOptions(r *http.Request) (app.ImportOptions, error) {
	var o app.ImportOptions
	q := r.URL.Query()
	bad := simplesender.FieldErrors{}
	switch q.Get("mode") {
	case "", "skip":
	case "update":
		o.Update = true
	default:
		bad.Add("mode", "error.query.invalid")
	}
	var err error
	if o.ValidOnly, err = boolParam(r, "valid_only", false); err != nil {
		bad.Add("valid_only", "error.query.invalid")
	}
	if o.DryRun, err = boolParam(r, "dry_run", false); err != nil {
		bad.Add("dry_run", "error.query.invalid")
	}
	if s := q.Get("list_id"); s != "" {
		if o.ListID, err = strconv.ParseInt(s, 10, 64); err != nil || o.ListID <= 0 {
			bad.Add("list_id", "error.query.invalid")
		}
	}
	if o.CSV.Separator, err = separatorOf(r); err != nil {
		bad.Add("separator", "error.query.invalid")
	}
	switch e := csvio.Encoding(strings.ToLower(q.Get("encoding"))); e {
	case "", csvio.UTF8, csvio.Windows1251:
		o.CSV.Encoding = e
	case "cp1251":
		o.CSV.Encoding = csvio.Windows1251
	default:
		bad.Add("encoding", "error.query.invalid")
	}
	if len(bad) > 0 {
		return o, badQuery(bad)
	}
	return o, nil
}

// separatorOf reads ?separator=: ",", ";", "|", or tab ("\t" or "tab");
// 0 when absent (detect it).
func separatorOf(r *http.Request) (rune, error) {
	switch s := r.URL.Query().Get("separator"); s {
	case "":
		return 0, nil
	case ",", ";", "|":
		return rune(s[0]), nil
	case "\t", "tab", `\t`:
		return '\t', nil
	}
	return 0, errors.New("bad separator")
}

// maxImportWait bounds ?wait= of an import: the answer comes before the
// server's write timeout.
const maxImportWait = 50 * time.Second

// importRecipients imports a CSV file of recipients into the caller's list.
// The file is the body (text/csv, or any type but JSON and multipart) or the
// part named "file" of a multipart/form-data body. It becomes the caller's
// import job (replacing an upload of theirs that waits), which a worker of
// any instance runs; the request waits up to ?wait= seconds (default and
// most 50) for it to end. Ended: 200 with the summary, or 422 with the error
// and, under "import", the summary that lists the invalid rows of a file
// refused for them (nothing is then kept). Still running: 202 with the job,
// to follow at /imports/{id}. Errors: BadRequest, TooLarge (the file over
// the limit, or no room left for uploads), Conflict (the caller's previous
// import still runs), Invalid (a file that is not a readable recipient
// list; invalid rows).
func (x *API) importRecipients(w http.ResponseWriter, r *http.Request, u *simplesender.User) error {
	o, err := importOptions(r)
	if err != nil {
		return err
	}
	if name := r.URL.Query().Get("list"); name != "" && o.ListID == 0 {
		// A list by name, made when the caller has none of that name.
		l, err := x.app.ListByName(r.Context(), as(u), 0, name, true)
		if err != nil {
			return err
		}
		o.ListID = l.ID
	}
	wait := maxImportWait
	if s := r.URL.Query().Get("wait"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return badQuery(simplesender.FieldErrors{"wait": "error.query.invalid"})
		}
		wait = min(time.Duration(n)*time.Second, maxImportWait)
	}
	if r.ContentLength > x.importLimit+(1<<20) {
		return x.tooLarge(r)
	}
	src, name, err := uploadSource(w, r, x.importLimit)
	if err != nil {
		return x.uploadError(r, err)
	}
	ac := as(u)
	job, err := x.app.UploadImport(r.Context(), ac, 0, name, src)
	if err != nil {
		return x.uploadError(r, err)
	}
	if _, err := x.app.StartImport(r.Context(), ac, job.ID, o); err != nil {
		_, _ = x.app.CancelImport(context.WithoutCancel(r.Context()), ac, job.ID)
		return err
	}
	job, err = x.app.WaitImport(r.Context(), ac, job.ID, wait)
	if err != nil {
		return err
	}
	switch {
	case job.Working():
		w.Header().Set("Location", Prefix+"/imports/"+job.ID)
		x.reply(w, http.StatusAccepted, x.importJobOf(r, job))
		return nil
	case job.State == app.ImportDone:
		x.reply(w, http.StatusOK, x.importOf(r, job.Result, o.DryRun))
		return nil
	case job.Refused():
		// The answer lists the rows; the file need not wait for another try.
		_, _ = x.app.CancelImport(context.WithoutCancel(r.Context()), ac, job.ID)
	}
	if job.Result == nil {
		return job.Err()
	}
	status, d := x.errorOf(w, r, job.Err())
	x.reply(w, status, struct {
		Error  errorDetail `json:"error"`
		Import importJSON  `json:"import"`
	}{d, x.importOf(r, job.Result, o.DryRun)})
	return nil
}

// tooLarge is the error of a file over the limit, with the limit.
func (x *API) tooLarge(r *http.Request) error {
	l := x.bundle.For(x.lang(r))
	return &simplesender.Error{Kind: simplesender.KindTooLarge,
		Message: l.T("import.too_large", "Size", strconv.FormatInt(max(x.importLimit>>20, 1), 10))}
}

// uploadError turns what stopped an upload into the API's error.
func (x *API) uploadError(r *http.Request, err error) error {
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok || errors.Is(err, errFileTooLarge) || errors.Is(err, errTooLarge) || app.IsUploadTooLarge(err) {
		return x.tooLarge(r)
	}
	var de *simplesender.Error
	if errors.As(err, &de) {
		return err
	}
	// The body broke off, or is not a well-formed form.
	return &simplesender.Error{Kind: simplesender.KindBadRequest, Message: "error.bad_request", Cause: err}
}

var (
	errUploadType   = simplesender.E(simplesender.KindBadRequest, "error.bad_request")
	errFileTooLarge = errors.New("the file is over the limit")
)

// uploadSource returns the uploaded file as it arrives, and its name (""
// for a body), reading at most limit bytes of it: past them it fails with
// errFileTooLarge. Errors: BadRequest (no file, JSON), TooLarge.
func uploadSource(w http.ResponseWriter, r *http.Request, limit int64) (io.Reader, string, error) {
	body := http.MaxBytesReader(w, r.Body, limit+(1<<20)) // room for the multipart framing
	var src io.Reader = body
	name := ""
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "multipart/form-data":
		mr, err := r.MultipartReader()
		if err != nil {
			return nil, "", errUploadType
		}
		for {
			p, err := mr.NextPart()
			if err != nil {
				if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
					return nil, "", errTooLarge
				}
				return nil, "", &simplesender.Error{Kind: simplesender.KindBadRequest, Message: "error.bad_request",
					Fields: map[string]string{"file": "error.required"}, Cause: err}
			}
			if p.FormName() == "file" {
				src, name = p, p.FileName()
				break
			}
		}
	case "application/json":
		// Most likely a client that sent JSON to the wrong place. Any other
		// type is taken as the file itself: curl --data-binary, say, labels
		// it application/x-www-form-urlencoded.
		return nil, "", errUploadType
	}
	return &capped{r: src, left: limit}, name, nil
}

// capped reads at most left bytes, and fails with errFileTooLarge when
// there are more.
type capped struct {
	r    io.Reader
	left int64
}

func (c *capped) Read(p []byte) (int, error) {
	if c.left < 0 {
		return 0, errFileTooLarge
	}
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if c.left < 0 {
		return n, errFileTooLarge
	}
	return n, err
}

// importJobJSON is an import job.
type importJobJSON struct {
	ID          string           `json:"id"`
	State       string           `json:"state"`
	FileName    string           `json:"file_name"`
	Size        int64            `json:"size"`
	Mode        string           `json:"mode"`
	ValidOnly   bool             `json:"valid_only"`
	DryRun      bool             `json:"dry_run"`
	Phase       string           `json:"phase"`
	Done        int              `json:"done"`
	Total       int              `json:"total"`
	Counts      app.ImportCounts `json:"counts"`
	Attempts    int              `json:"attempts"`
	Failure     *errorDetail     `json:"failure"`      // why it failed, was refused or cancelled
	FailureLine int              `json:"failure_line"` // the line of the file it is about; 0: none
	Result      *importJSON      `json:"result"`
	CreatedAt   time.Time        `json:"created_at"`
	StartedAt   *time.Time       `json:"started_at"`
	FinishedAt  *time.Time       `json:"finished_at"`
}

// importJobOf builds the JSON of j, with messages in the caller's language.
func (x *API) importJobOf(r *http.Request, j *app.ImportJob) importJobJSON {
	out := importJobJSON{ID: j.ID, State: string(j.State), FileName: j.Filename, Size: j.Size, Mode: "skip",
		ValidOnly: j.Options.ValidOnly, DryRun: j.Options.DryRun, Phase: string(j.Progress.Phase), Done: j.Progress.Done,
		Total: j.Progress.Total, Counts: j.Progress.ImportCounts, Attempts: j.Attempts, FailureLine: j.ErrorLine,
		CreatedAt: j.CreatedAt, StartedAt: j.StartedAt, FinishedAt: j.FinishedAt}
	if j.Options.Update {
		out.Mode = "update"
	}
	if err := j.Err(); err != nil {
		l := x.bundle.For(x.lang(r))
		e := simplesender.AsError(err)
		out.Failure = &errorDetail{Code: e.Kind.String(), Message: x.text(r.Context(), l, e.Message, "error."+e.Kind.String()),
			Fields: map[string]string{}}
	}
	if j.Result != nil {
		res := x.importOf(r, j.Result, j.Options.DryRun)
		out.Result = &res
	}
	return out
}

// getImport answers one of the caller's import jobs: its state, progress
// and, once it has ended, its result. Errors: NotFound (no such job, another
// user's, or one ended over an hour ago).
func (x *API) getImport(w http.ResponseWriter, r *http.Request, u *simplesender.User) error {
	j, err := x.app.ImportJob(r.Context(), as(u), r.PathValue("id"))
	if err != nil {
		return err
	}
	x.reply(w, http.StatusOK, x.importJobOf(r, j))
	return nil
}

// cancelImport cancels one of the caller's import jobs: a queued or running
// import stops (the rows written stay) and its file is removed. Errors:
// NotFound, Conflict (it has ended).
func (x *API) cancelImport(w http.ResponseWriter, r *http.Request, u *simplesender.User) error {
	if _, err := x.app.CancelImport(r.Context(), as(u), r.PathValue("id")); err != nil {
		return err
	}
	x.reply(w, http.StatusNoContent, nil)
	return nil
}

// exportOptions reads ?bom=1 (for Excel) and ?separator= of a CSV export.
// Errors: BadRequest.
func exportOptions(r *http.Request) (app.ExportOptions, error) {
	bom, err := boolParam(r, "bom", false)
	if err != nil {
		return app.ExportOptions{}, err
	}
	sep, err := separatorOf(r)
	if err != nil {
		return app.ExportOptions{}, badQuery(simplesender.FieldErrors{"separator": "error.query.invalid"})
	}
	return app.ExportOptions{BOM: bom, Separator: sep}, nil
}

// exportRecipients downloads the caller's recipients as CSV (staff:
// ?owner_id= names another user's list), ordered by address, with
// ?bom=1 for Excel and ?separator= (default ","). Cells a spreadsheet would
// run as a formula are neutralised. Errors: NotFound, BadRequest.
func (x *API) exportRecipients(w http.ResponseWriter, r *http.Request, u *simplesender.User) error {
	opts, err := exportOptions(r)
	if err != nil {
		return err
	}
	owner, ok := ownerIDOf(r)
	if !ok {
		return badQuery(simplesender.FieldErrors{"owner_id": "error.query.invalid"})
	}
	cw := &csvWriter{w: w, filename: "recipients.csv"}
	_, err = x.app.ExportRecipients(r.Context(), as(u), owner, cw, opts)
	return x.finishCSV(r, cw, err)
}
