package bounce

import (
	"strings"
	"testing"
)

func TestVERP(t *testing.T) {
	v := NewVERP([]byte("secret key of the service, 32 bytes+"), "Bounces", "Bounce.Example.org")
	for _, id := range []int64{1, 127, 128, 1 << 20, 1<<40 + 7} {
		a := v.Address(id)
		if !strings.HasPrefix(a, "bounces+") || !strings.HasSuffix(a, "@bounce.example.org") || len(a) > 64+20 {
			t.Errorf("address of %d: %q", id, a)
		}
		if got, ok := v.FromAddress(a); !ok || got != id {
			t.Errorf("FromAddress(%q) = %d, %v; want %d", a, got, ok, id)
		}
		if got, ok := v.FromAddress("<" + strings.ToUpper(a) + ">"); !ok || got != id {
			t.Errorf("upper-cased %q: %d, %v", a, got, ok)
		}
		mid := v.MessageID(id, "r4nd0m", "mail.example.org")
		if got, ok := v.FromMessageID(mid); !ok || got != id {
			t.Errorf("FromMessageID(%q) = %d, %v; want %d", mid, got, ok, id)
		}
	}
	a := v.Address(42)
	tok := strings.TrimSuffix(strings.TrimPrefix(a, "bounces+"), "@bounce.example.org")
	forged := []string{
		"bounces+" + tok[:len(tok)-1] + flip(tok[len(tok)-1]) + "@bounce.example.org", // one character changed
		"bounces+" + tok + "@other.example.org",                                       // another domain
		"other+" + tok + "@bounce.example.org",                                        // another prefix
		"bounces+" + tok[:10] + "@bounce.example.org",                                 // cut short
		"bounces+" + NewVERP([]byte("another secret"), "bounces", "bounce.example.org").Token(42) + "@bounce.example.org",
		"bounces@bounce.example.org", "", "bounces+@bounce.example.org", "bounces+!!!@bounce.example.org",
	}
	for _, f := range forged {
		if id, ok := v.FromAddress(f); ok {
			t.Errorf("forged %q accepted as delivery %d", f, id)
		}
	}
	for _, f := range []string{"<x.y@z>", "<no-dot@z>", "<" + tok + "@z>", ""} {
		if id, ok := v.FromMessageID(f); ok {
			t.Errorf("Message-ID %q accepted as delivery %d", f, id)
		}
	}
}

func flip(c byte) string {
	if c == 'a' {
		return "b"
	}
	return "a"
}
