package mailer

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"simplesender"
)

// Default timeouts of an SMTP transport.
const (
	DefaultDialTimeout    = 30 * time.Second
	DefaultCommandTimeout = time.Minute
	// DefaultDataTimeout is how long to wait for the reply to the final "."
	// (RFC 5321 4.5.3.2.6 suggests 10 minutes); a longer wait means fewer
	// messages of unknown outcome.
	DefaultDataTimeout = 10 * time.Minute
	// DefaultIdleTimeout is how long a connection kept for reuse may stay
	// idle: well under what servers allow (Postfix 300 s, many relays 30 to
	// 60 s), so that we close it before they do.
	DefaultIdleTimeout = 15 * time.Second
)

// SMTPURL is a parsed SMTP server URL: smtp://user:pass@host:port (STARTTLS,
// port 25 by default) or smtps://user:pass@host:port (implicit TLS, port 465
// by default). User and password are optional and percent-encoded in the
// URL.
//
// smtp:// requires STARTTLS: a server that does not offer it is refused,
// except on a loopback host (localhost, 127.0.0.1, ::1), where mail goes
// in clear text when STARTTLS is not offered. The option ?tls=starttls
// requires STARTTLS even there; ?tls=none never starts TLS, and is refused
// with a password unless the host is loopback.
type SMTPURL struct {
	Host        string // host name or IP address, without brackets
	Port        string
	ImplicitTLS bool   // smtps://
	TLS         string // the ?tls= option of smtp://: "", "starttls" or "none"
	Username    string
	Password    string
}

// TLSMode tells how the connection is encrypted: simplesender.SMTPTLS
// (smtps://), SMTPStartTLS (required), SMTPStartTLSOptional (smtp:// to a
// loopback host without ?tls=) or SMTPNoTLS (?tls=none).
func (u SMTPURL) TLSMode() string {
	switch {
	case u.ImplicitTLS:
		return simplesender.SMTPTLS
	case u.TLS == "none":
		return simplesender.SMTPNoTLS
	case u.TLS == "" && isLoopback(u.Host):
		return simplesender.SMTPStartTLSOptional
	}
	return simplesender.SMTPStartTLS
}

// ParseSMTPURL parses and validates an SMTP server URL. Its errors describe
// the problem without repeating the URL (which may hold a password), so that
// a configuration loader can show them after the variable's name, as in
// "SIMPLESENDER_SMTP_URL: scheme must be smtp or smtps, not "http"".
func ParseSMTPURL(rawURL string) (SMTPURL, error) {
	rawURL = strings.TrimSpace(rawURL)
	if rawURL == "" {
		return SMTPURL{}, errors.New("is empty; expected smtp://user:pass@host:port or smtps://user:pass@host:port")
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the whole URL, password included
		}
		return SMTPURL{}, fmt.Errorf("not a valid URL: %v", err)
	}
	var out SMTPURL
	switch strings.ToLower(u.Scheme) {
	case "smtp":
		out.Port = "25"
	case "smtps":
		out.Port, out.ImplicitTLS = "465", true
	case "":
		return SMTPURL{}, errors.New("scheme missing; expected smtp://host:port or smtps://host:port")
	default:
		return SMTPURL{}, fmt.Errorf("scheme must be smtp or smtps, not %q", u.Scheme)
	}
	if u.Opaque != "" {
		return SMTPURL{}, errors.New("expected smtp://host:port, with two slashes")
	}
	out.Host = u.Hostname()
	if out.Host == "" {
		return SMTPURL{}, errors.New("host missing; expected smtp://host:port")
	}
	if !isDomain(out.Host, false) && net.ParseIP(out.Host) == nil {
		return SMTPURL{}, fmt.Errorf("invalid host %q", out.Host)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return SMTPURL{}, fmt.Errorf("invalid port %q", p)
		}
		out.Port = p
	}
	if (u.Path != "" && u.Path != "/") || u.Fragment != "" {
		return SMTPURL{}, errors.New("unexpected path, query or fragment after host:port")
	}
	if out.TLS, err = parseTLSOption(u.RawQuery, out.ImplicitTLS); err != nil {
		return SMTPURL{}, err
	}
	if u.User != nil {
		out.Username = u.User.Username()
		out.Password, _ = u.User.Password()
		if out.Username == "" {
			return SMTPURL{}, errors.New("password given without a user name")
		}
		if out.Password == "" {
			return SMTPURL{}, fmt.Errorf("user %q has no password; expected smtp://user:pass@host:port", out.Username)
		}
		if out.TLS == "none" && !isLoopback(out.Host) {
			return SMTPURL{}, errors.New("tls=none would send the password unencrypted over the network; " +
				"drop ?tls=none (STARTTLS) or use smtps://")
		}
	}
	return out, nil
}

// parseTLSOption parses the query of an SMTP URL, where only tls=none or
// tls=starttls may be, and only with smtp://.
func parseTLSOption(query string, implicitTLS bool) (string, error) {
	if query == "" {
		return "", nil
	}
	q, err := url.ParseQuery(query)
	if err != nil || len(q) != 1 || len(q["tls"]) == 0 {
		return "", errors.New("unexpected path, query or fragment after host:port; the only option here is ?tls=none or ?tls=starttls")
	}
	if v := q["tls"]; len(v) > 1 || v[0] != "none" && v[0] != "starttls" {
		return "", errors.New("tls: want none (no encryption) or starttls (required), such as ?tls=none")
	}
	if implicitTLS {
		return "", errors.New("tls= is an option of smtp://; smtps:// is always TLS")
	}
	return q["tls"][0], nil
}

// Addr returns host:port for dialling.
func (u SMTPURL) Addr() string { return net.JoinHostPort(u.Host, u.Port) }

// String returns the URL with the password replaced by "xxxxx", fit for logs.
func (u SMTPURL) String() string {
	v := url.URL{Scheme: "smtp", Host: u.Addr()}
	if u.ImplicitTLS {
		v.Scheme = "smtps"
	}
	if u.Username != "" {
		v.User = url.UserPassword(u.Username, "xxxxx")
	}
	if u.TLS != "" {
		v.RawQuery = "tls=" + u.TLS
	}
	return v.String()
}

// SMTPOptions tunes an SMTP transport. The zero value is the production
// setting: TLS certificates verified against the system roots, the host name
// as HELO name, and the default timeouts.
type SMTPOptions struct {
	// HeloName is the name sent with EHLO; it defaults to os.Hostname, or
	// "localhost" when that is not a valid host name.
	HeloName string
	// InsecureSkipVerify accepts any TLS certificate. For tests only.
	InsecureSkipVerify bool
	// RootCAs, when set, replaces the system roots to verify the server.
	RootCAs *x509.CertPool
	// DialTimeout bounds the TCP connection; CommandTimeout bounds each
	// command with its reply (and the transfer of the data); DataTimeout
	// bounds the wait for the reply to the final ".". Zero means default.
	DialTimeout    time.Duration
	CommandTimeout time.Duration
	DataTimeout    time.Duration
	// IdleTimeout is how long a connection kept for reuse may stay idle
	// (see SMTP.IdleTimeout); zero means DefaultIdleTimeout.
	IdleTimeout time.Duration
}

// SMTP is a Transport that sends through one SMTP server. It is safe for
// concurrent use; Send opens one connection per message, Dial gives a
// connection to reuse for many.
type SMTP struct {
	url         SMTPURL
	helo        string
	tls         *tls.Config
	dialTimeout time.Duration
	cmdTimeout  time.Duration
	dataTimeout time.Duration
	idleTimeout time.Duration
	// dial opens the TCP connection; tests replace it.
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

var _ Transport = (*SMTP)(nil)

// NewSMTP returns a transport for the server at rawURL (see ParseSMTPURL),
// tuned by at most one SMTPOptions. It does not connect; errors are those of
// ParseSMTPURL or an invalid option.
func NewSMTP(rawURL string, opts ...SMTPOptions) (*SMTP, error) {
	u, err := ParseSMTPURL(rawURL)
	if err != nil {
		return nil, err
	}
	var o SMTPOptions
	switch len(opts) {
	case 0:
	case 1:
		o = opts[0]
	default:
		return nil, errors.New("mailer: NewSMTP takes at most one SMTPOptions")
	}
	helo := o.HeloName
	if helo == "" {
		if helo, _ = os.Hostname(); !isDomain(helo, false) {
			helo = "localhost"
		}
	} else if !isDomain(helo, false) {
		return nil, fmt.Errorf("HELO name %q is not a valid host name", helo)
	}
	s := &SMTP{
		url:  u,
		helo: helo,
		tls: &tls.Config{
			ServerName:         u.Host,
			RootCAs:            o.RootCAs,
			InsecureSkipVerify: o.InsecureSkipVerify,
			MinVersion:         tls.VersionTLS12,
		},
		dialTimeout: orDefault(o.DialTimeout, DefaultDialTimeout),
		cmdTimeout:  orDefault(o.CommandTimeout, DefaultCommandTimeout),
		dataTimeout: orDefault(o.DataTimeout, DefaultDataTimeout),
		idleTimeout: orDefault(o.IdleTimeout, DefaultIdleTimeout),
		dial:        new(net.Dialer).DialContext,
	}
	return s, nil
}

// orDefault returns d, or def when d is not positive.
func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// URL returns the server's parsed URL; use its String method for logs.
func (s *SMTP) URL() SMTPURL { return s.url }

// IdleTimeout is how long a connection kept for reuse may stay idle before
// its keeper closes it; SMTP itself keeps none.
func (s *SMTP) IdleTimeout() time.Duration { return s.idleTimeout }

// Send builds m and sends it over a new connection, from m.From.Email to
// m.To.Email. The Result holds the Message-ID and the server's final reply.
// Errors are those of Build (before any connection is made), and *SMTPError.
func (s *SMTP) Send(ctx context.Context, m *Message) (Result, error) {
	var buf bytes.Buffer
	id, err := Build(&buf, m, time.Now())
	if err != nil {
		return Result{}, err
	}
	c, err := s.Dial(ctx)
	if err != nil {
		return Result{MessageID: id}, err
	}
	defer c.Close() // the message is settled by now; QUIT is a courtesy
	reply, err := c.Send(ctx, m.From.Email, []string{m.To.Email}, buf.Bytes())
	return Result{MessageID: id, Reply: reply}, err
}
