package mailer

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"simplesender"
)

// errBroken is the cause of an error from a connection already known broken.
var errBroken = errors.New("connection is broken; dial a new one")

// longAgo is a deadline in the past: setting it interrupts pending I/O.
var longAgo = time.Unix(1, 0)

// Conn is one open SMTP session, greeted, upgraded to TLS when possible and
// authenticated, ready to send any number of messages. A Conn is not safe
// for concurrent use, except Broken, which may be called at any time.
type Conn struct {
	s      *SMTP
	raw    net.Conn // the TCP connection; deadlines are set here
	conn   net.Conn // raw, or the TLS connection over it
	br     *bufio.Reader
	w      *bufio.Writer
	ext    map[string]string // EHLO keywords, upper-case, to their parameters
	isTLS  bool
	broken atomic.Bool
	closed bool
}

// Dial connects to the server, reads its greeting, says EHLO (HELO when the
// server does not know EHLO), starts TLS when the URL is smtp:// (see
// SMTPURL for when a server without STARTTLS is refused; a failed STARTTLS
// is an error, never a fall back to plain text), and authenticates when the
// URL has a user. A password is
// only ever sent over TLS or to a loopback address; otherwise Dial fails at
// StageAuth. Errors are *SMTPError; ctx bounds the whole
// exchange, and each step is bounded by the command timeout.
func (s *SMTP) Dial(ctx context.Context) (*Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, s.dialTimeout)
	raw, err := s.dial(dctx, "tcp", s.url.Addr())
	cancel()
	if err != nil {
		return nil, netError(ctx, StageConnect, err, false)
	}
	c := &Conn{s: s, raw: raw, conn: raw}
	stop := context.AfterFunc(ctx, c.interrupt)
	err = c.open(ctx)
	if !stop() && err == nil {
		// ctx ended as the session opened: interrupt may still be setting
		// its deadline, so this connection cannot be trusted.
		err = netError(ctx, StageConnect, ctx.Err(), false)
	}
	if err != nil {
		raw.Close()
		return nil, err
	}
	return c, nil
}

// open runs the session up to the point where MAIL may be sent.
func (c *Conn) open(ctx context.Context) error {
	if c.s.url.ImplicitTLS {
		if err := c.handshake(ctx, StageConnect); err != nil {
			return err
		}
	}
	c.setIO()
	if err := c.deadline(ctx, c.s.cmdTimeout); err != nil {
		return c.fail(ctx, StageConnect, err, false)
	}
	if _, _, err := c.read(ctx, StageConnect, 2, false); err != nil {
		return err
	}
	if err := c.hello(ctx); err != nil {
		return err
	}
	if err := c.ensureTLS(ctx); err != nil {
		return err
	}
	if c.s.url.Username != "" {
		return c.auth(ctx)
	}
	return nil
}

func (c *Conn) setIO() {
	c.br = bufio.NewReader(c.conn)
	c.w = bufio.NewWriterSize(c.conn, 16<<10)
}

// handshake runs a TLS client handshake over the TCP connection.
func (c *Conn) handshake(ctx context.Context, stage string) error {
	if err := c.deadline(ctx, c.s.cmdTimeout); err != nil {
		return c.fail(ctx, stage, err, false)
	}
	tc := tls.Client(c.raw, c.s.tls)
	if err := tc.HandshakeContext(ctx); err != nil {
		return c.fail(ctx, stage, err, false)
	}
	c.conn, c.isTLS = tc, true
	return nil
}

func (c *Conn) hello(ctx context.Context) error {
	_, msg, err := c.cmd(ctx, StageHelo, 2, "EHLO ", c.s.helo)
	var se *SMTPError
	if err != nil && !c.broken.Load() && errors.As(err, &se) && se.Code/100 == 5 {
		// An old server that does not know EHLO: no extensions.
		c.ext = nil
		_, _, err = c.cmd(ctx, StageHelo, 2, "HELO ", c.s.helo)
		return err
	}
	if err != nil {
		return err
	}
	c.ext = make(map[string]string)
	_, lines, _ := strings.Cut(msg, "\n") // the first line greets
	for line := range strings.SplitSeq(lines, "\n") {
		keyword, params, _ := strings.Cut(line, " ")
		c.ext[strings.ToUpper(keyword)] = params
	}
	return nil
}

// ensureTLS starts TLS on an smtp:// connection as its URL asks: when the
// server offers STARTTLS, unless ?tls=none; a server that does not offer it
// is refused, except on a loopback host without ?tls=starttls.
func (c *Conn) ensureTLS(ctx context.Context) error {
	mode := c.s.url.TLSMode()
	if c.isTLS || mode == simplesender.SMTPNoTLS {
		return nil
	}
	if _, ok := c.ext["STARTTLS"]; ok {
		return c.startTLS(ctx)
	}
	if mode == simplesender.SMTPStartTLSOptional {
		return nil
	}
	c.broken.Store(true)
	return &SMTPError{Stage: StageStartTLS, Temporary: true, Err: fmt.Errorf(
		"%s does not offer STARTTLS: refusing to send mail unencrypted (use smtps:// if the server has TLS on another port, "+
			"or add ?tls=none to the URL to send in clear text)", c.s.url.Host)}
}

func (c *Conn) startTLS(ctx context.Context) error {
	if _, _, err := c.cmd(ctx, StageStartTLS, 2, "STARTTLS"); err != nil {
		return err
	}
	if c.br.Buffered() > 0 {
		// RFC 3207 section 6: plain text sent after the reply would be
		// read as if it came over TLS (a command injection attack).
		c.broken.Store(true)
		return &SMTPError{Stage: StageStartTLS, Temporary: true, Err: errors.New("server sent data before the TLS handshake")}
	}
	if err := c.handshake(ctx, StageStartTLS); err != nil {
		return err
	}
	c.setIO()
	return c.hello(ctx)
}

// auth logs in with AUTH PLAIN, or AUTH LOGIN when the server offers only
// that, refusing to send the password in clear text except to loopback.
func (c *Conn) auth(ctx context.Context) error {
	u := c.s.url
	if !c.isTLS && !isLoopback(u.Host) {
		return &SMTPError{Stage: StageAuth, Temporary: true, Err: fmt.Errorf(
			"refusing to send the password to %s unencrypted: the server does not offer STARTTLS (use smtps:// or enable STARTTLS on the server)", u.Host)}
	}
	mechs, ok := c.ext["AUTH"]
	if !ok {
		return &SMTPError{Stage: StageAuth, Temporary: true, Err: errors.New(
			"the server does not offer AUTH; remove user and password from the URL, or check the server's settings")}
	}
	b64 := base64.StdEncoding.EncodeToString
	var (
		code int
		msg  string
		err  error
	)
	switch offered := strings.Fields(strings.ToUpper(mechs)); {
	case contains(offered, "PLAIN"):
		resp := b64([]byte("\x00" + u.Username + "\x00" + u.Password))
		code, msg, err = c.cmd(ctx, StageAuth, 0, "AUTH PLAIN ", resp)
		if err == nil && code == 334 {
			// A server that wants the credentials after an empty challenge.
			code, msg, err = c.cmd(ctx, StageAuth, 0, resp)
		}
	case contains(offered, "LOGIN"):
		if _, _, err = c.cmd(ctx, StageAuth, 3, "AUTH LOGIN"); err != nil {
			return err
		}
		if _, _, err = c.cmd(ctx, StageAuth, 3, b64([]byte(u.Username))); err != nil {
			return err
		}
		code, msg, err = c.cmd(ctx, StageAuth, 0, b64([]byte(u.Password)))
	default:
		return &SMTPError{Stage: StageAuth, Temporary: true, Err: fmt.Errorf(
			"the server offers no AUTH mechanism that simplesender knows (PLAIN, LOGIN): %q", sanitizeReply(mechs))}
	}
	if err != nil {
		return err
	}
	if code/100 != 2 {
		return replyError(StageAuth, newReply(code, msg), false)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// isLoopback reports whether host names this machine, where a password in
// clear text does not cross a network.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Send sends one message: MAIL FROM:<from> (with BODY=8BITMIME when the
// server offers it), RCPT TO for each address in to, then data, which is a
// complete message such as Build makes; line endings are made CRLF and lines
// starting with "." are escaped. To a server that does not offer 8BITMIME,
// the 8bit body parts of a message that Build made are sent re-encoded
// (quoted-printable or base64). It returns the server's reply to the final
// ".", normally 250 with a queue ID in its text.
//
// A rejected MAIL, RCPT or DATA command ends the transaction with RSET, so
// that the Conn can send the next message; after a failure of the connection,
// Broken reports true. The first rejected recipient fails the whole send.
// Errors are *SMTPError, classified as described there, or a
// *simplesender.Error of KindInvalid for an invalid from or to.
//
// Cancelling ctx interrupts the exchange at once. Once the final "." is
// written, cancelling makes the outcome unknown: a caller that wants
// in-flight messages to finish on shutdown passes a context that outlives
// the shutdown signal.
func (c *Conn) Send(ctx context.Context, from string, to []string, data []byte) (Reply, error) {
	if c.broken.Load() {
		return Reply{}, &SMTPError{Stage: StageMail, Temporary: true, Err: errBroken}
	}
	from, to, err := checkEnvelope(from, to)
	if err != nil {
		return Reply{}, err
	}
	stop := context.AfterFunc(ctx, c.interrupt)
	defer func() {
		if !stop() {
			// interrupt ran, or is running: its deadline could hit the
			// next exchange, so this connection is done.
			c.broken.Store(true)
		}
	}()

	params := ""
	if _, ok := c.ext["8BITMIME"]; ok {
		params = " BODY=8BITMIME"
	} else if has8bit(data) {
		data = downgrade(data)
	}
	if _, ok := c.ext["PIPELINING"]; ok && len(to) == 1 {
		if err := c.pipelinedEnvelope(ctx, from, to[0], params); err != nil {
			return Reply{}, err
		}
		return c.sendData(ctx, data)
	}
	if _, _, err := c.cmd(ctx, StageMail, 2, "MAIL FROM:<", from, ">", params); err != nil {
		return Reply{}, c.abort(ctx, err)
	}
	for _, rcpt := range to {
		if _, _, err := c.cmd(ctx, StageRcpt, 2, "RCPT TO:<", rcpt, ">"); err != nil {
			return Reply{}, c.abort(ctx, err)
		}
	}
	if _, _, err := c.cmd(ctx, StageData, 3, "DATA"); err != nil {
		return Reply{}, c.abort(ctx, err)
	}
	return c.sendData(ctx, data)
}

// pipelinedEnvelope sends MAIL, RCPT and DATA in one write (RFC 2920) and
// reads the three replies in order; the first refusal is the error. With a
// refused RCPT a conforming server refuses DATA too; one that answers 354
// anyway gets the connection closed, never an empty message.
func (c *Conn) pipelinedEnvelope(ctx context.Context, from, rcpt, params string) error {
	if err := c.deadline(ctx, c.s.cmdTimeout); err != nil {
		return c.fail(ctx, StageMail, err, false)
	}
	c.w.WriteString("MAIL FROM:<" + from + ">" + params + "\r\nRCPT TO:<" + rcpt + ">\r\nDATA\r\n")
	if err := c.w.Flush(); err != nil {
		return c.fail(ctx, StageMail, err, false)
	}
	var first error
	for _, step := range []struct {
		stage string
		want  int
	}{{StageMail, 2}, {StageRcpt, 2}, {StageData, 3}} {
		code, _, err := c.read(ctx, step.stage, step.want, false)
		if err != nil && c.broken.Load() {
			return err
		}
		if first == nil && err != nil {
			first = err
		}
		if first != nil && step.stage == StageData && code/100 == 3 {
			c.broken.Store(true)
			c.conn.Close()
			return first
		}
	}
	if first != nil {
		return c.abort(ctx, first)
	}
	return nil
}

// sendData writes the message after a 354 and reads the final reply.
func (c *Conn) sendData(ctx context.Context, data []byte) (Reply, error) {
	if err := c.deadline(ctx, c.s.cmdTimeout); err != nil {
		return Reply{}, c.fail(ctx, StageData, err, false)
	}
	if err := writeData(c.w, data); err != nil {
		// The final "." did not get out whole: the server cannot have
		// accepted the message.
		return Reply{}, c.fail(ctx, StageData, err, false)
	}
	// From here on the server may hold the message: any failure to read its
	// reply leaves the outcome unknown.
	if err := c.deadline(ctx, c.s.dataTimeout); err != nil {
		return Reply{}, c.fail(ctx, StageDataEnd, err, true)
	}
	code, msg, err := c.read(ctx, StageDataEnd, 2, true)
	if err != nil {
		return Reply{}, err
	}
	return newReply(code, msg), nil
}

// checkEnvelope validates the envelope addresses and returns them with
// their domains in ASCII (IDNA); from may be empty (the null sender of
// bounces). A local part that is not ASCII is refused ("error.email.utf8_local"):
// the client does not speak SMTPUTF8.
func checkEnvelope(from string, to []string) (string, []string, error) {
	if from != "" {
		a, err := normalizeAddress(from, false)
		if err != nil {
			return "", nil, fieldError("from", simplesender.AsError(err).Message, err)
		}
		from = asciiAddress(a)
	}
	if len(to) == 0 {
		return "", nil, fieldError("to", "error.email.invalid", errors.New("no recipient"))
	}
	var out []string
	for i, rcpt := range to {
		a, err := normalizeAddress(rcpt, false)
		if err != nil {
			return "", nil, fieldError("to", simplesender.AsError(err).Message, err)
		}
		if a = asciiAddress(a); a != rcpt && out == nil {
			out = append(make([]string, 0, len(to)), to[:i]...)
		}
		if out != nil {
			out = append(out, a)
		}
	}
	if out == nil {
		out = to // the usual case: nothing changed, nothing copied
	}
	return from, out, nil
}

// writeData writes data as the content of DATA, dot-stuffed with CRLF line
// endings, then the final ".", and flushes.
func writeData(w *bufio.Writer, data []byte) error {
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		if len(line) > 0 && line[0] == '.' {
			w.WriteByte('.')
		}
		w.Write(line)
		w.WriteString("\r\n")
	}
	w.WriteString(".\r\n")
	return w.Flush() // bufio errors stick: Flush reports any earlier one
}

// Reset sends RSET, ending any transaction. A failure marks the Conn
// broken. Errors are *SMTPError.
func (c *Conn) Reset() error {
	if c.broken.Load() {
		return &SMTPError{Stage: StageReset, Temporary: true, Err: errBroken}
	}
	if _, _, err := c.cmd(context.Background(), StageReset, 2, "RSET"); err != nil {
		c.broken.Store(true)
		return err
	}
	return nil
}

// noopTimeout bounds the check of an idle connection: a server answers NOOP
// at once, and a connection that a firewall has dropped would otherwise
// hold the message for the whole command timeout.
const noopTimeout = 10 * time.Second

// Noop sends NOOP, to check that a connection that was idle still works.
// A failure marks the Conn broken. Errors are *SMTPError at StageNoop.
func (c *Conn) Noop(ctx context.Context) error {
	if c.broken.Load() {
		return &SMTPError{Stage: StageNoop, Temporary: true, Err: errBroken}
	}
	ctx, cancel := context.WithTimeout(ctx, min(c.s.cmdTimeout, noopTimeout))
	defer cancel()
	stop := context.AfterFunc(ctx, c.interrupt)
	defer func() {
		if !stop() {
			c.broken.Store(true) // as in Send
		}
	}()
	if _, _, err := c.cmd(ctx, StageNoop, 2, "NOOP"); err != nil {
		c.broken.Store(true)
		return err
	}
	return nil
}

// Broken reports whether the connection has failed or been closed, and so
// must not be used again.
func (c *Conn) Broken() bool { return c.broken.Load() }

// Close says QUIT when the connection is still healthy, and closes it. It
// returns an error only when closing a healthy connection fails.
func (c *Conn) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	if c.broken.Swap(true) {
		c.conn.Close()
		return nil
	}
	c.raw.SetDeadline(time.Now().Add(min(c.s.cmdTimeout, 5*time.Second)))
	c.w.WriteString("QUIT\r\n")
	if c.w.Flush() == nil {
		readReply(c.br) // the reply changes nothing
	}
	return c.conn.Close()
}

// abort ends a transaction that the server refused, so that the connection
// can carry the next message, and returns err.
func (c *Conn) abort(ctx context.Context, err error) error {
	if !c.broken.Load() {
		if _, _, rerr := c.cmd(ctx, StageReset, 2, "RSET"); rerr != nil {
			c.broken.Store(true)
		}
	}
	return err
}

// cmd writes one command line, made of parts, and reads the reply. A reply
// whose first digit is not want (0: any) is an *SMTPError.
func (c *Conn) cmd(ctx context.Context, stage string, want int, parts ...string) (int, string, error) {
	if err := c.deadline(ctx, c.s.cmdTimeout); err != nil {
		return 0, "", c.fail(ctx, stage, err, false)
	}
	for _, p := range parts {
		c.w.WriteString(p)
	}
	c.w.WriteString("\r\n")
	if err := c.w.Flush(); err != nil {
		return 0, "", c.fail(ctx, stage, err, false)
	}
	return c.read(ctx, stage, want, false)
}

// read reads one reply, which may span several lines.
func (c *Conn) read(ctx context.Context, stage string, want int, afterData bool) (int, string, error) {
	code, msg, err := readReply(c.br)
	if err != nil {
		return 0, "", c.fail(ctx, stage, err, afterData)
	}
	if want != 0 && code/100 != want {
		if class := code / 100; code == 421 || class != 4 && class != 5 {
			// The server is closing, or is out of step with us.
			c.broken.Store(true)
		}
		return code, msg, replyError(stage, newReply(code, msg), afterData)
	}
	return code, msg, nil
}

// deadline bounds the next exchange by d and by ctx's deadline, and reports
// whether ctx is already done.
func (c *Conn) deadline(ctx context.Context, d time.Duration) error {
	t := time.Now().Add(d)
	if dl, ok := ctx.Deadline(); ok && dl.Before(t) {
		t = dl
	}
	if err := c.raw.SetDeadline(t); err != nil {
		return err
	}
	// Checked after setting the deadline: a cancellation from now on is
	// caught by interrupt, which sets its deadline after ours.
	return ctx.Err()
}

// interrupt makes pending and future I/O fail at once; it runs when the
// context of Dial or Send is done.
func (c *Conn) interrupt() { c.raw.SetDeadline(longAgo) }

// fail marks the connection broken and classifies err.
func (c *Conn) fail(ctx context.Context, stage string, err error, afterData bool) error {
	c.broken.Store(true)
	return netError(ctx, stage, err, afterData)
}
