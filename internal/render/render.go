// Package render fills a message's placeholders with a recipient's fields.
//
// The syntax is deliberately small: {{first_name}} is replaced by the
// recipient's first name, and {{first_name|friend}} by the first name or, when
// it is empty, by "friend". Spaces inside the braces are ignored. The fields
// are email, first_name, last_name, middle_name and full_name (last, first and
// middle name joined), and unsubscribe_url: the recipient's own unsubscribe
// link (a message that does not use it gets a footer with it); and the keys
// of the owner's custom fields ({{city|Moscow}}), when the caller allows them
// (ParseWith). Nothing else is reachable: no functions, no loops, no
// access to the server. Text outside placeholders is copied as is.
//
// A template is parsed once when the message is saved, so a broken
// placeholder (an unknown field, "{{" without "}}") is a validation error
// then, never a failed send. Rendering is a single pass over the parsed
// parts: its time and output size are linear in the template's size plus
// the (bounded) field values.
package render

import (
	"bytes"
	"html"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"simplesender"
)

// Fields are the values a template can reach.
type Fields struct {
	Email, FirstName, LastName, MiddleName string
	// UnsubscribeURL is the recipient's unsubscribe link; empty where there
	// is none (a preview).
	UnsubscribeURL string
	// Custom holds the recipient's custom field values by key ({{city}}).
	Custom map[string]string

	fullName *string // FullName, once computed (a template may use it many times)
}

// FullName joins last, first and middle name.
func (f *Fields) FullName() string {
	if f.fullName == nil {
		s := strings.Join(strings.Fields(f.LastName+" "+f.FirstName+" "+f.MiddleName), " ")
		f.fullName = &s
	}
	return *f.fullName
}

func (f *Fields) get(name string) string {
	switch name {
	case "email":
		return f.Email
	case "first_name":
		return f.FirstName
	case "last_name":
		return f.LastName
	case "middle_name":
		return f.MiddleName
	case "full_name":
		return f.FullName()
	case "unsubscribe_url":
		return f.UnsubscribeURL
	}
	return f.Custom[name]
}

// Names lists the placeholder fields, for documentation and forms.
var Names = []string{"email", "first_name", "last_name", "middle_name", "full_name", UnsubscribeURL}

// UnsubscribeURL is the placeholder of the recipient's unsubscribe link.
const UnsubscribeURL = "unsubscribe_url"

// Limits.
const (
	MaxTemplateBytes = simplesender.MaxBodyBytes
	MaxPlaceholders  = 1000
	maxDefaultLen    = 200
)

type part struct {
	lit   string
	field string // empty for a literal
	def   string
}

// Template is a parsed message part.
type Template struct {
	parts []part
	size  int
}

// ParseError says what is wrong and where: the placeholder's name (as
// written, shortened) and the 1-based line and column (in characters) of
// its opening braces.
type ParseError struct {
	Key  string // message key: error.placeholder.*
	Name string
	Line int
	Col  int
}

// Args returns the error's message arguments: Name, Placeholder (as
// written: "{{name}}", or "{{name" when unclosed), Line and Col.
func (e *ParseError) Args() []any {
	ph := "{{" + e.Name
	if e.Key != "error.placeholder.unclosed" {
		ph += "}}"
	}
	return []any{"Name", e.Name, "Placeholder", ph, "Line", e.Line, "Col", e.Col}
}

func (e *ParseError) Error() string { return e.Key + " " + e.Name }

// Parse parses s with the built-in placeholders only. Errors are
// *ParseError.
func Parse(s string) (*Template, error) { return ParseWith(s, nil) }

// AnyCustom accepts every well-formed custom field key: for rendering a
// message whose placeholders were checked when it was saved (a field
// deleted since renders as its default).
func AnyCustom(name string) bool { return customKey(name) }

// ParseWith parses s; besides the built-in placeholders it accepts the
// custom field keys for which custom returns true (nil: none). Errors are
// *ParseError.
func ParseWith(s string, custom func(string) bool) (*Template, error) {
	if len(s) > MaxTemplateBytes {
		return nil, &ParseError{Key: "error.message.too_large"}
	}
	t := &Template{size: len(s)}
	rest := s
	n := 0
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			if rest != "" {
				t.parts = append(t.parts, part{lit: rest})
			}
			return t, nil
		}
		if i > 0 {
			t.parts = append(t.parts, part{lit: rest[:i]})
		}
		j := strings.Index(rest[i+2:], "}}")
		before := s[:len(s)-len(rest)+i]
		line := strings.Count(before, "\n") + 1
		col := utf8.RuneCountInString(before[strings.LastIndexByte(before, '\n')+1:]) + 1
		if j < 0 {
			return nil, &ParseError{Key: "error.placeholder.unclosed", Name: opening(rest[i+2:]), Line: line, Col: col}
		}
		inner := rest[i+2 : i+2+j]
		name, def, _ := strings.Cut(inner, "|")
		name = strings.TrimSpace(name)
		if strings.Contains(inner, "{{") || strings.ContainsAny(inner, "\r\n") {
			return nil, &ParseError{Key: "error.placeholder.unclosed", Name: opening(inner), Line: line, Col: col}
		}
		if !known(name) && !(custom != nil && customKey(name) && custom(name)) {
			return nil, &ParseError{Key: "error.placeholder.unknown", Name: trim(name), Line: line, Col: col}
		}
		if len(def) > maxDefaultLen {
			return nil, &ParseError{Key: "error.placeholder.default", Name: name, Line: line, Col: col}
		}
		if n++; n > MaxPlaceholders {
			return nil, &ParseError{Key: "error.placeholder.too_many", Line: line, Col: col}
		}
		t.parts = append(t.parts, part{field: name, def: strings.TrimSpace(def)})
		rest = rest[i+2+j+2:]
	}
}

// customKey reports whether name has the form of a custom field's key.
func customKey(name string) bool {
	if name == "" || len(name) > 40 || name[0] < 'a' || name[0] > 'z' {
		return false
	}
	for i := 1; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func known(name string) bool {
	for _, n := range Names {
		if n == name {
			return true
		}
	}
	return false
}

// opening is the name that follows the braces of an unclosed placeholder
// (spaces before it skipped), as the author would recognise it.
func opening(s string) string {
	s = strings.TrimLeft(s, " ")
	end := strings.IndexFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' && r != '.' })
	if end >= 0 {
		s = s[:end]
	}
	return trim(s)
}

func trim(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// Execute writes the template with f's values into buf. With escapeHTML the
// values (and defaults) are HTML-escaped; the template's own text never is.
func (t *Template) Execute(buf *bytes.Buffer, f *Fields, escapeHTML bool) {
	buf.Grow(t.size + 64)
	t.write(buf, f, escapeHTML)
}

func (t *Template) write(w io.StringWriter, f *Fields, escapeHTML bool) {
	for _, p := range t.parts {
		if p.field == "" {
			w.WriteString(p.lit)
			continue
		}
		v := f.get(p.field)
		if v == "" {
			v = p.def
		}
		if escapeHTML {
			w.WriteString(html.EscapeString(v))
		} else {
			w.WriteString(v)
		}
	}
}

// Empty reports whether the template has no text and no placeholder.
func (t *Template) Empty() bool { return len(t.parts) == 0 }

// Around returns a template that writes before, then field's value (as
// a placeholder of t would write it), then after, inserted into t at the
// start of the last occurrence of mark (ASCII, any case) in t's own text,
// or at t's end when there is none. before and after are text, never
// placeholders: "{{" in them is written as it is. t is not changed.
func (t *Template) Around(mark, before, field, after string) *Template {
	at, off := len(t.parts), 0 // insert before parts[at], splitting its text at off
	for i := len(t.parts) - 1; i >= 0 && at == len(t.parts) && mark != ""; i-- {
		if p := t.parts[i]; p.field == "" {
			if j := lastIndexFold(p.lit, mark); j >= 0 {
				at, off = i, j
			}
		}
	}
	out := &Template{size: t.size + len(before) + len(after), parts: make([]part, 0, len(t.parts)+4)}
	out.parts = append(out.parts, t.parts[:at]...)
	var tail []part
	if at < len(t.parts) {
		lit := t.parts[at].lit
		if off > 0 {
			out.parts = append(out.parts, part{lit: lit[:off]})
		}
		tail = append([]part{{lit: lit[off:]}}, t.parts[at+1:]...)
	}
	if before != "" {
		out.parts = append(out.parts, part{lit: before})
	}
	out.parts = append(out.parts, part{field: field})
	if after != "" {
		out.parts = append(out.parts, part{lit: after})
	}
	out.parts = append(out.parts, tail...)
	return out
}

// lastIndexFold is the index of the last sub (lower-case ASCII) in s,
// whatever its case, or -1.
func lastIndexFold(s, sub string) int {
	for i := len(s) - len(sub); i >= 0; i-- {
		if s[i] == sub[0] && strings.EqualFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}

// Uses reports whether the template has a placeholder of field name.
func (t *Template) Uses(name string) bool {
	for _, p := range t.parts {
		if p.field == name {
			return true
		}
	}
	return false
}

// String renders the template into a new string.
func (t *Template) String(f *Fields, escapeHTML bool) string {
	var b strings.Builder
	b.Grow(t.size + 64)
	t.write(&b, f, escapeHTML)
	return b.String()
}

// Message is a parsed message: subject, text and optional HTML.
type Message struct {
	Subject, Text, HTML *Template
}

// ParseMessage parses and validates a message's parts with the built-in
// placeholders, returning per-field errors (subject, body_text, body_html)
// as KindInvalid.
func ParseMessage(subject, text, htmlBody string) (*Message, error) {
	return ParseMessageWith(subject, text, htmlBody, nil)
}

// ParseMessageWith is ParseMessage that also accepts the custom field keys
// custom accepts (see ParseWith).
func ParseMessageWith(subject, text, htmlBody string, custom func(string) bool) (*Message, error) {
	f := simplesender.FieldErrors{}
	m := &Message{}
	var err error
	args := map[string][]any{}
	add := func(field string, err error) {
		pe := err.(*ParseError)
		f.Add(field, pe.Key)
		args[field] = pe.Args()
	}
	if m.Subject, err = ParseWith(subject, custom); err != nil {
		add("subject", err)
	}
	if m.Text, err = ParseWith(text, custom); err != nil {
		add("body_text", err)
	}
	if htmlBody != "" {
		if m.HTML, err = ParseWith(htmlBody, custom); err != nil {
			add("body_html", err)
		}
	}
	if err := f.Err(); err != nil {
		e := simplesender.AsError(err)
		e.FieldArgs = args
		return nil, e
	}
	return m, nil
}
