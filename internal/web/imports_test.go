package web_test

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/store/storetest"
)

// upload posts a file to the import form as who, with headers hdr (name,
// value, ...).
func (s *site) upload(t *testing.T, who, name string, content []byte, hdr ...string) resp {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(content)
	mw.Close()
	r := httptest.NewRequest("POST", "/recipients/import", &body)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	r.AddCookie(&http.Cookie{Name: "ss_session", Value: s.cookies[who]})
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, r)
	return resp{w.Code, w.Body.String(), w.Header()}
}

var importPath = regexp.MustCompile(`^/imports/[0-9a-f]{32}$`)

// importFile uploads content, checks the preview has want, imports it
// with form and returns the result page.
func (s *site) importFile(t *testing.T, who string, content []byte, want []string, form url.Values) resp {
	t.Helper()
	r := s.upload(t, who, "list.csv", content)
	if r.status != http.StatusSeeOther || !importPath.MatchString(r.header.Get("Location")) {
		t.Fatalf("upload: %d %q\n%s", r.status, r.header.Get("Location"), r.body)
	}
	preview := r.header.Get("Location")
	check(t, "preview", s.do(t, who, "GET", preview, nil), 200, want, nil)
	form.Set("action", "import")
	r = s.do(t, who, "POST", preview, form)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != preview+"/status" {
		t.Fatalf("import: %d %q\n%s", r.status, r.header.Get("Location"), r.body)
	}
	for range 200 {
		r = s.do(t, who, "GET", preview+"/status", nil)
		if r.status != 200 || !strings.Contains(r.body, "Importing recipients") {
			return r
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the import does not end")
	return r
}

// cp1251 encodes Russian text as Windows-1251.
func cp1251(s string) []byte {
	var out []byte
	for _, r := range s {
		switch {
		case r < 0x80:
			out = append(out, byte(r))
		case r >= 'А' && r <= 'я':
			out = append(out, byte(r-'А'+0xC0))
		case r == 'Ё':
			out = append(out, 0xA8)
		case r == 'ё':
			out = append(out, 0xB8)
		default:
			out = append(out, '?')
		}
	}
	return out
}

func figure(name string, n int) string { return `data-figure="` + name + `">` + itoa(int64(n)) + "<" }

func TestImportRecipients(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := newSite(t, dbURL)
		count := func() int {
			t.Helper()
			_, n, err := s.env.App.ListRecipients(context.Background(), s.actor(t, "active"), 0, app.ListFilter{Limit: 1})
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		check(t, "recipients page", s.do(t, "active", "GET", "/recipients", nil), 200,
			[]string{`action="/recipients/import"`, `enctype="multipart/form-data"`, `href="/recipients/export.csv"`, `href="/recipients/export.csv?bom=1"`}, nil)
		check(t, "upload page", s.do(t, "active", "GET", "/recipients/import", nil), 200, []string{`type="file"`}, nil)

		// UTF-8 with ";" and a row with a bad address.
		utf8File := []byte("E-mail;Фамилия;Имя\r\nann@example.org;Иванова;Анна\r\nnot-an-address;Икс;Игрек\r\nbob@example.org;Петров;Борис\r\n")
		keep := url.Values{"existing": {"skip"}, "invalid": {"valid"}}
		r := s.importFile(t, "active", utf8File, []string{"UTF-8", "semicolon (;)", `name="col0"`, `<option value="email" selected>`,
			`<option value="last_name" selected>`, "ann@example.org", "Иванова", "not-an-address", "Enter one valid e-mail address", "new"}, keep)
		check(t, "UTF-8 result", r, 200, []string{"Import result", figure("imported", 2), figure("invalid", 1), figure("updated", 0),
			"<td>3</td><td>not-an-address</td>", "Enter one valid e-mail address"}, nil)
		if n := count(); n != 2 {
			t.Fatalf("%d recipients after the first import, want 2", n)
		}
		// The same file again changes nothing, even when updating.
		r = s.importFile(t, "active", utf8File, []string{"already in your list"}, url.Values{"existing": {"update"}, "invalid": {"valid"}})
		check(t, "the same file again", r, 200, []string{figure("imported", 0), figure("updated", 0), figure("unchanged", 2), "Nothing changed"}, nil)
		// Windows-1251 as Russian Excel saves it, with the mapping changed in
		// the form: the comment column is ignored.
		win := cp1251("Email;Фамилия;Имя;Отчество;Комментарий\r\ncarl@example.org;Сидоров;Карл;Иванович;заметка\r\nann@example.org;Смирнова;Анна;;\r\n")
		r = s.importFile(t, "active", win, []string{"Windows-1251", "Сидоров", "Иванович"}, url.Values{"existing": {"update"}, "invalid": {"valid"},
			"columns": {"5"}, "prev_sep": {""}, "prev_enc": {""}, "col0": {"email"}, "col1": {"last_name"}, "col2": {"first_name"},
			"col3": {"middle_name"}, "col4": {""}})
		check(t, "Windows-1251 result", r, 200, []string{figure("imported", 1), figure("updated", 1), figure("invalid", 0)}, nil)
		list, _, _ := s.env.App.ListRecipients(context.Background(), s.actor(t, "active"), 0, app.ListFilter{Query: "carl@", Limit: 5})
		if len(list) != 1 || list[0].LastName != "Сидоров" || list[0].MiddleName != "Иванович" || list[0].Comment != "" {
			t.Errorf("imported from Windows-1251: %+v", list)
		}
		// All or nothing: a file with an invalid row imports nothing, and
		// the file stays to choose again.
		r = s.importFile(t, "active", []byte("email\ndora@example.org\nbroken@@\n"), []string{"broken@@"}, url.Values{"existing": {"skip"}, "invalid": {"none"}})
		check(t, "all or nothing", r, 200, []string{"nothing was imported", figure("imported", 0), figure("invalid", 1), "Back to the preview"}, nil)
		if n := count(); n != 3 {
			t.Fatalf("%d recipients, want 3", n)
		}

		// Bad files: a clear message, nothing imported.
		bad := []struct {
			name    string
			content []byte
			status  int
			want    string
		}{
			{"not CSV", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00"), 422, "This is not a text file"},
			{"no e-mail column", []byte("name;comment\nAnna;hi\n"), 422, "No column holds the e-mail addresses"},
			{"open quote", []byte("email,comment\nzed@example.org,\"never closed\nyy@example.org,x\n"), 422, "never closed"},
			{"10 MB line", append(append([]byte("email\n"), bytes.Repeat([]byte("a"), 10<<20)...), "@example.org\n"...), 422, "too long"},
			{"empty", nil, 422, "empty"},
		}
		for _, b := range bad {
			r := s.upload(t, "active", "bad.csv", b.content)
			check(t, b.name, r, b.status, []string{b.want, `type="file"`}, nil)
		}
		if n := count(); n != 3 {
			t.Fatalf("%d recipients after bad files, want 3", n)
		}

		// An upload belongs to its uploader.
		r = s.upload(t, "active", "list.csv", utf8File)
		preview := r.header.Get("Location")
		check(t, "another user's upload", s.do(t, "other", "GET", preview, nil), 404, nil, []string{"ann@example.org"})
		check(t, "another user's import", s.do(t, "other", "POST", preview, url.Values{"action": {"import"}}), 404, nil, nil)
		check(t, "a path as id", s.do(t, "active", "GET", "/imports/..%2f..%2fetc%2fpasswd", nil), 404, nil, nil)
		check(t, "anonymous upload", s.do(t, "", "GET", preview, nil), 303, nil, []string{"ann@example.org"})

		// Export, with formulas neutralised.
		if err := s.env.App.CreateRecipient(context.Background(), s.actor(t, "active"),
			&simplesender.Recipient{Email: "eve@example.org", Comment: "=SUM(A1:A9)"}); err != nil {
			t.Fatal(err)
		}
		r = s.do(t, "active", "GET", "/recipients/export.csv", nil)
		checkCSV(t, "export", r, "recipients-")
		if !strings.HasPrefix(r.body, "email,last_name,first_name,middle_name,comment,tags\r\n") ||
			!strings.Contains(r.body, "carl@example.org,Сидоров,Карл,Иванович,") || !strings.Contains(r.body, "'=SUM(A1:A9)") {
			t.Errorf("export:\n%s", r.body)
		}
		if strings.Contains(r.body, "other") {
			t.Errorf("export has another user's recipients:\n%s", r.body)
		}
		r = s.do(t, "active", "GET", "/recipients/export.csv?bom=1", nil)
		if !strings.HasPrefix(r.body, "\uFEFFemail,") {
			t.Errorf("export for Excel: %.20q", r.body)
		}
	})
}
