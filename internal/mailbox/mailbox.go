// Package mailbox fetches the messages of an ordinary mailbox over IMAP or
// POP3, for setups where bounces and complaints land in a mailbox rather
// than at the service's own SMTP listener. Each message is handed to the
// caller, and only when the caller says it has kept it is it deleted (or,
// over IMAP, moved to another folder) on the server: a message is never
// lost, and one kept but not yet deleted when the process dies comes again
// on the next poll, so the caller must recognise a message it already has.
//
// The clients are small and speak only what polling needs: IMAP4rev1
// (RFC 3501: LOGIN, SELECT, UID SEARCH, UID FETCH, UID STORE, UID COPY or
// UID MOVE, EXPUNGE) and POP3 (RFC 1939: USER/PASS, STAT, RETR, DELE, QUIT),
// each over implicit TLS, STARTTLS/STLS, or plain text when asked for.
package mailbox

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// Protocol is the mail access protocol of a mailbox.
type Protocol string

// The protocols.
const (
	IMAP Protocol = "imap"
	POP3 Protocol = "pop3"
)

// Security says how the connection is protected.
type Security string

// The kinds of Security.
const (
	ImplicitTLS Security = "tls"      // imaps://, pop3s://: TLS from the first byte
	StartTLS    Security = "starttls" // imap://, pop3://: plain text upgraded with STARTTLS/STLS, required
	Plain       Security = "plain"    // imap://...?tls=plain: no TLS at all (a server on the same host, tests)
)

// Config says where a mailbox is and what to do with a message once kept.
type Config struct {
	Protocol Protocol
	Security Security
	Host     string // host:port
	User     string
	Password string
	// Folder is the IMAP folder read; default INBOX (POP3 has only one).
	Folder string
	// MoveTo, over IMAP, is the folder a kept message is moved to (created
	// when missing); "" deletes it.
	MoveTo string
	// Batch is the most messages one poll fetches; default 200.
	Batch int
	// Timeout bounds each read and write; default 60 s.
	Timeout time.Duration
	// TLS, when set, is used instead of the system's roots (tests).
	TLS *tls.Config
}

// ParseURL reads a mailbox URL:
//
//	imaps://USER:PASSWORD@HOST[:993]/[FOLDER][?move=FOLDER]
//	imap://USER:PASSWORD@HOST[:143]/[FOLDER][?move=FOLDER][&tls=plain]
//	pop3s://USER:PASSWORD@HOST[:995]
//	pop3://USER:PASSWORD@HOST[:110][?tls=plain]
//
// The user and password are URL-encoded (an @ in a user name is %40).
// imap:// and pop3:// require STARTTLS unless tls=plain is given.
func ParseURL(raw string) (Config, error) {
	var c Config
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return c, errors.New("not a URL such as imaps://user:password@mail.example.com/INBOX")
	}
	port := ""
	switch strings.ToLower(u.Scheme) {
	case "imaps":
		c.Protocol, c.Security, port = IMAP, ImplicitTLS, "993"
	case "imap":
		c.Protocol, c.Security, port = IMAP, StartTLS, "143"
	case "pop3s":
		c.Protocol, c.Security, port = POP3, ImplicitTLS, "995"
	case "pop3":
		c.Protocol, c.Security, port = POP3, StartTLS, "110"
	default:
		return c, fmt.Errorf("scheme %q: want imaps, imap, pop3s or pop3", u.Scheme)
	}
	if u.Hostname() == "" {
		return c, errors.New("no host name")
	}
	if u.Port() != "" {
		port = u.Port()
	}
	c.Host = net.JoinHostPort(u.Hostname(), port)
	if u.User == nil || u.User.Username() == "" {
		return c, errors.New("no user name: write it before the host, as in imaps://user:password@host")
	}
	c.User = u.User.Username()
	c.Password, _ = u.User.Password()
	if c.Password == "" {
		return c, errors.New("no password: write it after the user name, as in imaps://user:password@host")
	}
	if !printable(c.User) || !printable(c.Password) {
		return c, errors.New("the user name and the password must be printable ASCII")
	}
	q := u.Query()
	for k := range q {
		if k != "move" && k != "tls" {
			return c, fmt.Errorf("unknown parameter %q: want move or tls", k)
		}
	}
	switch t := q.Get("tls"); t {
	case "":
	case "plain":
		if c.Security == ImplicitTLS {
			return c, fmt.Errorf("tls=plain with %s://: use %s:// for a plain-text connection", u.Scheme, c.Protocol)
		}
		c.Security = Plain
	case "starttls":
		if c.Security == ImplicitTLS {
			return c, fmt.Errorf("tls=starttls with %s://: use %s://", u.Scheme, c.Protocol)
		}
	default:
		return c, fmt.Errorf("tls=%q: want plain or starttls", t)
	}
	folder := strings.Trim(u.Path, "/")
	c.MoveTo = q.Get("move")
	if c.Protocol == POP3 {
		if folder != "" || c.MoveTo != "" {
			return c, errors.New("POP3 has no folders: a kept message is deleted (use IMAP to move it)")
		}
		return c, nil
	}
	c.Folder = folder
	if c.Folder == "" {
		c.Folder = "INBOX"
	}
	if !printable(c.Folder) || !printable(c.MoveTo) {
		return c, errors.New("folder names must be printable ASCII")
	}
	if strings.EqualFold(c.MoveTo, c.Folder) {
		return c, errors.New("move= names the folder that is read")
	}
	return c, nil
}

// String is the mailbox's URL without its password, for logs.
func (c Config) String() string {
	scheme := string(c.Protocol)
	if c.Security == ImplicitTLS {
		scheme += "s"
	}
	u := url.URL{Scheme: scheme, User: url.User(c.User), Host: c.Host}
	if c.Protocol == IMAP {
		u.Path = "/" + c.Folder
	}
	q := url.Values{}
	if c.MoveTo != "" {
		q.Set("move", c.MoveTo)
	}
	if c.Security == Plain {
		q.Set("tls", "plain")
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func printable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r > 0x7e {
			return false
		}
	}
	return true
}

// Keep is called with each fetched message; the message is deleted or
// moved on the server only when it returns nil. It must treat a message it
// already kept as kept (return nil).
type Keep func(ctx context.Context, raw []byte) error

// Poll fetches up to c.Batch messages of the mailbox, hands each to keep,
// and deletes (or moves) those kept. It returns how many were kept; an
// error of keep stops the poll (the messages not kept stay on the server).
func Poll(ctx context.Context, c Config, keep Keep) (int, error) {
	if c.Batch <= 0 {
		c.Batch = 200
	}
	if c.Timeout <= 0 {
		c.Timeout = time.Minute
	}
	if c.Folder == "" {
		c.Folder = "INBOX"
	}
	conn, err := dial(ctx, c)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	// The connection is closed when ctx ends, which unblocks a read.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	var n int
	switch c.Protocol {
	case POP3:
		n, err = pollPOP3(ctx, conn, c, keep)
	default:
		n, err = pollIMAP(ctx, conn, c, keep)
	}
	if err != nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err != nil {
		return n, fmt.Errorf("mailbox %s: %w", c, err)
	}
	return n, nil
}

func dial(ctx context.Context, c Config) (net.Conn, error) {
	d := net.Dialer{Timeout: 30 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", c.Host)
	if err != nil {
		return nil, fmt.Errorf("mailbox %s: %w", c, err)
	}
	if c.Security == ImplicitTLS {
		tc := tls.Client(conn, tlsConfig(c))
		tc.SetDeadline(time.Now().Add(c.Timeout))
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("mailbox %s: TLS: %w", c, err)
		}
		return tc, nil
	}
	return conn, nil
}

func tlsConfig(c Config) *tls.Config {
	host, _, _ := net.SplitHostPort(c.Host)
	if c.TLS != nil {
		t := c.TLS.Clone()
		if t.ServerName == "" {
			t.ServerName = host
		}
		return t
	}
	return &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
}
