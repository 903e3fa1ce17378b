package api

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"os"
	"strconv"
	"strings"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/csvio"
)

// maxImportBytes bounds an uploaded CSV file; a larger one is answered 413.
// The file is copied to a temporary file as it arrives (the import reads it
// twice), so memory does not grow with it.
const maxImportBytes = 200 << 20

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
}

// importOf builds the summary of res, with messages in the caller's language.
func (x *API) importOf(r *http.Request, res *app.ImportResult, dry bool) importJSON {
	l := x.bundle.For(x.lang(r))
	f := res.Format
	out := importJSON{ImportCounts: res.ImportCounts, Committed: res.Committed, DryRun: dry,
		Format: importFormatJSON{Encoding: string(f.Encoding), BOM: f.BOM, Separator: string(f.Separator),
			Header: f.Header, Mapping: make([]string, len(f.Mapping))},
		Errors: make([]importRowJSON, 0, len(res.Errors)), DuplicateRows: make([]importDuplicateJSON, 0, len(res.DuplicateRows))}
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

// importRecipients imports a CSV file of recipients into the caller's list.
// The file is the body (text/csv, or any type but JSON and multipart) or the part named
// "file" of a multipart/form-data body. Rows are validated first; a file
// with invalid rows imports nothing unless ?valid_only=true, and is then
// answered 422 with the error and, under "import", the summary that lists
// the rows. Errors: BadRequest, TooLarge (over 200 MB), Invalid (a file
// that is not a readable recipient list; invalid rows).
func (x *API) importRecipients(w http.ResponseWriter, r *http.Request, u *simplesender.User) error {
	o, err := importOptions(r)
	if err != nil {
		return err
	}
	if r.ContentLength > x.importLimit+(1<<20) {
		return errTooLarge
	}
	f, err := spoolUpload(w, r, x.importLimit)
	if err != nil {
		return err
	}
	defer func() {
		f.Close()
		os.Remove(f.Name())
	}()
	res, err := x.app.ImportRecipients(r.Context(), as(u), 0, f, o)
	if err != nil {
		if res == nil {
			return err
		}
		status, d := x.errorOf(w, r, err)
		x.reply(w, status, struct {
			Error  errorDetail `json:"error"`
			Import importJSON  `json:"import"`
		}{d, x.importOf(r, res, o.DryRun)})
		return nil
	}
	x.reply(w, http.StatusOK, x.importOf(r, res, o.DryRun))
	return nil
}

var errUploadType = simplesender.E(simplesender.KindBadRequest, "error.bad_request")

// spoolUpload copies the uploaded file to a temporary file, rewound, which
// the caller closes and removes. Errors: BadRequest (no file), TooLarge.
func spoolUpload(w http.ResponseWriter, r *http.Request, limit int64) (*os.File, error) {
	body := http.MaxBytesReader(w, r.Body, limit+(1<<20)) // room for the multipart framing
	var src io.Reader = body
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "multipart/form-data":
		mr, err := r.MultipartReader()
		if err != nil {
			return nil, errUploadType
		}
		for {
			p, err := mr.NextPart()
			if err != nil {
				if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
					return nil, errTooLarge
				}
				return nil, &simplesender.Error{Kind: simplesender.KindBadRequest, Message: "error.bad_request",
					Fields: map[string]string{"file": "error.required"}, Cause: err}
			}
			if p.FormName() == "file" {
				src = p
				break
			}
		}
	case "application/json":
		// Most likely a client that sent JSON to the wrong place. Any other
		// type is taken as the file itself: curl --data-binary, say, labels
		// it application/x-www-form-urlencoded.
		return nil, errUploadType
	}
	f, err := os.CreateTemp("", "simplesender-import-*.csv")
	if err != nil {
		return nil, simplesender.Errorf("import: temporary file: %w", err)
	}
	fail := func(err error) (*os.File, error) {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	n, err := io.Copy(f, io.LimitReader(src, limit+1))
	switch {
	case err != nil:
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return fail(errTooLarge)
		}
		return fail(&simplesender.Error{Kind: simplesender.KindBadRequest, Message: "error.bad_request", Cause: err})
	case n > limit:
		return fail(errTooLarge)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fail(simplesender.Errorf("import: rewind: %w", err))
	}
	return f, nil
}

// exportRecipients downloads the caller's recipients as CSV (staff:
// ?owner_id= names another user's list), ordered by address, with
// ?bom=1 for Excel and ?separator= (default ","). Cells a spreadsheet would
// run as a formula are neutralised. Errors: NotFound, BadRequest.
func (x *API) exportRecipients(w http.ResponseWriter, r *http.Request, u *simplesender.User) error {
	bom, err := boolParam(r, "bom", false)
	if err != nil {
		return err
	}
	sep, err := separatorOf(r)
	if err != nil {
		return badQuery(simplesender.FieldErrors{"separator": "error.query.invalid"})
	}
	var owner int64
	if s := r.URL.Query().Get("owner_id"); s != "" {
		if owner, err = strconv.ParseInt(s, 10, 64); err != nil || owner <= 0 {
			return badQuery(simplesender.FieldErrors{"owner_id": "error.query.invalid"})
		}
	}
	cw := &csvWriter{w: w, filename: "recipients.csv"}
	_, err = x.app.ExportRecipients(r.Context(), as(u), owner, cw, app.ExportOptions{BOM: bom, Separator: sep})
	return x.finishCSV(r, cw, err)
}
