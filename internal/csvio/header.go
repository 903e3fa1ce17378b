package csvio

import (
	"strings"
	"unicode"
)

// headerNames maps a normalised header name (see normalizeName) to its field.
var headerNames = map[string]Field{
	// e-mail
	"email": Email, "mail": Email, "emailaddress": Email, "emails": Email, "почта": Email, "адрес": Email,
	"электроннаяпочта": Email, "адресэлектроннойпочты": Email, "элпочта": Email, "электронныйадрес": Email,
	"емейл": Email, "имейл": Email, "емайл": Email, "мейл": Email, "адреспочты": Email, "почтовыйадрес": Email,
	// last name
	"lastname": LastName, "surname": LastName, "familyname": LastName, "фамилия": LastName,
	// first name
	"firstname": FirstName, "givenname": FirstName, "name": FirstName, "имя": FirstName,
	// middle name
	"middlename": MiddleName, "patronymic": MiddleName, "отчество": MiddleName,
	// the three in one
	"fullname": FullName, "фио": FullName, "фамилияимяотчество": FullName, "contactname": FullName,
	// comment
	"comment": Comment, "comments": Comment, "note": Comment, "notes": Comment, "комментарий": Comment,
	"комментарии": Comment,
	// tags and lists
	"tags": Tags, "tag": Tags, "теги": Tags, "тег": Tags, "метки": Tags, "метка": Tags,
	"lists": Lists, "list": Lists, "списки": Lists, "список": Lists, "примечание": Comment, "примечания": Comment, "заметка": Comment, "заметки": Comment,
}

// normalizeName lower-cases a header cell and drops everything but letters
// and digits, so that "E-mail", "e_mail " and "EMAIL" are one name; "ё" is
// read as "е".
func normalizeName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r == 'ё':
			b.WriteRune('е')
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// GuessField returns the field a header cell names, or Ignore. Names are
// compared without case, spaces and punctuation, in English and Russian:
// "E-mail", "Электронная почта", "Фамилия", "First name", "Отчество", "ФИО",
// "Комментарий", "Примечание"...
func GuessField(header string) Field {
	return headerNames[normalizeName(header)]
}

// NormalizeHeader returns the form in which header names are compared
// (lower case, letters and digits only): the key of Options.Names.
func NormalizeHeader(s string) string { return normalizeName(s) }

// guessMapping maps each header cell to a field, the built-in names first,
// then extra (normalized names of the owner's custom fields); when two
// columns name the same field the first one wins and the others are
// ignored.
func guessMapping(header []string, extra map[string]Field) []Field {
	m := make([]Field, len(header))
	seen := map[Field]bool{}
	for i, h := range header {
		f := GuessField(h)
		if f == Ignore {
			f = extra[normalizeName(h)]
		}
		if f == Ignore || seen[f] {
			continue
		}
		seen[f] = true
		m[i] = f
	}
	return m
}

// checkMapping validates a caller's mapping for a file of columns columns
// and returns it padded to that length with Ignore.
func checkMapping(m []Field, columns int) ([]Field, *Error) {
	if len(m) > columns {
		return nil, &Error{Key: KeyMapping}
	}
	out := make([]Field, columns)
	seen := map[Field]bool{}
	for i, f := range m {
		if _, ok := ParseField(string(f)); !ok {
			return nil, &Error{Key: KeyMapping}
		}
		if f != Ignore && seen[f] {
			return nil, &Error{Key: KeyMapping}
		}
		seen[f] = true
		out[i] = f
	}
	if !seen[Email] {
		return nil, &Error{Key: KeyNoEmailColumn}
	}
	return out, nil
}

// formulaStart reports whether a cell starting with c would be read by a
// spreadsheet as a formula (or, for tab and CR, could hide one).
func formulaStart(c byte) bool {
	switch c {
	case '=', '+', '-', '@', '\t', '\r':
		return true
	}
	return false
}

// Neutralize returns s as it should be written into a cell so that a
// spreadsheet shows it as text. It is the one rule of every CSV export: the
// OWASP rule against CSV injection (a value that starts with = + - @, a tab
// or a CR gets a leading apostrophe), applied to the value after any
// apostrophes it already starts with. That extension makes the rule
// reversible: "'=x" gets a second apostrophe, where the plain rule would
// leave it as it is, which is also how it writes "=x". The Reader removes
// the one apostrophe again (unneutralize is the exact inverse), so export
// and import round-trip.
func Neutralize(s string) string {
	t := strings.TrimLeft(s, "'")
	if t != "" && formulaStart(t[0]) {
		return "'" + s
	}
	return s
}

// unneutralize undoes Neutralize: unneutralize(Neutralize(s)) == s for
// every s (FuzzNeutralize).
func unneutralize(s string) string {
	if len(s) < 2 || s[0] != '\'' {
		return s
	}
	if t := strings.TrimLeft(s, "'"); t != "" && formulaStart(t[0]) {
		return s[1:]
	}
	return s
}
