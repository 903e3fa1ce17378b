package mailer

import (
	"bytes"
	"mime"
	"strings"
	"unicode/utf8"
)

// has8bit reports whether data holds a byte outside ASCII.
func has8bit(data []byte) bool {
	for _, c := range data {
		if c >= utf8.RuneSelf {
			return true
		}
	}
	return false
}

// downgrade re-encodes the 8bit body parts of a message that Build made
// (a single part, or multipart/alternative) as quoted-printable or base64,
// whichever is shorter, for a server that does not offer 8BITMIME
// (RFC 6152 allows 8bit data only to a server that does). Data in another
// form is returned as it is: a message that Build did not make is the
// caller's to make 7bit.
func downgrade(data []byte) []byte {
	head, body, ok := bytes.Cut(data, []byte("\r\n\r\n"))
	if !ok {
		return data
	}
	var out bytes.Buffer
	out.Grow(len(data) + len(data)/2)
	if !downgradeEntity(&out, head, body, false) {
		return data
	}
	return out.Bytes()
}

// downgradeEntity writes the entity made of head (its header fields, without
// the blank line) and body to out, its 8bit bodies re-encoded. inPart says
// that a MIME boundary follows it: body then ends without the line break
// that belongs to the boundary. It reports false for a structure that Build
// does not write.
func downgradeEntity(out *bytes.Buffer, head, body []byte, inPart bool) bool {
	ctype, cte, cteAt := "", "", -1
	for i, line := range fieldLines(head) {
		name, value, _ := strings.Cut(line, ":")
		switch {
		case strings.EqualFold(name, "Content-Type"):
			ctype = value
		case strings.EqualFold(name, "Content-Transfer-Encoding"):
			cte, cteAt = strings.TrimSpace(value), i
		}
	}
	mediaType, params, err := mime.ParseMediaType(ctype)
	if err == nil && strings.HasPrefix(mediaType, "multipart/") && params["boundary"] != "" {
		out.Write(head)
		out.WriteString("\r\n\r\n")
		return downgradeParts(out, body, params["boundary"])
	}
	if !strings.EqualFold(cte, "8bit") || !has8bit(body) {
		out.Write(head)
		out.WriteString("\r\n\r\n")
		out.Write(body)
		return true
	}
	for i, line := range fieldLines(head) {
		if i == cteAt {
			continue // written below, with the new encoding
		}
		out.WriteString(line)
		out.WriteString("\r\n")
	}
	text := string(body)
	writeEncoded(out, shorterEncoding(text), text)
	if inPart {
		out.Truncate(out.Len() - 2) // the boundary brings its own line break
	}
	return true
}

// downgradeParts writes the body of a multipart entity, each part
// downgraded. Build writes no preamble: the body starts with the first
// boundary.
func downgradeParts(out *bytes.Buffer, body []byte, boundary string) bool {
	delim := []byte("--" + boundary)
	rest, ok := bytes.CutPrefix(body, append(delim, '\r', '\n'))
	if !ok {
		return false
	}
	out.Write(delim)
	out.WriteString("\r\n")
	for {
		end := bytes.Index(rest, append([]byte("\r\n"), delim...))
		if end < 0 {
			return false
		}
		head, body, ok := bytes.Cut(rest[:end], []byte("\r\n\r\n"))
		if !ok || !downgradeEntity(out, head, body, true) {
			return false
		}
		out.WriteString("\r\n")
		out.Write(delim)
		rest = rest[end+2+len(delim):]
		if bytes.HasPrefix(rest, []byte("--")) {
			out.Write(rest) // the closing boundary's "--", and what follows
			return true
		}
		if rest, ok = bytes.CutPrefix(rest, []byte("\r\n")); !ok {
			return false
		}
		out.WriteString("\r\n")
	}
}

// fieldLines returns the header fields in head, one string each, folded
// lines joined to their field with their line breaks.
func fieldLines(head []byte) []string {
	var fields []string
	for line := range strings.SplitSeq(string(head), "\r\n") {
		if n := len(fields); n > 0 && line != "" && (line[0] == ' ' || line[0] == '\t') {
			fields[n-1] += "\r\n" + line
			continue
		}
		fields = append(fields, line)
	}
	return fields
}
