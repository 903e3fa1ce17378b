package mailer

import (
	"strings"
	"testing"
)

func TestParseAddress(t *testing.T) {
	t.Parallel()
	valid := []struct{ in, want string }{
		{"ann@example.com", "ann@example.com"},
		{"  Ann.Lee+news@Mail.Example.COM \n", "Ann.Lee+news@mail.example.com"},
		{"o'brien@example.ie", "o'brien@example.ie"},
		{"x@a-b.example", "x@a-b.example"},
		{strings.Repeat("l", 64) + "@example.com", strings.Repeat("l", 64) + "@example.com"},
		{"ivan@пример.рф", "ivan@пример.рф"},
		{"Ivan@ПРИМЕР.РФ", "Ivan@пример.рф"},
		{"ivan@xn--e1afmkfd.xn--p1ai", "ivan@пример.рф"}, // the ASCII form is shown readable
		{"ann@bücher.example", "ann@bücher.example"},
	}
	for _, tt := range valid {
		t.Run("accepts "+tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseAddress(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("ParseAddress(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
	invalid := []struct{ name, in string }{
		{"empty", ""},
		{"blank", "   "},
		{"missing @", "ann.example.com"},
		{"missing local part", "@example.com"},
		{"missing domain", "ann@"},
		{"single-label domain", "ann@localhost"},
		{"display name", "Ann <ann@example.com>"},
		{"angle brackets", "<ann@example.com>"},
		{"two addresses with comma", "a@b.c, d@e.f"},
		{"two addresses with space", "a@b.c d@e.f"},
		{"two @", "a@b@example.com"},
		{"CRLF injection", "ann@example.com\r\nBcc: victim@example.org"},
		{"LF inside", "ann\n@example.com"},
		{"NUL", "ann@example.com\x00"},
		{"double dot", "ann..lee@example.com"},
		{"leading dot", ".ann@example.com"},
		{"trailing dot in local part", "ann.@example.com"},
		{"trailing dot in domain", "ann@example.com."},
		{"empty label", "ann@example..com"},
		{"hyphen at label start", "ann@-example.com"},
		{"underscore in domain", "ann@ex_ample.com"},
		{"quoted local part", `"ann lee"@example.com`},
		{"comment", "ann@example.com (Ann)"},
		{"IP literal", "ann@[127.0.0.1]"},
		{"IP address", "ann@127.0.0.1"},
		{"invalid international domain", "ann@пример..рф"},
		{"invalid ASCII form of a domain", "ann@xn--.example"},
		{"local part over 64", strings.Repeat("l", 65) + "@example.com"},
		{"label over 63", "ann@" + strings.Repeat("d", 64) + ".com"},
		{"over 254 characters", "ann@" + strings.Repeat("d.", 126) + "com"},
	}
	for _, tt := range invalid {
		t.Run("rejects "+tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseAddress(tt.in)
			if got != "" {
				t.Errorf("ParseAddress(%q) = %q, want error", tt.in, got)
			}
			wantInvalid(t, err, "error.email.invalid", "")
		})
	}
	// A local part that is not ASCII needs SMTPUTF8, which the mailer does
	// not speak: refused with its own message.
	got, err := ParseAddress("иван@пример.рф")
	if got != "" {
		t.Errorf("ParseAddress(иван@пример.рф) = %q, want error", got)
	}
	wantInvalid(t, err, "error.email.utf8_local", "")
}

func TestParseMailbox(t *testing.T) {
	t.Parallel()
	valid := []struct {
		in   string
		want Address
	}{
		{"simpleSENDER <noreply@localhost>", Address{Name: "simpleSENDER", Email: "noreply@localhost"}},
		{"noreply@Example.com", Address{Email: "noreply@example.com"}},
		{`"Smith, John" <john@example.com>`, Address{Name: "Smith, John", Email: "john@example.com"}},
		{"=?utf-8?b?0KDQsNGB0YHRi9C70LrQsA==?= <news@example.com>", Address{Name: "Рассылка", Email: "news@example.com"}},
	}
	for _, tt := range valid {
		t.Run("accepts "+tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseMailbox(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("ParseMailbox(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
		})
	}
	for _, in := range []string{
		"",
		"noreply",
		"a@example.com, b@example.com",
		"News <news@example.com>\r\nBcc: victim@example.org",
		`News <"a b"@example.com>`,
	} {
		t.Run("rejects "+in, func(t *testing.T) {
			t.Parallel()
			_, err := ParseMailbox(in)
			wantInvalid(t, err, "error.email.invalid", "")
		})
	}
}
