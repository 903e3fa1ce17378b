package apptest

import (
	"bytes"
	"io"
	"log"
	"net"
	"net/mail"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Action is what the test SMTP server does with one recipient.
type Action int

// The scripted behaviours.
const (
	Accept     Action = iota
	Temp              // 451 4.3.0 at RCPT
	Perm              // 550 5.1.1 at RCPT
	DropBefore        // close the connection at RCPT, before any data
	DropAfter         // read the whole message, then close without replying
	Stall             // do not answer RCPT for StallFor
)

// SMTPServer is a real SMTP server on loopback for tests. It keeps every
// message it accepts. Script, when set, decides per recipient and per
// attempt (1 for the first time the recipient is seen); FailNext makes it
// answer 451 to the next n messages at the end of data.
type SMTPServer struct {
	Addr     string
	Script   func(rcpt string, attempt int) Action
	StallFor time.Duration
	Delay    time.Duration // added to every accepted message

	mu      sync.Mutex
	msgs    []Email
	byTo    map[string][]int // indexes into msgs by recipient
	raw     map[string][][]byte
	envFrom map[string][]string // envelope senders (MAIL FROM) by recipient
	seen    map[string]int
	fail    int
	srv     *smtp.Server
	conns   int
}

// SMTPServerOptions tune a test SMTP server.
type SMTPServerOptions struct {
	// IdleTimeout, when set, makes the server close a connection that has
	// been idle that long, with "421 4.4.2 Idle timeout", as real servers
	// do (Postfix's smtpd_timeout).
	IdleTimeout time.Duration
}

// NewSMTPServer starts a server that stops when the test ends, tuned by at
// most one SMTPServerOptions.
func NewSMTPServer(t testing.TB, opts ...SMTPServerOptions) *SMTPServer {
	t.Helper()
	s := &SMTPServer{seen: map[string]int{}, byTo: map[string][]int{}, raw: map[string][][]byte{}, envFrom: map[string][]string{},
		StallFor: 3 * time.Second}
	s.srv = smtp.NewServer(smtpBackend{s})
	s.srv.Domain = "localhost"
	for _, o := range opts {
		s.srv.ReadTimeout = o.IdleTimeout
	}
	s.srv.AllowInsecureAuth = true
	s.srv.ErrorLog = log.New(io.Discard, "", 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = ln.Addr().String()
	go s.srv.Serve(ln)
	t.Cleanup(func() { s.srv.Close() })
	return s
}

// URL is the SIMPLESENDER_SMTP_URL of the server.
func (s *SMTPServer) URL() string { return "smtp://" + s.Addr }

// FailNext makes the next n messages fail with a temporary error.
func (s *SMTPServer) FailNext(n int) {
	s.mu.Lock()
	s.fail = n
	s.mu.Unlock()
}

// Messages returns the accepted messages addressed to `to`.
func (s *SMTPServer) Messages(to string) []Email {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Email
	for _, i := range s.byTo[to] {
		out = append(out, s.msgs[i])
	}
	return out
}

// Raw returns the raw accepted messages for `to`.
func (s *SMTPServer) Raw(to string) [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.raw[to]
}

// EnvelopeSenders returns the envelope senders (MAIL FROM) of the accepted
// messages for `to`.
func (s *SMTPServer) EnvelopeSenders(to string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.envFrom[to]...)
}

// Accepted returns how many messages were accepted in all.
func (s *SMTPServer) Accepted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs)
}

// Connections returns how many SMTP connections were opened.
func (s *SMTPServer) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

type smtpBackend struct{ s *SMTPServer }

func (b smtpBackend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	b.s.mu.Lock()
	b.s.conns++
	b.s.mu.Unlock()
	return &smtpSession{s: b.s, c: c}, nil
}

type smtpSession struct {
	s      *SMTPServer
	c      *smtp.Conn
	from   string
	to     string
	action Action
}

func (x *smtpSession) Reset()        { x.to, x.action = "", Accept }
func (x *smtpSession) Logout() error { return nil }
func (x *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	x.from = from
	return nil
}

func (x *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.to = to
	x.s.mu.Lock()
	x.s.seen[to]++
	n := x.s.seen[to]
	script := x.s.Script
	x.s.mu.Unlock()
	if script != nil {
		x.action = script(to, n)
	}
	switch x.action {
	case Temp:
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "mailbox busy, try later"}
	case Perm:
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user <b>here</b>"}
	case DropBefore:
		x.c.Conn().Close()
		return &smtp.SMTPError{Code: 421, Message: "closing"}
	case Stall:
		time.Sleep(x.s.StallFor)
	}
	return nil
}

func (x *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if x.action == DropAfter {
		x.c.Conn().Close()
		return io.ErrUnexpectedEOF
	}
	if x.s.Delay > 0 {
		time.Sleep(x.s.Delay)
	}
	x.s.mu.Lock()
	defer x.s.mu.Unlock()
	if x.s.fail > 0 {
		x.s.fail--
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	m, err := mail.ReadMessage(bytes.NewReader(b))
	if err != nil {
		return err
	}
	e, err := decode(m, "")
	if err != nil {
		return err
	}
	e.To = x.to
	x.s.byTo[x.to] = append(x.s.byTo[x.to], len(x.s.msgs))
	x.s.msgs = append(x.s.msgs, e)
	x.s.raw[x.to] = append(x.s.raw[x.to], b)
	x.s.envFrom[x.to] = append(x.s.envFrom[x.to], x.from)
	return nil
}
