package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/app/apptest"
)

func TestImportExportRecipients(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		env.User(t, "owner@example.com", simplesender.RoleUser, simplesender.StatusActive)
		vars := map[string]string{"SIMPLESENDER_DATA_DIR": t.TempDir(), "SIMPLESENDER_DATABASE_URL": env.URL, "SIMPLESENDER_LOG_LEVEL": "warn"}
		dir := t.TempDir()
		file := func(name, content string) string {
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			return p
		}
		cyrillic, err := charmap.Windows1251.NewEncoder().String("Почта;Фамилия;Имя\nivan@example.com;Петров;Иван\nolga@example.com;Сидорова;Ольга\n")
		if err != nil {
			t.Fatal(err)
		}
		mixed := file("mixed.csv", "email,first name\nann@example.com,Ann\nnot-an-address,Bob\nann@example.com,Again\n")
		exported := filepath.Join(dir, "export.csv")
		steps := []struct {
			name     string
			stdin    string
			args     []string
			code     int
			out, err []string // fragments that must appear
		}{
			{"invalid rows stop the import", "", []string{"import-recipients", "--email", "owner@example.com", mixed}, 1,
				[]string{"rows: 3", "imported: 0", "invalid: 1", `invalid: line 3 "not-an-address": email: `},
				[]string{"nothing imported: 1 of 3 rows are invalid", "checking: 3 rows"}},
			{"valid only", "", []string{"import-recipients", "--email", "owner@example.com", "--valid-only", "--quiet", mixed}, 0,
				[]string{"imported: 1", "invalid: 1", "duplicates: 1", `duplicate: line 4 "ann@example.com": already on line 2`}, nil},
			{"the same again changes nothing", "", []string{"import-recipients", "--email", "owner@example.com", "--valid-only", "--update", mixed}, 0,
				[]string{"imported: 0", "updated: 0", "unchanged: 1"}, []string{"writing: 3/3 rows"}},
			{"windows-1251 with semicolons from stdin", cyrillic, []string{"import-recipients", "--email", "owner@example.com", "-"}, 0,
				[]string{"file: windows-1251, separator \";\"", "imported: 2"}, nil},
			{"a dry run", "", []string{"import-recipients", "--email", "owner@example.com", "--dry-run", file("new.csv", "email\nnew@example.com\n")}, 0,
				[]string{"imported: 1", "dry run: nothing was written"}, nil},
			{"not a CSV file", "", []string{"import-recipients", "--email", "owner@example.com", file("x.png", "\x89PNG\r\n\x1a\n\x00\x00")}, 1,
				nil, []string{"line 1:", "Nothing was imported."}},
			{"a quote left open", "", []string{"import-recipients", "--email", "owner@example.com", file("q.csv", "email;name\na@example.com;\"Ann\n")}, 1,
				nil, []string{"line 2:", "Nothing was imported."}},
			{"an unknown owner", "", []string{"import-recipients", "--email", "nobody@example.com", mixed}, 1, nil, []string{"nobody@example.com: Not found"}},
			{"a missing file", "", []string{"import-recipients", "--email", "owner@example.com", filepath.Join(dir, "none.csv")}, 1, nil, []string{"no such file"}},
			{"no file named", "", []string{"import-recipients", "--email", "owner@example.com"}, 2, nil, []string{"Usage: simplesender import-recipients"}},
			{"both update and skip", "", []string{"import-recipients", "--email", "owner@example.com", "--update", "--skip-existing", mixed}, 2, nil, nil},
			{"a bad separator", "", []string{"import-recipients", "--email", "owner@example.com", "--separator", "x", mixed}, 1, nil, []string{"--separator"}},
			{"export to a file", "", []string{"export-recipients", "--email", "owner@example.com", "--bom", "--separator", ";", exported}, 0,
				nil, []string{"exported 3 recipients of owner@example.com to " + exported}},
			{"export to stdout", "", []string{"export-recipients", "--email", "owner@example.com"}, 0,
				[]string{"email,last_name,first_name,middle_name,comment,tags\r\n", "ivan@example.com,Петров,Иван,,,\r\n"}, nil},
		}
		for _, s := range steps {
			code, out, errOut := run(t, vars, s.stdin, s.args...)
			ok := code == s.code
			for _, f := range s.out {
				ok = ok && strings.Contains(out, f)
			}
			for _, f := range s.err {
				ok = ok && strings.Contains(errOut, f)
			}
			if !ok {
				t.Errorf("%s: exit %d (want %d)\nstdout: %q\nstderr: %q", s.name, code, s.code, out, errOut)
			}
		}
		b, err := os.ReadFile(exported)
		if err != nil || !strings.HasPrefix(string(b), "\ufeffemail;last_name;") || !strings.Contains(string(b), "olga@example.com;Сидорова;Ольга") {
			t.Fatalf("exported file %q %v", b, err)
		}
	})
}

// TestImportIntoListCLI: import-recipients --list puts everyone in the file
// on the user's list of that name, making it the first time and reusing it
// (in any case) the next.
func TestImportIntoListCLI(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		u := env.User(t, "owner@example.com", simplesender.RoleUser, simplesender.StatusActive)
		vars := map[string]string{"SIMPLESENDER_DATA_DIR": t.TempDir(), "SIMPLESENDER_DATABASE_URL": env.URL, "SIMPLESENDER_LOG_LEVEL": "warn"}
		p := filepath.Join(t.TempDir(), "fair.csv")
		if err := os.WriteFile(p, []byte("email\nann@example.com\nbob@example.com\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if code, out, errOut := run(t, vars, "", "import-recipients", "--email", "owner@example.com", "--quiet", "--list", "Fair 2026", p); code != 0 {
			t.Fatalf("import: exit %d\n%s\n%s", code, out, errOut)
		}
		p2 := filepath.Join(t.TempDir(), "more.csv")
		if err := os.WriteFile(p2, []byte("email\nbob@example.com\ncid@example.com\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if code, out, errOut := run(t, vars, "", "import-recipients", "--email", "owner@example.com", "--quiet", "--list", "FAIR 2026", p2); code != 0 {
			t.Fatalf("second import: exit %d\n%s\n%s", code, out, errOut)
		}
		ac := &app.Actor{User: u}
		lists, total, err := env.App.ListLists(t.Context(), ac, 0, app.ListFilter{})
		if err != nil || total != 1 || lists[0].Name != "Fair 2026" || lists[0].Members != 3 {
			t.Fatalf("lists after two imports: %d, %v", total, err)
		}
		if code, _, errOut := run(t, vars, "", "import-recipients", "--email", "owner@example.com", "--quiet", "--list", " ", p); code != 1 ||
			!strings.Contains(errOut, "list: Give the list a name") {
			t.Errorf("a blank list name: exit %d, %q", code, errOut)
		}
	})
}
