package i18n

import (
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

func mustNew(t testing.TB) *Bundle {
	t.Helper()
	b, err := New()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return b
}

// TestNewLoadsEmbeddedLocales fails whenever a translation is missing or
// broken in the shipped locale files.
func TestNewLoadsEmbeddedLocales(t *testing.T) {
	t.Parallel()
	b := mustNew(t)
	if got, want := b.Languages(), []string{"en", "ru"}; !slices.Equal(got, want) {
		t.Errorf("Languages() = %v, want %v", got, want)
	}
	for _, key := range []string{
		"app.name", "nav.home", "nav.login", "nav.logout", "nav.register", "nav.profile",
		"nav.tokens", "nav.users", "nav.language", "lang.en", "lang.ru", "users.count",
	} {
		for _, lang := range b.Languages() {
			if !b.For(lang).Has(key) {
				t.Errorf("%s: message %q is missing", lang, key)
			}
		}
	}
	if got := b.For("ru").T("nav.home"); got != "Главная" {
		t.Errorf(`ru T("nav.home") = %q, want "Главная"`, got)
	}
	if got := b.For("en").T("lang.ru"); got != "Русский" {
		t.Errorf(`en T("lang.ru") = %q, want "Русский"`, got)
	}
}

func TestMatch(t *testing.T) {
	t.Parallel()
	b := mustNew(t)
	tests := []struct {
		name       string
		candidates []string
		want       string
	}{
		{"russian browser gets ru", []string{"ru-RU,ru;q=0.9,en;q=0.8"}, "ru"},
		{"german browser falls to its en entry", []string{"de-DE,en;q=0.5"}, "en"},
		{"french only falls back to en", []string{"fr"}, "en"},
		{"empty header gives en", []string{""}, "en"},
		{"no candidates give en", nil, "en"},
		{"empty candidate is skipped", []string{"", "ru"}, "ru"},
		{"regional tag gets its language", []string{"ru-RU"}, "ru"},
		{"q-weights beat order", []string{"en;q=0.3,ru;q=0.8"}, "ru"},
		{"q=0 means not acceptable", []string{"ru;q=0,fr"}, "en"},
		{"cookie before header wins", []string{"en", "ru-RU,ru"}, "en"},
		{"unsupported cookie falls through to header", []string{"de", "ru-RU,ru;q=0.9"}, "ru"},
		{"garbage cookie falls through to header", []string{"!!!", "ru"}, "ru"},
		{"malformed header entry is skipped", []string{"x-!!,ru;q=0.5"}, "ru"},
		{"wildcard is skipped", []string{"*", "ru"}, "ru"},
		{"case and spaces are tolerated", []string{" RU-ru , en;q=0.1"}, "ru"},
		{"ukrainian is not russian", []string{"uk-UA"}, "en"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := b.Match(tt.candidates...); got != tt.want {
				t.Errorf("Match(%q) = %q, want %q", tt.candidates, got, tt.want)
			}
		})
	}
}

func TestForUnknownLanguageGivesEnglish(t *testing.T) {
	t.Parallel()
	b := mustNew(t)
	for lang, want := range map[string]string{"en": "en", "ru": "ru", "ru-RU": "ru", "de": "en", "": "en", "zz-!!": "en"} {
		if got := b.For(lang).Lang(); got != want {
			t.Errorf("For(%q).Lang() = %q, want %q", lang, got, want)
		}
	}
}

func TestNRussianPluralForms(t *testing.T) {
	t.Parallel()
	ru := mustNew(t).For("ru")
	tests := map[int]string{
		0:   "0 пользователей",
		1:   "1 пользователь",
		2:   "2 пользователя",
		4:   "4 пользователя",
		5:   "5 пользователей",
		11:  "11 пользователей",
		12:  "12 пользователей",
		14:  "14 пользователей",
		21:  "21 пользователь",
		22:  "22 пользователя",
		25:  "25 пользователей",
		101: "101 пользователь",
		111: "111 пользователей",
		-1:  "-1 пользователь",
	}
	for n, want := range tests {
		if got := ru.N("users.count", n); got != want {
			t.Errorf("N(users.count, %d) = %q, want %q", n, got, want)
		}
	}
}

func TestNEnglishPluralForms(t *testing.T) {
	t.Parallel()
	en := mustNew(t).For("en")
	for n, want := range map[int]string{0: "0 users", 1: "1 user", 2: "2 users", 11: "11 users", 21: "21 users"} {
		if got := en.N("users.count", n); got != want {
			t.Errorf("N(users.count, %d) = %q, want %q", n, got, want)
		}
	}
}

func TestTSubstitutesUserDataLiterally(t *testing.T) {
	t.Parallel()
	b := mustNew(t)
	tests := []struct {
		name string
		lang string
		args []any
		want string
	}{
		{"cyrillic name", "ru", []any{"Name", "Иван"}, "Добро пожаловать, Иван!"},
		{"markup is left for html/template to escape", "en", []any{"Name", "<script>alert(1)</script>"}, "Welcome, <script>alert(1)</script>!"},
		{"template syntax in data is not executed", "en", []any{"Name", `{{.Name}}{{printf "%s" "x"}}`}, `Welcome, {{.Name}}{{printf "%s" "x"}}!`},
		{"unbalanced braces in data", "en", []any{"Name", "{{"}, "Welcome, {{!"},
		{"non-string value is printed", "en", []any{"Name", 42}, "Welcome, 42!"},
		{"missing value leaves the placeholder visible", "en", nil, "Welcome, {{.Name}}!"},
		{"trailing name without value is ignored", "en", []any{"Name", "Ann", "Extra"}, "Welcome, Ann!"},
		{"non-string name is ignored", "en", []any{7, "x", "Name", "Ann"}, "Welcome, Ann!"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := b.For(tt.lang).T("flash.welcome", tt.args...); got != tt.want {
				t.Errorf("T(flash.welcome, %q) = %q, want %q", tt.args, got, tt.want)
			}
		})
	}
}

func TestUnknownKeyReturnsKey(t *testing.T) {
	t.Parallel()
	l := mustNew(t).For("ru")
	if got := l.T("no.such.key", "Name", "x"); got != "no.such.key" {
		t.Errorf("T(unknown) = %q, want the key", got)
	}
	if got := l.N("no.such.key", 3); got != "no.such.key" {
		t.Errorf("N(unknown) = %q, want the key", got)
	}
	if l.Has("no.such.key") {
		t.Error("Has(unknown) = true")
	}
}

func TestPluralMessageThroughTUsesOther(t *testing.T) {
	t.Parallel()
	en := mustNew(t).For("en")
	if got, want := en.T("users.count", "Count", 7), "7 users"; got != want {
		t.Errorf("T(users.count) = %q, want %q", got, want)
	}
}

func TestNewRejectsBrokenLocales(t *testing.T) {
	t.Parallel()
	const (
		en = `{"a": "A", "p": {"one": "{{.Count}} x", "other": "{{.Count}} xs"}}`
		ru = `{"a": "А", "p": {"one": "{{.Count}} х", "few": "{{.Count}} ха", "many": "{{.Count}} хов", "other": "{{.Count}} ха"}}`
	)
	tests := []struct {
		name    string
		en, ru  string
		extra   string // an extra file name, if any
		wantErr string // "" means the bundle must load
	}{
		{name: "valid files load", en: en, ru: ru},
		{name: "key missing in ru", en: `{"a": "A", "b": "B", "p": {"one": "x", "other": "xs"}}`, ru: ru, wantErr: `message "b" is missing in ru`},
		{name: "key missing in en", en: en, ru: `{"a": "А", "c": "Ц", "p": {"one": "х", "few": "ха", "many": "хов", "other": "ха"}}`, wantErr: `message "c" is missing in en`},
		{name: "ru plural without many", en: en, ru: `{"a": "А", "p": {"one": "х", "few": "ха", "other": "ха"}}`, wantErr: "needs the forms one, few, many, other"},
		{name: "en plural without one", en: `{"a": "A", "p": {"other": "xs"}}`, ru: ru, wantErr: "needs the forms one, other"},
		{name: "category unused in language", en: `{"a": "A", "p": {"one": "x", "few": "x", "other": "xs"}}`, ru: ru, wantErr: `plural form "few" is not used`},
		{name: "misspelt category", en: `{"a": "A", "p": {"one": "x", "othre": "xs"}}`, ru: ru, wantErr: `plural form "othre"`},
		{name: "unterminated placeholder", en: `{"a": "Hi {{.Name", "p": {"one": "x", "other": "xs"}}`, ru: ru, wantErr: `message "a"`},
		{name: "function call", en: `{"a": "{{printf \"%s\" .Name}}", "p": {"one": "x", "other": "xs"}}`, ru: ru, wantErr: `message "a"`},
		{name: "builtin call", en: `{"a": "{{len .Name}}", "p": {"one": "x", "other": "xs"}}`, ru: ru, wantErr: `message "a"`},
		{name: "condition", en: `{"a": "{{if .X}}y{{end}}", "p": {"one": "x", "other": "xs"}}`, ru: ru, wantErr: "only placeholders"},
		{name: "nested field", en: `{"a": "{{.User.Name}}", "p": {"one": "x", "other": "xs"}}`, ru: ru, wantErr: "only placeholders"},
		{name: "define", en: `{"a": "{{define \"x\"}}y{{end}}z", "p": {"one": "x", "other": "xs"}}`, ru: ru, wantErr: "not allowed"},
		{name: "placeholder typo in ru", en: `{"a": "Hi {{.Name}}", "p": {"one": "x", "other": "xs"}}`, ru: `{"a": "Привет {{.Nmae}}", "p": {"one": "х", "few": "ха", "many": "хов", "other": "ха"}}`, wantErr: "uses placeholders"},
		{name: "plural in one language only", en: `{"a": {"one": "x", "other": "xs"}, "p": {"one": "x", "other": "xs"}}`, ru: ru, wantErr: "plural in one"},
		{name: "duplicate key", en: `{"a": "A", "a": "B", "p": {"one": "x", "other": "xs"}}`, ru: ru, wantErr: "duplicate"},
		{name: "empty text", en: `{"a": " ", "p": {"one": "x", "other": "xs"}}`, ru: ru, wantErr: "empty text"},
		{name: "number value", en: `{"a": 1, "p": {"one": "x", "other": "xs"}}`, ru: ru, wantErr: "want a string"},
		{name: "nested object", en: `{"a": {"b": {"one": "x"}}, "p": {"one": "x", "other": "xs"}}`, ru: ru, wantErr: "want a string"},
		{name: "not an object", en: `["a"]`, ru: ru, wantErr: "want a JSON object"},
		{name: "trailing data", en: en + `{}`, ru: ru, wantErr: "data after"},
		{name: "invalid JSON", en: `{"a": "A",}`, ru: ru, wantErr: "en.json"},
		{name: "missing ru file", en: en, wantErr: "ru.json"},
		{name: "unsupported language file", en: en, ru: ru, extra: "de.json", wantErr: "unexpected locale file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fsys := fstest.MapFS{}
			if tt.en != "" {
				fsys["l/en.json"] = &fstest.MapFile{Data: []byte(tt.en)}
			}
			if tt.ru != "" {
				fsys["l/ru.json"] = &fstest.MapFile{Data: []byte(tt.ru)}
			}
			if tt.extra != "" {
				fsys["l/"+tt.extra] = &fstest.MapFile{Data: []byte(en)}
			}
			_, err := newBundle(fsys, "l")
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("newBundle: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("newBundle succeeded, want error containing %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("newBundle error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func FuzzMatch(f *testing.F) {
	b := mustNew(f)
	for _, s := range []string{"ru-RU,ru;q=0.9,en;q=0.8", "de-DE,en;q=0.5", "", "*", "ru;q=abc", "x-!!,,;;q=", "en_GB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := b.Match(s)
		if !slices.Contains(b.Languages(), got) {
			t.Fatalf("Match(%q) = %q, not a supported language", s, got)
		}
		if b.For(s) == nil {
			t.Fatalf("For(%q) = nil", s)
		}
	})
}

func BenchmarkT(b *testing.B) {
	l := mustNew(b).For("ru")
	for b.Loop() {
		_ = l.T("flash.welcome", "Name", "Иван")
	}
}

func BenchmarkMatch(b *testing.B) {
	bundle := mustNew(b)
	for b.Loop() {
		_ = bundle.Match("", "de-DE,de;q=0.9,ru;q=0.8,en;q=0.7")
	}
}

// TestAreaFiles: a language's messages may be spread over <lang>.json and
// <lang>.<area>.json files; a key in two of them, or an area's key missing
// in the other language, stops the bundle.
func TestAreaFiles(t *testing.T) {
	base := map[string]string{
		"l/en.json": `{"a": "A", "p": {"one": "x", "other": "xs"}}`,
		"l/ru.json": `{"a": "А", "p": {"one": "х", "few": "ха", "many": "хов", "other": "ха"}}`,
	}
	tests := []struct {
		name    string
		files   map[string]string
		wantErr string
	}{
		{"area files load", map[string]string{"l/en.avatar.json": `{"b": "B"}`, "l/ru.avatar.json": `{"b": "Б"}`}, ""},
		{"a key in two files", map[string]string{"l/en.avatar.json": `{"a": "B"}`, "l/ru.avatar.json": `{"a": "Б"}`}, "also in"},
		{"an area's key missing in ru", map[string]string{"l/en.avatar.json": `{"b": "B"}`}, `message "b" is missing in ru`},
		{"an area of an unsupported language", map[string]string{"l/de.avatar.json": `{"b": "B"}`}, "unexpected locale file"},
		{"not JSON", map[string]string{"l/en.notes.txt": `b`}, "unexpected locale file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for name, data := range base {
				fsys[name] = &fstest.MapFile{Data: []byte(data)}
			}
			for name, data := range tt.files {
				fsys[name] = &fstest.MapFile{Data: []byte(data)}
			}
			b, err := newBundle(fsys, "l")
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("newBundle: %v", err)
				}
				if got := b.For("ru").T("b"); got != "Б" {
					t.Errorf("ru b = %q, want the area file's text", got)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("newBundle error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}
