package render

import (
	"errors"
	"strings"
	"testing"
)

func TestRender(t *testing.T) {
	f := &Fields{Email: "ivan@example.com", FirstName: "Иван", LastName: "Петров", MiddleName: "<Сергеевич>"}
	cases := []struct{ tmpl, text, html string }{
		{"Здравствуйте, {{first_name}}!", "Здравствуйте, Иван!", "Здравствуйте, Иван!"},
		{"{{ full_name }} <{{email}}>", "Петров Иван <Сергеевич> <ivan@example.com>", "Петров Иван &lt;Сергеевич&gt; <ivan@example.com>"},
		{"Dear {{middle_name|friend}}", "Dear <Сергеевич>", "Dear &lt;Сергеевич&gt;"},
		{"no placeholders }} here", "no placeholders }} here", "no placeholders }} here"},
	}
	for _, c := range cases {
		tp, err := Parse(c.tmpl)
		if err != nil {
			t.Fatalf("%q: %v", c.tmpl, err)
		}
		if got := tp.String(f, false); got != c.text {
			t.Errorf("%q as text = %q, want %q", c.tmpl, got, c.text)
		}
		if got := tp.String(f, true); got != c.html {
			t.Errorf("%q as HTML = %q, want %q", c.tmpl, got, c.html)
		}
	}
	tp, _ := Parse("Hi {{first_name|friend}}!")
	if got := tp.String(&Fields{Email: "a@b.c"}, false); got != "Hi friend!" {
		t.Errorf("default not used: %q", got)
	}
}

func TestParseErrors(t *testing.T) {
	cases := map[string]string{
		"Hello {{first_name":            "error.placeholder.unclosed",
		"Hello {{password}}":            "error.placeholder.unknown",
		"{{.Env}}":                      "error.placeholder.unknown",
		"{{ printf \"%s\" 1 }}":         "error.placeholder.unknown",
		"line1\nline2 {{first\n_name}}": "error.placeholder.unclosed",
		"{{first_name|" + strings.Repeat("x", 300) + "}}": "error.placeholder.default",
		strings.Repeat("{{email}}", MaxPlaceholders+1):    "error.placeholder.too_many",
	}
	for in, want := range cases {
		_, err := Parse(in)
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Key != want {
			t.Errorf("Parse(%.40q) = %v, want %s", in, err, want)
		}
	}
	_, err := Parse("a\nb\n{{nope}}")
	if pe := err.(*ParseError); pe.Line != 3 || pe.Name != "nope" {
		t.Errorf("position: %+v", pe)
	}
}

// The error names the placeholder as written and where its braces open
// (line, and column in characters, so Cyrillic text counts right).
func TestParseErrorsNameThePlaceholder(t *testing.T) {
	cases := []struct {
		in        string
		key, ph   string
		line, col int
	}{
		{"Привет, {{unknown_field}}!", "error.placeholder.unknown", "{{unknown_field}}", 1, 9},
		{"Hi\n  Dear {{first_name, welcome", "error.placeholder.unclosed", "{{first_name", 2, 8},
		{"ok {{email}} then {{first_name\n}}", "error.placeholder.unclosed", "{{first_name", 1, 19},
		{"{{", "error.placeholder.unclosed", "{{", 1, 1},
	}
	for _, c := range cases {
		_, err := Parse(c.in)
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Fatalf("Parse(%q): %v", c.in, err)
		}
		args := pe.Args()
		if pe.Key != c.key || args[3] != c.ph || pe.Line != c.line || pe.Col != c.col {
			t.Errorf("Parse(%q) = %s %v, want %s %s at %d:%d", c.in, pe.Key, args, c.key, c.ph, c.line, c.col)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"Hi {{first_name}}", "{{", "}}{{email|x}}", "{{ full_name | a|b }}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tp, err := Parse(s)
		if err != nil {
			return
		}
		out := tp.String(&Fields{Email: "<e>", FirstName: "&"}, true)
		if strings.Contains(out, "<e>") && !strings.Contains(s, "<e>") {
			t.Fatalf("unescaped value in HTML output of %q: %q", s, out)
		}
	})
}

func BenchmarkRender(b *testing.B) {
	tp, _ := Parse(strings.Repeat("Здравствуйте, {{first_name}} {{last_name}}! Lorem ipsum dolor sit amet. ", 50))
	f := &Fields{Email: "ivan@example.com", FirstName: "Иван", LastName: "Петров"}
	for b.Loop() {
		_ = tp.String(f, true)
	}
}
