package apptest

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
)

// Parsed is a sent message as an independent parser (net/mail and
// mime/multipart) reads it: its header and its text and HTML bodies,
// decoded, with "\n" line ends.
type Parsed struct {
	Header     mail.Header
	Text, HTML string
}

// ParseSent parses the raw message raw.
func ParseSent(t testing.TB, raw []byte) Parsed {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("read message: %v", err)
	}
	p := Parsed{Header: m.Header}
	var walk func(ct, cte string, body io.Reader)
	walk = func(ct, cte string, body io.Reader) {
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil {
			t.Fatalf("content type %q: %v", ct, err)
		}
		if strings.HasPrefix(mt, "multipart/") {
			mr := multipart.NewReader(body, params["boundary"])
			for {
				part, err := mr.NextRawPart()
				if err == io.EOF {
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				walk(part.Header.Get("Content-Type"), part.Header.Get("Content-Transfer-Encoding"), part)
			}
		}
		switch strings.ToLower(cte) {
		case "quoted-printable":
			body = quotedprintable.NewReader(body)
		case "base64":
			body = base64.NewDecoder(base64.StdEncoding, body)
		}
		b, err := io.ReadAll(body)
		if err != nil {
			t.Fatal(err)
		}
		s := strings.ReplaceAll(string(b), "\r\n", "\n")
		if mt == "text/html" {
			p.HTML = s
		} else {
			p.Text = s
		}
	}
	walk(m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), m.Body)
	return p
}

// UnsubscribeURL returns the https link of a List-Unsubscribe header.
func UnsubscribeURL(t testing.TB, h mail.Header) string {
	t.Helper()
	v := h.Get("List-Unsubscribe")
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if strings.HasPrefix(part, "<http") && strings.HasSuffix(part, ">") {
			return strings.Trim(part, "<>")
		}
	}
	t.Fatalf("no http link in List-Unsubscribe %q", v)
	return ""
}
