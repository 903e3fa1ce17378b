package mailer

import (
	"bytes"
	"mime/quotedprintable"
	"strings"
	"unicode/utf8"
)

// maxBodyLine is the longest body line sent unencoded: 998 less room for the
// dot that SMTP adds in front of a line starting with ".".
const maxBodyLine = 990

// writeAlternative writes a multipart/alternative body of text and html.
func writeAlternative(buf *bytes.Buffer, text, html string) {
	var bnd [32]byte
	boundary := appendRandom(bnd[:0])
	buf.WriteString("Content-Type: multipart/alternative;\r\n boundary=\"")
	buf.Write(boundary)
	buf.WriteString("\"\r\n\r\n")
	for _, p := range [...]struct{ typ, body string }{{"text/plain", text}, {"text/html", html}} {
		buf.WriteString("--")
		buf.Write(boundary)
		buf.WriteString("\r\n")
		writePart(buf, p.typ, p.body)
	}
	buf.WriteString("--")
	buf.Write(boundary)
	buf.WriteString("--\r\n")
}

// writePart writes the Content-Type and Content-Transfer-Encoding fields, the
// blank line and the body, which ends with CRLF so that a MIME boundary may
// follow.
func writePart(buf *bytes.Buffer, typ, body string) {
	enc := chooseEncoding(body)
	buf.WriteString("Content-Type: ")
	buf.WriteString(typ)
	buf.WriteString("; charset=utf-8\r\nContent-Transfer-Encoding: ")
	buf.WriteString(enc.String())
	buf.WriteString("\r\n\r\n")
	if enc == encQP {
		writeQP(buf, body)
	} else {
		writeLines(buf, body)
	}
	if b := buf.Bytes(); b[len(b)-1] != '\n' {
		buf.WriteString("\r\n")
	}
}

type encoding uint8

const (
	enc7bit encoding = iota
	enc8bit
	encQP
)

func (e encoding) String() string {
	switch e {
	case enc7bit:
		return "7bit"
	case enc8bit:
		return "8bit"
	}
	return "quoted-printable"
}

// chooseEncoding picks the lightest transfer encoding that keeps body
// intact: 7bit for ASCII, 8bit for UTF-8, as long as no line is longer than
// maxBodyLine and there is no bare CR or control character; quoted-printable
// otherwise. Unencoded bodies keep links readable in an .eml file.
func chooseEncoding(body string) encoding {
	var or byte    // every byte ORed: below 0x80 means ASCII
	lineStart := 0 // index of the current line's first byte
	for i := 0; i < len(body); i++ {
		c := body[i]
		or |= c
		if c >= ' ' && c != 0x7f || c == '\t' {
			continue
		}
		switch {
		case c == '\n':
			end := i
			if end > lineStart && body[end-1] == '\r' {
				end--
			}
			if end-lineStart > maxBodyLine {
				return encQP
			}
			lineStart = i + 1
		case c == '\r' && i+1 < len(body) && body[i+1] == '\n':
			// the CR of a CRLF: the line ends at the LF
		default:
			return encQP // a bare CR or another control character
		}
	}
	if len(body)-lineStart > maxBodyLine {
		return encQP
	}
	if or < utf8.RuneSelf {
		return enc7bit
	}
	if !utf8.ValidString(body) {
		return encQP
	}
	return enc8bit
}

// writeLines writes body with every line ending in CRLF.
func writeLines(buf *bytes.Buffer, body string) {
	for body != "" {
		line, rest, found := strings.Cut(body, "\n")
		buf.WriteString(strings.TrimSuffix(line, "\r"))
		if found || line != "" {
			buf.WriteString("\r\n")
		}
		body = rest
	}
}

// writeQP writes body quoted-printable, through a stack buffer so that a
// large body is not copied to the heap.
func writeQP(buf *bytes.Buffer, body string) {
	var chunk [1024]byte
	w := quotedprintable.NewWriter(buf)
	for body != "" {
		n := copy(chunk[:], body)
		w.Write(chunk[:n]) // writes to a bytes.Buffer cannot fail
		body = body[n:]
	}
	w.Close()
}
