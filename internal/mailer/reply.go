package mailer

import (
	"bufio"
	"fmt"
	"net/textproto"
	"strings"
)

// Limits of one server reply. RFC 5321 keeps a reply line within 512
// octets and real servers send a few lines at most (EHLO); a reply past
// these limits comes from a broken or hostile server, and reading it whole
// would let the server fill our memory.
const (
	maxReplyBytes = 64 << 10 // all the lines of one reply, line ends included
	maxReplyLines = 256
)

// readReply reads one reply, which may span several lines, from br: its
// code and its text, the lines joined with "\n". A reply longer than
// maxReplyBytes or maxReplyLines is an error, found after reading at most
// maxReplyBytes and br's buffer; so is a malformed line (a
// textproto.ProtocolError quoting it) or a continuation line with another
// code.
func readReply(br *bufio.Reader) (code int, text string, err error) {
	var b strings.Builder
	budget := maxReplyBytes
	for n := 1; ; n++ {
		if n > maxReplyLines {
			return 0, "", fmt.Errorf("the server's reply has more than %d lines", maxReplyLines)
		}
		line, err := readReplyLine(br, &budget)
		if err != nil {
			return 0, "", err
		}
		c, ok := replyCode(line)
		if !ok || len(line) > 3 && line[3] != ' ' && line[3] != '-' {
			return 0, "", textproto.ProtocolError("invalid reply: " + string(line))
		}
		if n > 1 && c != code {
			return 0, "", textproto.ProtocolError("reply lines with different codes: " + string(line))
		}
		code = c
		if n > 1 {
			b.WriteByte('\n')
		}
		if len(line) > 4 {
			b.Write(line[4:])
		}
		if len(line) == 3 || line[3] == ' ' {
			return code, b.String(), nil
		}
	}
}

// readReplyLine reads one line without its line end, taking its length
// from *budget; a line longer than what is left of it is an error. The
// line is valid until the next read from br.
func readReplyLine(br *bufio.Reader, budget *int) ([]byte, error) {
	var long []byte // the line so far, when it spans more than br's buffer
	for {
		frag, err := br.ReadSlice('\n')
		if len(frag) > *budget {
			return nil, fmt.Errorf("the server's reply is longer than %d KiB", maxReplyBytes>>10)
		}
		*budget -= len(frag)
		switch {
		case err == bufio.ErrBufferFull:
			long = append(long, frag...)
			continue
		case err != nil:
			return nil, err
		case long != nil:
			frag = append(long, frag...)
		}
		frag = frag[:len(frag)-1]
		if n := len(frag); n > 0 && frag[n-1] == '\r' {
			frag = frag[:n-1]
		}
		return frag, nil
	}
}

// replyCode parses the three digits that start a reply line.
func replyCode(line []byte) (int, bool) {
	if len(line) < 3 {
		return 0, false
	}
	code := 0
	for i, c := range line[:3] {
		if c < '0' || c > '9' || i == 0 && (c < '1' || c > '5') {
			return 0, false
		}
		code = code*10 + int(c-'0')
	}
	return code, true
}
