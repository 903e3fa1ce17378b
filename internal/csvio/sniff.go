package csvio

import (
	"bytes"
	"sync"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// cp1251 is the decoding table of Windows-1251: byte -> rune. The one byte
// the code page leaves undefined (0x98) decodes to U+FFFD.
var cp1251 = sync.OnceValue(func() *[256]rune {
	var t [256]rune
	for i := range t {
		t[i] = charmap.Windows1251.DecodeByte(byte(i))
	}
	return &t
})

// decode1251 appends the UTF-8 form of the Windows-1251 bytes src to dst.
func decode1251(dst, src []byte) []byte {
	t := cp1251()
	for _, c := range src {
		if c < utf8.RuneSelf {
			dst = append(dst, c)
			continue
		}
		dst = utf8.AppendRune(dst, t[c])
	}
	return dst
}

// trimPartialRune drops an incomplete UTF-8 sequence from the end of b.
func trimPartialRune(b []byte) []byte {
	for i := 1; i < utf8.UTFMax && i <= len(b); i++ {
		c := b[len(b)-i]
		if c < utf8.RuneSelf {
			return b
		}
		if utf8.RuneStart(c) {
			if !utf8.FullRune(b[len(b)-i:]) {
				return b[:len(b)-i]
			}
			return b
		}
	}
	return b
}

// looksUTF8 reports whether a line is valid UTF-8 with at least three
// multi-byte characters. Russian text in Windows-1251 practically never is:
// it would take three capital letters each followed by a byte of 0x80-0xBF
// and no other letter.
func looksUTF8(line []byte) bool {
	return !isASCII(line) && utf8.Valid(line) && len(line)-utf8.RuneCount(line) >= 3
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// sniff looks at the first bytes of a file (head; atEOF when that is the
// whole file) and returns an error for what is certainly not a CSV file: an
// Excel workbook, an image or other binary data, UTF-16 text.
func sniff(head []byte) error {
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")), // .xlsx, .ods and any zip
		bytes.HasPrefix(head, []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1")): // .xls (OLE2)
		return &Error{Line: 1, Key: KeySpreadsheet}
	case bytes.HasPrefix(head, []byte("\xFF\xFE")), bytes.HasPrefix(head, []byte("\xFE\xFF")):
		// Excel's "Unicode text" is UTF-16: tell the user to save as CSV UTF-8.
		return &Error{Line: 1, Key: KeyEncoding}
	case bytes.HasPrefix(head, []byte("%PDF-")), bytes.HasPrefix(head, []byte("\x89PNG")),
		bytes.HasPrefix(head, []byte("\xFF\xD8\xFF")), bytes.HasPrefix(head, []byte("GIF8")),
		bytes.HasPrefix(head, []byte("\x1F\x8B")), bytes.HasPrefix(head, []byte("Rar!")),
		bytes.HasPrefix(head, []byte("7z\xBC\xAF")):
		return &Error{Line: 1, Key: KeyBinary}
	}
	// Text has no NUL and hardly any other control characters (a few stray
	// ones are the rows' problem, not the file's).
	if i := bytes.IndexByte(head, 0); i >= 0 {
		return &Error{Line: 1 + bytes.Count(head[:i], []byte{'\n'}), Key: KeyBinary}
	}
	ctl := 0
	for _, c := range head {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != 0x0c && c != 0x1a {
			ctl++
		}
	}
	if ctl >= 16 && ctl*50 >= len(head) {
		return &Error{Line: 1, Key: KeyBinary}
	}
	return nil
}

// detectEncoding decides the encoding from the first bytes of a file (head,
// after any byte order mark; atEOF when that is the whole file). The rule:
// bytes that are valid UTF-8 are UTF-8 (real Russian text in Windows-1251 is
// never valid UTF-8: a capital letter 0xC0-0xDF followed by a small one
// 0xE0-0xFF is an invalid sequence); anything else is Windows-1251. When head
// is plain ASCII nothing is decided yet (pending), and the first line with a
// non-ASCII byte decides instead.
func detectEncoding(head []byte, atEOF bool) (enc Encoding, pending bool) {
	if !atEOF {
		// The window may end inside a character: judge whole lines only.
		if i := bytes.LastIndexByte(head, '\n'); i >= 0 {
			head = head[:i+1]
		} else {
			head = trimPartialRune(head)
		}
	}
	switch {
	case isASCII(head):
		return UTF8, true
	case utf8.Valid(head):
		return UTF8, false
	}
	return Windows1251, false
}

// detectSeparator picks the separator of a header line: the most frequent of
// semicolon, comma and tab outside quotes; a semicolon wins a tie (Russian
// Excel), a comma when there is none at all.
func detectSeparator(line []byte) byte {
	var n [3]int
	quoted := false
	for _, c := range line {
		switch c {
		case '"':
			quoted = !quoted
		case ';':
			if !quoted {
				n[0]++
			}
		case ',':
			if !quoted {
				n[1]++
			}
		case '\t':
			if !quoted {
				n[2]++
			}
		}
	}
	best, seps := 1, [3]byte{';', ',', '\t'}
	for i := range n {
		if n[i] > n[best] {
			best = i
		}
	}
	if n[best] == 0 {
		return ','
	}
	if n[0] == n[best] {
		return ';'
	}
	return seps[best]
}

// excelSepLine returns the separator named by an Excel "sep=;" first line.
func excelSepLine(line []byte) (byte, bool) {
	l := bytes.TrimRight(line, "\r\n")
	if len(l) == 5 && bytes.EqualFold(l[:4], []byte("sep=")) && validSeparator(rune(l[4])) {
		return l[4], true
	}
	return 0, false
}

func validSeparator(r rune) bool { return r == ',' || r == ';' || r == '\t' || r == '|' }
