// Package render fills a message's placeholders with a recipient's fields.
//
// The syntax is deliberately small: {{first_name}} is replaced by the
// recipient's first name, and {{first_name|friend}} by the first name or, when
// it is empty, by "friend". Spaces inside the braces are ignored. The fields
// are email, first_name, last_name, middle_name and full_name (last, first and
// middle name joined). Nothing else is reachable: no functions, no loops, no
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
	"strings"

	"simplesender"
)

// Fields are the values a template can reach.
type Fields struct {
	Email, FirstName, LastName, MiddleName string

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
	}
	return ""
}

// Names lists the placeholder fields, for documentation and forms.
var Names = []string{"email", "first_name", "last_name", "middle_name", "full_name"}

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

// ParseError says what is wrong and where (1-based line).
type ParseError struct {
	Key  string // message key: error.placeholder.*
	Name string
	Line int
}

func (e *ParseError) Error() string { return e.Key + " " + e.Name }

// Parse parses s. Errors are *ParseError.
func Parse(s string) (*Template, error) {
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
		line := strings.Count(s[:len(s)-len(rest)+i], "\n") + 1
		if j < 0 {
			return nil, &ParseError{Key: "error.placeholder.unclosed", Line: line}
		}
		inner := rest[i+2 : i+2+j]
		name, def, _ := strings.Cut(inner, "|")
		name = strings.TrimSpace(name)
		if strings.Contains(inner, "{{") || strings.ContainsAny(inner, "\r\n") {
			return nil, &ParseError{Key: "error.placeholder.unclosed", Line: line}
		}
		if !known(name) {
			return nil, &ParseError{Key: "error.placeholder.unknown", Name: trim(name), Line: line}
		}
		if len(def) > maxDefaultLen {
			return nil, &ParseError{Key: "error.placeholder.default", Name: name, Line: line}
		}
		if n++; n > MaxPlaceholders {
			return nil, &ParseError{Key: "error.placeholder.too_many", Line: line}
		}
		t.parts = append(t.parts, part{field: name, def: strings.TrimSpace(def)})
		rest = rest[i+2+j+2:]
	}
}

func known(name string) bool {
	for _, n := range Names {
		if n == name {
			return true
		}
	}
	return false
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
	for _, p := range t.parts {
		if p.field == "" {
			buf.WriteString(p.lit)
			continue
		}
		v := f.get(p.field)
		if v == "" {
			v = p.def
		}
		if escapeHTML {
			buf.WriteString(html.EscapeString(v))
		} else {
			buf.WriteString(v)
		}
	}
}

// String renders the template into a new string.
func (t *Template) String(f *Fields, escapeHTML bool) string {
	var b bytes.Buffer
	t.Execute(&b, f, escapeHTML)
	return b.String()
}

// Message is a parsed message: subject, text and optional HTML.
type Message struct {
	Subject, Text, HTML *Template
}

// ParseMessage parses and validates a message's parts, returning per-field
// errors (subject, body_text, body_html) as KindInvalid.
func ParseMessage(subject, text, htmlBody string) (*Message, error) {
	f := simplesender.FieldErrors{}
	m := &Message{}
	var err error
	if m.Subject, err = Parse(subject); err != nil {
		f.Add("subject", err.(*ParseError).Key)
	}
	if m.Text, err = Parse(text); err != nil {
		f.Add("body_text", err.(*ParseError).Key)
	}
	if htmlBody != "" {
		if m.HTML, err = Parse(htmlBody); err != nil {
			f.Add("body_html", err.(*ParseError).Key)
		}
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	return m, nil
}
