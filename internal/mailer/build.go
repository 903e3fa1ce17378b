package mailer

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"simplesender"
)

const (
	dateLayout = "Mon, 02 Jan 2006 15:04:05 -0700" // RFC 5322 date-time

	maxLineLen  = 78  // RFC 5322: header lines SHOULD stay within 78 characters
	maxHardLine = 998 // RFC 5322: lines MUST stay within 998 characters
)

// Build writes m as a complete RFC 5322 message to buf, dated now, and
// returns its Message-ID in angle brackets as written in the header.
//
// The message carries Date, From, To, Reply-To (when set), Subject,
// Message-ID, the extra Headers (sorted by name), MIME-Version and the body
// headers. Display names and subjects that are not plain ASCII are RFC 2047
// encoded, long headers are folded; internationalized domains are written
// in their ASCII form (xn--...). Bodies are UTF-8 with CRLF line endings:
// 7bit or 8bit when every line is short enough, otherwise quoted-printable or
// base64, whichever is shorter; no line is longer than 998 octets. (Conn.Send
// re-encodes 8bit bodies for a server without 8BITMIME.)
// A generated Message-ID is random and uses the domain of the From address.
//
// Build refuses a message rather than alter it: a control character (CR, LF,
// tab, NUL, ...) in any header field is a *simplesender.Error of KindInvalid
// with message key "error.header_injection"; an address that is not a single
// valid e-mail address is "error.email.invalid" (one whose local part is not
// ASCII, "error.email.utf8_local"); a bad header name, a header
// that Build writes itself, invalid UTF-8 or an invalid MessageID is
// "error.header.invalid". Fields names the offending field ("from", "to",
// "reply_to", "subject", "message_id", "headers"). On error buf is unchanged.
func Build(buf *bytes.Buffer, m *Message, now time.Time) (messageID string, err error) {
	from, err := checkAddress("from", m.From)
	if err != nil {
		return "", err
	}
	to, err := checkAddress("to", m.To)
	if err != nil {
		return "", err
	}
	var replyTo string
	if m.ReplyTo != nil {
		if replyTo, err = checkAddress("reply_to", *m.ReplyTo); err != nil {
			return "", err
		}
	}
	if err := checkText("subject", m.Subject); err != nil {
		return "", err
	}
	if err := checkMessageID(m.MessageID); err != nil {
		return "", err
	}
	var names []string
	if len(m.Headers) > 0 {
		if names, err = checkHeaders(m.Headers); err != nil {
			return "", err
		}
	}

	// Validation is over: from here on nothing can fail but m.Sign.
	start := buf.Len()
	buf.WriteString("Date: ")
	buf.Write(now.AppendFormat(buf.AvailableBuffer(), dateLayout))
	buf.WriteString("\r\n")
	writeAddress(buf, "From", m.From.Name, from)
	writeAddress(buf, "To", m.To.Name, to)
	if m.ReplyTo != nil {
		writeAddress(buf, "Reply-To", m.ReplyTo.Name, replyTo)
	}
	writeText(buf, "Subject", m.Subject, needsEncoding(m.Subject))
	messageID = writeMessageID(buf, m.MessageID, from[strings.LastIndexByte(from, '@')+1:])
	for _, name := range names {
		writeText(buf, name, m.Headers[name], !isASCII(m.Headers[name]))
	}
	buf.WriteString("MIME-Version: 1.0\r\n")
	switch {
	case m.Text != "" && m.HTML != "":
		writeAlternative(buf, m.Text, m.HTML)
	case m.HTML != "":
		writePart(buf, "text/html", m.HTML)
	default:
		writePart(buf, "text/plain", m.Text)
	}
	if m.Sign != nil {
		sig, err := m.Sign(buf.Bytes()[start:])
		if err != nil {
			buf.Truncate(start)
			return "", err
		}
		msg := bytes.Clone(buf.Bytes()[start:])
		buf.Truncate(start)
		buf.Write(sig)
		buf.Write(msg)
	}
	return messageID, nil
}

func fieldError(field, key string, cause error) error {
	return &simplesender.Error{
		Kind:    simplesender.KindInvalid,
		Message: key,
		Fields:  map[string]string{field: key},
		Cause:   cause,
	}
}

// checkText validates a header value: no control characters, valid UTF-8.
func checkText(field, s string) error {
	if hasControl(s) {
		return fieldError(field, "error.header_injection", nil)
	}
	if !utf8.ValidString(s) {
		return fieldError(field, "error.header.invalid", nil)
	}
	return nil
}

// checkAddress validates a and returns its normalised e-mail address, with
// the domain in ASCII (IDNA).
func checkAddress(field string, a Address) (string, error) {
	if err := checkText(field, a.Name); err != nil {
		return "", err
	}
	if hasControl(a.Email) {
		return "", fieldError(field, "error.header_injection", nil)
	}
	email, err := normalizeAddress(a.Email, false)
	if err != nil {
		return "", fieldError(field, simplesender.AsError(err).Message, err)
	}
	return asciiAddress(email), nil
}

// checkMessageID accepts "", or id-left@id-right with or without the angle
// brackets, both sides dot-atoms (RFC 5322 msg-id without literals).
func checkMessageID(id string) error {
	if id == "" {
		return nil
	}
	if hasControl(id) {
		return fieldError("message_id", "error.header_injection", nil)
	}
	s := strings.TrimSuffix(strings.TrimPrefix(id, "<"), ">")
	left, right, ok := strings.Cut(s, "@")
	if !ok || len(s) > 250 || !isDotAtom(left) || !isDotAtom(right) {
		return fieldError("message_id", "error.header.invalid", nil)
	}
	return nil
}

// checkHeaders validates the extra headers and returns their names sorted.
func checkHeaders(h map[string]string) ([]string, error) {
	names := make([]string, 0, len(h))
	for name := range h {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if hasControl(name) {
			return nil, fieldError("headers", "error.header_injection", nil)
		}
		if !isFieldName(name) || isBuiltHeader(name) {
			return nil, fieldError("headers", "error.header.invalid", nil)
		}
		value := h[name]
		if err := checkText("headers", value); err != nil {
			return nil, err
		}
		// An ASCII value is written as it is (it may be structured, like
		// List-Unsubscribe) and only folded, which never lengthens a line:
		// it must fit on one.
		if isASCII(value) && len(name)+2+len(value) > maxHardLine {
			return nil, fieldError("headers", "error.header.invalid", nil)
		}
	}
	return names, nil
}

// isFieldName reports whether s is a field name of sane length made of
// letters, digits and the RFC 7230 token characters, which every parser
// accepts (RFC 5322 allows more).
func isFieldName(s string) bool {
	if s == "" || len(s) > 76 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// isBuiltHeader reports whether Build writes the field itself, or whether it
// would change where or to whom the message goes.
func isBuiltHeader(name string) bool {
	for _, b := range [...]string{
		"Date", "From", "Sender", "To", "Cc", "Bcc", "Reply-To", "Subject", "Message-ID",
		"MIME-Version", "Content-Type", "Content-Transfer-Encoding", "Return-Path",
	} {
		if strings.EqualFold(name, b) {
			return true
		}
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// appendRandom appends 32 hex digits from a cryptographic random source:
// 128 bits, so Message-IDs and MIME boundaries never collide in practice and
// no one can guess a boundary to break out of a body part.
func appendRandom(dst []byte) []byte {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
	return hex.AppendEncode(dst, b[:])
}
