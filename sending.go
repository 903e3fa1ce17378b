package simplesender

import (
	"strings"
	"unicode/utf8"
)

// Limits of the sending settings, in characters.
const (
	MaxFooterText    = 1000
	MaxPostalAddress = 300
)

// SendingSettings are what a user's mailing messages carry besides their
// body: the note of the unsubscribe footer (empty: the default one, in the
// recipient's language) and the sender's postal address (CAN-SPAM; empty:
// none). Both are plain text and may have several lines.
type SendingSettings struct {
	FooterText    string
	PostalAddress string
}

// Normalize trims the settings and makes their line ends "\n".
func (s *SendingSettings) Normalize() {
	clean := func(v string) string {
		v = strings.ReplaceAll(strings.ReplaceAll(v, "\r\n", "\n"), "\r", "\n")
		return strings.TrimSpace(v)
	}
	s.FooterText, s.PostalAddress = clean(s.FooterText), clean(s.PostalAddress)
}

// Validate checks normalized settings: valid UTF-8, no control characters
// but line ends and tabs, within the limits. Its error is KindInvalid with
// fields footer_text and postal_address.
func (s *SendingSettings) Validate() error {
	f := FieldErrors{}
	check := func(field, v string, max int) {
		switch {
		case !utf8.ValidString(v) || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 && r != '\n' && r != '\t' || r == 0x7f }):
			f.Add(field, "error.sending.control")
		case utf8.RuneCountInString(v) > max:
			f.Add(field, "error.sending.too_long")
		}
	}
	check("footer_text", s.FooterText, MaxFooterText)
	check("postal_address", s.PostalAddress, MaxPostalAddress)
	return f.Err()
}
