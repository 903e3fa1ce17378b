// Package mailer builds RFC 5322 e-mail messages and hands them to a
// Transport: an SMTP server (STARTTLS or implicit TLS, AUTH PLAIN or LOGIN)
// or, when no server is configured, an outbox directory of .eml files.
//
// Build is the one place where a message becomes bytes; it refuses any field
// that could inject a header. The connection level (SMTP.Dial, Conn.Send)
// is exposed for a sending engine that keeps connections open, and every
// SMTP failure is an *SMTPError that says whether it is worth retrying
// (IsTemporary) and whether the server may have accepted the message after
// all (IsUnknownOutcome). Only the standard library is used.
package mailer

import "context"

// Address is one mailbox: an optional display name and an e-mail address.
// Email must be a single bare address such as "ann@example.com"; use
// ParseAddress to obtain one from user input.
type Address struct {
	Name  string
	Email string
}

// Message is an e-mail to one recipient. Text and HTML are UTF-8 bodies;
// when both are given the message is multipart/alternative, when only one is
// given it is a single part. Headers holds extra header fields such as
// List-Unsubscribe; it must not repeat a field that Build writes itself.
// An empty MessageID makes Build generate one.
type Message struct {
	From      Address
	To        Address
	ReplyTo   *Address
	Subject   string
	Text      string
	HTML      string
	Headers   map[string]string
	MessageID string
	// Sign, when set, returns header fields (a DKIM signature) that Build
	// puts before the built message; its error is Build's.
	Sign func(msg []byte) ([]byte, error)
}

// Transport sends a message. Implementations are safe for concurrent use.
type Transport interface {
	// Send builds m and delivers it. A message that fails validation is a
	// *simplesender.Error of KindInvalid; SMTP failures are *SMTPError.
	Send(ctx context.Context, m *Message) (Result, error)
}

// Result describes what a Transport did with a message. MessageID is set
// whenever the message could be built, even when sending it failed.
type Result struct {
	MessageID string // the Message-ID header, in angle brackets
	Reply     Reply  // the server's final reply; zero for Outbox
	Path      string // the .eml file written by Outbox; empty for SMTP
}

// Reply is an SMTP server reply. Text is untrusted data from the server,
// capped at 1000 bytes, with invalid UTF-8 and control characters replaced;
// lines of a multi-line reply are joined with "\n".
type Reply struct {
	Code     int
	Enhanced string // RFC 3463 status such as "2.0.0"; empty when the server sent none
	Text     string
}
