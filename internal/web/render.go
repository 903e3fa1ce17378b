package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/i18n"
)

//go:embed templates
var templateFS embed.FS

// templates holds one parsed template set per page, each with the layout.
type templates map[string]*template.Template

func parseTemplates(assets *Assets) (templates, error) {
	funcs := template.FuncMap{
		"asset": assets.Path,
		"dict": func(kv ...any) map[string]any {
			m := map[string]any{}
			for i := 0; i+1 < len(kv); i += 2 {
				m[fmt.Sprint(kv[i])] = kv[i+1]
			}
			return m
		},
		"add":     func(a, b int) int { return a + b },
		"excerpt": excerpt,
		"f1":      f1,
		"addf":    func(a, b float64) float64 { return a + b },
		"subf":    func(a, b float64) float64 { return a - b },
		"sub":     func(a, b int) int { return a - b },
	}
	pages, err := fs.Glob(templateFS, "templates/pages/*.html")
	if err != nil {
		return nil, err
	}
	out := templates{}
	for _, p := range pages {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html", "templates/rates.html", p)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", p, err)
		}
		out[strings.TrimSuffix(path.Base(p), ".html")] = t
	}
	return out, nil
}

// excerpt is the start of s on one line: whitespace runs become one space,
// and past n characters it is cut at a word and ends with "…".
func excerpt(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	cut := string(r[:n])
	if i := strings.LastIndexByte(cut, ' '); i > n/2 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " ,.;:-") + "…"
}

// flash is a one-time message shown on the next page.
type flash struct {
	Kind string // success, error, info
	Text string
}

// Page is the data every page template gets.
type Page struct {
	L       *i18n.Localizer
	User    *simplesender.User
	Title   string // already translated
	Flash   *flash
	Path    string // the current path and query, for the language switch
	Nav     string // which navbar item is current
	Form    map[string]string
	Errors  map[string]string // field -> translated message
	Error   string            // translated message for the whole form
	Data    any
	Status  int
	Langs   []string
	Request *http.Request
	now     time.Time // when the page is made, on the app's clock
}

// timeLayout is how pages show a time.
const timeLayout = "2006-01-02 15:04 MST"

// Time formats t in the viewer's time zone.
func (p *Page) Time(t any) string {
	var tt time.Time
	switch v := t.(type) {
	case time.Time:
		tt = v
	case *time.Time:
		if v == nil {
			return "—"
		}
		tt = *v
	default:
		return ""
	}
	loc := time.UTC
	if p.User != nil {
		loc = p.User.Location()
	}
	return tt.In(loc).Format(timeLayout)
}

// Person is a person's name in the order of the page's language.
func (p *Page) Person(last, first, middle string) string {
	return simplesender.PersonName(p.L.Lang(), last, first, middle)
}

// Quote puts s in the quotation marks of the page's language.
func (p *Page) Quote(s string) string { return p.L.T("quote", "Text", s) }

// AuditDetail is the detail of a recorded action in the page's language: a
// role change names the role by its label.
func (p *Page) AuditDetail(e *simplesender.AuditEvent) string {
	if e.Action != "user.role" {
		return e.Detail
	}
	role, via, _ := strings.Cut(e.Detail, " ")
	if !simplesender.Role(role).Valid() {
		return e.Detail
	}
	out := p.L.T("role." + role)
	if via == "(command line)" {
		out += " (" + p.L.T("audit.via_cli") + ")"
	} else if via != "" {
		out += " " + via
	}
	return out
}

// Avatar is the address of u's picture, "" when there is none.
func (p *Page) Avatar(u *simplesender.User) string { return AvatarURL(u) }

// IsStaff reports whether the viewer is a manager or admin.
func (p *Page) IsStaff() bool { return p.User != nil && p.User.Role.IsStaff() }

// IsAdmin reports whether the viewer is an admin.
func (p *Page) IsAdmin() bool { return p.User != nil && p.User.Role == simplesender.RoleAdmin }

// IsManager reports whether the viewer is a manager (read-only on content).
func (p *Page) IsManager() bool { return p.User != nil && p.User.Role == simplesender.RoleManager }

// Can reports whether the viewer may do act ("create", "edit", "delete",
// "send", "cancel", "disable") to content of the user owner, by the rule of
// package app: templates show only the buttons that work.
func (p *Page) Can(act string, owner int64) bool {
	return p.User != nil && (&app.Actor{User: p.User}).Can(app.Action(act), owner)
}

// CanCreate reports whether the viewer may add recipients, messages and
// mailings (managers may not).
func (p *Page) CanCreate() bool { return p.User != nil && p.Can(string(app.ActCreate), p.User.ID) }

// render writes page name with status.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p *Page) {
	s.fillPage(w, r, p)
	b, err := s.renderBytes(name, status, p)
	if err != nil {
		s.log.Error("render template", "name", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	writeHTML(w, status, b)
}

// renderBytes executes page name with p, already filled.
func (s *Server) renderBytes(name string, status int, p *Page) ([]byte, error) {
	t, ok := s.tmpl[name]
	if !ok {
		return nil, fmt.Errorf("no such template %q", name)
	}
	p.Status = status
	var buf bytes.Buffer
	if err := t.Execute(&buf, p); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeHTML writes a rendered page; pages are per viewer, so no cache
// along the way may keep them.
func writeHTML(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// fillPage sets what every page has from the request.
func (s *Server) fillPage(w http.ResponseWriter, r *http.Request, p *Page) {
	rc := reqCtx(r)
	p.L = rc.L
	p.User = rc.User
	p.Langs = s.bundle.Languages()
	p.Request = r
	p.Path = r.URL.RequestURI()
	p.now = s.app.Now()
	if p.Flash == nil {
		p.Flash = s.takeFlash(w, r)
	}
	if p.Title != "" {
		p.Title = rc.L.T(p.Title)
	}
}
