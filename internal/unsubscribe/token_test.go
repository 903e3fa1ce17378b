package unsubscribe

import (
	"encoding/base64"
	"net/mail"
	"net/url"
	"strings"
	"testing"

	"simplesender/internal/render"
)

func TestTokenOpensToWhatItNames(t *testing.T) {
	k := NewKeys([]byte("secret"))
	for _, want := range []Target{
		{ID: 1, Lang: "en"},
		{ID: 9007199254740993, Lang: "ru"},
		{ID: 42, Test: true, Lang: "ru"},
	} {
		tok := k.Token(want)
		if len(tok) != TokenLen || strings.ContainsAny(tok, "+/=") {
			t.Fatalf("token %q: want %d base64url characters", tok, TokenLen)
		}
		got, err := k.Open(tok)
		if err != nil || got != want {
			t.Errorf("Open(Token(%+v)) = %+v, %v", want, got, err)
		}
	}
}

func TestTokenHidesTheDeliveryID(t *testing.T) {
	k := NewKeys([]byte("secret"))
	a, b := k.Token(Target{ID: 1000}), k.Token(Target{ID: 1001})
	raw, _ := base64.RawURLEncoding.DecodeString(a)
	if strings.Contains(string(raw), "\x03\xe8") {
		t.Errorf("token %q carries the id 1000 in clear", a)
	}
	if a[:10] == b[:10] {
		t.Errorf("tokens of neighbouring deliveries share a prefix: %q, %q", a, b)
	}
}

func TestForgedOrDamagedTokensAreRefused(t *testing.T) {
	k := NewKeys([]byte("secret"))
	good := k.Token(Target{ID: 7, Lang: "en"})
	other := NewKeys([]byte("another install")).Token(Target{ID: 7, Lang: "en"})
	flip := func(s string, i int) string {
		c := byte('A')
		if s[i] == 'A' {
			c = 'B'
		}
		return s[:i] + string(c) + s[i+1:]
	}
	cases := map[string]string{
		"empty":                     "",
		"truncated":                 good[:TokenLen-1],
		"one more character":        good + "A",
		"a character of the block":  flip(good, 3),
		"a character of the tag":    flip(good, TokenLen-2),
		"not base64url":             strings.Repeat("*", TokenLen),
		"another secret key":        other,
		"the tag of another token":  good[:21] + k.Token(Target{ID: 8})[21:],
		"padding where none is due": good[:TokenLen-1] + "=",
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			if got, err := k.Open(tok); err != ErrInvalid {
				t.Errorf("Open(%q) = %+v, %v; want ErrInvalid", tok, got, err)
			}
		})
	}
	// Every single-character change of a good token is refused.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range good {
		for _, c := range alphabet {
			if byte(c) == good[i] {
				continue
			}
			bad := good[:i] + string(c) + good[i+1:]
			if _, err := k.Open(bad); err == nil {
				t.Fatalf("Open accepted %q, %q changed at %d", bad, good, i)
			}
		}
	}
}

func TestLangFollowsTheMessage(t *testing.T) {
	for _, c := range []struct{ subject, text, want string }{
		{"Hello", "Our news", "en"},
		{"Новости", "", "ru"},
		{"News", "Привет, {{first_name}}", "ru"},
		{"Café", "Grüße", "en"},
	} {
		if got := Lang(c.subject, c.text); got != c.want {
			t.Errorf("Lang(%q, %q) = %q, want %q", c.subject, c.text, got, c.want)
		}
	}
}

func TestHeaders(t *testing.T) {
	base, _ := url.Parse("https://mail.example.com:8443/")
	l := NewLinks(base, []byte("secret"), "")
	h := l.Headers("TOKEN", l.ListIDHeader(123, `Anna "News" Smith`))
	if got, want := h["List-Unsubscribe"], "<https://mail.example.com:8443/u/TOKEN>"; got != want {
		t.Errorf("List-Unsubscribe = %q, want %q", got, want)
	}
	if got := h["List-Unsubscribe-Post"]; got != "List-Unsubscribe=One-Click" {
		t.Errorf("List-Unsubscribe-Post = %q", got)
	}
	if got, want := h["List-Id"], `"Anna \"News\" Smith" <u123.mail.example.com>`; got != want {
		t.Errorf("List-Id = %q, want %q", got, want)
	}

	l = NewLinks(base, []byte("secret"), "unsub@example.com")
	h = l.Headers("TOKEN", l.ListIDHeader(5, "Анна\r\nBcc: x@example.com"))
	if got, want := h["List-Unsubscribe"], "<https://mail.example.com:8443/u/TOKEN>, <mailto:unsub@example.com?subject=unsubscribe%20TOKEN>"; got != want {
		t.Errorf("List-Unsubscribe = %q, want %q", got, want)
	}
	id := h["List-Id"]
	if strings.ContainsAny(id, "\r\n") || !strings.HasSuffix(id, " <u5.mail.example.com>") {
		t.Fatalf("List-Id = %q", id)
	}
	a, err := mail.ParseAddress(strings.TrimSuffix(id, " <u5.mail.example.com>") + " <a@b.c>")
	if err != nil {
		t.Fatalf("List-Id phrase does not parse: %v", err)
	}
	if a.Name != "Анна Bcc: x@example.com" {
		t.Errorf("List-Id name decodes to %q", a.Name)
	}
}

func TestFooterIsAddedOnlyWhereTheBodyHasNoLink(t *testing.T) {
	f := &Footer{Note: "Because <you> subscribed {{email}}", Label: "Unsubscribe", Postal: "1 Main St\nSpringfield"}
	u := "https://x.example/u/T?a=1&b=2"
	fields := &render.Fields{Email: "ann@example.com", UnsubscribeURL: u}
	render2 := func(text, html string) (string, string) {
		m, err := render.ParseMessage("s", text, html)
		if err != nil {
			t.Fatal(err)
		}
		m = f.Apply(m)
		h := ""
		if m.HTML != nil {
			h = m.HTML.String(fields, true)
		}
		return m.Text.String(fields, false), h
	}

	text, html := render2("Hi", "<html><body><p>Hi</p></BODY></html>")
	if !strings.Contains(text, "Unsubscribe: "+u) || !strings.Contains(text, "1 Main St\nSpringfield") ||
		!strings.Contains(text, "subscribed {{email}}") {
		t.Errorf("text footer missing, or the note read as a placeholder: %q", text)
	}
	wantHTML := `<p>Hi</p><hr><p style="font-size:12px;color:#666">Because &lt;you&gt; subscribed {{email}}<br>` +
		`<a href="https://x.example/u/T?a=1&amp;b=2">Unsubscribe</a><br>1 Main St<br>Springfield</p></BODY></html>`
	if !strings.HasSuffix(html, wantHTML) {
		t.Errorf("HTML = %q, want it to end in %q", html, wantHTML)
	}
	if _, html := render2("Hi", "<p>no body element</p>"); !strings.HasSuffix(html, "Springfield</p>") {
		t.Errorf("HTML without </body>: the footer is not at the end: %q", html)
	}
	if text, _ := render2("", "<p>only HTML</p>"); text != "" {
		t.Errorf("a footer was added to the missing text of an HTML-only message: %q", text)
	}

	text, html = render2("Bye: {{unsubscribe_url}}", "<a href=\"{{unsubscribe_url}}\">bye</a>")
	if strings.Contains(text, "Unsubscribe") || strings.Contains(html, "<hr>") {
		t.Errorf("a footer was added to a body that places the link: %q / %q", text, html)
	}
}

// FuzzOpen: no input makes Open panic, and whatever it accepts is a token
// it made itself.
func FuzzOpen(f *testing.F) {
	k := NewKeys([]byte("secret"))
	f.Add(k.Token(Target{ID: 1, Lang: "en"}))
	f.Add(k.Token(Target{ID: 5, Test: true, Lang: "ru"}))
	f.Add(strings.Repeat("A", TokenLen))
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := k.Open(s)
		if err != nil {
			return
		}
		if k.Token(got) != s {
			t.Fatalf("Open(%q) = %+v, which is not its token", s, got)
		}
	})
}
