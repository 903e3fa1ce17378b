package api

import (
	"strings"
	"testing"

	"simplesender/internal/store/storetest"
)

// TestMessageFormats: a Markdown message comes back with the HTML and the
// text made from it; an HTML message with its generated text; HTML with a
// script, an event handler or a tag left open is refused with the problem
// and its line in the caller's language, and nothing is written; an unknown
// format is refused.
func TestMessageFormats(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, databaseURL string) {
		f := newContentFixture(t, databaseURL)
		tok := f.tokens["owner"]
		var md messageJSON
		f.do(t, req{method: "POST", path: "/messages", bearer: tok,
			body: `{"subject":"News","format":"markdown","body_markdown":"# News for {{first_name}}\n\nSee [the site](https://example.com/?e={{email}}).\n\n<script>x</script>\n","body_text":"ignored"}`}).
			want(t, 201).decode(t, &md)
		if md.Format != "markdown" || !strings.Contains(md.BodyHTML, "<h1>News for {{first_name}}</h1>") ||
			!strings.Contains(md.BodyHTML, `<a href="https://example.com/?e={{email}}">the site</a>`) ||
			!strings.Contains(md.BodyHTML, "&lt;script&gt;") || strings.Contains(md.BodyHTML, "<script") {
			t.Errorf("Markdown message's HTML: %q", md.BodyHTML)
		}
		if !strings.Contains(md.BodyText, "See the site (https://example.com/?e={{email}}).") || strings.Contains(md.BodyText, "ignored") {
			t.Errorf("Markdown message's text: %q", md.BodyText)
		}
		var h messageJSON
		f.do(t, req{method: "POST", path: "/messages", bearer: tok,
			body: `{"subject":"Hi","format":"html","body_html":"<p>Hello &amp; welcome, <b>{{first_name|friend}}</b>!</p><ul><li>one<li>two</ul>"}`}).
			want(t, 201).decode(t, &h)
		if h.Format != "html" || h.BodyText != "Hello & welcome, {{first_name|friend}}!\n\n- one\n- two\n" {
			t.Errorf("HTML message's text: %q", h.BodyText)
		}
		// Switching it to Markdown without Markdown is refused.
		f.do(t, req{method: "PATCH", path: "/messages/" + itoa(h.ID), bearer: tok, body: `{"format":"markdown"}`}).
			want(t, 422).has(t, `"body_markdown":"Enter the text`)

		for _, tc := range []struct{ name, body, lang, has string }{
			{"a script", `<p>Hi</p>\n<script>alert(1)</script>`, "en", "at line 2 is not allowed in an e-mail"},
			{"an event handler", `<p>\n\n<img src=x onerror=alert(1)></p>`, "en", "The attribute onerror at line 3 runs a script"},
			{"a javascript: link", `<a href=\"javascript:alert(1)\">x</a>`, "en", "javascript: link"},
			{"a tag left open", `<div>\n<p>text</p>`, "ru", "открытый в строке 1, не закрыт"},
			{"a misnested tag", `<b><i>x</b></i>`, "ru", "стоит раньше конца <i>, открытого в строке 1: сначала закройте <i>."},
		} {
			t.Run(tc.name+" is refused", func(t *testing.T) {
				r := f.do(t, req{method: "POST", path: "/messages", bearer: tok, header: []string{"Accept-Language", tc.lang},
					body: `{"subject":"Bad","format":"html","body_html":"` + tc.body + `"}`}).want(t, 422)
				if got := r.errorBody(t).Fields["body_html"]; !strings.Contains(got, tc.has) {
					t.Errorf("body_html error %q, want %q", got, tc.has)
				}
			})
		}
		// A broken placeholder is reported in the Markdown, at the author's line.
		f.do(t, req{method: "POST", path: "/messages", bearer: tok, body: `{"subject":"x","format":"markdown","body_markdown":"# Hi\n\n**{{nick}}**"}`}).
			want(t, 422).has(t, `"body_markdown":"Unknown placeholder`, `at line 3, position 3`)
		f.do(t, req{method: "POST", path: "/messages", bearer: tok, body: `{"subject":"x","format":"rtf","body_text":"x"}`}).
			want(t, 422).has(t, `"format":`)
		f.do(t, req{method: "GET", path: "/messages", bearer: tok}).want(t, 200).has(t, `"total":2`)
	})
}
