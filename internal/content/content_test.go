package content

import (
	"strings"
	"testing"
)

func TestCheckHTMLRefusesEachConstruct(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, body, key, what string
		line, openLine        int
		inner                 string
	}{
		{"script", "<p>Hi</p>\n<script>alert(1)</script>", "error.html.forbidden_tag", "<script>", 2, 0, ""},
		{"script in capitals", "<SCRIPT src=x></SCRIPT>", "error.html.forbidden_tag", "<script>", 1, 0, ""},
		{"form", "<div>\n\n<form action=/x></form></div>", "error.html.forbidden_tag", "<form>", 3, 0, ""},
		{"input", "<p><input name=q></p>", "error.html.forbidden_tag", "<input>", 1, 0, ""},
		{"button", "<button>Go</button>", "error.html.forbidden_tag", "<button>", 1, 0, ""},
		{"textarea", "<textarea></textarea>", "error.html.forbidden_tag", "<textarea>", 1, 0, ""},
		{"select", "<select><option>a</select>", "error.html.forbidden_tag", "<select>", 1, 0, ""},
		{"iframe", "<iframe src=https://x.example></iframe>", "error.html.forbidden_tag", "<iframe>", 1, 0, ""},
		{"object", "<object data=x></object>", "error.html.forbidden_tag", "<object>", 1, 0, ""},
		{"event handler", "<p>\n<img src=a.png onerror=\"alert(1)\"></p>", "error.html.event_handler", "onerror", 2, 0, ""},
		{"event handler in capitals", "<a href=# OnClick=x>a</a>", "error.html.event_handler", "onclick", 1, 0, ""},
		{"javascript url", "<a href=\"javascript:alert(1)\">a</a>", "error.html.script_url", "href", 1, 0, ""},
		{"javascript url hidden by case, space and entity", "<a href=\" JaVa&#x09;script:alert(1)\">a</a>", "error.html.script_url", "href", 1, 0, ""},
		{"vbscript url", "<img src='vbscript:x'>", "error.html.script_url", "src", 1, 0, ""},
		{"a tag left open inside another", "<div>\n<b>bold\n</div>", "error.html.misnested", "</div>", 3, 2, "<b>"},
		{"unclosed at the end", "<p>a</p>\n<table><tr><td>x</td></tr>", "error.html.unclosed", "<table>", 2, 2, ""},
		{"misnested", "<b><i>x</b></i>", "error.html.misnested", "</b>", 1, 1, "<i>"},
		{"stray end tag", "<p>a</p>\n\n</span>", "error.html.stray_end", "</span>", 3, 0, ""},
	} {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			p := CheckHTML(tc.body)
			if p == nil {
				t.Fatalf("CheckHTML(%q) = nil, want %s", tc.body, tc.key)
			}
			if p.Key != tc.key || p.What != tc.what || p.Line != tc.line || p.OpenLine != tc.openLine || p.Inner != tc.inner {
				t.Errorf("CheckHTML(%q) = %+v, want %s %q line %d (opened %d)", tc.body, *p, tc.key, tc.what, tc.line, tc.openLine)
			}
		})
	}
	for _, body := range []string{
		"<p>Hello, {{first_name|friend}}!</p>",
		"<p>one<p>two",                                        // optional end tags
		"<ul><li>a<li>b</ul>",                                 // optional end tags
		`<a href="https://example.com/?e={{email}}">link</a>`, // a placeholder in an address
		"<p>{{first_name|<b>friend}}</p>",                     // a placeholder's default is text
		"<!DOCTYPE html><html><head><style>p{color:red}</style></head><body><br><img src=a.png alt=x/><hr></body></html>",
		"<table><tr><td>1<td>2</tr></table>",
		`<a href="mailto:a@example.com">mail</a>`,
	} {
		if p := CheckHTML(body); p != nil {
			t.Errorf("CheckHTML(%q) = %+v, want nil", body, *p)
		}
	}
}

func TestMarkdownBecomesSafeHTMLWithPlaceholders(t *testing.T) {
	t.Parallel()
	src := "# Hello, {{first_name|friend}}\n\nRead [our news](https://example.com/n?e={{email}}) and **act**.\n\n" +
		"- one\n- two_{{last_name}}_\n\n<script>alert(1)</script>\n\n[bad](javascript:alert(1))\n"
	got := Markdown(src)
	for _, want := range []string{
		"<h1>Hello, {{first_name|friend}}</h1>",
		`<a href="https://example.com/n?e={{email}}">our news</a>`,
		"<strong>act</strong>",
		"<li>two_{{last_name}}_</li>",
		"&lt;script&gt;alert(1)&lt;/script&gt;", // raw HTML is shown, not run
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Markdown lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "<script") || strings.Contains(got, "javascript:") {
		t.Errorf("Markdown let a script through:\n%s", got)
	}
	if p := CheckHTML(got); p != nil {
		t.Errorf("the HTML made from Markdown fails the check: %+v\n%s", *p, got)
	}
}

func TestTextOfHTMLIsReadable(t *testing.T) {
	t.Parallel()
	body := `<html><head><title>T</title><style>p { color: red }</style></head><body>
<h1>Здравствуйте!</h1>
<h2>Hello, {{first_name}}</h2>
<p>Read   <a href="https://example.com/news">our news</a> &amp; more&nbsp;here.<br>Second line.</p>
<ul><li>one</li><li>two <b>bold</b></li></ul>
<ol start="3"><li>three</li><li>four</li></ol>
<blockquote><p>quoted</p></blockquote>
<p><a href="https://example.com/">https://example.com/</a> <a href="mailto:a@example.com">a@example.com</a> <img src="x.png" alt="Logo"></p>
</body></html>`
	want := "Здравствуйте!\n" +
		"=============\n" +
		"\n" +
		"Hello, {{first_name}}\n" + // not underlined: its width depends on the name
		"\n" +
		"Read our news (https://example.com/news) & more here.\n" +
		"Second line.\n" +
		"\n" +
		"- one\n" +
		"- two bold\n" +
		"\n" +
		"3. three\n" +
		"4. four\n" +
		"\n" +
		"> quoted\n" +
		"\n" +
		"https://example.com/ a@example.com Logo\n"
	if got := Text(body); got != want {
		t.Errorf("Text =\n%s\nwant\n%s", got, want)
	}
}

func TestMarkdownTextVersion(t *testing.T) {
	t.Parallel()
	src := "# Новости\n\nПривет, **{{first_name|друг}}**! Читайте [на сайте](https://example.com/?e={{email}}).\n\n" +
		"1. первое\n2. второе\n\n> цитата\n\n---\n\n    код  с пробелами\n"
	want := "Новости\n=======\n\n" +
		"Привет, {{first_name|друг}}! Читайте на сайте (https://example.com/?e={{email}}).\n\n" +
		"1. первое\n2. второе\n\n> цитата\n\n----------\n\nкод  с пробелами\n"
	if got := Text(Markdown(src)); got != want {
		t.Errorf("Text(Markdown) =\n%s\nwant\n%s", got, want)
	}
}

// BenchmarkSaveMarkdown is the work of saving a Markdown message of about
// 20 KB: Markdown to HTML, the HTML check, and the text version.
func BenchmarkSaveMarkdown(b *testing.B) {
	src := strings.Repeat("## Раздел для {{first_name}}\n\nТекст с [ссылкой](https://example.com/?e={{email}}) и **выделением**.\n\n- пункт\n- пункт\n\n", 100)
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		h := Markdown(src)
		if CheckHTML(h) != nil {
			b.Fatal("check failed")
		}
		_ = Text(h)
	}
}
