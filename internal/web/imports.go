package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/csvio"
)

// CSV import of recipients: upload -> preview (format, mapping, first rows)
// -> import in the background with a progress page -> result.
//
// The uploaded file waits between the steps in a temporary file named after
// the uploader's id and a random id (u<user>-<id>.csv in the upload folder),
// so a user can only ever reach their own uploads, and no path comes from
// the client. Files go after a successful import or after importTTL. Running
// and finished imports are kept in memory by this instance for importTTL.

// importTTL is how long an uploaded file and an import's result are kept.
const importTTL = time.Hour

// importWait is how long the import form waits for a small import to end
// before showing the progress page.
const importWait = 1500 * time.Millisecond

// importTimeout bounds one import in the background.
const importTimeout = 30 * time.Minute

// previewRows is the number of rows the preview shows.
const previewRows = 20

var importIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// imports holds the uploads folder and this instance's imports.
type imports struct {
	dir  string
	mu   sync.Mutex
	jobs map[string]*importJob // by jobKey
}

// importJob is an import running or done in the background.
type importJob struct {
	mu       sync.Mutex
	progress app.ImportProgress
	done     bool
	result   *app.ImportResult
	err      error
	ended    time.Time
	started  time.Time
	doneCh   chan struct{}
}

func newImports(dir string) *imports {
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "simplesender-imports")
	}
	return &imports{dir: dir, jobs: map[string]*importJob{}}
}

func jobKey(user int64, id string) string { return strconv.FormatInt(user, 10) + "/" + id }

// path is where user's upload id is kept; "" for an id that is not one.
func (im *imports) path(user int64, id string) string {
	if !importIDPattern.MatchString(id) {
		return ""
	}
	return filepath.Join(im.dir, fmt.Sprintf("u%d-%s.csv", user, id))
}

// sweep removes uploads and finished imports older than importTTL.
func (im *imports) sweep(now time.Time) {
	if ents, err := os.ReadDir(im.dir); err == nil {
		for _, e := range ents {
			if !strings.HasPrefix(e.Name(), "u") || !strings.HasSuffix(e.Name(), ".csv") {
				continue
			}
			if info, err := e.Info(); err == nil && now.Sub(info.ModTime()) > importTTL {
				_ = os.Remove(filepath.Join(im.dir, e.Name()))
			}
		}
	}
	im.mu.Lock()
	defer im.mu.Unlock()
	for k, j := range im.jobs {
		j.mu.Lock()
		old := j.done && now.Sub(j.ended) > importTTL
		j.mu.Unlock()
		if old {
			delete(im.jobs, k)
		}
	}
}

// save stores an upload of user and returns its id.
func (im *imports) save(user int64, src io.Reader, limit int64) (string, error) {
	if err := os.MkdirAll(im.dir, 0o700); err != nil {
		return "", err
	}
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	id := hex.EncodeToString(b)
	p := im.path(user, id)
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", err
	}
	n, err := io.Copy(f, io.LimitReader(src, limit+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > limit {
		err = errUploadTooLarge
	}
	if err != nil {
		_ = os.Remove(p)
		return "", err
	}
	return id, nil
}

var errUploadTooLarge = errors.New("upload too large")

func (im *imports) job(user int64, id string) *importJob {
	im.mu.Lock()
	defer im.mu.Unlock()
	return im.jobs[jobKey(user, id)]
}

// ---- pages

type importUploadData struct {
	MaxMB int64
}

// importForm is the upload page.
func (s *Server) importForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "import", &Page{Title: "page.import.title", Nav: "recipients",
		Data: importUploadData{MaxMB: s.cfg.MaxUpload >> 20}})
}

// uploadImport keeps the uploaded file and shows its preview, or the
// upload page again with what is wrong with the file.
func (s *Server) uploadImport(w http.ResponseWriter, r *http.Request) {
	rc := reqCtx(r)
	page := &Page{Title: "page.import.title", Nav: "recipients", Data: importUploadData{MaxMB: s.cfg.MaxUpload >> 20}}
	again := func(status int, msg string) {
		page.Error = msg
		s.render(w, r, status, "import", page)
	}
	mr, err := r.MultipartReader()
	if err != nil {
		again(http.StatusBadRequest, rc.L.T("import.no_file"))
		return
	}
	s.imports.sweep(time.Now())
	var id string
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			s.uploadFailed(w, r, err, again)
			return
		}
		if part.FormName() != "file" || part.FileName() == "" {
			continue
		}
		id, err = s.imports.save(rc.User.ID, part, s.cfg.MaxUpload)
		if err != nil {
			s.uploadFailed(w, r, err, again)
			return
		}
		break
	}
	if id == "" {
		again(http.StatusUnprocessableEntity, rc.L.T("import.no_file"))
		return
	}
	// A file that cannot be read at all goes at once, with the reason.
	if _, err := s.preview(r, id, csvio.Options{}); err != nil {
		_ = os.Remove(s.imports.path(rc.User.ID, id))
		if e := simplesender.AsError(err); e.Kind == simplesender.KindInvalid {
			again(http.StatusUnprocessableEntity, s.fileMessage(rc, err))
			return
		}
		s.fail(w, r, err, "", nil)
		return
	}
	http.Redirect(w, r, "/imports/"+id, http.StatusSeeOther)
}

func (s *Server) uploadFailed(w http.ResponseWriter, r *http.Request, err error, again func(int, string)) {
	var mbe *http.MaxBytesError
	if errors.Is(err, errUploadTooLarge) || errors.As(err, &mbe) {
		again(http.StatusRequestEntityTooLarge, reqCtx(r).L.T("import.too_large", "Size", strconv.FormatInt(s.cfg.MaxUpload>>20, 10)))
		return
	}
	if strings.Contains(err.Error(), "multipart") {
		again(http.StatusBadRequest, reqCtx(r).L.T("import.no_file"))
		return
	}
	s.log.Error("save upload", "err", err)
	s.errorPage(w, r, http.StatusInternalServerError, "error.internal")
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

// preview reads the start of upload id with options o.
func (s *Server) preview(r *http.Request, id string, o csvio.Options) (*app.ImportPreview, error) {
	rc := reqCtx(r)
	p := s.imports.path(rc.User.ID, id)
	if p == "" {
		return nil, simplesender.E(simplesender.KindNotFound, "error.not_found")
	}
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, simplesender.E(simplesender.KindNotFound, "import.expired")
	}
	if err != nil {
		return nil, simplesender.Errorf("open upload: %w", err)
	}
	defer f.Close()
	return s.app.PreviewImport(r.Context(), rc.actor(), 0, f, o, previewRows)
}

// importPreviewData is the preview page.
type importPreviewData struct {
	ID        string
	Preview   *app.ImportPreview
	Columns   []importColumn
	Fields    []csvio.Field
	Sep, Enc  string // the form's choices: "" detects
	Update    bool
	ValidOnly bool
	Invalid   int // invalid rows among those shown
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
// imports it (POST action=import).
func (s *Server) importPreview(w http.ResponseWriter, r *http.Request) {
	rc := reqCtx(r)
	id := r.PathValue("id")
	if s.imports.path(rc.User.ID, id) == "" {
		s.errorPage(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	var o csvio.Options
	d := importPreviewData{ID: id, Fields: csvio.Fields(), ValidOnly: true}
	if r.Method == http.MethodPost {
		o, d.Sep, d.Enc = importOptions(r)
		d.Update = r.PostFormValue("existing") == "update"
		d.ValidOnly = r.PostFormValue("invalid") != "none"
		if r.PostFormValue("action") == "import" {
			s.startImport(w, r, id, app.ImportOptions{CSV: o, Update: d.Update, ValidOnly: d.ValidOnly})
			return
		}
	}
	page := &Page{Title: "page.import_preview.title", Nav: "recipients", Data: d}
	pv, err := s.preview(r, id, o)
	if err != nil && o.Mapping != nil && simplesender.IsKind(err, simplesender.KindInvalid) {
		// Show the file as detected, with what is wrong with the choice.
		page.Error = s.fileMessage(rc, err)
		pv, err = s.preview(r, id, csvio.Options{Separator: o.Separator, Encoding: o.Encoding})
	}
	if err != nil {
		if simplesender.IsKind(err, simplesender.KindInvalid) {
			page.Error = s.fileMessage(rc, err)
			s.render(w, r, http.StatusUnprocessableEntity, "import", &Page{Title: "page.import.title", Nav: "recipients",
				Error: page.Error, Data: importUploadData{MaxMB: s.cfg.MaxUpload >> 20}})
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

// startImport runs the import of upload id in the background, bound to the
// user, and sends them to its progress (or, when it ends quickly, result).
func (s *Server) startImport(w http.ResponseWriter, r *http.Request, id string, o app.ImportOptions) {
	rc := reqCtx(r)
	path := s.imports.path(rc.User.ID, id)
	key := jobKey(rc.User.ID, id)
	status := "/imports/" + id + "/status"
	s.imports.mu.Lock()
	if j := s.imports.jobs[key]; j != nil {
		j.mu.Lock()
		running := !j.done
		j.mu.Unlock()
		if running {
			s.imports.mu.Unlock()
			http.Redirect(w, r, status, http.StatusSeeOther)
			return
		}
	}
	f, err := os.Open(path)
	if err != nil {
		s.imports.mu.Unlock()
		if errors.Is(err, os.ErrNotExist) {
			s.errorPage(w, r, http.StatusNotFound, "import.expired")
			return
		}
		s.fail(w, r, simplesender.Errorf("open upload: %w", err), "", nil)
		return
	}
	j := &importJob{started: time.Now(), doneCh: make(chan struct{})}
	s.imports.jobs[key] = j
	s.imports.mu.Unlock()

	ac := rc.actor()
	o.Progress = func(p app.ImportProgress) {
		j.mu.Lock()
		j.progress = p
		j.mu.Unlock()
	}
	// The import outlives the request (the browser goes on to the progress
	// page), but not the time limit.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), importTimeout)
	go func() {
		defer cancel()
		defer close(j.doneCh)
		res, err := s.app.ImportRecipients(ctx, ac, 0, f, o)
		_ = f.Close()
		if err == nil || (res != nil && res.Committed) {
			_ = os.Remove(path) // done; a refused file stays, to choose again
		}
		if err != nil && simplesender.AsError(err).Kind == simplesender.KindInternal {
			s.log.Error("import recipients", "err", err)
		}
		j.mu.Lock()
		j.result, j.err, j.done, j.ended = res, err, true, time.Now()
		j.mu.Unlock()
	}()
	select {
	case <-j.doneCh:
	case <-time.After(importWait):
	}
	http.Redirect(w, r, status, http.StatusSeeOther)
}

// importProgressData is the progress and the result page of an import.
type importProgressData struct {
	ID       string
	Progress app.ImportProgress
	Result   *app.ImportResult
	Done     bool
	Error    string // translated: why nothing (or not everything) was imported
	// CanRetry is set when the file is still there to choose again (it was
	// refused for its invalid rows).
	CanRetry bool
	Percent  int
}

func (s *Server) importState(r *http.Request) (*importProgressData, bool) {
	rc := reqCtx(r)
	id := r.PathValue("id")
	if !importIDPattern.MatchString(id) {
		return nil, false
	}
	j := s.imports.job(rc.User.ID, id)
	if j == nil {
		return nil, false
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	d := &importProgressData{ID: id, Progress: j.progress, Result: j.result, Done: j.done}
	if j.done && j.err != nil {
		e := simplesender.AsError(j.err)
		if e.Kind == simplesender.KindInternal {
			d.Error = rc.L.T("error.internal")
		} else {
			d.Error = s.fileMessage(rc, j.err)
		}
	}
	if d.Done && j.err != nil {
		if _, err := os.Stat(s.imports.path(rc.User.ID, id)); err == nil {
			d.CanRetry = true
		}
	}
	if p := d.Progress; p.Total > 0 {
		d.Percent = min(100, p.Done*100/p.Total)
	}
	return d, true
}

// importStatus shows an import's progress while it runs, then its result.
func (s *Server) importStatus(w http.ResponseWriter, r *http.Request) {
	d, ok := s.importState(r)
	if !ok {
		s.errorPage(w, r, http.StatusNotFound, "error.not_found")
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
	d, ok := s.importState(r)
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":"not_found"}`))
		return
	}
	l := reqCtx(r).L
	label := l.T("import.phase." + string(d.Progress.Phase))
	if d.Progress.Phase == "" {
		label = l.T("import.phase.check")
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
