package api

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"simplesender/internal/store/storetest"
)

// cp1251 encodes s, Cyrillic and ASCII only, in Windows-1251.
func cp1251(t *testing.T, s string) string {
	t.Helper()
	var b []byte
	for _, r := range s {
		switch {
		case r < 0x80:
			b = append(b, byte(r))
		case r >= 'А' && r <= 'я':
			b = append(b, byte(0xC0+r-'А'))
		case r == 'ё':
			b = append(b, 0xB8)
		case r == 'Ё':
			b = append(b, 0xA8)
		default:
			t.Fatalf("cp1251: cannot encode %q", r)
		}
	}
	return string(b)
}

// importAnswer is the JSON of an import, or of a refused one.
type importAnswer struct {
	importJSON
	Error  *errorDetail `json:"error"`
	Import *importJSON  `json:"import"`
}

const csvHeader = "Content-Type"

// TestImport imports files in each encoding and separator, with invalid rows,
// and again.
func TestImport(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, databaseURL string) {
		f := newContentFixture(t, databaseURL)
		tok := f.tokens["owner"]
		imp := func(query, body string, status int) importAnswer {
			t.Helper()
			var a importAnswer
			f.do(t, req{method: "POST", path: "/recipients/import" + query, bearer: tok, body: body,
				header: []string{csvHeader, "text/csv"}}).want(t, status).decode(t, &a)
			return a
		}

		utf8File := "\uFEFFE-mail;Фамилия;Имя;Отчество\r\nivan@example.com;Петров;Иван;Сергеевич\r\nolga@example.com;Смирнова;Ольга;\r\n"
		a := imp("", utf8File, 200)
		if a.Imported != 2 || a.Rows != 2 || !a.Committed || a.Format.Encoding != "utf-8" || !a.Format.BOM || a.Format.Separator != ";" {
			t.Errorf("UTF-8 import: %+v", a)
		}
		f.do(t, req{method: "GET", path: "/recipients?q=ivan@", bearer: tok}).want(t, 200).
			has(t, `"last_name":"Петров"`, `"first_name":"Иван"`, `"middle_name":"Сергеевич"`)
		// The same file again changes nothing.
		if a := imp("", utf8File, 200); a.Imported != 0 || a.Unchanged != 2 || a.Committed {
			t.Errorf("second import: %+v", a)
		}

		// Windows-1251, comma-separated: one address known with another
		// name, one new.
		cpFile := cp1251(t, "email,Фамилия,Имя\r\nivan@example.com,Петров,Ваня\r\nпётр@example.com,Ошибкин,Пётр\r\nanna@example.com,Иванова,Анна\r\n")
		a = imp("?valid_only=true", cpFile, 200)
		if a.Format.Encoding != "windows-1251" || a.Imported != 1 || a.Skipped != 1 || a.Invalid != 1 || a.Format.Separator != "," {
			t.Errorf("Windows-1251 import, skip: %+v", a)
		}
		if len(a.Errors) != 1 || a.Errors[0].Line != 3 || !strings.Contains(a.Errors[0].Fields["email"], "Latin before the @") {
			t.Errorf("invalid rows %+v", a.Errors)
		}
		f.do(t, req{method: "GET", path: "/recipients?q=anna@", bearer: tok}).want(t, 200).has(t, `"first_name":"Анна"`)
		a = imp("?valid_only=1&mode=update", cpFile, 200)
		if a.Updated != 1 || a.Unchanged != 1 {
			t.Errorf("Windows-1251 import, update: %+v", a)
		}
		f.do(t, req{method: "GET", path: "/recipients?q=ivan@", bearer: tok}).want(t, 200).
			has(t, `"first_name":"Ваня"`, `"middle_name":"Сергеевич"`) // a column the file lacks is kept

		// Invalid rows without valid_only: nothing imported, every row listed.
		bad := "email,first_name\nnew1@example.com,A\nnot an address,B\n\"a@b.cd, d@e.fg\",C\nnew2@example.com,\"D\nE\"\nnew3@example.com,F\n"
		a = imp("", bad, 422)
		if a.Error == nil || a.Error.Code != "invalid" || !strings.Contains(a.Error.Message, "nothing was imported") || a.Import == nil {
			t.Fatalf("refused import: %+v", a)
		}
		if a.Import.Invalid != 3 || a.Import.Imported != 0 || a.Import.Committed || len(a.Import.Errors) != 3 {
			t.Errorf("refused import: %+v", *a.Import)
		}
		lines := []int{}
		for _, e := range a.Import.Errors {
			lines = append(lines, e.Line)
		}
		if len(lines) != 3 || lines[0] != 3 || lines[1] != 4 || lines[2] != 5 {
			t.Errorf("invalid lines %v, want [3 4 5]", lines)
		}
		if !strings.Contains(a.Import.Errors[1].Fields["email"], "Several addresses") {
			t.Errorf("a list of addresses: %+v", a.Import.Errors[1])
		}
		f.do(t, req{method: "GET", path: "/recipients?q=new", bearer: tok}).want(t, 200).has(t, `"total":0`)
		if a := imp("?dry_run=true", bad, 200); a.Imported != 2 || a.Committed || !a.DryRun {
			t.Errorf("dry run: %+v", a)
		}
		f.do(t, req{method: "GET", path: "/recipients?q=new", bearer: tok}).want(t, 200).has(t, `"total":0`)

		// A multipart upload, as a browser form sends it.
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		mw.WriteField("note", "ignored")
		fw, _ := mw.CreateFormFile("file", "list.csv")
		fw.Write([]byte("email\nform@example.com\n"))
		mw.Close()
		res := f.do(t, req{method: "POST", path: "/recipients/import", bearer: tok, body: body.String(),
			header: []string{csvHeader, mw.FormDataContentType()}}).want(t, 200)
		res.has(t, `"imported":1`)

		// Files that are not recipient lists.
		for _, tt := range []struct {
			name, query, body string
			status            int
			has               string
		}{
			{"no e-mail column", "", "name,phone\nIvan,123\n", 422, "No column holds the e-mail addresses"},
			{"a binary file", "", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", 422, "not a text file"},
			{"a quote left open", "", "email,name\nx@example.com,\"open\n", 422, "never closed"},
			{"an empty file", "", "\r\n\r\n", 422, "The file is empty."},
			{"a bad mode", "?mode=replace", "email\na@example.com\n", 400, `"mode":`},
			{"a bad separator", "?separator=x", "email\na@example.com\n", 400, `"separator":`},
		} {
			t.Run(tt.name, func(t *testing.T) {
				q := req{method: "POST", path: "/recipients/import" + tt.query, bearer: tok, body: tt.body, header: []string{csvHeader, "text/csv"}}
				f.do(t, q).want(t, tt.status).has(t, tt.has)
			})
		}
		f.do(t, req{method: "POST", path: "/recipients/import", bearer: tok, body: `{"email":"a@example.com"}`}).want(t, 400)

		// Export: the same fields back, neutralised against formulas.
		f.do(t, req{method: "POST", path: "/recipients", bearer: tok, body: `{"email":"formula@example.com","comment":"=HYPERLINK(\"x\")"}`}).want(t, 201)
		exp := f.do(t, req{method: "GET", path: "/recipients.csv?separator=%3B", bearer: tok}).want(t, 200)
		for _, s := range []string{"email;last_name;first_name;middle_name;comment;tags\r\n", "ivan@example.com;Петров;Ваня;Сергеевич;;\r\n", `'=HYPERLINK`} {
			if !strings.Contains(exp.body, s) {
				t.Errorf("export lacks %q:\n%s", s, exp.body)
			}
		}
		if strings.HasPrefix(exp.body, "\uFEFF") {
			t.Error("a BOM without bom=1")
		}
	})
}

// TestImportTooLarge checks that an upload over the limit is 413, in the
// body and in a form.
func TestImportTooLarge(t *testing.T) {
	t.Parallel()
	f := newContentFixture(t, storetest.NewURL(t, "sqlite"))
	x := New(f.env.App, f.env.Bundle, nil)
	x.importLimit = 1000
	h := x.Handler()
	file := "email\n" + strings.Repeat("someone@example.com\n", 100)
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	fw, _ := mw.CreateFormFile("file", "big.csv")
	fw.Write([]byte(file))
	mw.Close()
	for _, tt := range []struct {
		name, contentType, body string
		chunked                 bool
	}{
		{"a body", "text/csv", file, false},
		{"a body of unannounced length", "text/csv", file, true},
		{"a form", mw.FormDataContentType(), form.String(), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", Prefix+"/recipients/import", strings.NewReader(tt.body))
			r.Header.Set("Content-Type", tt.contentType)
			r.Header.Set("Authorization", "Bearer "+f.tokens["owner"])
			if tt.chunked {
				r.ContentLength = -1
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			var e struct{ Error errorDetail }
			json.Unmarshal(w.Body.Bytes(), &e)
			if w.Code != http.StatusRequestEntityTooLarge || e.Error.Code != "too_large" {
				t.Errorf("status %d, body %s", w.Code, w.Body)
			}
		})
	}
	f.do(t, req{method: "GET", path: "/recipients", bearer: f.tokens["owner"]}).want(t, 200).has(t, `"total":0`)
}
