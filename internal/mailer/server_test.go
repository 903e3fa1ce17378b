package mailer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// envelope is what the test server received for one message.
type envelope struct {
	From string
	To   []string
	Data string
	TLS  bool   // the message came over TLS
	User string // the authenticated user, "" when none
}

// testServer is an in-process SMTP server (go-smtp) on 127.0.0.1 that
// records what it receives and can be scripted to fail.
type testServer struct {
	Addr string
	srv  *smtp.Server

	// user and pass are the accepted credentials; with mechs they are
	// offered as AUTH mechanisms ("PLAIN", "LOGIN").
	user, pass string
	mechs      []string

	// rcpt and data, when set, decide the reply to RCPT and to the data;
	// they may block or close c.Conn() to act out a broken server.
	rcpt func(c *smtp.Conn, to string) error
	data func(c *smtp.Conn, e envelope) error

	mu           sync.Mutex
	received     []envelope
	sessions     int
	authAttempts int
}

type serverOptions struct {
	tls         *tls.Config   // offer STARTTLS with this configuration
	implicitTLS bool          // listen with TLS from the first byte (smtps)
	plainAuth   bool          // allow AUTH without TLS
	idleTimeout time.Duration // close a connection idle this long, with 421 4.4.2
}

func startServer(t *testing.T, ts *testServer, o serverOptions) *testServer {
	t.Helper()
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		ts.mu.Lock()
		ts.sessions++
		ts.mu.Unlock()
		return &testSession{ts: ts, c: c}, nil
	}))
	s.Domain = "localhost"
	s.ErrorLog = log.New(io.Discard, "", 0)
	s.AllowInsecureAuth = o.plainAuth
	s.TLSConfig = o.tls
	s.ReadTimeout = o.idleTimeout
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if o.implicitTLS {
		l = tls.NewListener(l, o.tls)
	}
	ts.Addr = l.Addr().String()
	ts.srv = s
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	return ts
}

// Received returns the messages received so far.
func (ts *testServer) Received() []envelope {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]envelope(nil), ts.received...)
}

func (ts *testServer) counts() (sessions, authAttempts int) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.sessions, ts.authAttempts
}

type testSession struct {
	ts   *testServer
	c    *smtp.Conn
	user string
	env  envelope
}

func (s *testSession) AuthMechanisms() []string { return s.ts.mechs }

func (s *testSession) Auth(mech string) (sasl.Server, error) {
	check := func(user, pass string) error {
		s.ts.mu.Lock()
		s.ts.authAttempts++
		s.ts.mu.Unlock()
		if user != s.ts.user || pass != s.ts.pass {
			return smtp.ErrAuthFailed
		}
		s.user = user
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, user, pass string) error { return check(user, pass) }), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

// loginServer is the server side of AUTH LOGIN, which go-sasl lacks.
type loginServer struct {
	check      func(user, pass string) error
	step       int
	user, pass string
}

func (l *loginServer) Next(response []byte) ([]byte, bool, error) {
	l.step++
	switch l.step {
	case 1:
		return []byte("Username:"), false, nil
	case 2:
		l.user = string(response)
		return []byte("Password:"), false, nil
	default:
		return nil, true, l.check(l.user, string(response))
	}
}

func (s *testSession) Mail(from string, _ *smtp.MailOptions) error {
	if len(s.ts.mechs) > 0 && s.user == "" {
		return smtp.ErrAuthRequired
	}
	s.env = envelope{From: from, User: s.user}
	_, s.env.TLS = s.c.TLSConnectionState()
	return nil
}

func (s *testSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.ts.rcpt != nil {
		if err := s.ts.rcpt(s.c, to); err != nil {
			return err
		}
	}
	s.env.To = append(s.env.To, to)
	return nil
}

func (s *testSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.env.Data = string(b)
	s.ts.mu.Lock()
	s.ts.received = append(s.ts.received, s.env)
	s.ts.mu.Unlock()
	if s.ts.data != nil {
		return s.ts.data(s.c, s.env)
	}
	return nil
}

func (s *testSession) Reset()        { s.env = envelope{User: s.user} }
func (s *testSession) Logout() error { return nil }

// testCert returns a self-signed certificate for 127.0.0.1, localhost and
// mail.example.com, and a pool that trusts it.
func testCert(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "simplesender test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost", "mail.example.com"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}

// errStalled is never returned: a stalled hook blocks until the test ends.
var errStalled = errors.New("stalled")

// stall blocks until the test ends, like a server that stops answering.
func stall(t *testing.T) func() error {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	return func() error {
		<-release
		return errStalled
	}
}
