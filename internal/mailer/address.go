package mailer

import (
	"errors"
	"net/mail"
	"strings"

	"golang.org/x/net/idna"

	"simplesender"
)

const (
	maxAddressLen = 254 // RFC 5321 forward-path limit less the angle brackets
	maxLocalLen   = 64
	maxLabelLen   = 63
)

// ParseAddress normalises and validates one e-mail address typed by a user.
// Surrounding white space is trimmed and the domain is lower-cased; the local
// part keeps its case. An internationalized domain (IDNA) is accepted,
// typed in Unicode or in its ASCII form (xn--...), and returned in Unicode,
// readable: "ivan@пример.рф" (the mailer writes it in ASCII on the wire).
// Only a bare address with a dot-atom local part and a domain name of at
// least two labels is accepted: display names ("Ann <ann@example.com>"),
// angle brackets, lists ("a@b.c, d@e.f"), quoted local parts, IP literals
// and control characters are refused with a *simplesender.Error of
// KindInvalid and message key "error.email.invalid"; a local part that is
// not ASCII ("иван@пример.рф", which only servers with SMTPUTF8 accept) with
// "error.email.utf8_local".
func ParseAddress(s string) (string, error) {
	return normalizeAddress(strings.TrimSpace(s), true)
}

// ParseMailbox parses one mailbox with an optional display name, such as
// `simpleSENDER <noreply@localhost>` or "ann@example.com", as found in
// configuration. The address part follows the rules of ParseAddress except
// that a domain of a single label ("localhost") is allowed. Errors are a
// *simplesender.Error of KindInvalid with message key "error.email.invalid".
func ParseMailbox(s string) (Address, error) {
	s = strings.TrimSpace(s)
	if hasControl(s) {
		return Address{}, emailError("control character")
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return Address{}, &simplesender.Error{Kind: simplesender.KindInvalid, Message: "error.email.invalid", Cause: err}
	}
	email, err := normalizeAddress(a.Address, false)
	if err != nil {
		return Address{}, err
	}
	return Address{Name: a.Name, Email: email}, nil
}

// normalizeAddress validates the bare address s and returns it with the
// domain lower-cased, an internationalized domain in Unicode. needDot
// requires a domain of at least two labels, as user input should have;
// configured senders may use "localhost".
func normalizeAddress(s string, needDot bool) (string, error) {
	if s == "" {
		return "", emailError("empty")
	}
	if len(s) > maxAddressLen {
		return "", emailError("too long")
	}
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return "", emailError("missing @")
	}
	local, domain := s[:at], s[at+1:]
	if !isASCII(local) && !hasControl(local) {
		return "", &simplesender.Error{Kind: simplesender.KindInvalid, Message: "error.email.utf8_local",
			Cause: errors.New("non-ASCII local part needs SMTPUTF8")}
	}
	if len(local) > maxLocalLen || !isDotAtom(local) {
		return "", emailError("invalid local part")
	}
	if !isASCII(domain) || hasACELabel(domain) {
		ascii, err := idna.Lookup.ToASCII(domain)
		if err != nil || !isDomain(ascii, needDot) || len(local)+1+len(ascii) > maxAddressLen {
			return "", emailError("invalid international domain")
		}
		uni, err := idna.Lookup.ToUnicode(ascii)
		if err != nil {
			return "", emailError("invalid international domain")
		}
		return local + "@" + uni, nil
	}
	if !isDomain(domain, needDot) {
		return "", emailError("invalid domain")
	}
	for i := 0; i < len(domain); i++ {
		if 'A' <= domain[i] && domain[i] <= 'Z' {
			return local + "@" + strings.ToLower(domain), nil
		}
	}
	return s, nil
}

// hasACELabel reports whether an ASCII domain has a label in its IDNA
// ASCII form (xn--...).
func hasACELabel(domain string) bool {
	for label := range strings.SplitSeq(domain, ".") {
		if len(label) >= 4 && strings.EqualFold(label[:4], "xn--") {
			return true
		}
	}
	return false
}

// asciiAddress returns email, an address normalizeAddress accepted, with its
// domain in the ASCII form the envelope and the headers need
// ("ivan@xn--e1afmkfd.xn--p1ai" for "ivan@пример.рф").
func asciiAddress(email string) string {
	at := strings.LastIndexByte(email, '@')
	if isASCII(email[at+1:]) {
		return email
	}
	ascii, err := idna.Lookup.ToASCII(email[at+1:])
	if err != nil {
		return email // cannot happen: normalizeAddress converted it
	}
	return email[:at+1] + ascii
}

func emailError(cause string) error {
	return &simplesender.Error{Kind: simplesender.KindInvalid, Message: "error.email.invalid", Cause: errors.New(cause)}
}

// isAtext reports whether c may appear in an RFC 5322 atom.
func isAtext(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// isDotAtom reports whether s is atoms joined by single dots.
func isDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '.' {
			if s[i-1] == '.' {
				return false
			}
			continue
		}
		if !isAtext(c) {
			return false
		}
	}
	return true
}

// isDomain reports whether s is an ASCII host name: labels of letters,
// digits and inner hyphens. With needDot there must be at least two labels
// and the last must not be all digits, which rules out IP addresses.
func isDomain(s string, needDot bool) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	labels := 0
	for label := range strings.SplitSeq(s, ".") {
		labels++
		if label == "" || len(label) > maxLabelLen || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	if !needDot {
		return true
	}
	tld := s[strings.LastIndexByte(s, '.')+1:]
	return labels >= 2 && strings.Trim(tld, "0123456789") != ""
}

// hasControl reports whether s holds a character that must never reach a
// header: C0 controls (CR, LF, tab, NUL...), DEL, C1 controls, and the
// Unicode line and paragraph separators that some clients render as breaks.
func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || 0x80 <= r && r < 0xa0 || r == 0x2028 || r == 0x2029 {
			return true
		}
	}
	return false
}
