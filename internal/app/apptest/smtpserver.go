package apptest

import (
	"bytes"
	"io"
	"net"
	"net/mail"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"
)

// SMTPServer is a real SMTP server on loopback for tests. It keeps every
// message it accepts; FailNext makes it answer 451 to the next n messages.
type SMTPServer struct {
	Addr string
	mu   sync.Mutex
	msgs []Email
	fail int
	srv  *smtp.Server
}

// NewSMTPServer starts a server that stops when the test ends.
func NewSMTPServer(t testing.TB) *SMTPServer {
	t.Helper()
	s := &SMTPServer{}
	s.srv = smtp.NewServer(smtpBackend{s})
	s.srv.Domain = "localhost"
	s.srv.AllowInsecureAuth = true
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
	for _, m := range s.msgs {
		if m.To == to {
			out = append(out, m)
		}
	}
	return out
}

type smtpBackend struct{ s *SMTPServer }

func (b smtpBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return &smtpSession{s: b.s}, nil }

type smtpSession struct {
	s  *SMTPServer
	to string
}

func (x *smtpSession) Reset()        { x.to = "" }
func (x *smtpSession) Logout() error { return nil }
func (x *smtpSession) Mail(string, *smtp.MailOptions) error {
	return nil
}
func (x *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.to = to
	return nil
}

func (x *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
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
	x.s.msgs = append(x.s.msgs, e)
	return nil
}
