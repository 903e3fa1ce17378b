// Package content turns what an author writes into the bodies of an e-mail:
// Markdown into HTML, HTML into a readable plain-text alternative, and checks
// that HTML is well formed and free of what mail programs refuse or
// providers take for an attack (scripts, forms, event handlers, javascript:
// URLs).
//
// The placeholders of package render ({{first_name}}, {{email|friend}}) pass
// through every conversion unchanged, wherever they stand (text, link
// addresses, attributes), so that a message is converted once, when it is
// saved, and filled in per recipient when it is sent.
//
// The package knows nothing of the database or of HTTP: it is a leaf, used by
// the app when a message is saved.
package content

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"html"
	"strconv"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/util"
)

// markdown is the converter: CommonMark with strikethrough, in goldmark's
// safe mode (links to javascript:, vbscript:, file: and non-image data: URLs
// are dropped), with raw HTML shown as text rather than passed through.
var markdown = goldmark.New(
	goldmark.WithExtensions(extension.Strikethrough),
	goldmark.WithRendererOptions(renderer.WithNodeRenderers(util.Prioritized(escapeRaw{}, 100))),
)

// escapeRaw renders the HTML an author typed inside Markdown as visible
// text: it is neither run nor silently dropped.
type escapeRaw struct{}

func (escapeRaw) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(ast.KindRawHTML, func(w util.BufWriter, src []byte, n ast.Node, entering bool) (ast.WalkStatus, error) {
		if entering {
			segs := n.(*ast.RawHTML).Segments
			for i := range segs.Len() {
				seg := segs.At(i)
				w.WriteString(html.EscapeString(string(seg.Value(src))))
			}
		}
		return ast.WalkSkipChildren, nil
	})
	reg.Register(ast.KindHTMLBlock, func(w util.BufWriter, src []byte, n ast.Node, entering bool) (ast.WalkStatus, error) {
		b := n.(*ast.HTMLBlock)
		var text strings.Builder
		if !entering {
			return ast.WalkContinue, nil
		}
		lines := b.Lines()
		for i := range lines.Len() {
			seg := lines.At(i)
			text.Write(seg.Value(src))
		}
		if b.HasClosure() {
			text.Write(b.ClosureLine.Value(src))
		}
		if s := strings.TrimRight(text.String(), "\n"); s != "" {
			w.WriteString("<p>")
			w.WriteString(strings.ReplaceAll(html.EscapeString(s), "\n", "<br>\n"))
			w.WriteString("</p>\n")
		}
		return ast.WalkContinue, nil
	})
}

// Markdown converts src, Markdown with placeholders, to HTML with the same
// placeholders. It cannot fail on any input: Markdown has no syntax errors.
func Markdown(src string) string {
	protected, restore := protectPlaceholders(src)
	var out bytes.Buffer
	_ = markdown.Convert([]byte(protected), &out) // writes to a bytes.Buffer cannot fail
	return restore(out.String())
}

// protectPlaceholders replaces each {{...}} of s by a word of letters and
// digits that no converter changes (Markdown would otherwise percent-encode
// the braces of a link address, or read "_" and "|" as syntax), and returns
// the function that puts them back.
func protectPlaceholders(s string) (string, func(string) string) {
	var phs []string
	var b strings.Builder
	var nonce [6]byte
	rand.Read(nonce[:])
	tag := "ssph" + hex.EncodeToString(nonce[:])
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			break
		}
		j := strings.Index(s[i:], "}}")
		if j < 0 || strings.ContainsAny(s[i:i+j], "\r\n") {
			// Not a placeholder: the render package reports it on its own.
			b.WriteString(s[:i+2])
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		b.WriteString(tag)
		b.WriteString(strconv.Itoa(len(phs)))
		b.WriteString("x")
		phs = append(phs, s[i:i+j+2])
		s = s[i+j+2:]
	}
	b.WriteString(s)
	if len(phs) == 0 {
		return b.String(), func(s string) string { return s }
	}
	return b.String(), func(out string) string {
		var r strings.Builder
		for {
			i := strings.Index(out, tag)
			if i < 0 {
				break
			}
			rest := out[i+len(tag):]
			end := strings.IndexByte(rest, 'x')
			n, err := strconv.Atoi(rest[:max(end, 0)])
			if end < 0 || err != nil || n >= len(phs) {
				r.WriteString(out[:i+len(tag)])
				out = rest
				continue
			}
			r.WriteString(out[:i])
			r.WriteString(phs[n])
			out = rest[end+1:]
		}
		r.WriteString(out)
		return r.String()
	}
}
