package mailer

import (
	"bytes"
	"encoding/base64"
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
	buf.WriteString("; charset=utf-8\r\n")
	writeEncoded(buf, enc, body)
}

// writeEncoded writes the Content-Transfer-Encoding field, the blank line
// and body in enc, ending with CRLF.
func writeEncoded(buf *bytes.Buffer, enc encoding, body string) {
	buf.WriteString("Content-Transfer-Encoding: ")
	buf.WriteString(enc.String())
	buf.WriteString("\r\n\r\n")
	switch enc {
	case encQP:
		writeQP(buf, body)
	case encBase64:
		writeBase64(buf, body)
	default:
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
	encBase64
)

func (e encoding) String() string {
	switch e {
	case enc7bit:
		return "7bit"
	case enc8bit:
		return "8bit"
	case encBase64:
		return "base64"
	}
	return "quoted-printable"
}

// chooseEncoding picks the shortest transfer encoding that keeps body
// intact: 7bit for ASCII, 8bit for UTF-8, as long as no line is longer than
// maxBodyLine and there is no bare CR or control character; otherwise
// quoted-printable or base64, whichever is shorter (quoted-printable for
// mostly ASCII text, base64 for Cyrillic, whose every byte quoted-printable
// writes as three). Unencoded bodies keep links readable in an .eml file.
// A server without 8BITMIME gets 8bit bodies re-encoded (downgrade).
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
				return shorterEncoding(body)
			}
			lineStart = i + 1
		case c == '\r' && i+1 < len(body) && body[i+1] == '\n':
			// the CR of a CRLF: the line ends at the LF
		default:
			return shorterEncoding(body) // a bare CR or another control character
		}
	}
	if len(body)-lineStart > maxBodyLine {
		return shorterEncoding(body)
	}
	if or < utf8.RuneSelf {
		return enc7bit
	}
	if !utf8.ValidString(body) {
		return shorterEncoding(body)
	}
	return enc8bit
}

// shorterEncoding returns quoted-printable or base64, whichever writes body
// in fewer bytes: it counts what quoted-printable writes as =XX and the
// soft line breaks it needs.
func shorterEncoding(body string) encoding {
	qp, lfs := 0, 0 // quoted-printable bytes; line breaks without CR
	for rest := body; ; {
		line, after, found := strings.Cut(rest, "\n")
		if found && strings.HasSuffix(line, "\r") {
			line = line[:len(line)-1]
		} else if found {
			lfs++
		}
		n := 0
		for i := 0; i < len(line); i++ {
			n += int(qpCost[line[i]])
		}
		qp += n + max(n-1, 0)/75*3 // and "=" CRLF every 75 characters
		if !found {
			break
		}
		qp += 2 // CRLF
		rest = after
	}
	b64 := (len(body) + lfs + 2) / 3 * 4 // line breaks become CRLF first
	b64 += (b64 + 75) / 76 * 2           // CRLF after every 76 characters
	if qp <= b64 {
		return encQP
	}
	return encBase64
}

// qpCost is how many bytes quoted-printable writes for a byte of text (it
// is never written to).
var qpCost = func() (t [256]uint8) {
	for c := range t {
		t[c] = 3
		if c >= ' ' && c < 0x7f && c != '=' || c == '\t' {
			t[c] = 1
		}
	}
	return t
}()

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

// b64Line is how many bytes base64 writes on one line of 76 characters.
const b64Line = 57

// writeBase64 writes body base64, in lines of 76 characters ending in CRLF,
// after making its line breaks CRLF (the canonical form of text, RFC 2045
// section 6.8).
func writeBase64(buf *bytes.Buffer, body string) {
	w := b64Writer{buf: buf}
	for body != "" {
		line, rest, found := strings.Cut(body, "\n")
		w.write(line)
		if found {
			if strings.HasSuffix(line, "\r") {
				w.write("\n")
			} else {
				w.write("\r\n")
			}
		}
		body = rest
	}
	w.encode(w.in[:w.n])
}

// b64Writer gathers text on the stack and encodes it a few lines at a time.
type b64Writer struct {
	buf *bytes.Buffer
	in  [16 * b64Line]byte
	n   int
}

func (w *b64Writer) write(s string) {
	for s != "" {
		k := copy(w.in[w.n:], s)
		w.n += k
		s = s[k:]
		if w.n == len(w.in) {
			w.encode(w.in[:])
			w.n = 0
		}
	}
}

// encode writes p as lines of base64; all but the last hold b64Line bytes.
func (w *b64Writer) encode(p []byte) {
	for len(p) > 0 {
		k := min(b64Line, len(p))
		w.buf.Write(base64.StdEncoding.AppendEncode(w.buf.AvailableBuffer(), p[:k]))
		w.buf.WriteString("\r\n")
		p = p[k:]
	}
}
