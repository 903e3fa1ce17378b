// Package bounce reads what comes back after a message was sent and says
// what it means for the address it is about: delivery status notifications
// (RFC 3464, with RFC 3463 enhanced status codes), feedback-loop complaints
// (RFC 5965 ARF), automatic replies (RFC 3834), and the non-standard bounces
// many servers still send as plain text; and the webhooks of sending
// providers (Amazon SES through SNS, Postmark, SendGrid, Mailgun, and a
// generic signed JSON webhook), each only after its signature or
// credentials check out.
//
// Parse reads structure first (the message/delivery-status and
// message/feedback-report parts) and falls back to reading the text only
// when a message has no such part. It decides nothing about deliveries: the
// caller matches a report to a delivery (by its VERP address or the quoted
// Message-ID) and applies it.
package bounce

import "strings"

// Kind is what a report means for the address it is about.
type Kind string

// The kinds of report.
const (
	// Hard: the address does not exist or refuses mail for good. Final:
	// the delivery is bounced and the address suppressed.
	Hard Kind = "hard"
	// Soft: a temporary failure of the mailbox or its server (full,
	// busy, unreachable for now). Counted; repeated soft bounces suppress.
	Soft Kind = "soft"
	// Policy: refused because of the sender or the message (reputation,
	// spam filter, authentication, size), not because of the address. The
	// address is not suppressed.
	Policy Kind = "policy"
	// Delayed: the server is still trying; not final.
	Delayed Kind = "delayed"
	// Delivered: a positive notification (Action: delivered/relayed).
	Delivered Kind = "delivered"
	// Complaint: the recipient marked the message as spam (ARF abuse
	// report, or a provider's complaint event).
	Complaint Kind = "complaint"
	// AutoReply: an out-of-office or other automatic answer; ignored.
	AutoReply Kind = "auto_reply"
	// Unknown: not a report this package understands.
	Unknown Kind = "unknown"
)

// Source says how a report was read.
type Source string

// The sources of a report.
const (
	SourceDSN       Source = "dsn"       // an RFC 3464 message/delivery-status part
	SourceARF       Source = "arf"       // an RFC 5965 message/feedback-report part
	SourceText      Source = "text"      // the fallback reader of plain-text bounces
	SourceAutoReply Source = "autoreply" // RFC 3834 headers or a well-known subject
	SourceWebhook   Source = "webhook"   // a sending provider's webhook (Event.Provider says which)
)

// Report is what one returned message says about one recipient.
type Report struct {
	Kind      Kind
	Source    Source
	Recipient string // the address the report is about, lower-case; empty when it does not say
	Action    string // RFC 3464 Action: failed, delayed, delivered, relayed, expanded
	Status    string // RFC 3463 enhanced status code such as "5.1.1"; empty when none was found
	// Diagnostic is the remote server's words (Diagnostic-Code or the
	// text around the code): untrusted, control characters removed, at
	// most MaxDiagnostic bytes.
	Diagnostic   string
	RemoteMTA    string
	FeedbackType string // ARF Feedback-Type: abuse, fraud, virus, other...

	// What the returned message quotes of the original message, when it
	// does: its Message-ID (with angle brackets), its envelope sender
	// (Return-Path, the VERP address) and its To address.
	MessageID  string
	ReturnPath string
	OriginalTo string
}

// MaxDiagnostic caps Report.Diagnostic.
const MaxDiagnostic = 1000

// clean makes untrusted text one line of printable characters, capped.
func clean(s string, max int) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if r == '\uFFFD' || r < ' ' || r == 0x7f {
			r = ' '
		}
		if r == ' ' {
			if space || b.Len() == 0 {
				continue
			}
			space = true
		} else {
			space = false
		}
		if b.Len()+len(string(r)) > max {
			break
		}
		b.WriteRune(r)
	}
	return strings.TrimRight(b.String(), " ")
}
