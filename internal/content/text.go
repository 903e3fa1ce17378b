package content

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Text returns a plain-text version of body, an HTML message with
// placeholders, as a reader of the text part expects it: paragraphs and
// headings separated by blank lines (a level 1 or 2 heading underlined),
// list items as "- " or "1. ", links as "text (address)", images as their
// alt text, line breaks kept, quotes prefixed by "> ", preformatted text
// as it is; no tags, entities decoded, white space collapsed elsewhere.
// Head, style and script contents are left out. Lines end in "\n".
func Text(body string) string {
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		return "" // html.Parse fails only on a reader's error
	}
	w := &textWriter{lineStart: true}
	w.node(doc)
	return strings.TrimSpace(w.b.String()) + "\n"
}

type textWriter struct {
	b       strings.Builder
	breaks  int    // newlines owed before the next text (a block ended)
	space   bool   // a space is owed before the next word
	prefix  string // written at the start of every line: "> " in quotes, indentation in lists
	pre     int    // inside <pre>: keep white space
	started bool   // some text was written
	// lineStart: the current line has nothing yet, not even its prefix.
	lineStart bool
	nl        int // newlines at the end of the text so far
}

// block asks for n newlines (1: a new line, 2: a blank line) before the
// next text.
func (w *textWriter) block(n int) {
	w.breaks = max(w.breaks, n)
	w.space = false
}

func (w *textWriter) flush() {
	if w.started && w.breaks > 0 {
		w.newlines(w.breaks)
	}
	if w.lineStart {
		w.b.WriteString(w.prefix)
		w.lineStart = false
	} else if w.space {
		w.b.WriteByte(' ')
	}
	w.breaks, w.space, w.started, w.nl = 0, false, true, 0
}

// newlines ends the current line and adds n-1 blank ones (bearing the
// prefix of the block they stand in, without trailing spaces).
func (w *textWriter) newlines(n int) {
	for ; w.nl < n; w.nl++ {
		if w.nl > 0 {
			w.b.WriteString(strings.TrimRight(w.prefix, " "))
		}
		w.b.WriteByte('\n')
	}
	w.breaks, w.lineStart = 0, true
}

// text writes s with white space collapsed (kept inside <pre>).
func (w *textWriter) text(s string) {
	if w.pre > 0 {
		for i, line := range strings.Split(s, "\n") {
			if i > 0 {
				w.block(1)
			}
			if line != "" {
				w.flush()
				w.b.WriteString(line)
			}
		}
		return
	}
	if s != "" && unicode.IsSpace(rune(s[0])) {
		w.space = true
	}
	for i, word := range strings.Fields(s) {
		if i > 0 {
			w.space = true
		}
		w.flush()
		w.b.WriteString(word)
	}
	if r, _ := utf8.DecodeLastRuneInString(s); s != "" && unicode.IsSpace(r) {
		w.space = true
	}
}

func (w *textWriter) children(n *html.Node) {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		w.node(c)
	}
}

func (w *textWriter) node(n *html.Node) {
	switch n.Type {
	case html.TextNode:
		w.text(n.Data)
		return
	case html.ElementNode:
	default:
		w.children(n)
		return
	}
	switch n.DataAtom {
	case atom.Head, atom.Style, atom.Script, atom.Title, atom.Template:
		return
	case atom.Br:
		// Each <br> is one line break: two make a blank line.
		w.breaks = min(w.breaks+1, 2)
		w.space = false
	case atom.Hr:
		w.block(2)
		w.flush()
		w.b.WriteString("----------")
		w.block(2)
	case atom.Img:
		if alt := strings.TrimSpace(attr(n, "alt")); alt != "" {
			w.text(alt)
		}
	case atom.A:
		w.link(n)
	case atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6:
		w.block(2)
		start := w.b.Len()
		w.children(n)
		if n.DataAtom == atom.H1 || n.DataAtom == atom.H2 {
			line := w.b.String()[start:]
			line = line[strings.LastIndexByte(line, '\n')+1:]
			// Underlined to its width, which a placeholder's value would change:
			// such a heading stands alone.
			if width := utf8.RuneCountInString(strings.TrimPrefix(line, w.prefix)); width > 0 && !strings.Contains(line, "{{") {
				w.b.WriteByte('\n')
				w.b.WriteString(w.prefix)
				mark := "="
				if n.DataAtom == atom.H2 {
					mark = "-"
				}
				w.b.WriteString(strings.Repeat(mark, width))
			}
		}
		w.block(2)
	case atom.Ul, atom.Ol:
		w.block(2)
		num := 0
		if s, err := strconv.Atoi(attr(n, "start")); err == nil {
			num = s - 1
		}
		saved := w.prefix
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type != html.ElementNode || c.DataAtom != atom.Li {
				w.node(c)
				continue
			}
			mark := "- "
			if n.DataAtom == atom.Ol {
				num++
				mark = strconv.Itoa(num) + ". "
			}
			w.block(1)
			w.flush()
			w.b.WriteString(mark)
			w.prefix = saved + strings.Repeat(" ", len(mark))
			w.children(c)
			w.prefix = saved
			w.block(1)
		}
		w.block(2)
	case atom.Blockquote:
		w.block(2)
		if w.started && w.breaks > 0 {
			w.newlines(w.breaks) // before the quote: no "> "
		}
		saved := w.prefix
		w.prefix += "> "
		w.children(n)
		w.block(2)
		w.prefix = saved
	case atom.Pre:
		w.block(2)
		w.pre++
		w.children(n)
		w.pre--
		w.block(2)
	case atom.Tr:
		w.block(1)
		w.children(n)
		w.block(1)
	case atom.Td, atom.Th:
		w.space = true
		w.children(n)
		w.space = true
	case atom.P, atom.Div, atom.Table, atom.Section, atom.Article, atom.Header, atom.Footer,
		atom.Main, atom.Nav, atom.Aside, atom.Figure, atom.Dl, atom.Address, atom.Center:
		w.block(2)
		w.children(n)
		w.block(2)
	case atom.Li, atom.Dt, atom.Dd, atom.Caption, atom.Figcaption:
		w.block(1)
		w.children(n)
		w.block(1)
	default:
		w.children(n)
	}
}

// link writes a link as "text (address)", or just the address when the text
// says the same or is empty. Addresses inside the document (#...) are left
// out.
func (w *textWriter) link(n *html.Node) {
	href := strings.TrimSpace(attr(n, "href"))
	start := w.b.Len()
	w.children(n)
	text := strings.TrimSpace(w.b.String()[start:])
	shown := strings.TrimPrefix(href, "mailto:")
	switch {
	case href == "" || strings.HasPrefix(href, "#"):
	case text == "":
		w.text(shown)
	case text == href || text == shown:
	default:
		w.space = true
		w.flush()
		w.b.WriteString("(" + shown + ")")
	}
}

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}
