package simplesender

import "time"

// The states of an SMTP server in SMTPServerStatus.
const (
	SMTPServerOK      = "ok"      // in use
	SMTPServerResting = "resting" // skipped until RestingUntil after repeated failures
)

// The TLS modes of an SMTP server in SMTPServerStatus.
const (
	SMTPTLS              = "tls"               // smtps://: TLS from the first byte
	SMTPStartTLS         = "starttls"          // smtp://: STARTTLS, and a server without it is refused
	SMTPStartTLSOptional = "starttls-optional" // smtp:// to this machine: STARTTLS when the server offers it
	SMTPNoTLS            = "none"              // smtp://...?tls=none: clear text
)

// SMTPSettings is how the service sends e-mail, as shown to admins. It
// never holds a password.
type SMTPSettings struct {
	// Servers are the SMTP servers, used in turn; none means that every
	// e-mail is written to OutboxDir.
	Servers   []SMTPServerStatus
	OutboxDir string
	// Conns is how many messages of mailings the engine sends at once.
	Conns int
	// Retry are the waits between attempts after temporary failures.
	Retry []time.Duration
}

// SMTPServerStatus is one SMTP server's settings and how it is doing since
// the service started.
type SMTPServerStatus struct {
	Addr  string // host:port
	TLS   string // SMTPTLS, SMTPStartTLS, SMTPStartTLSOptional or SMTPNoTLS
	User  string // empty: no AUTH
	Conns int    // most connections at once
	InUse int    // connections carrying a message now
	Rate  float64
	Burst int    // messages that may go at once after a quiet spell (the token bucket's size)
	State string // SMTPServerOK or SMTPServerResting
	// RestingUntil is when a resting server is tried again.
	RestingUntil time.Time
	// Failures counts the server's failures in a row (failures for the
	// recipient's sake do not count).
	Failures int
	Sent     int64
	Failed   int64
	// LastError is the text of the last failed send: untrusted server text.
	LastError   string
	LastErrorAt time.Time
	// IdleTimeout is how long a connection kept for reuse may stay idle
	// before it is closed.
	IdleTimeout time.Duration
}

// Limited reports whether the server has a rate limit.
func (s SMTPServerStatus) Limited() bool { return s.Rate > 0 }
