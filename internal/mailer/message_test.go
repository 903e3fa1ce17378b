package mailer

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"

	"simplesender"
)

// part is one decoded body part of a parsed message.
type part struct {
	Type     string // media type without parameters
	Encoding string // Content-Transfer-Encoding as sent
	Body     string // decoded, with LF line endings and no trailing newline
}

// parsedMessage is a message read back the way a mail client reads it.
type parsedMessage struct {
	Header mail.Header
	Parts  []part
}

// parseMessage reads raw with net/mail and decodes its body parts, failing
// the test when the message is not well formed.
func parseMessage(t testing.TB, raw []byte) parsedMessage {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("mail.ReadMessage: %v\n%s", err, raw)
	}
	parts, err := readParts(m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), m.Body)
	if err != nil {
		t.Fatalf("reading body: %v\n%s", err, raw)
	}
	return parsedMessage{Header: m.Header, Parts: parts}
}

func readParts(contentType, encoding string, body io.Reader) ([]part, error) {
	typ, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(typ, "multipart/") {
		if cs := params["charset"]; cs != "utf-8" {
			return nil, errors.New("charset is " + cs)
		}
		text, err := decodeBody(encoding, body)
		if err != nil {
			return nil, err
		}
		return []part{{Type: typ, Encoding: encoding, Body: text}}, nil
	}
	r := multipart.NewReader(body, params["boundary"])
	var parts []part
	for {
		p, err := r.NextRawPart()
		if err == io.EOF {
			return parts, nil
		}
		if err != nil {
			return nil, err
		}
		sub, err := readParts(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p)
		if err != nil {
			return nil, err
		}
		parts = append(parts, sub...)
	}
}

func decodeBody(encoding string, body io.Reader) (string, error) {
	switch encoding {
	case "7bit", "8bit":
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body)
	default:
		return "", errors.New("unexpected Content-Transfer-Encoding " + encoding)
	}
	b, err := io.ReadAll(body)
	return normalizeNewlines(string(b)), err
}

// normalizeNewlines makes every line break LF and drops trailing ones,
// which a transfer encoding need not keep.
func normalizeNewlines(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.TrimRight(s, "\n")
}

// decodeHeader decodes RFC 2047 encoded-words the way mail clients do.
func decodeHeader(t testing.TB, v string) string {
	t.Helper()
	s, err := new(mime.WordDecoder).DecodeHeader(v)
	if err != nil {
		t.Fatalf("decoding header %q: %v", v, err)
	}
	return s
}

// headerLines returns the raw lines of raw's header section.
func headerLines(raw []byte) []string {
	head, _, _ := strings.Cut(string(raw), "\r\n\r\n")
	return strings.Split(head, "\r\n")
}

// wantInvalid fails unless err is a KindInvalid *simplesender.Error with
// message key key (and, when field is set, that key for that field).
func wantInvalid(t testing.TB, err error, key, field string) {
	t.Helper()
	var e *simplesender.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v (%T), want *simplesender.Error %s", err, err, key)
	}
	if e.Kind != simplesender.KindInvalid || e.Message != key {
		t.Fatalf("error = kind %v message %q, want invalid %q", e.Kind, e.Message, key)
	}
	if field != "" && e.Fields[field] != key {
		t.Fatalf("error fields = %v, want %s: %s", e.Fields, field, key)
	}
}
