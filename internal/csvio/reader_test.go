package csvio

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"
)

func encode1251(t testing.TB, s string) string {
	t.Helper()
	b, err := charmap.Windows1251.NewEncoder().String(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readAll reads every record of src.
func readAll(t testing.TB, src string, o Options) (Format, []Record, error) {
	t.Helper()
	r, err := NewReader(strings.NewReader(src), o)
	if err != nil {
		return Format{}, nil, err
	}
	var out []Record
	for rec, err := range r.All() {
		if err != nil {
			return r.Format(), out, err
		}
		out = append(out, rec)
	}
	return r.Format(), out, nil
}

func TestReaderFormats(t *testing.T) {
	russianHeader := "Электронная почта;Фамилия;Имя;Отчество;Комментарий\r\n"
	russianRow := "ivan@example.com;Петров;Иван;Сергеевич;Ёлка, дом 1\r\n"
	want := Record{Line: 2, Email: "ivan@example.com", LastName: "Петров", FirstName: "Иван", MiddleName: "Сергеевич", Comment: "Ёлка, дом 1"}
	allFive := []Field{Email, LastName, FirstName, MiddleName, Comment}
	tests := []struct {
		name    string
		src     string
		enc     Encoding
		bom     bool
		sep     rune
		mapping []Field
		first   Record
	}{
		{"utf-8 with semicolons", russianHeader + russianRow, UTF8, false, ';', allFive, want},
		{"utf-8 with a byte order mark", "\ufeff" + russianHeader + russianRow, UTF8, true, ';', allFive, want},
		{"windows-1251", encode1251(t, russianHeader+russianRow), Windows1251, false, ';', allFive, want},
		{"windows-1251 after a long ASCII start",
			encode1251(t, "email,comment\n"+strings.Repeat("a@example.com,plain ascii text\n", 3000)+"b@example.com,Привет\n"),
			Windows1251, false, ',', []Field{Email, Comment}, Record{Line: 2, Email: "a@example.com", Comment: "plain ascii text"}},
		{"commas and English names",
			"E-Mail, Last Name ,first_name,MIDDLE NAME,Notes\nann@example.com,Smith,Ann,,\"Hi, there\"\n",
			UTF8, false, ',', allFive, Record{Line: 2, Email: "ann@example.com", LastName: "Smith", FirstName: "Ann", Comment: "Hi, there"}},
		{"tabs", "email\tfirst name\nann@example.com\tAnn\n", UTF8, false, '\t', []Field{Email, FirstName},
			Record{Line: 2, Email: "ann@example.com", FirstName: "Ann"}},
		{"excel sep line", "sep=,\r\nПочта,Заметки; и прочее\r\na@example.com;1,x\r\n", UTF8, false, ',', []Field{Email, Ignore},
			Record{Line: 3, Email: "a@example.com;1"}},
		{"classic mac line ends", "email;name\ra@example.com;Ann\r", UTF8, false, ';', []Field{Email, FirstName},
			Record{Line: 2, Email: "a@example.com", FirstName: "Ann"}},
		{"no header: a bare list of addresses", "a@example.com\nb@example.com\n", UTF8, false, ',', []Field{Email},
			Record{Line: 1, Email: "a@example.com"}},
		{"full name split in Russian order", "ФИО;Почта\nПетров Иван Сергеевич;p@example.com\n", UTF8, false, ';', []Field{FullName, Email},
			Record{Line: 2, Email: "p@example.com", LastName: "Петров", FirstName: "Иван", MiddleName: "Сергеевич"}},
		{"blank lines before the header", "\n\n  \nemail\na@example.com\n", UTF8, false, ',', []Field{Email},
			Record{Line: 5, Email: "a@example.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, recs, err := readAll(t, tt.src, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if f.Encoding != tt.enc || f.BOM != tt.bom || f.Separator != tt.sep || !slices.Equal(f.Mapping, tt.mapping) {
				t.Errorf("format = %+v", f)
			}
			if len(recs) == 0 || !reflect.DeepEqual(recs[0], tt.first) {
				t.Fatalf("records = %+v\nwant first %+v", recs, tt.first)
			}
		})
	}
}

func TestReaderRows(t *testing.T) {
	src := "email;comment;last name\r\n" +
		"a@example.com;\"two\r\nlines; and \"\"quotes\"\"\";A\r\n" + // line 2-3
		";;\r\n" + // a blank row of separators: skipped
		"\r\n" +
		"b@example.com;'=1+2;B;extra\r\n" + // line 6: overflow, neutralised formula
		"c@example.com\r\n" + // line 7: fewer cells
		"\"d@example.com\"x;ok\r\n" + // text after a closing quote is kept
		"e@example.com;\"unclosed at the end"
	r, err := NewReader(strings.NewReader(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Record{
		{Line: 2, Email: "a@example.com", Comment: "two\nlines; and \"quotes\"", LastName: "A"},
		{Line: 6, Email: "b@example.com", Comment: "=1+2", LastName: "B", Overflow: true},
		{Line: 7, Email: "c@example.com"},
		{Line: 8, Email: "d@example.com\"x", Comment: "ok"},
	}
	for i, w := range want {
		got, err := r.Read()
		if err != nil || !reflect.DeepEqual(got, w) {
			t.Fatalf("record %d = %+v, %v\nwant %+v", i, got, err, w)
		}
	}
	_, err = r.Read()
	var ce *Error
	if !errors.As(err, &ce) || ce.Key != KeyOpenQuote || ce.Line != 9 {
		t.Fatalf("unclosed quote: %v", err)
	}
	if _, again := r.Read(); again != err {
		t.Fatalf("the error is not sticky: %v", again)
	}
	// All yields the sticky error once and ends, even for a caller that
	// goes on after it.
	errs := 0
	for _, err := range r.All() {
		if errs++; err == nil || errs > 1 {
			t.Fatalf("All after the error: yield %d, %v", errs, err)
		}
	}
}

func TestReaderMappingOverride(t *testing.T) {
	src := "col1;col2;col3\nИванов;ivan@example.com;x\n"
	if _, _, err := readAll(t, src, Options{}); !isKey(err, KeyNoEmailColumn, 1) {
		t.Fatalf("no e-mail column guessed: %v", err)
	}
	f, recs, err := readAll(t, src, Options{Mapping: []Field{LastName, Email}})
	if err != nil || len(recs) != 1 || recs[0].Email != "ivan@example.com" || recs[0].LastName != "Иванов" {
		t.Fatalf("%+v %+v %v", f, recs, err)
	}
	if !slices.Equal(f.Mapping, []Field{LastName, Email, Ignore}) || f.Header[2] != "col3" {
		t.Fatalf("mapping = %v, header %v", f.Mapping, f.Header)
	}
	for _, bad := range [][]Field{
		{Email, Email},
		{Email, Ignore, Ignore, Comment},
		{Field("phone"), Email},
	} {
		if _, _, err := readAll(t, src, Options{Mapping: bad}); !isKey(err, KeyMapping, 1) {
			t.Errorf("mapping %v: %v", bad, err)
		}
	}
	// A header forced away: the first row is data.
	_, recs, err = readAll(t, src, Options{Header: HeaderAbsent, Mapping: []Field{Ignore, Email}})
	if err != nil || len(recs) != 2 || recs[0].Email != "col2" || recs[0].Line != 1 {
		t.Fatalf("no header: %+v %v", recs, err)
	}
	if _, err := NewReader(strings.NewReader(src), Options{Separator: 'x'}); !isKey(err, KeySeparator, 0) {
		t.Fatalf("bad separator: %v", err)
	}
}

func isKey(err error, key string, line int) bool {
	var ce *Error
	return errors.As(err, &ce) && ce.Key == key && ce.Line == line
}

func TestReaderBadFiles(t *testing.T) {
	png := "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00"
	xlsx := "PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00"
	tenMB := "email\na@example.com\n" + strings.Repeat("x", 10<<20) + "\nb@example.com\n"
	brokenUTF8 := "email;name\na@example.com;Аня\nb@example.com;" + encode1251(t, "Борис") + "\n"
	tests := []struct {
		name, src string
		key       string
		line      int
	}{
		{"empty", "", KeyEmpty, 0},
		{"blank lines only", "\n \r\n\n", KeyEmpty, 0},
		{"a PNG image", png, KeyBinary, 1},
		{"an Excel workbook", xlsx, KeySpreadsheet, 1},
		{"an old Excel workbook", "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\x00\x00", KeySpreadsheet, 1},
		{"UTF-16", "\xFF\xFEe\x00m\x00", KeyEncoding, 1},
		{"a NUL in the middle", "email\na@example.com\nb@exa\x00mple.com\n", KeyBinary, 3},
		{"a NUL after the first chunk", "email\n" + strings.Repeat("a@example.com\n", 6000) + "\x00\n", KeyBinary, 6002},
		{"a 10 MB line", tenMB, KeyLineTooLong, 3},
		{"a 10 MB header", strings.Repeat("y", 10<<20), KeyLineTooLong, 1},
		{"a quote left open", "email;name\na@example.com;\"Ann\nb@example.com;Bob\n", KeyOpenQuote, 2},
		{"a quote left open in a large file", "email;name\na@example.com;\"Ann\n" + strings.Repeat("b@example.com;Bob\n", 10000), KeyOpenQuote, 2},
		{"Windows-1251 and UTF-8 lines at the start", brokenUTF8, KeyEncoding, 2},
		{"Windows-1251 in a UTF-8 file, late", "email;name\n" + strings.Repeat("a@example.com;Аня\n", 5000) + "b@example.com;" +
			encode1251(t, "Борис") + "\n", KeyEncoding, 5002},
		{"UTF-8 in a Windows-1251 file, late", "email;name\n" + strings.Repeat(encode1251(t, "a@example.com;Аня\n"), 5000) +
			"b@example.com;Борис\n", KeyEncoding, 5002},
		{"no e-mail column", "Фамилия;Имя\nПетров;Иван\n", KeyNoEmailColumn, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := readAll(t, tt.src, Options{})
			if !isKey(err, tt.key, tt.line) {
				t.Fatalf("got %v, want %s at line %d", err, tt.key, tt.line)
			}
		})
	}
}

func TestGuessField(t *testing.T) {
	for header, want := range map[string]Field{
		"Email": Email, " E-mail ": Email, "e_mail": Email, "ПОЧТА": Email, "Адрес": Email, "Электронная почта": Email,
		"Эл. почта": Email, "Last name": LastName, "фамилия": LastName, "First Name": FirstName, "Имя": FirstName,
		"Middle name": MiddleName, "Отчество": MiddleName, "ФИО": FullName, "Comment": Comment,
		"Комментарий": Comment, "Примечание": Comment, "phone": Ignore, "": Ignore,
	} {
		if got := GuessField(header); got != want {
			t.Errorf("GuessField(%q) = %q, want %q", header, got, want)
		}
	}
}

func TestNeutralize(t *testing.T) {
	for in, want := range map[string]string{
		"=SUM(A1)": "'=SUM(A1)", "+7 900": "'+7 900", "-1": "'-1", "@cmd": "'@cmd", "\tx": "'\tx", "\rx": "'\rx",
		"'=x": "''=x", "'plain": "'plain", "plain": "plain", "": "", "a=b": "a=b", "'": "'",
	} {
		if got := Neutralize(in); got != want {
			t.Errorf("Neutralize(%q) = %q, want %q", in, got, want)
		}
		if back := unneutralize(Neutralize(in)); back != in {
			t.Errorf("round trip of %q gives %q", in, back)
		}
	}
}

func TestWriterRoundTrip(t *testing.T) {
	rows := [][]string{
		{"email", "last_name", "first_name", "middle_name", "comment"},
		{"ann@example.com", "=HYPERLINK(\"http://evil\")", "+Ann", "-", "@SUM(1)"},
		{"bob@example.com", "Петров", "Иван", " Сергеевич", "two\nlines, \"quoted\"; semicolon"},
		{"cat@example.com", "'=already", "", "", "\tTab"},
	}
	for _, o := range []WriterOptions{{}, {BOM: true, Separator: ';'}, {Separator: '\t'}} {
		var b bytes.Buffer
		w := NewWriter(&b, o)
		for _, r := range rows {
			if err := w.Write(r...); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if o.BOM != strings.HasPrefix(out, "\ufeff") {
			t.Errorf("%+v: byte order mark %v", o, !o.BOM)
		}
		for _, bad := range []string{"\"=", ",=", ";=", "\t=", "\n+", ",+", ",-", ",@", ";@"} {
			if strings.Contains(out, bad) {
				t.Errorf("%+v: a formula is not neutralised (%q) in\n%s", o, bad, out)
			}
		}
		f, recs, err := readAll(t, out, Options{})
		if err != nil || len(recs) != 3 || f.BOM != o.BOM {
			t.Fatalf("%+v: read back: %+v %v", o, recs, err)
		}
		for i, rec := range recs {
			got := []string{rec.Email, rec.LastName, rec.FirstName, rec.MiddleName, rec.Comment}
			if !slices.Equal(got, rows[i+1]) {
				t.Errorf("%+v: row %d = %q, want %q", o, i+1, got, rows[i+1])
			}
		}
	}
}

func TestEmptyWriterWithBOM(t *testing.T) {
	var b bytes.Buffer
	if err := NewWriter(&b, WriterOptions{BOM: true}).Flush(); err != nil || b.String() != "\ufeff" {
		t.Fatalf("%q %v", b.String(), err)
	}
}

func BenchmarkReader(b *testing.B) {
	var src strings.Builder
	src.WriteString("email;last_name;first_name;middle_name;comment\r\n")
	for i := range 10000 {
		src.WriteString("user")
		src.WriteString(strings.Repeat("x", i%7))
		src.WriteString("@example.com;Петров;Иван;Сергеевич;\"a comment, with a comma\"\r\n")
	}
	data := src.String()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		r, err := NewReader(strings.NewReader(data), Options{})
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := r.Read(); err != nil {
				break
			}
		}
	}
}
