package mailbox

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"time"
)

// pop3 is a POP3 session (RFC 1939, STLS of RFC 2595).
type pop3 struct {
	conn    net.Conn
	text    *textproto.Conn
	timeout time.Duration
}

func (p *pop3) reset(conn net.Conn) {
	p.conn = conn
	p.text = textproto.NewConn(conn)
}

// cmd sends a command and reads its one-line answer, failing on -ERR.
func (p *pop3) cmd(format string, args ...any) (string, error) {
	p.conn.SetDeadline(time.Now().Add(p.timeout))
	if format != "" {
		if err := p.text.PrintfLine(format, args...); err != nil {
			return "", err
		}
	}
	line, err := p.text.ReadLine()
	if err != nil {
		return "", err
	}
	if rest, ok := strings.CutPrefix(line, "+OK"); ok {
		return strings.TrimSpace(rest), nil
	}
	verb, _, _ := strings.Cut(format, " ")
	if verb == "" {
		verb = "greeting"
	}
	return "", fmt.Errorf("POP3 %s: %s", verb, line)
}

func pollPOP3(ctx context.Context, conn net.Conn, c Config, keep Keep) (int, error) {
	p := &pop3{timeout: c.Timeout}
	p.reset(conn)
	if _, err := p.cmd(""); err != nil {
		return 0, err
	}
	if c.Security == StartTLS {
		if _, err := p.cmd("STLS"); err != nil {
			return 0, fmt.Errorf("%w (the server offers no STLS; use pop3s:// or, on a trusted network, tls=plain)", err)
		}
		tc := tls.Client(conn, tlsConfig(c))
		if err := tc.HandshakeContext(ctx); err != nil {
			return 0, fmt.Errorf("TLS: %w", err)
		}
		p.reset(tc)
	}
	if _, err := p.cmd("USER %s", c.User); err != nil {
		return 0, err
	}
	if _, err := p.cmd("PASS %s", c.Password); err != nil {
		return 0, errors.New("POP3 PASS: the server refused the user name or the password")
	}
	stat, err := p.cmd("STAT")
	if err != nil {
		return 0, err
	}
	count, err := strconv.Atoi(strings.Fields(stat + " x")[0])
	if err != nil {
		return 0, fmt.Errorf("POP3 STAT: %q", stat)
	}
	kept := 0
	var keepErr error
	for i := 1; i <= count && kept < c.Batch; i++ {
		if _, err := p.cmd("RETR %d", i); err != nil {
			return kept, err
		}
		raw, err := io.ReadAll(p.text.DotReader())
		if err != nil {
			return kept, fmt.Errorf("POP3 RETR %d: %w", i, err)
		}
		if keepErr = keep(ctx, raw); keepErr != nil {
			break
		}
		if _, err := p.cmd("DELE %d", i); err != nil {
			return kept, err
		}
		kept++
	}
	// Deletions take effect at QUIT only: the messages kept so far are
	// deleted even when keep failed on a later one.
	if _, err := p.cmd("QUIT"); err != nil {
		return kept, err
	}
	return kept, keepErr
}
