package app_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/text/encoding/charmap"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/app/apptest"
	"simplesender/internal/csvio"
	"simplesender/internal/store"
	"simplesender/internal/store/storetest"
)

// importer is a user of a test app with helpers to import and look.
type importer struct {
	t   *testing.T
	env *apptest.Env
	ac  *app.Actor
}

func newImporter(t *testing.T, env *apptest.Env, email string) *importer {
	return &importer{t: t, env: env, ac: &app.Actor{User: env.User(t, email, simplesender.RoleUser, simplesender.StatusActive)}}
}

func (im *importer) run(file string, o app.ImportOptions) (*app.ImportResult, error) {
	return im.env.App.ImportRecipients(ctx, im.ac, 0, strings.NewReader(file), o)
}

func (im *importer) mustImport(file string, o app.ImportOptions) *app.ImportResult {
	im.t.Helper()
	res, err := im.run(file, o)
	if err != nil {
		im.t.Fatalf("import: %v", err)
	}
	return res
}

// list returns the user's recipients by lower-cased address.
func (im *importer) list() map[string]simplesender.Recipient {
	im.t.Helper()
	out := map[string]simplesender.Recipient{}
	after := ""
	for {
		page, err := im.env.DB.Store().RecipientsAfter(ctx, im.ac.User.ID, after, 500)
		if err != nil {
			im.t.Fatal(err)
		}
		for _, r := range page {
			out[strings.ToLower(r.Email)] = *r
		}
		if len(page) < 500 {
			return out
		}
		after = strings.ToLower(page[len(page)-1].Email)
	}
}

func counts(res *app.ImportResult) string {
	c := res.ImportCounts
	return fmt.Sprintf("rows %d imported %d updated %d unchanged %d skipped %d duplicates %d invalid %d",
		c.Rows, c.Imported, c.Updated, c.Unchanged, c.Skipped, c.Duplicates, c.Invalid)
}

func encode1251(t *testing.T, s string) string {
	t.Helper()
	b, err := charmap.Windows1251.NewEncoder().String(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestImportEncodingsAndSeparators(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		rows := [][]string{
			{"Электронная почта", "Фамилия", "Имя", "Отчество", "Комментарий"},
			{"ivan@example.com", "Петров", "Иван", "Сергеевич", "Ёлка; дом, 1"},
			{"Olga@Example.COM", "Сидорова", "Ольга", "", "клиент"},
		}
		n := 0
		for _, enc := range []string{"utf-8", "utf-8 bom", "windows-1251"} {
			for _, sep := range []string{",", ";", "\t"} {
				t.Run(fmt.Sprintf("%s %q", enc, sep), func(t *testing.T) {
					n++
					im := newImporter(t, env, fmt.Sprintf("enc%d@example.com", n))
					var b strings.Builder
					for _, r := range rows {
						cells := slices.Clone(r)
						for i, c := range cells {
							if strings.Contains(c, sep) {
								cells[i] = `"` + c + `"`
							}
						}
						b.WriteString(strings.Join(cells, sep) + "\r\n")
					}
					file := b.String()
					switch enc {
					case "utf-8 bom":
						file = "\ufeff" + file
					case "windows-1251":
						file = encode1251(t, file)
					}
					res := im.mustImport(file, app.ImportOptions{})
					if res.Imported != 2 || res.Invalid != 0 || string(res.Format.Encoding) != strings.TrimSuffix(enc, " bom") ||
						res.Format.Separator != rune(sep[0]) || res.Format.BOM != strings.HasSuffix(enc, "bom") {
						t.Fatalf("%s; format %+v", counts(res), res.Format)
					}
					got := im.list()
					ivan, olga := got["ivan@example.com"], got["olga@example.com"]
					if ivan.LastName != "Петров" || ivan.FirstName != "Иван" || ivan.MiddleName != "Сергеевич" || ivan.Comment != "Ёлка; дом, 1" {
						t.Errorf("ivan = %+v", ivan)
					}
					if olga.Email != "Olga@example.com" || olga.LastName != "Сидорова" || olga.Comment != "клиент" {
						t.Errorf("olga = %+v", olga)
					}
				})
			}
		}
	})
}

func TestImportExistingAndRepeatedRows(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		// The clock is read by the app's background jobs too.
		var clock atomic.Int64
		clock.Store(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC).UnixMicro())
		now := func() time.Time { return time.UnixMicro(clock.Load()).UTC() }
		env.DB.SetClock(now)
		file := "email;last name;first name\n" +
			"ann@example.com;Smith;Ann\n" +
			"BOB@example.com;Brown;Bob\n" +
			"new@example.com;New;Nina\n" +
			"ann@EXAMPLE.com;Other;Anna\n" // line 5 repeats line 2
		for _, update := range []bool{false, true} {
			t.Run(fmt.Sprintf("update=%v", update), func(t *testing.T) {
				im := newImporter(t, env, fmt.Sprintf("existing-%v@example.com", update))
				for _, r := range []*simplesender.Recipient{
					{Email: "ann@example.com", LastName: "Smith", FirstName: "Ann", Comment: "kept"},
					{Email: "bob@example.com", LastName: "Old", FirstName: "Bob", Comment: "kept too"},
				} {
					if err := env.App.CreateRecipient(ctx, im.ac, r); err != nil {
						t.Fatal(err)
					}
				}
				clock.Add(time.Hour.Microseconds())
				res := im.mustImport(file, app.ImportOptions{Update: update})
				want := "rows 4 imported 1 updated 0 unchanged 1 skipped 1 duplicates 1 invalid 0"
				if update {
					want = "rows 4 imported 1 updated 1 unchanged 1 skipped 0 duplicates 1 invalid 0"
				}
				if counts(res) != want || !res.Committed {
					t.Fatalf("first import: %s, want %s", counts(res), want)
				}
				if len(res.DuplicateRows) != 1 || res.DuplicateRows[0] != (app.ImportDuplicate{Line: 5, FirstLine: 2, Email: "ann@example.com"}) {
					t.Errorf("duplicates = %+v", res.DuplicateRows)
				}
				got := im.list()
				bob := got["bob@example.com"]
				if update && (bob.Email != "BOB@example.com" || bob.LastName != "Brown" || bob.Comment != "kept too" || !bob.UpdatedAt.Equal(now())) {
					t.Errorf("updated bob = %+v", bob)
				}
				if !update && (bob.Email != "bob@example.com" || bob.LastName != "Old") {
					t.Errorf("skipped bob = %+v", bob)
				}
				if ann := got["ann@example.com"]; ann.LastName != "Smith" || ann.FirstName != "Ann" || ann.UpdatedAt.Equal(now()) {
					t.Errorf("ann (the first of her rows wins, unchanged) = %+v", ann)
				}
				// The same file again changes nothing, not even updated_at.
				clock.Add(time.Hour.Microseconds())
				res = im.mustImport(file, app.ImportOptions{Update: update})
				want = "rows 4 imported 0 updated 0 unchanged 3 skipped 0 duplicates 1 invalid 0"
				if !update {
					want = "rows 4 imported 0 updated 0 unchanged 2 skipped 1 duplicates 1 invalid 0"
				}
				if counts(res) != want || res.Committed {
					t.Fatalf("second import: %s, want %s", counts(res), want)
				}
				again := im.list()
				for k, r := range got {
					if !reflect.DeepEqual(again[k], r) {
						t.Errorf("%s changed: %+v -> %+v", k, r, again[k])
					}
				}
			})
		}
	})
}

func TestImportInvalidRows(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		long := strings.Repeat("Я", 101)
		file := "email,first name,comment\n" +
			"good@example.com,Ann,ok\n" + // 2
			"not-an-address,Bob,x\n" + // 3
			"\"a@example.com, b@example.com\",Two,x\n" + // 4
			"\"c@exa\r\nmple.com\",Crlf,x\n" + // 5-6
			"d@example.com," + long + ",x\n" + // 7
			",Nobody,x\n" + // 8
			"e@example.com,Eve,x,surplus\n" + // 9
			"f@example.com,Fay,fine\n" // 10
		wantErrors := []app.ImportRowError{
			{Line: 3, Email: "not-an-address", Fields: map[string]string{"email": "error.email.invalid"}},
			{Line: 4, Email: "a@example.com, b@example.com", Fields: map[string]string{"email": "error.import.email_several"}},
			{Line: 5, Email: "c@exa mple.com", Fields: map[string]string{"email": "error.email.invalid"}},
			{Line: 7, Email: "d@example.com", Fields: map[string]string{"first_name": "error.recipient.name"}},
			{Line: 8, Email: "", Fields: map[string]string{"email": "error.import.email_missing"}},
			{Line: 9, Email: "e@example.com", Fields: map[string]string{"row": "error.import.columns"}},
		}
		im := newImporter(t, env, "invalid@example.com")
		res, err := im.run(file, app.ImportOptions{})
		if e := simplesender.AsError(err); e.Kind != simplesender.KindInvalid || e.Message != "error.import.invalid_rows" {
			t.Fatalf("all or nothing: %v", err)
		}
		if counts(res) != "rows 8 imported 0 updated 0 unchanged 0 skipped 0 duplicates 0 invalid 6" || res.Committed {
			t.Fatalf("all or nothing: %s", counts(res))
		}
		if fmt.Sprint(res.Errors) != fmt.Sprint(wantErrors) {
			t.Errorf("errors:\n%v\nwant\n%v", res.Errors, wantErrors)
		}
		if n := len(im.list()); n != 0 {
			t.Fatalf("%d recipients imported from a file refused", n)
		}
		res = im.mustImport(file, app.ImportOptions{ValidOnly: true})
		if counts(res) != "rows 8 imported 2 updated 0 unchanged 0 skipped 0 duplicates 0 invalid 6" || !res.Committed {
			t.Fatalf("valid only: %s", counts(res))
		}
		if fmt.Sprint(res.Errors) != fmt.Sprint(wantErrors) {
			t.Errorf("errors:\n%v\nwant\n%v", res.Errors, wantErrors)
		}
		if got := im.list(); len(got) != 2 || got["good@example.com"].FirstName != "Ann" || got["f@example.com"].Comment != "fine" {
			t.Errorf("imported %+v", got)
		}
	})
}

func TestImportBadFilesImportNothing(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		many := func(n int) string {
			var b strings.Builder
			for i := range n {
				fmt.Fprintf(&b, "user%d@example.com;User %d\n", i, i)
			}
			return b.String()
		}
		tests := []struct {
			name, file, key string
			line            int
		}{
			{"a PNG image", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", csvio.KeyBinary, 1},
			{"an Excel workbook", "PK\x03\x04\x14\x00\x06\x00", csvio.KeySpreadsheet, 1},
			{"empty", "", csvio.KeyEmpty, 0},
			{"a header only", "email;name\n", "error.csv.no_rows", 0},
			{"no e-mail column", "Фамилия;Имя\nПетров;Иван\n", csvio.KeyNoEmailColumn, 1},
			{"a quote left open", "email;name\n" + many(1200) + "z@example.com;\"Open\n" + many(10), csvio.KeyOpenQuote, 1202},
			{"a 10 MB line after 1,200 good rows", "email;name\n" + many(1200) + strings.Repeat("x", 10<<20) + "\n" + many(5), csvio.KeyLineTooLong, 1202},
			{"broken UTF-8 late in the file", "email;name\n" + many(5000) + "w@example.com;Привет\n" + "v@example.com;" + encode1251(t, "Привет") + "\n", csvio.KeyEncoding, 5003},
		}
		n := 0
		for _, tt := range tests {
			for _, validOnly := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s valid-only=%v", tt.name, validOnly), func(t *testing.T) {
					n++
					im := newImporter(t, env, fmt.Sprintf("bad%d@example.com", n))
					res, err := im.run(tt.file, app.ImportOptions{ValidOnly: validOnly, Update: true})
					e := simplesender.AsError(err)
					var ce *csvio.Error
					if e.Kind != simplesender.KindInvalid || e.Message != tt.key || res != nil {
						t.Fatalf("got %v (result %v), want %s", err, res, tt.key)
					}
					if tt.line > 0 && (!errors.As(err, &ce) || ce.Line != tt.line) {
						t.Fatalf("error %v: want line %d", err, tt.line)
					}
					if got := len(im.list()); got != 0 {
						t.Fatalf("%d recipients imported", got)
					}
				})
			}
		}
	})
}

func TestImportBatchesAndProgress(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		im := newImporter(t, env, "batches@example.com")
		var b strings.Builder
		b.WriteString("email,comment\n")
		for i := range 1234 {
			fmt.Fprintf(&b, "user%04d@example.com,row %d\n", i, i)
		}
		b.WriteString("USER0003@example.com,again\n") // line 1236 repeats line 5, three batches later
		var seen []app.ImportProgress
		res := im.mustImport(b.String(), app.ImportOptions{Update: true, Progress: func(p app.ImportProgress) { seen = append(seen, p) }})
		if counts(res) != "rows 1235 imported 1234 updated 0 unchanged 0 skipped 0 duplicates 1 invalid 0" {
			t.Fatalf("%s", counts(res))
		}
		if res.DuplicateRows[0].Line != 1236 || res.DuplicateRows[0].FirstLine != 5 || im.list()["user0003@example.com"].Comment != "row 3" {
			t.Errorf("the repeat overwrote the first row: %+v", res.DuplicateRows)
		}
		var writes []int
		for _, p := range seen {
			if p.Phase == app.ImportWriting {
				if p.Total != 1235 {
					t.Errorf("progress total %d", p.Total)
				}
				writes = append(writes, p.Done)
			}
		}
		if !slices.Equal(writes, []int{500, 1000, 1235}) || seen[len(seen)-1].ImportCounts != res.ImportCounts {
			t.Errorf("progress %+v", seen)
		}
		// A dry run counts and writes nothing.
		other := newImporter(t, env, "dry@example.com")
		res = other.mustImport(b.String(), app.ImportOptions{DryRun: true})
		if counts(res) != "rows 1235 imported 1234 updated 0 unchanged 0 skipped 0 duplicates 1 invalid 0" || res.Committed || len(other.list()) != 0 {
			t.Fatalf("dry run: %s, %d written", counts(res), len(other.list()))
		}
	})
}

func TestImportPreview(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		im := newImporter(t, env, "preview@example.com")
		if err := env.App.CreateRecipient(ctx, im.ac, &simplesender.Recipient{Email: "old@example.com"}); err != nil {
			t.Fatal(err)
		}
		file := encode1251(t, "Почта;ФИО;Телефон\nold@example.com;Петров Иван;1\nbad;Сидоров;2\nnew@example.com;;3\nmore@example.com;;4\n")
		p, err := env.App.PreviewImport(ctx, im.ac, 0, strings.NewReader(file), csvio.Options{}, 3)
		if err != nil {
			t.Fatal(err)
		}
		if p.Format.Encoding != csvio.Windows1251 || p.Format.Separator != ';' || !p.More ||
			!slices.Equal(p.Format.Mapping, []csvio.Field{csvio.Email, csvio.FullName, csvio.Ignore}) || p.Format.Header[2] != "Телефон" {
			t.Fatalf("preview format %+v more %v", p.Format, p.More)
		}
		if len(p.Rows) != 3 || !p.Rows[0].Exists || p.Rows[0].Recipient.FirstName != "Иван" || p.Rows[1].Fields["email"] != "error.email.invalid" ||
			p.Rows[2].Exists || p.Rows[2].Fields != nil || p.Rows[2].Line != 4 {
			t.Fatalf("preview rows %+v", p.Rows)
		}
		// The user maps the phone column to the comment.
		p, err = env.App.PreviewImport(ctx, im.ac, 0, strings.NewReader(file), csvio.Options{Mapping: []csvio.Field{csvio.Email, csvio.Ignore, csvio.Comment}}, 0)
		if err != nil || len(p.Rows) != 4 || p.More || p.Rows[0].Recipient.Comment != "1" || p.Rows[0].Recipient.LastName != "" {
			t.Fatalf("mapped preview %+v %v", p, err)
		}
		if _, err := env.App.PreviewImport(ctx, im.ac, 0, strings.NewReader("a;b\n1;2\n"), csvio.Options{}, 0); !simplesender.IsKind(err, simplesender.KindInvalid) {
			t.Fatalf("no e-mail column: %v", err)
		}
	})
}

func TestImportExportAuthorization(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		owner := newImporter(t, env, "owner@example.com")
		other := newImporter(t, env, "other@example.com")
		manager := &app.Actor{User: env.User(t, "manager@example.com", simplesender.RoleManager, simplesender.StatusActive)}
		owner.mustImport("email\nx@example.com\n", app.ImportOptions{})
		file := strings.NewReader("email\ny@example.com\n")
		for _, c := range []struct {
			who   *app.Actor
			owner int64
			kind  simplesender.Kind
		}{
			{other.ac, owner.ac.User.ID, simplesender.KindNotFound},
			{manager, owner.ac.User.ID, simplesender.KindForbidden},
			{nil, 0, simplesender.KindUnauthenticated},
			{app.System, 0, simplesender.KindNotFound},
			{app.System, 999999, simplesender.KindNotFound},
		} {
			file.Seek(0, 0)
			if _, err := env.App.ImportRecipients(ctx, c.who, c.owner, file, app.ImportOptions{}); !simplesender.IsKind(err, c.kind) {
				t.Errorf("import by %v into %d: %v, want %v", c.who, c.owner, err, c.kind)
			}
		}
		if n := len(owner.list()); n != 1 {
			t.Fatalf("owner has %d recipients", n)
		}
		var b bytes.Buffer
		if _, err := env.App.ExportRecipients(ctx, other.ac, owner.ac.User.ID, &b, app.ExportOptions{}); !simplesender.IsKind(err, simplesender.KindNotFound) {
			t.Errorf("a user exports another's list: %v", err)
		}
		if n, err := env.App.ExportRecipients(ctx, manager, owner.ac.User.ID, &b, app.ExportOptions{}); err != nil || n != 1 || !strings.Contains(b.String(), "x@example.com") {
			t.Errorf("a manager exports a user's list: %d %v", n, err)
		}
		// The system imports into the list it names.
		file.Seek(0, 0)
		if _, err := env.App.ImportRecipients(ctx, app.System, owner.ac.User.ID, file, app.ImportOptions{}); err != nil || len(owner.list()) != 2 {
			t.Errorf("system import: %v", err)
		}
	})
}

func TestExportRoundTrip(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		src := newImporter(t, env, "export@example.com")
		for _, r := range []*simplesender.Recipient{
			{Email: "ann@example.com", LastName: "=HYPERLINK(\"http://evil.example/\")", FirstName: "+Ann", MiddleName: "-", Comment: "@SUM(1)"},
			{Email: "bob@example.com", LastName: "Петров", FirstName: "Иван", Comment: "two\nlines, \"quoted\"; and a semicolon"},
			{Email: "-dash@example.com", LastName: "'=already", Comment: "\tTabbed"},
		} {
			if err := env.App.CreateRecipient(ctx, src.ac, r); err != nil {
				t.Fatal(err)
			}
		}
		// Three pages of the export, in one statement per 200 (one
		// transaction each costs half a minute under -race).
		if err := env.DB.InTx(ctx, func(s *store.Store) error {
			return s.BulkRecipients(ctx, src.ac.User.ID, 2100, func(i int) simplesender.Recipient {
				return simplesender.Recipient{Email: fmt.Sprintf("p%04d@example.com", i)}
			})
		}); err != nil {
			t.Fatal(err)
		}
		want := src.list()
		for i, o := range []app.ExportOptions{{}, {BOM: true, Separator: ';'}} {
			var b bytes.Buffer
			n, err := env.App.ExportRecipients(ctx, src.ac, 0, &b, o)
			if err != nil || n != len(want) {
				t.Fatalf("export: %d %v", n, err)
			}
			out := b.String()
			if o.BOM != strings.HasPrefix(out, "\ufeff") || !strings.HasPrefix(strings.TrimPrefix(out, "\ufeff"), "email") {
				t.Errorf("start of export %q", out[:20])
			}
			for _, formula := range []string{",=", ",+", ",-", ",@", ";=", ";+", ";-", ";@", "\n=", "\n-", "\"=", "\"+"} {
				if strings.Contains(out, formula) {
					t.Errorf("formula not neutralised (%q)", formula)
				}
			}
			if !strings.Contains(out, "'=HYPERLINK") || !strings.Contains(out, "'-dash@example.com") {
				t.Errorf("export:\n%s", out[:300])
			}
			dir := t.TempDir()
			path := filepath.Join(dir, "export.csv")
			if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			dst := newImporter(t, env, fmt.Sprintf("roundtrip%d@example.com", i))
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			res, err := env.App.ImportRecipients(ctx, dst.ac, 0, f, app.ImportOptions{})
			f.Close()
			if err != nil || res.Imported != len(want) {
				t.Fatalf("import of the export: %v %+v", err, res)
			}
			got := dst.list()
			for k, w := range want {
				g := got[k]
				if g.Email != w.Email || g.LastName != w.LastName || g.FirstName != w.FirstName || g.MiddleName != w.MiddleName ||
					g.Comment != w.Comment {
					t.Errorf("%s: %+v, want %+v", k, g, w)
				}
			}
			// Importing one's own export changes nothing.
			res = src.mustImport(out, app.ImportOptions{Update: true})
			if res.Imported+res.Updated != 0 || res.Unchanged != len(want) {
				t.Errorf("own export re-imported: %s", counts(res))
			}
		}
	})
}

// BenchmarkImport imports 10,000 new rows into SQLite per iteration.
func BenchmarkImport(b *testing.B) {
	env := apptest.New(b, storetest.NewURL(b, "sqlite"))
	var file strings.Builder
	file.WriteString("Электронная почта;Фамилия;Имя;Отчество;Комментарий\r\n")
	for i := range 10000 {
		fmt.Fprintf(&file, "user%07d@example.com;Петров;Иван;Сергеевич;\"клиент №%d\"\r\n", i, i)
	}
	n := 0
	for b.Loop() {
		n++
		b.StopTimer() // hashing the user's password is not the import
		ac := &app.Actor{User: env.User(b, fmt.Sprintf("bench%d@example.com", n), simplesender.RoleUser, simplesender.StatusActive)}
		b.StartTimer()
		res, err := env.App.ImportRecipients(ctx, ac, 0, strings.NewReader(file.String()), app.ImportOptions{})
		if err != nil || res.Imported != 10000 {
			b.Fatal(err, res)
		}
	}
}
