package mailer

import (
	"context"
	"errors"
	"fmt"
	"net/textproto"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxReplyLen caps the server reply text kept in a Reply or an SMTPError.
const maxReplyLen = 1000

// The stages of an SMTP session, as found in SMTPError.Stage.
const (
	StageConnect  = "connect"  // TCP connection, implicit TLS, greeting
	StageHelo     = "helo"     // EHLO or HELO
	StageStartTLS = "starttls" // STARTTLS and its handshake
	StageAuth     = "auth"     // AUTH, or refusing to send a password
	StageMail     = "mail"     // MAIL FROM
	StageRcpt     = "rcpt"     // RCPT TO
	StageData     = "data"     // DATA and the transfer of the message up to the final "."
	StageDataEnd  = "data-end" // the reply to the final "."
	StageReset    = "rset"     // RSET
	StageNoop     = "noop"     // NOOP, the check of a connection that was idle
)

// SMTPError is a failed SMTP exchange: a reply the server sent (Code > 0) or
// a connection, TLS, timeout or cancellation failure (Code 0, Err set).
//
// Temporary means that the message was not handed over and that trying again
// later may succeed: a 4xx reply at any stage, or a failure of the connection
// before the final "." of the data was written. A 5xx reply is permanent.
// AfterData means that the connection failed after the final "." was written
// and before the reply was read: the server may or may not have accepted the
// message (RFC 1047), so it must not be sent again on its own. A result is
// never both Temporary and AfterData.
//
// Stage tells which command failed. A 5xx at StageMail or earlier concerns
// the server or the account (such as 535, bad credentials), not the
// recipient; at StageRcpt and later it concerns this message or recipient.
type SMTPError struct {
	Code      int    // reply code, such as 550; 0 when the server sent no reply
	Enhanced  string // RFC 3463 status from the reply, such as "5.1.1"; may be empty
	Message   string // reply text: untrusted, capped at 1000 bytes, valid UTF-8
	Stage     string // one of the Stage constants
	Temporary bool
	AfterData bool
	Err       error // the underlying failure when Code is 0
}

// Error describes the failure; it never contains the SMTP password.
func (e *SMTPError) Error() string {
	var b strings.Builder
	b.WriteString("smtp ")
	b.WriteString(e.Stage)
	b.WriteString(": ")
	if e.AfterData {
		b.WriteString("outcome unknown: ")
	}
	if e.Code != 0 {
		b.WriteString(strconv.Itoa(e.Code))
		if e.Message != "" {
			b.WriteByte(' ')
			b.WriteString(e.Message)
		}
		if e.Err != nil {
			b.WriteString(": ")
		}
	}
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying failure, such as os.ErrDeadlineExceeded or
// context.Canceled, or nil for a server reply.
func (e *SMTPError) Unwrap() error { return e.Err }

// IsTemporary reports whether err is an *SMTPError after which the message
// was not delivered and may be tried again later.
func IsTemporary(err error) bool {
	var e *SMTPError
	return errors.As(err, &e) && e.Temporary
}

// IsUnknownOutcome reports whether err is an *SMTPError after which nobody
// can know whether the server accepted the message: the connection failed
// after the whole message was written and before the reply was read.
func IsUnknownOutcome(err error) bool {
	var e *SMTPError
	return errors.As(err, &e) && e.AfterData
}

// newReply makes a Reply from an untrusted reply line.
func newReply(code int, text string) Reply {
	text = sanitizeReply(text)
	return Reply{Code: code, Enhanced: parseEnhanced(text), Text: text}
}

// replyError classifies a reply that is not the one wanted at stage.
func replyError(stage string, r Reply, afterData bool) *SMTPError {
	e := &SMTPError{Code: r.Code, Enhanced: r.Enhanced, Message: r.Text, Stage: stage}
	switch class := r.Code / 100; {
	case class == 4:
		e.Temporary = true
	case class == 5:
	case afterData:
		// Neither a yes nor a no to the message the server has received.
		e.AfterData = true
	default:
		e.Temporary = true
	}
	return e
}

// netError classifies a failure of the connection itself.
func netError(ctx context.Context, stage string, err error, afterData bool) *SMTPError {
	var pe textproto.ProtocolError
	if errors.As(err, &pe) {
		// It quotes the server's line: untrusted.
		err = textproto.ProtocolError(sanitizeReply(string(pe)))
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		err = fmt.Errorf("%w: %w", cerr, err)
	}
	return &SMTPError{Stage: stage, Err: err, Temporary: !afterData, AfterData: afterData}
}

// sanitizeReply caps s at maxReplyLen bytes and replaces invalid UTF-8 and
// control characters other than newline and tab, so that a reply can be
// stored and shown as text.
func sanitizeReply(s string) string {
	clean := len(s) <= maxReplyLen
	for i := 0; clean && i < len(s); i++ {
		c := s[i]
		clean = c >= ' ' && c < 0x7f || c == '\n' || c == '\t'
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(min(len(s), maxReplyLen))
	for _, r := range s { // invalid UTF-8 comes as utf8.RuneError
		if r < ' ' && r != '\n' && r != '\t' || r == 0x7f || 0x80 <= r && r < 0xa0 {
			r = utf8.RuneError
		}
		if b.Len()+utf8.RuneLen(r) > maxReplyLen {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}

// parseEnhanced returns the RFC 3463 status code that starts text, such as
// "5.1.1" in "5.1.1 User unknown", or "".
func parseEnhanced(text string) string {
	end := strings.IndexAny(text, " \n")
	if end < 0 {
		end = len(text)
	}
	code := text[:end]
	class, rest, ok1 := strings.Cut(code, ".")
	subject, detail, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || (class != "2" && class != "4" && class != "5") ||
		!isDigits(subject, 3) || !isDigits(detail, 3) {
		return ""
	}
	return code
}

func isDigits(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
