package web

import (
	"net/http"
	"strings"
	"time"

	"simplesender"
	"simplesender/internal/app"
)

// suppressionsData is the suppression list page: a page of entries, the
// filters, what the viewer may do, and the last audit events of the list.
type suppressionsData struct {
	Items   []*simplesender.Suppression
	Query   string
	Reason  string
	Scope   string // staff: "" everyone's, "service" the service-wide list
	Reasons []simplesender.SuppressionReason
	Pager   pager
	CanAdd  bool // the viewer may add (not a manager)
	Admin   bool // the viewer may add service-wide and to anyone's list
	Audit   []*simplesender.AuditEvent
	Import  *app.SuppressionImport // the outcome of an import just made
}

// suppressionQuery reads the page's filters.
func suppressionQuery(r *http.Request) (app.SuppressionQuery, suppressionsData) {
	q := r.URL.Query()
	d := suppressionsData{Query: strings.TrimSpace(q.Get("q")), Reason: q.Get("reason"), Reasons: simplesender.SuppressionReasons}
	sq := app.SuppressionQuery{Query: d.Query}
	if rs := simplesender.SuppressionReason(d.Reason); rs.Valid() {
		sq.Reason = rs
	} else {
		d.Reason = ""
	}
	if q.Get("scope") == "service" {
		d.Scope, sq.Owner = "service", app.ServiceWide
	}
	return sq, d
}

// suppressions shows the suppression list: the viewer's own, or for staff
// everyone's (scope=service: the service-wide list).
func (s *Server) suppressions(w http.ResponseWriter, r *http.Request) {
	s.renderSuppressions(w, r, http.StatusOK, nil, nil)
}

// renderSuppressions renders the list page, with the add form's values
// and errors in p (nil: a fresh form) and an import's outcome.
func (s *Server) renderSuppressions(w http.ResponseWriter, r *http.Request, status int, p *Page, imported *app.SuppressionImport) {
	rc := reqCtx(r)
	sq, d := suppressionQuery(r)
	per := perPageParam(r)
	items, total, page, err := listPage(pageParam(r), per, func(off int) ([]*simplesender.Suppression, int, error) {
		sq.Limit, sq.Offset = per, off
		return s.app.ListSuppressions(r.Context(), rc.actor(), sq)
	})
	if err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	d.Items, d.Pager, d.Import = items, newPager(r.URL, page, per, total), imported
	d.CanAdd = rc.actor().Can(app.ActCreate, rc.User.ID)
	d.Admin = rc.User.Role == simplesender.RoleAdmin
	owner := rc.User.ID
	if rc.User.Role.IsStaff() {
		owner = sq.Owner
	}
	if d.Audit, err = s.app.SuppressionAudit(r.Context(), rc.actor(), owner, 10); err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	if p == nil {
		p = &Page{Form: map[string]string{"reason": string(simplesender.ReasonManual)}}
	}
	p.Title, p.Nav, p.Data = "page.suppressions.title", "recipients", d
	s.render(w, r, status, "suppressions", p)
}

var suppressionFields = []string{"email", "reason", "note", "service_wide"}

// addSuppression suppresses an address typed in the form.
func (s *Server) addSuppression(w http.ResponseWriter, r *http.Request) {
	rc := reqCtx(r)
	form := formValues(r, suppressionFields...)
	_, created, err := s.app.AddSuppression(r.Context(), rc.actor(), app.SuppressionInput{Email: form["email"],
		Reason: simplesender.SuppressionReason(form["reason"]), Note: form["note"], ServiceWide: form["service_wide"] == "1"})
	if err != nil {
		e := simplesender.AsError(err)
		if e.Kind != simplesender.KindInvalid {
			s.fail(w, r, err, "", nil)
			return
		}
		p := &Page{Form: form, Errors: map[string]string{}, Error: rc.L.T(e.Message)}
		for f, k := range e.Fields {
			p.Errors[f] = rc.L.T(k)
		}
		s.renderSuppressions(w, r, e.Kind.HTTPStatus(), p, nil)
		return
	}
	key := "flash.suppression_added"
	if !created {
		key = "flash.suppression_already"
	}
	s.redirectFlash(w, r, "/suppressions", "success", key)
}

// removeSuppressionForm asks for the reason before an address is taken
// off its list.
func (s *Server) removeSuppressionForm(w http.ResponseWriter, r *http.Request) {
	x, ok := loadByID(s, w, r, s.app.GetSuppression)
	if !ok || s.refused(w, r, app.ActDelete, x.OwnerID) {
		return
	}
	s.render(w, r, http.StatusOK, "suppression_remove", &Page{Title: "page.suppression_remove.title", Nav: "recipients",
		Form: map[string]string{}, Data: x})
}

// removeSuppression takes an address off its list, for the reason given.
func (s *Server) removeSuppression(w http.ResponseWriter, r *http.Request) {
	rc := reqCtx(r)
	x, ok := loadByID(s, w, r, s.app.GetSuppression)
	if !ok {
		return
	}
	form := formValues(r, "reason")
	if _, err := s.app.RemoveSuppression(r.Context(), rc.actor(), x.ID, form["reason"]); err != nil {
		s.fail(w, r, err, formFor(err, "suppression_remove"), &Page{Title: "page.suppression_remove.title", Nav: "recipients",
			Form: form, Data: x})
		return
	}
	s.redirectFlash(w, r, "/suppressions", "success", "flash.suppression_removed")
}

// maxSuppressionUpload bounds the CSV file of an import of suppressions.
const maxSuppressionUpload = 10 << 20

// importSuppressions suppresses the addresses of an uploaded CSV file and
// shows the list with the outcome.
func (s *Server) importSuppressions(w http.ResponseWriter, r *http.Request) {
	rc := reqCtx(r)
	if s.refused(w, r, app.ActCreate, rc.User.ID) {
		return
	}
	again := func(msg string) {
		s.renderSuppressions(w, r, http.StatusUnprocessableEntity, &Page{Form: map[string]string{}, Error: msg}, nil)
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxSuppressionUpload+(1<<20))
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		again(rc.L.T("import.no_file"))
		return
	}
	defer r.MultipartForm.RemoveAll()
	f, _, err := r.FormFile("file")
	if err != nil {
		again(rc.L.T("import.no_file"))
		return
	}
	defer f.Close()
	res, err := s.app.ImportSuppressions(r.Context(), rc.actor(), app.SuppressionInput{
		Reason: simplesender.SuppressionReason(r.FormValue("reason")), Note: r.FormValue("note"),
		ServiceWide: r.FormValue("service_wide") == "1"}, f)
	if err != nil {
		if e := simplesender.AsError(err); e.Kind == simplesender.KindInvalid {
			again(rc.L.T(e.Message))
			return
		}
		s.fail(w, r, err, "", nil)
		return
	}
	s.renderSuppressions(w, r, http.StatusOK, nil, res)
}

// exportSuppressions downloads what the list page shows, as CSV.
func (s *Server) exportSuppressions(w http.ResponseWriter, r *http.Request) {
	rc := reqCtx(r)
	sq, _ := suppressionQuery(r)
	name := "suppressions-" + s.app.Now().In(rc.User.Location()).Format(time.DateOnly) + ".csv"
	out := newCSVResponse(w, name)
	_, err := s.app.ExportSuppressions(r.Context(), rc.actor(), sq, out, app.ExportOptions{BOM: r.URL.Query().Get("bom") == "1"})
	s.endCSV(w, r, out, err)
}
