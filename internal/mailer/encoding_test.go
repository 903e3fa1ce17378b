package mailer

import (
	"strings"
	"testing"
)

// TestChooseEncoding: bodies a mail server passes unchanged go as they are
// (7bit, 8bit); anything it could break (long lines, bare CR, control
// characters, invalid UTF-8) goes quoted-printable.
func TestChooseEncoding(t *testing.T) {
	for _, c := range []struct {
		body string
		want encoding
	}{
		{"", enc7bit},
		{"hello\nworld\n", enc7bit},
		{"tab\there\r\nCRLF lines\r\n", enc7bit},
		{"Здравствуйте\r\nмир", enc8bit},
		{strings.Repeat("a", maxBodyLine) + "\r\n" + strings.Repeat("b", maxBodyLine), enc7bit},
		{strings.Repeat("a", maxBodyLine+1) + "\n", encQP},
		{"short\n" + strings.Repeat("я", maxBodyLine/2+1), encQP}, // the last line, counted in bytes
		{"bare\rCR", encQP},
		{"ends in CR\r", encQP},
		{"nul\x00", encQP},
		{"del\x7f", encQP},
		{"bad \xff utf-8", encQP},
	} {
		if got := chooseEncoding(c.body); got != c.want {
			t.Errorf("chooseEncoding(%.40q) = %v, want %v", c.body, got, c.want)
		}
	}
}
