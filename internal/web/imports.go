package web

import (
	"encoding/json"
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

// CSV import of recipients: upload -> preview (format, mapping, first rows)
// -> import in the background with a progress page -> result.
//
// The upload and the import are an import job of package app, kept in the
// database: any instance can show its preview, its progress and its result,
// and a worker of any instance runs it. This file is only their pages.

// importWait is how long the import form waits for a small import to end
// before showing the progress page.
const importWait = 1500 * time.Millisecond

// previewRows is the number of rows the preview shows.
const previewRows = 20

// importUploadData is the upload page.
type importUploadData struct {
	MaxMB int64
	// Pending is the user's import that waits or runs, if any: a new
	// upload replaces one that waits.
	Pending *app.ImportJob
}

func (s *Server) uploadData(r *http.Request) importUploadData {
	maxFile, _ := s.app.ImportLimits()
	d := importUploadData{MaxMB: maxFile >> 20}
	if j, err := s.app.PendingImport(r.Context(), reqCtx(r).actor(), 0); err == nil && j.State != app.ImportUploading {
		d.Pending = j
	}
	return d
}

// importForm is the upload page.
func (s *Server) importForm(w http.ResponseWriter, r *http.Request) {
	if s.refused(w, r, app.ActCreate, reqCtx(r).User.ID) {
		return
	}
	s.render(w, r, http.StatusOK, "import", &Page{Title: "page.import.title", Nav: "recipients", Data: s.uploadData(r)})
}

// uploadImport keeps the uploaded file and shows its preview, or the
// upload page again with what is wrong with the file.
func (s *Server) uploadImport(w http.ResponseWriter, r *http.Request) {
	rc := reqCtx(r)
	// Before reading the file: whoever may not import should not wait for
	// an upload that is refused anyway.
	if s.refused(w, r, app.ActCreate, rc.User.ID) {
		return
	}
	again := func(status int, msg string) {
		s.render(w, r, status, "import", &Page{Title: "page.import.title", Nav: "recipients", Error: msg, Data: s.uploadData(r)})
	}
	mr, err := r.MultipartReader()
	if err != nil {
		again(http.StatusBadRequest, rc.L.T("import.no_file"))
		return
	}
	var job *app.ImportJob
	for job == nil {
		part, err := mr.NextPart()
		if err != nil {
			if err == io.EOF {
				again(http.StatusUnprocessableEntity, rc.L.T("import.no_file"))
				return
			}
			s.uploadFailed(w, r, err, again)
			return
		}
		if part.FormName() != "file" || part.FileName() == "" {
			continue
		}
		job, err = s.app.UploadImport(r.Context(), rc.actor(), 0, part.FileName(), part)
		if err != nil {
			s.uploadFailed(w, r, err, again)
			return
		}
	}
	// A file that cannot be read at all goes at once, with the reason.
	if _, err := s.app.PreviewImportJob(r.Context(), rc.actor(), job.ID, csvio.Options{}, previewRows); err != nil {
		_, _ = s.app.CancelImport(r.Context(), rc.actor(), job.ID)
		if simplesender.IsKind(err, simplesender.KindInvalid) {
			again(http.StatusUnprocessableEntity, s.fileMessage(rc, err))
			return
		}
		s.fail(w, r, err, "", nil)
		return
	}
	http.Redirect(w, r, "/imports/"+job.ID, http.StatusSeeOther)
}

// uploadFailed answers an upload that was refused or broke off.
func (s *Server) uploadFailed(w http.ResponseWriter, r *http.Request, err error, again func(int, string)) {
	l := reqCtx(r).L
	maxFile, _ := s.app.ImportLimits()
	var mbe *http.MaxBytesError
	e := simplesender.AsError(err)
	switch {
	case app.IsUploadTooLarge(err) || errors.As(err, &mbe):
		again(http.StatusRequestEntityTooLarge, l.T("import.too_large", "Size", strconv.FormatInt(maxFile>>20, 10)))
	case e.Kind == simplesender.KindTooLarge:
		again(http.StatusRequestEntityTooLarge, l.T(e.Message))
	case e.Kind == simplesender.KindConflict || e.Kind == simplesender.KindNotFound:
		again(e.Kind.HTTPStatus(), l.T(e.Message))
	case strings.Contains(err.Error(), "multipart") || errors.Is(err, io.ErrUnexpectedEOF):
		again(http.StatusBadRequest, l.T("import.no_file"))
	default:
		s.fail(w, r, err, "", nil)
	}
}

// fileMessage is the translated reason a file cannot be imported, with the
// line where the problem is when it is at one.
func (s *Server) fileMessage(rc *requestCtx, err error) string {
	e := simplesender.AsError(err)
	msg := rc.L.T(e.Message)
	var ce *csvio.Error
	if errors.As(err, &ce) && ce.Line > 0 {
		return rc.L.T("import.at_line", "Line", strconv.Itoa(ce.Line), "Message", msg)
	}
	return msg
}

// importPreviewData is the preview page.
type importPreviewData struct {
	ID        string
	Filename  string
	Preview   *app.ImportPreview
	Columns   []importColumn
	Fields    []csvio.Field
	Sep, Enc  string // the form's choices: "" detects
	Update    bool
	ValidOnly bool
	Invalid   int // invalid rows among those shown
	// Lists are the viewer's lists; ListID the one chosen for everyone in
	// the file, or NewList the name of a list to make for them.
	Lists   []*simplesender.List
	ListID  int64
	NewList string
	// HasTags, HasLists and MappedFields say which columns of the rows
	// table show tags, lists and custom fields: those the mapping uses.
	HasTags, HasLists bool
	MappedFields      []*simplesender.Field
}

// importColumn is one column of the file in the mapping form.
type importColumn struct {
	Index  int
	Name   string // the header cell; "" when the file has no header
	Field  csvio.Field
	Sample string // the first row's value
}

// importOptions reads the preview form: separator, encoding and, unless
// they changed, the mapping of the columns.
func importOptions(r *http.Request) (o csvio.Options, sep, enc string) {
	sep, enc = r.PostFormValue("sep"), r.PostFormValue("enc")
	switch sep {
	case ",", ";", "|":
		o.Separator = rune(sep[0])
	case "tab":
		o.Separator = '\t'
	default:
		sep = ""
	}
	switch csvio.Encoding(enc) {
	case csvio.UTF8, csvio.Windows1251:
		o.Encoding = csvio.Encoding(enc)
	default:
		enc = ""
	}
	if sep != r.PostFormValue("prev_sep") || enc != r.PostFormValue("prev_enc") {
		return o, sep, enc // other columns: guess the mapping again
	}
	n, _ := strconv.Atoi(r.PostFormValue("columns"))
	if n <= 0 || n > 1000 {
		return o, sep, enc
	}
	o.Mapping = make([]csvio.Field, n)
	for i := range n {
		f, ok := csvio.ParseField(r.PostFormValue("col" + strconv.Itoa(i)))
		if ok {
			o.Mapping[i] = f
		}
	}
	return o, sep, enc
}

// importPreview shows the detected format and the first rows of an upload
// (GET: as detected; POST action=preview: with the form's choices), or
// imports it (POST action=import). An import already started shows its
// progress or result instead.
func (s *Server) importPreview(w http.ResponseWriter, r *http.Request) {
	rc := reqCtx(r)
	id := r.PathValue("id")
	job, err := s.app.ImportJob(r.Context(), rc.actor(), id)
	if err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	if job.State != app.ImportUploaded {
		http.Redirect(w, r, "/imports/"+id+"/status", http.StatusSeeOther)
		return
	}
	var o csvio.Options
	d := importPreviewData{ID: id, Filename: job.Filename, Fields: csvio.Fields(), ValidOnly: true}
	if r.Method == http.MethodPost {
		o, d.Sep, d.Enc = importOptions(r)
		d.Update = r.PostFormValue("existing") == "update"
		d.ValidOnly = r.PostFormValue("invalid") != "none"
		d.ListID, _ = strconv.ParseInt(r.PostFormValue("list"), 10, 64)
		d.NewList = strings.TrimSpace(r.PostFormValue("new_list"))
		if r.PostFormValue("action") == "import" {
			io := app.ImportOptions{CSV: o, Update: d.Update, ValidOnly: d.ValidOnly, ListID: max(d.ListID, 0)}
			if d.NewList != "" {
				l, err := s.app.ListByName(r.Context(), rc.actor(), 0, d.NewList, true)
				if err != nil {
					s.fail(w, r, err, "", nil)
					return
				}
				io.ListID = l.ID
			}
			s.startImport(w, r, id, io)
			return
		}
	}
	var lerr error
	if d.Lists, _, lerr = s.app.ListLists(r.Context(), rc.actor(), rc.User.ID, app.ListFilter{Limit: maxChooser}); lerr != nil {
		s.fail(w, r, lerr, "", nil)
		return
	}
	page := &Page{Title: "page.import_preview.title", Nav: "recipients", Data: d}
	pv, err := s.app.PreviewImportJob(r.Context(), rc.actor(), id, o, previewRows)
	if err != nil && o.Mapping != nil && simplesender.IsKind(err, simplesender.KindInvalid) {
		// Show the file as detected, with what is wrong with the choice.
		page.Error = s.fileMessage(rc, err)
		pv, err = s.app.PreviewImportJob(r.Context(), rc.actor(), id, csvio.Options{Separator: o.Separator, Encoding: o.Encoding}, previewRows)
	}
	if err != nil {
		if simplesender.IsKind(err, simplesender.KindInvalid) {
			s.render(w, r, http.StatusUnprocessableEntity, "import", &Page{Title: "page.import.title", Nav: "recipients",
				Error: s.fileMessage(rc, err), Data: s.uploadData(r)})
			return
		}
		s.fail(w, r, err, "", nil)
		return
	}
	d.Preview = pv
	f := pv.Format
	for i := range f.Columns {
		c := importColumn{Index: i}
		if i < len(f.Header) {
			c.Name = f.Header[i]
		}
		if i < len(f.Mapping) {
			c.Field = f.Mapping[i]
		}
		d.Columns = append(d.Columns, c)
		switch c.Field {
		case csvio.Tags:
			d.HasTags = true
		case csvio.Lists:
			d.HasLists = true
		}
		if k, ok := c.Field.CustomKey(); ok {
			for _, cf := range pv.CustomFields {
				if cf.Key == k {
					d.MappedFields = append(d.MappedFields, cf)
				}
			}
		}
	}
	for _, row := range pv.Rows {
		if row.Fields != nil {
			d.Invalid++
		}
	}
	page.Data = d
	s.render(w, r, http.StatusOK, "import_preview", page)
}

// Separator names the separator of a format for the page.
func (d importPreviewData) Separator() string {
	switch d.Preview.Format.Separator {
	case ',':
		return "import.sep.comma"
	case ';':
		return "import.sep.semicolon"
	case '\t':
		return "import.sep.tab"
	default:
		return "import.sep.bar"
	}
}

// EncodingName is the message key naming the file's encoding.
func (d importPreviewData) EncodingName() string {
	if d.Preview.Format.Encoding == csvio.Windows1251 {
		return "import.enc.cp1251"
	}
	return "import.enc.utf8"
}

// startImport queues the import of upload id, waits a moment for a small
// one to end, and sends the user to its progress (or result).
func (s *Server) startImport(w http.ResponseWriter, r *http.Request, id string, o app.ImportOptions) {
	rc := reqCtx(r)
	status := "/imports/" + id + "/status"
	_, err := s.app.StartImport(r.Context(), rc.actor(), id, o)
	switch {
	case simplesender.IsKind(err, simplesender.KindConflict):
		http.Redirect(w, r, status, http.StatusSeeOther) // started already (a double click)
		return
	case simplesender.IsKind(err, simplesender.KindInvalid):
		s.render(w, r, http.StatusUnprocessableEntity, "import", &Page{Title: "page.import.title", Nav: "recipients",
			Error: s.fileMessage(rc, err), Data: s.uploadData(r)})
		return
	case err != nil:
		s.fail(w, r, err, "", nil)
		return
	}
	if _, err := s.app.WaitImport(r.Context(), rc.actor(), id, importWait); err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	http.Redirect(w, r, status, http.StatusSeeOther)
}

// cancelImport removes an upload, or stops an import.
func (s *Server) cancelImport(w http.ResponseWriter, r *http.Request) {
	rc := reqCtx(r)
	id := r.PathValue("id")
	job, err := s.app.CancelImport(r.Context(), rc.actor(), id)
	switch {
	case simplesender.IsKind(err, simplesender.KindConflict):
		http.Redirect(w, r, "/imports/"+id+"/status", http.StatusSeeOther) // it ended meanwhile
	case err != nil:
		s.fail(w, r, err, "", nil)
	case job == nil:
		s.redirectFlash(w, r, "/recipients/import", "info", "import.removed")
	default:
		http.Redirect(w, r, "/imports/"+id+"/status", http.StatusSeeOther)
	}
}

// importProgressData is the progress and the result page of an import.
type importProgressData struct {
	ID       string
	Filename string
	Progress app.ImportProgress
	Result   *app.ImportResult
	Done     bool
	// Cancelled is set for an import stopped by the user.
	Cancelled bool
	Error     string // translated: why nothing (or not everything) was imported
	// CanRetry is set when the file is still there to choose again (it was
	// refused for its invalid rows).
	CanRetry bool
	Percent  int
}

// importState reads the job of the request for its pages. ok is false
// when the job is not one to show them for: it waits for choices.
func (s *Server) importState(r *http.Request) (d *importProgressData, ok bool, err error) {
	rc := reqCtx(r)
	j, err := s.app.ImportJob(r.Context(), rc.actor(), r.PathValue("id"))
	if err != nil {
		return nil, false, err
	}
	if j.State == app.ImportUploading || j.State == app.ImportUploaded && !j.Refused() {
		return nil, false, nil
	}
	d = &importProgressData{ID: j.ID, Filename: j.Filename, Progress: j.Progress, Result: j.Result, Done: !j.Working(),
		Cancelled: j.State == app.ImportCancelled, CanRetry: j.Refused()}
	if e := j.Err(); e != nil && !d.Cancelled {
		d.Error = s.fileMessage(rc, e)
	}
	if d.Done && d.Result == nil {
		// Failed or cancelled part way: the counts of what was written.
		d.Result = &app.ImportResult{ImportCounts: j.Progress.ImportCounts}
	}
	if p := d.Progress; p.Total > 0 {
		d.Percent = min(100, p.Done*100/p.Total)
	}
	return d, true, nil
}

// importStatus shows an import's progress while it runs, then its result.
func (s *Server) importStatus(w http.ResponseWriter, r *http.Request) {
	d, ok, err := s.importState(r)
	switch {
	case err != nil:
		s.fail(w, r, err, "", nil)
		return
	case !ok:
		http.Redirect(w, r, "/imports/"+r.PathValue("id"), http.StatusSeeOther)
		return
	}
	title := "page.import_progress.title"
	if d.Done {
		title = "page.import_result.title"
	}
	s.render(w, r, http.StatusOK, "import_result", &Page{Title: title, Nav: "recipients", Data: d})
}

// importProgressJSON is the progress of an import for app.js.
func (s *Server) importProgressJSON(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	d, ok, err := s.importState(r)
	if err != nil || !ok {
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":"not_found"}`))
		return
	}
	l := reqCtx(r).L
	label := l.T("import.phase." + string(d.Progress.Phase))
	if d.Progress.Phase == "" {
		label = l.T("import.phase.queued")
	}
	_ = json.NewEncoder(w).Encode(map[string]any{
		"running": !d.Done, "phase": d.Progress.Phase, "done": d.Progress.Done, "total": d.Progress.Total,
		"imported": d.Progress.Imported, "updated": d.Progress.Updated, "skipped": d.Progress.Skipped,
		"invalid": d.Progress.Invalid, "status_label": label,
	})
}

// exportRecipients downloads the viewer's recipients as CSV (?bom=1 for
// Excel).
func (s *Server) exportRecipients(w http.ResponseWriter, r *http.Request) {
	rc := reqCtx(r)
	name := "recipients-" + s.app.Now().In(rc.User.Location()).Format(time.DateOnly) + ".csv"
	out := newCSVResponse(w, name)
	_, err := s.app.ExportRecipients(r.Context(), rc.actor(), 0, out, app.ExportOptions{BOM: r.URL.Query().Get("bom") == "1"})
	s.endCSV(w, r, out, err)
}

// isUpload reports whether r posts a file (multipart/form-data).
func isUpload(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "multipart/form-data"
}
