package content

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzMarkdown: whatever an author types, the HTML made from Markdown passes
// the HTML check (so saving a Markdown message never fails on HTML the
// author did not write), keeps every one-line placeholder, and Text reads it.
func FuzzMarkdown(f *testing.F) {
	for _, s := range []string{
		"# Hi {{first_name}}\n\n- a\n- b\n", "<script>x</script>", "[a](javascript:alert(1))", "> q\n>\n> - x\n\n1. a\n   > b",
		"<div onclick=x>\n\n*a*\n</div>", "| a | b |\n|---|---|\n| 1 | 2 |", "```\n<b>\n```", "![img](x.png \"t\")", "{{email|<b>}}",
		"<!-- c --><b>x", "~~s~~ __u__ `c` <http://x.example> \\<", "* a\n\n  b\n* c", "ssph000000000000x0x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		if !utf8.ValidString(src) {
			return // messages are checked to be UTF-8 before they are converted
		}
		h := Markdown(src)
		if p := CheckHTML(h); p != nil {
			t.Fatalf("Markdown(%q) = %q fails the check: %+v", src, h, *p)
		}
		_ = Text(h)
		// Every placeholder outside code comes through as written.
		if !strings.Contains(src, "`") && !strings.Contains(src, "    ") && !strings.Contains(src, "\t") {
			for rest := src; ; {
				i := strings.Index(rest, "{{")
				if i < 0 {
					break
				}
				j := strings.Index(rest[i:], "}}")
				if j < 0 {
					break
				}
				ph := rest[i : i+j+2]
				if !strings.ContainsAny(ph, "\r\n<>&\"'\\") && !strings.Contains(h, ph) {
					t.Fatalf("Markdown(%q) = %q lost the placeholder %q", src, h, ph)
				}
				rest = rest[i+j+2:]
			}
		}
	})
}

// FuzzCheckHTML: the check and the text version read any input, however
// broken, without failing.
func FuzzCheckHTML(f *testing.F) {
	for _, s := range []string{"<p>a<b>b</p>", "<a href='javascript:x'>", "</x>", "<br/><img onerror=x>", "<p>{{x|<b>}}</p>", "<table><td>x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		_ = CheckHTML(body)
		_ = Text(body)
	})
}
