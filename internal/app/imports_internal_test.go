package app

import (
	"strings"
	"testing"
	"unicode/utf8"

	"simplesender"
	"simplesender/internal/csvio"
	"simplesender/internal/mailer"
)

// FuzzImportRow drives the cells of an imported row through the checks an
// import makes (the address parser among them): a row passes only with one
// valid, normalised address and names safe for a mail header, and every
// problem is reported with a known field and message key.
func FuzzImportRow(f *testing.F) {
	for _, s := range [][2]string{
		{"ivan@example.com", "Иван"},
		{" Ivan@Example.COM ", ""},
		{"a@example.com, b@example.com", "x"},
		{"a@exa\nmple.com", "x"},
		{"c@example.com\r\nBcc: victim@example.com", "x"},
		{"\"quoted\"@example.com", "x"},
		{"Ann <ann@example.com>", "x"},
		{"ann@[127.0.0.1]", "x"},
		{"ann@example.com", strings.Repeat("я", 101)},
		{"", "tab\tname"},
		{"почта@пример.рф", "x"},
	} {
		f.Add(s[0], s[1], false)
	}
	keys := map[string]bool{"error.email.invalid": true, "error.email.utf8_local": true, "error.import.email_missing": true, "error.import.email_several": true,
		"error.import.columns": true, "error.recipient.name": true, "error.recipient.comment": true}
	f.Fuzz(func(t *testing.T, email, name string, overflow bool) {
		if !utf8.ValidString(email) || !utf8.ValidString(name) {
			return // the reader hands over UTF-8 only
		}
		r, _, problems := importRow(csvio.Record{Line: 1, Email: email, FirstName: name, Comment: name, Overflow: overflow}, nil)
		for field, key := range problems {
			if !keys[key] || !strings.Contains("email first_name comment row", field) {
				t.Fatalf("problem %s: %s", field, key)
			}
		}
		if overflow != (problems["row"] != "") {
			t.Fatalf("overflow %v, problems %v", overflow, problems)
		}
		if problems["email"] != "" {
			return
		}
		again, err := mailer.ParseAddress(r.Email)
		if err != nil || again != r.Email || strings.Count(r.Email, "@") != 1 || r.Email != strings.TrimSpace(r.Email) {
			t.Fatalf("accepted address %q: reparsed %q, %v", r.Email, again, err)
		}
		for _, c := range r.Email {
			if c < 0x21 || c > 0x7e {
				t.Fatalf("accepted address %q holds %q", r.Email, c)
			}
		}
		if problems["first_name"] == "" && !simplesender.PlainText(r.FirstName, 100) {
			t.Fatalf("accepted name %q", r.FirstName)
		}
		if len(shorten(email)) > 4*80 {
			t.Fatalf("shorten(%q) is too long", email)
		}
	})
}
