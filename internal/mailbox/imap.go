package mailbox

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// maxLiteral bounds one message fetched over IMAP.
const maxLiteral = 50 << 20

// imap is an IMAP4rev1 session: only the commands polling needs, each
// sent and answered in turn.
type imap struct {
	conn    net.Conn
	r       *bufio.Reader
	tag     int
	timeout time.Duration
	caps    map[string]bool
}

// response is one untagged response, with the literals it carried.
type response struct {
	text     string
	literals [][]byte
}

func (m *imap) reset(conn net.Conn) {
	m.conn = conn
	m.r = bufio.NewReaderSize(conn, 64<<10)
}

var literalEnd = regexp.MustCompile(`\{(\d+)\+?\}$`)

// readResponse reads one response line and the literals it announces.
func (m *imap) readResponse() (response, error) {
	var res response
	for {
		line, err := m.r.ReadString('\n')
		if err != nil {
			return res, err
		}
		line = strings.TrimRight(line, "\r\n")
		res.text += line
		g := literalEnd.FindStringSubmatch(line)
		if g == nil {
			return res, nil
		}
		n, err := strconv.Atoi(g[1])
		if err != nil || n > maxLiteral {
			return res, fmt.Errorf("IMAP: a literal of %s bytes", g[1])
		}
		lit := make([]byte, n)
		if _, err := io.ReadFull(m.r, lit); err != nil {
			return res, err
		}
		res.literals = append(res.literals, lit)
	}
}

// cmd sends a command and returns its untagged responses; a NO or BAD
// answer is an error.
func (m *imap) cmd(command string) ([]response, error) {
	m.tag++
	tag := "a" + strconv.Itoa(m.tag)
	m.conn.SetDeadline(time.Now().Add(m.timeout))
	if _, err := io.WriteString(m.conn, tag+" "+command+"\r\n"); err != nil {
		return nil, err
	}
	var out []response
	for {
		m.conn.SetDeadline(time.Now().Add(m.timeout))
		res, err := m.readResponse()
		if err != nil {
			return out, err
		}
		if rest, ok := strings.CutPrefix(res.text, tag+" "); ok {
			if strings.HasPrefix(strings.ToUpper(rest), "OK") {
				return out, nil
			}
			verb, _, _ := strings.Cut(command, " ")
			if verb == "LOGIN" {
				return out, errors.New("IMAP LOGIN: the server refused the user name or the password")
			}
			return out, fmt.Errorf("IMAP %s: %s", verb, rest)
		}
		if strings.HasPrefix(res.text, "* ") {
			out = append(out, res)
		}
	}
}

// quote is s as an IMAP quoted string (s is printable ASCII).
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func (m *imap) capabilities() error {
	res, err := m.cmd("CAPABILITY")
	if err != nil {
		return err
	}
	m.caps = map[string]bool{}
	for _, r := range res {
		if rest, ok := strings.CutPrefix(r.text, "* CAPABILITY "); ok {
			for _, c := range strings.Fields(rest) {
				m.caps[strings.ToUpper(c)] = true
			}
		}
	}
	return nil
}

func pollIMAP(ctx context.Context, conn net.Conn, c Config, keep Keep) (int, error) {
	m := &imap{timeout: c.Timeout}
	m.reset(conn)
	conn.SetDeadline(time.Now().Add(c.Timeout))
	greeting, err := m.readResponse()
	if err != nil {
		return 0, err
	}
	if !strings.HasPrefix(strings.ToUpper(greeting.text), "* OK") {
		return 0, fmt.Errorf("IMAP greeting: %s", greeting.text)
	}
	if c.Security == StartTLS {
		if _, err := m.cmd("STARTTLS"); err != nil {
			return 0, fmt.Errorf("%w (use imaps:// or, on a trusted network, tls=plain)", err)
		}
		tc := tls.Client(conn, tlsConfig(c))
		if err := tc.HandshakeContext(ctx); err != nil {
			return 0, fmt.Errorf("TLS: %w", err)
		}
		m.reset(tc)
	}
	if _, err := m.cmd("LOGIN " + quote(c.User) + " " + quote(c.Password)); err != nil {
		return 0, err
	}
	if err := m.capabilities(); err != nil {
		return 0, err
	}
	if c.MoveTo != "" {
		// The folder may exist already; a real problem shows at the move.
		m.cmd("CREATE " + quote(c.MoveTo)) //nolint:errcheck
	}
	if _, err := m.cmd("SELECT " + quote(c.Folder)); err != nil {
		return 0, err
	}
	res, err := m.cmd("UID SEARCH ALL")
	if err != nil {
		return 0, err
	}
	var uids []string
	for _, r := range res {
		if rest, ok := strings.CutPrefix(r.text, "* SEARCH"); ok {
			uids = append(uids, strings.Fields(rest)...)
		}
	}
	if len(uids) > c.Batch {
		uids = uids[:c.Batch]
	}
	kept := 0
	var keepErr error
	var deleted []string
	for _, uid := range uids {
		if _, err := strconv.ParseUint(uid, 10, 32); err != nil {
			return kept, fmt.Errorf("IMAP SEARCH: UID %q", uid)
		}
		res, err := m.cmd("UID FETCH " + uid + " BODY.PEEK[]")
		if err != nil {
			return kept, err
		}
		var raw []byte
		for _, r := range res {
			if strings.Contains(strings.ToUpper(r.text), "BODY[]") && len(r.literals) > 0 {
				raw = r.literals[0]
			}
		}
		if raw == nil {
			continue // expunged meanwhile by another client
		}
		if keepErr = keep(ctx, raw); keepErr != nil {
			break
		}
		switch {
		case c.MoveTo != "" && m.caps["MOVE"]:
			_, err = m.cmd("UID MOVE " + uid + " " + quote(c.MoveTo))
		case c.MoveTo != "":
			if _, err = m.cmd("UID COPY " + uid + " " + quote(c.MoveTo)); err == nil {
				_, err = m.cmd("UID STORE " + uid + ` +FLAGS.SILENT (\Deleted)`)
				deleted = append(deleted, uid)
			}
		default:
			_, err = m.cmd("UID STORE " + uid + ` +FLAGS.SILENT (\Deleted)`)
			deleted = append(deleted, uid)
		}
		if err != nil {
			return kept, err
		}
		kept++
	}
	if len(deleted) > 0 {
		// UID EXPUNGE removes only what this poll deleted; without UIDPLUS,
		// EXPUNGE removes every message marked deleted in the folder.
		if m.caps["UIDPLUS"] {
			_, err = m.cmd("UID EXPUNGE " + strings.Join(deleted, ","))
		} else {
			_, err = m.cmd("EXPUNGE")
		}
		if err != nil {
			return kept, err
		}
	}
	m.cmd("LOGOUT") //nolint:errcheck
	return kept, keepErr
}
