package mailer

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestChooseEncoding: bodies a mail server passes unchanged go as they are
// (7bit, 8bit); anything it could break (long lines, bare CR, control
// characters, invalid UTF-8) goes quoted-printable when that is shorter
// (mostly ASCII), base64 otherwise (Cyrillic).
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
		{"short\n" + strings.Repeat("я", maxBodyLine/2+1), encBase64}, // the last line, counted in bytes
		{strings.Repeat("Длинная строка. ", 70), encBase64},
		{strings.Repeat("<p class=\"x\">Long line of HTML</p>", 40), encQP},
		{strings.Repeat("<p>Привет, мир!</p>", 60), encBase64},
		{"bare\rCR", encQP},
		{"ends in CR\r", encQP},
		{"nul\x00", encQP},
		{"del\x7f", encQP},
		{"bad \xff utf-8", encQP},
		{"плохой \xff UTF-8", encBase64},
	} {
		if got := chooseEncoding(c.body); got != c.want {
			t.Errorf("chooseEncoding(%.40q) = %v, want %v", c.body, got, c.want)
		}
	}
}

// no8BitMIME stands in front of the server at backend and hides its
// 8BITMIME, as an old server does; it returns the address to dial.
func no8BitMIME(t *testing.T, backend string) string {
	t.Helper()
	return rawServer(t, func(c net.Conn, _ *bufio.Reader) {
		b, err := net.Dial("tcp", backend)
		if err != nil {
			return
		}
		go func() { io.Copy(b, c); b.Close() }()
		r := bufio.NewReader(b)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			if !strings.Contains(line, "8BITMIME") {
				c.Write([]byte(line))
			}
		}
	})
}

// TestCyrillicBodiesAreSmallOnTheWire: Russian text and HTML with lines
// longer than 998 octets once went quoted-printable, three times their size
// (7.4 KB of text became 22 KB). Each body now goes in the shortest form
// that every server takes: 8bit when the lines fit and the server offers
// 8BITMIME, base64 otherwise; and no line on the wire is too long.
func TestCyrillicBodiesAreSmallOnTheWire(t *testing.T) {
	t.Parallel()
	paragraph := strings.Repeat("Съешь же ещё этих мягких французских булок, да выпей чаю. ", 18) // 1,900 bytes, one line
	longText := strings.Join(slices.Repeat([]string{paragraph}, 4), "\n\n")                       // 7.6 KB
	longHTML := "<html><body>" + strings.Repeat("<p style=\"margin:0 0 1em\">"+paragraph+"</p>", 4) + "</body></html>"
	shortText := strings.Repeat("Съешь же ещё этих мягких французских булок, да выпей чаю.\n", 130)
	tests := []struct {
		name      string
		text      string
		html      string
		no8bit    bool    // the server does not offer 8BITMIME
		wantEnc   string  // the encoding of every part
		wantRatio float64 // most bytes of the whole message per byte of the bodies
	}{
		{name: "long-line text goes base64", text: longText, wantEnc: "base64", wantRatio: 1.45},
		{name: "long-line HTML goes base64", html: longHTML, wantEnc: "base64", wantRatio: 1.45},
		{name: "long-line text and HTML go base64", text: longText, html: longHTML, wantEnc: "base64", wantRatio: 1.45},
		{name: "short lines go 8bit", text: shortText, wantEnc: "8bit", wantRatio: 1.1},
		{name: "short lines go base64 to a server without 8BITMIME", text: shortText, html: "<p>" + shortText + "</p>", no8bit: true,
			wantEnc: "base64", wantRatio: 1.45},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := startServer(t, &testServer{}, serverOptions{})
			addr := ts.Addr
			if tt.no8bit {
				addr = no8BitMIME(t, ts.Addr)
			}
			s, err := NewSMTP("smtp://"+addr, SMTPOptions{CommandTimeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			m := &Message{From: Address{Name: "Рассылка", Email: "news@example.com"}, To: Address{Email: "ivan@example.org"},
				Subject: "Новости", Text: tt.text, HTML: tt.html}
			if _, err := s.Send(t.Context(), m); err != nil {
				t.Fatal(err)
			}
			got := ts.Received()
			if len(got) != 1 {
				t.Fatalf("the server got %d messages", len(got))
			}
			wire := []byte(got[0].Data)
			t.Logf("%d bytes of bodies, %d bytes on the wire", len(tt.text)+len(tt.html), len(wire))
			if ratio := float64(len(wire)) / float64(len(tt.text)+len(tt.html)); ratio > tt.wantRatio {
				t.Errorf("%d bytes on the wire for %d bytes of bodies: %.2f times, want at most %.2f",
					len(wire), len(tt.text)+len(tt.html), ratio, tt.wantRatio)
			}
			for line := range bytes.SplitSeq(wire, []byte("\r\n")) {
				if len(line) > maxHardLine {
					t.Fatalf("a line of %d octets on the wire", len(line))
				}
			}
			if tt.no8bit && has8bit(wire) {
				t.Error("8bit data sent to a server without 8BITMIME")
			}
			pm := parseMessage(t, wire)
			var want []string
			for _, body := range []string{tt.text, tt.html} {
				if body != "" {
					want = append(want, normalizeNewlines(body))
				}
			}
			if len(pm.Parts) != len(want) {
				t.Fatalf("%d parts, want %d", len(pm.Parts), len(want))
			}
			for i, p := range pm.Parts {
				if p.Encoding != tt.wantEnc || p.Body != want[i] {
					t.Errorf("part %d: %s, %d bytes decoded; want %s and the body as written", i+1, p.Encoding, len(p.Body), tt.wantEnc)
				}
			}
		})
	}
}
