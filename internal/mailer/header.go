package mailer

import (
	"bytes"
	"encoding/base64"
	"strings"
	"unicode/utf8"
)

const (
	ewPrefix = "=?utf-8?b?"
	ewSuffix = "?="
	// maxEWChunk is the most text per RFC 2047 encoded-word: 45 bytes make 60
	// base64 characters, 72 with prefix and suffix, within the limit of 75.
	maxEWChunk = 45
)

// needsEncoding reports whether the unstructured text s must be written as
// encoded-words to arrive intact: it is not ASCII, it holds "=?" that a
// reader would take for an encoded-word, it has white space that unfolding
// would not keep (leading, trailing, or two in a row), or it has a word too
// long to fold.
func needsEncoding(s string) bool {
	if !isASCII(s) || strings.Contains(s, "=?") || strings.Contains(s, "  ") ||
		strings.HasPrefix(s, " ") || strings.HasSuffix(s, " ") {
		return true
	}
	for word := range strings.SplitSeq(s, " ") {
		if len(word) > maxLineLen-1 {
			return true
		}
	}
	return false
}

// folder writes the tokens of one header field, each preceded by a space,
// and folds the line before a token that would pass maxLineLen.
type folder struct {
	buf   *bytes.Buffer
	n     int  // length of the current line
	words bool // the current line holds a token, so folding is allowed
}

func newFolder(buf *bytes.Buffer, name string) folder {
	buf.WriteString(name)
	buf.WriteByte(':')
	return folder{buf: buf, n: len(name) + 1}
}

// fold starts a continuation line when a token of n bytes would not fit on
// the current one and the current one already holds a token.
func (f *folder) fold(n int) {
	if f.words && f.n+1+n > maxLineLen {
		f.buf.WriteString("\r\n")
		f.n = 0
		f.words = false
	}
}

func (f *folder) token(s string) {
	if s != "" {
		// Runs of spaces are kept and never become a line of white space.
		f.fold(len(s))
	}
	f.buf.WriteByte(' ')
	f.buf.WriteString(s)
	f.n += 1 + len(s)
	f.words = f.words || s != ""
}

func (f *folder) plain(s string) {
	for word := range strings.SplitSeq(s, " ") {
		f.token(word)
	}
}

// quoted writes s, printable ASCII, as one RFC 5322 quoted-string.
func (f *folder) quoted(s string) {
	n := len(s) + 2 + strings.Count(s, `"`) + strings.Count(s, `\`)
	f.fold(n)
	f.buf.WriteString(` "`)
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			f.buf.WriteByte('\\')
		}
		f.buf.WriteByte(s[i])
	}
	f.buf.WriteByte('"')
	f.n += 1 + n
	f.words = true
}

// encoded writes s, valid UTF-8, as RFC 2047 "B" encoded-words, split at
// rune boundaries so that each word decodes on its own, one per line.
func (f *folder) encoded(s string) {
	var chunk [maxEWChunk]byte
	for len(s) > 0 {
		f.fold(len(ewPrefix) + 4 + len(ewSuffix))
		// The first word of a field gets what is left of its line.
		size := (maxLineLen - f.n - 1 - len(ewPrefix) - len(ewSuffix)) / 4 * 3
		size = min(maxEWChunk, len(s), max(size, 12))
		for size < len(s) && size > 4 && !utf8.RuneStart(s[size]) {
			size--
		}
		c := chunk[:copy(chunk[:], s[:size])]
		s = s[size:]
		f.buf.WriteByte(' ')
		f.buf.WriteString(ewPrefix)
		f.buf.Write(base64.StdEncoding.AppendEncode(f.buf.AvailableBuffer(), c))
		f.buf.WriteString(ewSuffix)
		f.n += 1 + len(ewPrefix) + base64.StdEncoding.EncodedLen(len(c)) + len(ewSuffix)
		f.words = true
	}
}

// writeText writes an unstructured header field such as Subject, in
// encoded-words when encode is true, as it is otherwise. Subject is encoded
// when it needs to be (needsEncoding); one of Message.Headers only when it is
// not ASCII, since it may be structured (List-Unsubscribe: <https://...>).
func writeText(buf *bytes.Buffer, name, value string, encode bool) {
	f := newFolder(buf, name)
	if encode {
		f.encoded(value)
	} else {
		f.plain(value)
	}
	buf.WriteString("\r\n")
}

// writeAddress writes an address field: the display name as atoms, a
// quoted-string or encoded-words, whichever keeps it intact, then <email>.
func writeAddress(buf *bytes.Buffer, field, name, email string) {
	f := newFolder(buf, field)
	name = strings.TrimSpace(name)
	switch {
	case name == "":
	case isAtomPhrase(name):
		f.plain(name)
	case isPrintable(name) && len(name) < maxLineLen-len(field)-4 && !strings.Contains(name, "=?"):
		f.quoted(name)
	default:
		f.encoded(name)
	}
	f.fold(len(email) + 2)
	buf.WriteString(" <")
	buf.WriteString(email)
	buf.WriteString(">\r\n")
}

// isAtomPhrase reports whether s can be written as bare atoms.
func isAtomPhrase(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != ' ' && !isAtext(s[i]) {
			return false
		}
	}
	return !needsEncoding(s)
}

func isPrintable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// writeMessageID writes the Message-ID field, generating a random ID at
// domain when id is empty, and returns the ID as written.
func writeMessageID(buf *bytes.Buffer, id, domain string) string {
	buf.WriteString("Message-ID: ")
	start := buf.Len()
	if id != "" {
		id = strings.TrimSuffix(strings.TrimPrefix(id, "<"), ">")
		buf.WriteByte('<')
		buf.WriteString(id)
	} else {
		buf.WriteByte('<')
		buf.Write(appendRandom(buf.AvailableBuffer()))
		buf.WriteByte('@')
		buf.WriteString(domain)
	}
	buf.WriteByte('>')
	id = string(buf.Bytes()[start:])
	buf.WriteString("\r\n")
	return id
}
