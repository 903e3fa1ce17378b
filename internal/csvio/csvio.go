// Package csvio reads and writes the CSV files of recipient lists: the files
// people save from Excel or export from another mailing tool.
//
// The Reader streams: it holds one line of the file (at most MaxLine bytes)
// and one row at a time, so its memory does not grow with the file. It
// recognises UTF-8 with or without a byte order mark and Windows-1251 (what
// Russian Excel saves), a comma, semicolon or tab between cells, an Excel
// "sep=;" first line, and header names in English and Russian. Problems with
// the file as a whole (not a CSV file, a broken encoding, a quote left open, a
// line too long, no e-mail column) are an *Error with the line and a message
// key; the rows themselves are returned as text, to be validated by the caller.
//
// The Writer writes a header and rows for Excel: an optional byte order mark,
// CRLF line ends, and cells that a spreadsheet would run as a formula
// neutralised with a leading apostrophe (see Neutralize). Every CSV export of
// the service (recipients, reports, attempts) writes through it, so there is
// one formula rule.
//
// The package is a leaf: it knows the recipient fields by name but imports
// nothing of the application.
package csvio

import (
	"fmt"
	"strings"
)

// Encoding names the character encoding of a file.
type Encoding string

// The encodings the Reader understands.
const (
	UTF8        Encoding = "utf-8"
	Windows1251 Encoding = "windows-1251"
)

// Field is what a column of the file holds.
type Field string

// The fields a column can map to. FullName ("ФИО") is split on spaces into
// last, first and middle name, in the Russian order; a separate column for
// one of those names wins over it.
const (
	Ignore     Field = ""
	Email      Field = "email"
	LastName   Field = "last_name"
	FirstName  Field = "first_name"
	MiddleName Field = "middle_name"
	FullName   Field = "full_name"
	Comment    Field = "comment"
	// Tags: the cell holds tags separated by ";" or ",".
	Tags Field = "tags"
	// Lists: the cell names lists separated by ";" or ",".
	Lists Field = "lists"
)

// CustomPrefix starts the name of a custom field's Field: "field:city" is
// the column of the owner's custom field with key "city" (see Custom).
const CustomPrefix = "field:"

// Custom returns the Field of the custom field with key key.
func Custom(key string) Field { return Field(CustomPrefix + key) }

// CustomKey returns the key of a custom field's Field, and false for the
// other fields.
func (f Field) CustomKey() (string, bool) {
	k, ok := strings.CutPrefix(string(f), CustomPrefix)
	return k, ok && validKey(k)
}

// validKey reports whether k has the form of a custom field's key: a
// lower-case letter, then up to 39 lower-case letters, digits or "_".
func validKey(k string) bool {
	if k == "" || len(k) > 40 || k[0] < 'a' || k[0] > 'z' {
		return false
	}
	for i := 1; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// Fields returns the fields a column can map to, Ignore first, in the order
// a mapping form should offer them; custom fields (see Custom) come after.
func Fields() []Field {
	return []Field{Ignore, Email, LastName, FirstName, MiddleName, FullName, Comment, Tags, Lists}
}

// ParseField returns the Field named s ("" is Ignore), and false for an
// unknown name. Any well-formed custom field name is accepted here; the
// caller checks that the owner has that field.
func ParseField(s string) (Field, bool) {
	for _, f := range Fields() {
		if string(f) == s {
			return f, true
		}
	}
	if _, ok := Field(s).CustomKey(); ok {
		return Field(s), true
	}
	return Ignore, false
}

// SplitList splits a tags or lists cell on ";" and ",", trimmed, without
// empty parts.
func SplitList(s string) []string {
	var out []string
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ',' }) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Message keys of the errors about a file as a whole (see internal/i18n).
const (
	KeyEmpty         = "error.csv.empty"           // no bytes, or only blank lines
	KeyBinary        = "error.csv.binary"          // binary data: an image, a PDF, an archive...
	KeySpreadsheet   = "error.csv.spreadsheet"     // an Excel workbook (.xlsx, .xls), not CSV
	KeyEncoding      = "error.csv.encoding"        // neither UTF-8 nor Windows-1251, or broken UTF-8 at Line
	KeyLineTooLong   = "error.csv.line_too_long"   // a line longer than the limit
	KeyOpenQuote     = "error.csv.open_quote"      // a quote opened at Line and never closed
	KeyNoEmailColumn = "error.csv.no_email_column" // no column maps to Email
	KeyMapping       = "error.csv.mapping"         // a mapping that does not fit the file
	KeySeparator     = "error.csv.separator"       // a separator other than , ; or tab was asked for
)

// Error is a problem with the file as a whole, which stops reading it.
type Error struct {
	Line int    // 1-based line of the file where the problem is; 0 when it is not at a line
	Key  string // message key, one of the Key constants
	Err  error  // detail for logs; may be nil
}

// Error implements error.
func (e *Error) Error() string {
	msg := e.Key
	if e.Line > 0 {
		msg = fmt.Sprintf("line %d: %s", e.Line, msg)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the detail.
func (e *Error) Unwrap() error { return e.Err }
