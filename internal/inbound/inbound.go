// Package inbound is the SMTP listener that receives what comes back to the
// service: bounces sent to a message's VERP envelope sender, and mail to the
// configured unsubscribe and abuse addresses. It is not a mail server for
// anything else: it accepts only the recipients Accept knows, with size,
// recipient and rate limits, and answers 250 to a message only after Deliver
// has made it durable, so a report that arrives while the service dies is
// sent again by its sender rather than lost.
package inbound

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"simplesender/internal/ratelimit"
)

// Purpose says why an address exists.
type Purpose string

// The purposes of inbound addresses.
const (
	Bounce      Purpose = "bounce"      // a VERP address: the report of one delivery
	Unsubscribe Purpose = "unsubscribe" // the List-Unsubscribe mailto address
	Abuse       Purpose = "abuse"       // the abuse desk: feedback-loop complaints
)

// Recipient is an accepted recipient of an inbound message.
type Recipient struct {
	Address string
	Purpose Purpose
}

// Envelope is one accepted message.
type Envelope struct {
	From     string // the envelope sender; "" for the null sender of bounces
	To       []Recipient
	Data     []byte
	RemoteIP string
	At       time.Time
}

// Config configures a Server. Accept and Deliver are required.
type Config struct {
	Addr     string // listen address, e.g. ":2525"
	Hostname string // announced in the greeting; default "localhost"

	// Accept says whether an address exists here and why; it must refuse
	// a forged VERP address.
	Accept func(ctx context.Context, rcpt string) (Recipient, bool)
	// Deliver makes an accepted message durable; the sender gets 250 only
	// after it returns nil, a temporary failure (it will retry) otherwise.
	Deliver func(ctx context.Context, env Envelope) error

	MaxBytes      int64         // largest message; default 10 MiB
	MaxRecipients int           // per message; default 10
	Timeout       time.Duration // read and write; default 60 s
	// Limiter and Rate bound messages per client IP; nil Limiter: none.
	Limiter ratelimit.Limiter
	Rate    ratelimit.Rule
	Log     *slog.Logger
	Now     func() time.Time
}

// Server is a running inbound listener.
type Server struct {
	cfg Config
	srv *smtp.Server
	ln  net.Listener
}

// Defaults of Config.
const (
	DefaultMaxBytes      = 10 << 20
	DefaultMaxRecipients = 10
)

// Start listens on cfg.Addr and serves until Close.
func Start(cfg Config) (*Server, error) {
	if cfg.Accept == nil || cfg.Deliver == nil {
		return nil, errors.New("inbound: Accept and Deliver are required")
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.MaxRecipients <= 0 {
		cfg.MaxRecipients = DefaultMaxRecipients
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = time.Minute
	}
	if cfg.Hostname == "" {
		cfg.Hostname = "localhost"
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("inbound: listen on %s: %w", cfg.Addr, err)
	}
	s := &Server{cfg: cfg, ln: ln}
	s.srv = smtp.NewServer(smtp.BackendFunc(s.session))
	s.srv.Domain = cfg.Hostname
	s.srv.MaxMessageBytes = cfg.MaxBytes
	s.srv.MaxRecipients = cfg.MaxRecipients
	s.srv.ReadTimeout, s.srv.WriteTimeout = cfg.Timeout, cfg.Timeout
	s.srv.ErrorLog = slogAdapter{cfg.Log}
	go s.srv.Serve(ln)
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server; messages being received are abandoned (their
// senders get no 250 and send again).
func (s *Server) Close() error { return s.srv.Close() }

func (s *Server) session(c *smtp.Conn) (smtp.Session, error) {
	ip := ""
	if a, ok := c.Conn().RemoteAddr().(*net.TCPAddr); ok {
		ip = a.IP.String()
	}
	return &session{s: s, ip: ip}, nil
}

type session struct {
	s    *Server
	ip   string
	from string
	to   []Recipient
}

func (x *session) Reset()        { x.from, x.to = "", nil }
func (x *session) Logout() error { return nil }

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	cfg := x.s.cfg
	if cfg.Limiter != nil {
		d, err := cfg.Limiter.Allow(context.Background(), cfg.Rate, x.ip)
		if err == nil && !d.Allowed {
			return &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 7, 0},
				Message: "Too many messages from your address; try again later"}
		}
	}
	x.from, x.to = from, nil
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, ok := x.s.cfg.Accept(ctx, strings.TrimSpace(to))
	if !ok {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such recipient here"}
	}
	x.to = append(x.to, r)
	return nil
}

func (x *session) Data(r io.Reader) error {
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, r); err != nil {
		return err // go-smtp answers a too-large message with 552 itself
	}
	env := Envelope{From: x.from, To: x.to, Data: buf.Bytes(), RemoteIP: x.ip, At: x.s.cfg.Now()}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := x.s.cfg.Deliver(ctx, env); err != nil {
		x.s.cfg.Log.Warn("inbound message not stored; the sender will retry", "remote", x.ip, "err", err)
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0},
			Message: "Cannot store the message now; try again later"}
	}
	return nil
}

// slogAdapter sends go-smtp's error log to slog.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Printf(format string, v ...any) {
	a.l.Debug("inbound smtp", "msg", fmt.Sprintf(format, v...))
}
func (a slogAdapter) Println(v ...any) { a.l.Debug("inbound smtp", "msg", fmt.Sprint(v...)) }
