package content

import (
	"io"
	"strings"

	"golang.org/x/net/html"
)

// Problem is what is wrong with an HTML body: a message key
// (error.html.*), the tag or attribute concerned as the author wrote it,
// and the 1-based line where it stands.
type Problem struct {
	Key  string
	What string // "<script>", "onclick", "</b>"...
	Line int
	// OpenLine is, for an unclosed element, the line of its opening tag;
	// for a misnested end tag, the line of Inner, the element still open
	// inside the one it closes.
	OpenLine int
	Inner    string
}

// Args returns the problem's message arguments: What, Line, OpenLine and
// Inner.
func (p *Problem) Args() []any {
	return []any{"What", p.What, "Line", p.Line, "OpenLine", p.OpenLine, "Inner", p.Inner}
}

func (p *Problem) Error() string { return p.Key + " " + p.What }

// forbidden are the elements refused in a message: they run code, send
// data, or embed other documents, and mail programs drop or flag them.
var forbidden = map[string]bool{
	"script": true, "form": true, "input": true, "button": true, "select": true, "textarea": true,
	"iframe": true, "frame": true, "frameset": true, "object": true, "embed": true, "applet": true,
}

// void elements have no end tag.
var void = map[string]bool{
	"area": true, "base": true, "br": true, "col": true, "embed": true, "hr": true, "img": true,
	"input": true, "link": true, "meta": true, "source": true, "track": true, "wbr": true,
}

// optionalEnd elements may be left open (HTML closes them implicitly).
var optionalEnd = map[string]bool{
	"p": true, "li": true, "dt": true, "dd": true, "tr": true, "td": true, "th": true,
	"thead": true, "tbody": true, "tfoot": true, "option": true, "html": true, "head": true,
	"body": true, "colgroup": true, "caption": true, "rt": true, "rp": true, "optgroup": true,
}

// urlAttrs hold addresses a reader's program may follow or load.
var urlAttrs = map[string]bool{
	"href": true, "src": true, "action": true, "formaction": true, "background": true,
	"poster": true, "cite": true, "longdesc": true, "usemap": true, "xlink:href": true, "srcset": true,
}

// CheckHTML reports the first problem of body, an HTML message with
// placeholders, or nil: a tag left open or closed in the wrong order, an
// end tag without its start, a forbidden element (script, form and its
// controls, frames, objects), an event handler attribute (on...=) or a
// javascript: or vbscript: address. End tags that HTML lets one omit
// (</p>, </li>, </td>...) may be omitted.
func CheckHTML(body string) *Problem {
	type open struct {
		name string
		line int
	}
	var stack []open
	z := html.NewTokenizer(strings.NewReader(maskPlaceholders(body)))
	line := 1
	for {
		tt := z.Next()
		raw := z.Raw()
		at := line // the line where the token starts
		line += strings.Count(string(raw), "\n")
		switch tt {
		case html.ErrorToken:
			if z.Err() != io.EOF {
				return &Problem{Key: "error.html.malformed", Line: at}
			}
			for len(stack) > 0 && optionalEnd[stack[len(stack)-1].name] {
				stack = stack[:len(stack)-1]
			}
			if len(stack) > 0 {
				o := stack[len(stack)-1]
				return &Problem{Key: "error.html.unclosed", What: "<" + o.name + ">", Line: o.line, OpenLine: o.line}
			}
			return nil
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			tag := string(name)
			if forbidden[tag] {
				return &Problem{Key: "error.html.forbidden_tag", What: "<" + tag + ">", Line: at}
			}
			for hasAttr {
				var k, v []byte
				k, v, hasAttr = z.TagAttr()
				attr := string(k)
				if strings.HasPrefix(attr, "on") {
					return &Problem{Key: "error.html.event_handler", What: attr, Line: at}
				}
				if urlAttrs[attr] && isScriptURL(string(v)) {
					return &Problem{Key: "error.html.script_url", What: attr, Line: at}
				}
			}
			if tt == html.SelfClosingTagToken || void[tag] {
				continue
			}
			// <li> after <li>, <p> after <p>...: the first is closed.
			if n := len(stack); n > 0 && stack[n-1].name == tag && optionalEnd[tag] {
				stack = stack[:n-1]
			}
			stack = append(stack, open{tag, at})
		case html.EndTagToken:
			name, _ := z.TagName()
			tag := string(name)
			if void[tag] {
				continue // </br> and the like: harmless
			}
			for len(stack) > 0 && stack[len(stack)-1].name != tag && optionalEnd[stack[len(stack)-1].name] {
				stack = stack[:len(stack)-1]
			}
			n := len(stack)
			if n > 0 && stack[n-1].name == tag {
				stack = stack[:n-1]
				continue
			}
			for _, o := range stack {
				if o.name == tag {
					// Opened, but an element opened after it is still open.
					inner := stack[n-1]
					return &Problem{Key: "error.html.misnested", What: "</" + tag + ">", Line: at, OpenLine: inner.line,
						Inner: "<" + inner.name + ">"}
				}
			}
			return &Problem{Key: "error.html.stray_end", What: "</" + tag + ">", Line: at}
		}
	}
}

// isScriptURL reports whether an address would run code when followed,
// reading it as a browser does: entities decoded by the tokenizer, spaces
// and control characters ignored, any case.
func isScriptURL(v string) bool {
	var b strings.Builder
	for _, r := range v {
		if r > ' ' && r != 0x7f {
			b.WriteRune(r)
		}
	}
	s := strings.ToLower(b.String())
	return strings.HasPrefix(s, "javascript:") || strings.HasPrefix(s, "vbscript:")
}

// maskPlaceholders replaces each one-line {{...}} by as many x's, so that
// the checker reads "<a href="{{email}}">" as a plain attribute and a
// placeholder's default ("{{first_name|<friend>}}") as text, while lines
// keep their numbers.
func maskPlaceholders(s string) string {
	if !strings.Contains(s, "{{") {
		return s
	}
	b := []byte(s)
	for i := 0; i+1 < len(b); i++ {
		if b[i] != '{' || b[i+1] != '{' {
			continue
		}
		j := strings.Index(s[i:], "}}")
		if j < 0 || strings.ContainsAny(s[i:i+j], "\r\n") {
			break
		}
		for k := i; k < i+j+2; k++ {
			b[k] = 'x'
		}
		i += j + 1
	}
	return string(b)
}
