package csvio

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzReader reads arbitrary bytes: it must never panic, never fill a field
// that no column maps to, keep rows in file order with their lines, and
// report every problem as an *Error with a line where there is one.
func FuzzReader(f *testing.F) {
	for _, s := range []string{
		"email;name\na@example.com;Ann\n",
		"\ufeffEmail,Фамилия,Имя,Отчество,Комментарий\r\nx@y.ru,\"a\"\"b\",c,d,\"e\r\nf\"\r\n",
		"sep=;\nФИО;почта\nПетров Иван;p@example.com\n",
		"a@b.c\n\"open\n",
		"email\n\"unterminated",
		"\xcf\xee\xf7\xf2\xe0;x\na@b.ru;\xc8\xe2\xe0\xed\n",
		"PK\x03\x04",
		"email\x00\n",
		"email\ta\tb\n1\t2\t3\t4\n",
		"email\r'=1\r",
		"email,comment\n" + strings.Repeat("a", 300) + "\n",
	} {
		f.Add([]byte(s), uint8(0))
	}
	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		o := Options{MaxLine: 128}
		if mode&1 != 0 {
			o.Encoding = Windows1251
		}
		if mode&2 != 0 {
			o.Separator = ';'
		}
		if mode&4 != 0 {
			o.Header = HeaderAbsent
			o.Mapping = []Field{Email, FullName}
		}
		r, err := NewReader(bytes.NewReader(data), o)
		if err != nil {
			checkError(t, err, len(data))
			return
		}
		format := r.Format()
		if !slices.Contains(format.Mapping, Email) || len(format.Mapping) != format.Columns {
			t.Fatalf("mapping %v for %d columns", format.Mapping, format.Columns)
		}
		mapped := map[Field]bool{}
		for _, f := range format.Mapping {
			mapped[f] = true
		}
		last := 0
		for range len(data) + 2 {
			rec, err := r.Read()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				checkError(t, err, len(data))
				return
			}
			if rec.Line <= last || rec.Line > r.Line() {
				t.Fatalf("record at line %d after line %d, %d lines read", rec.Line, last, r.Line())
			}
			last = rec.Line
			for f, v := range map[Field]string{LastName: rec.LastName, FirstName: rec.FirstName, MiddleName: rec.MiddleName, Comment: rec.Comment} {
				fromFull := mapped[FullName] && f != Comment
				if v != "" && !mapped[f] && !fromFull {
					t.Fatalf("field %s = %q but no column maps to it (%v)", f, v, format.Mapping)
				}
				if !utf8.ValidString(v) || len(v) > 3*o.MaxLine {
					t.Fatalf("field %s = %q", f, v)
				}
			}
		}
		t.Fatal("more records than bytes")
	})
}

func checkError(t *testing.T, err error, size int) {
	t.Helper()
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T) is not an *Error", err, err)
	}
	switch ce.Key {
	case KeyEmpty, KeyMapping, KeySeparator:
	case KeyNoEmailColumn, KeyBinary, KeySpreadsheet, KeyEncoding, KeyLineTooLong, KeyOpenQuote:
		if ce.Line < 1 || ce.Line > size+1 {
			t.Fatalf("%v: line %d out of range", err, ce.Line)
		}
	default:
		t.Fatalf("unknown key in %v", err)
	}
}

// FuzzRoundTrip writes cells with the Writer and reads them back: whatever
// a user typed (short of NUL, CR or broken UTF-8) comes back unchanged.
func FuzzRoundTrip(f *testing.F) {
	f.Add("ann@example.com", "=1+2", "two\nlines", uint8(0))
	f.Add("-x@example.com", "'@a", "\"quoted\", ;", uint8(1))
	f.Add("b@example.com", "\t", " lead", uint8(2))
	f.Fuzz(func(t *testing.T, email, name, comment string, mode uint8) {
		for _, s := range []string{email, name, comment} {
			if !utf8.ValidString(s) || strings.ContainsAny(s, "\x00\r\ufeff") || len(s) > 1000 {
				return
			}
		}
		if strings.TrimSpace(email) == "" {
			return // a blank row is skipped
		}
		var b bytes.Buffer
		w := NewWriter(&b, WriterOptions{BOM: mode&1 != 0, Separator: []rune{',', ';', '\t', '|'}[mode/2%4]})
		_ = w.Write("email", "first_name", "comment")
		_ = w.Write(email, name, comment)
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		r, err := NewReader(&b, Options{Separator: []rune{',', ';', '\t', '|'}[mode/2%4], Header: HeaderPresent,
			Mapping: []Field{Email, FirstName, Comment}})
		if err != nil {
			t.Fatalf("%q: %v", b.String(), err)
		}
		rec, err := r.Read()
		if err != nil || rec.Email != email || rec.FirstName != name || rec.Comment != comment {
			t.Fatalf("read back %+v, %v from %q", rec, err, b.String())
		}
	})
}

// FuzzNeutralize checks that no neutralised cell starts a formula and that
// the reader gets the value back.
func FuzzNeutralize(f *testing.F) {
	for _, s := range []string{"=1", "'=1", "''+", "plain", "", "'", "-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := Neutralize(s)
		if n != "" && formulaStart(n[0]) {
			t.Fatalf("Neutralize(%q) = %q starts a formula", s, n)
		}
		if unneutralize(n) != s {
			t.Fatalf("round trip of %q gives %q", s, unneutralize(n))
		}
	})
}
