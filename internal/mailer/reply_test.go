package mailer

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// rawServer listens on 127.0.0.1 and runs serve on each connection: a
// scripted server that may break every rule.
func rawServer(t *testing.T, serve func(c net.Conn, r *bufio.Reader)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				serve(c, bufio.NewReader(c))
			}()
		}
	}()
	return ln.Addr().String()
}

// countingConn counts the bytes read from a connection.
type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// endless writes unit forever, until the client goes away.
func endless(c net.Conn, unit string) {
	chunk := []byte(strings.Repeat(unit, 64<<10/len(unit)))
	for {
		if _, err := c.Write(chunk); err != nil {
			return
		}
	}
}

// readCommand reads the client's next command line.
func readCommand(r *bufio.Reader) string {
	line, _ := r.ReadString('\n')
	return strings.TrimRight(line, "\r\n")
}

// TestHostileRepliesAreCutShort: a server that sends an endless reply line,
// or endless continuation lines, makes the send fail with an error that
// says so, after we read a bounded number of bytes (a 400 MB line once cost
// 1.6 GB of memory).
func TestHostileRepliesAreCutShort(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		serve     func(c net.Conn, r *bufio.Reader)
		wantStage string
		wantText  string
		wantAfter bool
	}{
		{
			name:      "an endless greeting line",
			serve:     func(c net.Conn, _ *bufio.Reader) { c.Write([]byte("220 ")); endless(c, "a") },
			wantStage: StageConnect, wantText: "longer than 64 KiB",
		},
		{
			name: "endless continuation lines after EHLO",
			serve: func(c net.Conn, r *bufio.Reader) {
				c.Write([]byte("220 hello\r\n"))
				readCommand(r)
				endless(c, "250-PIPELINING\r\n")
			},
			wantStage: StageHelo, wantText: "more than 256 lines",
		},
		{
			name: "endless continuation lines of the longest kind after EHLO",
			serve: func(c net.Conn, r *bufio.Reader) {
				c.Write([]byte("220 hello\r\n"))
				readCommand(r)
				endless(c, "250-"+strings.Repeat("X", 508)+"\r\n")
			},
			wantStage: StageHelo, wantText: "longer than 64 KiB",
		},
		{
			name: "an endless line in reply to the message",
			serve: func(c net.Conn, r *bufio.Reader) {
				c.Write([]byte("220 hello\r\n"))
				for _, reply := range []string{"250-hello\r\n250 8BITMIME\r\n", "250 ok\r\n", "250 ok\r\n", "354 go on\r\n"} {
					readCommand(r) // EHLO, MAIL, RCPT, DATA
					c.Write([]byte(reply))
				}
				for { // the message, up to its final "."
					if line, err := r.ReadString('\n'); err != nil {
						return
					} else if line == ".\r\n" {
						break
					}
				}
				c.Write([]byte("250 2.0.0 "))
				endless(c, "ok ")
			},
			wantStage: StageDataEnd, wantText: "longer than 64 KiB", wantAfter: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr := rawServer(t, tt.serve)
			s, err := NewSMTP("smtp://"+addr, SMTPOptions{CommandTimeout: 20 * time.Second, DataTimeout: 20 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			var read atomic.Int64
			s.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
				c, err := new(net.Dialer).DialContext(ctx, network, addr)
				if err != nil {
					return nil, err
				}
				return countingConn{c, &read}, nil
			}
			_, err = s.Send(t.Context(), testMessage("ivan@example.org"))
			var se *SMTPError
			if !errors.As(err, &se) || se.Stage != tt.wantStage || !strings.Contains(err.Error(), tt.wantText) ||
				se.AfterData != tt.wantAfter || se.Temporary == tt.wantAfter {
				t.Fatalf("Send error = %v; want an error at stage %q saying %q, outcome unknown %v", err, tt.wantStage, tt.wantText, tt.wantAfter)
			}
			// The reply limit, and two reads into the reader's buffer
			// (the greeting's and the last one).
			if n := read.Load(); n > maxReplyBytes+2*4096 {
				t.Errorf("read %d bytes from the server; a reply should stop at %d", n, maxReplyBytes)
			}
		})
	}
}

func TestReadReply(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in       string
		wantCode int
		wantText string
		wantErr  string
	}{
		{in: "250 2.0.0 Ok\r\n", wantCode: 250, wantText: "2.0.0 Ok"},
		{in: "250-mail.example.com\r\n250-PIPELINING\r\n250 8BITMIME\r\n", wantCode: 250, wantText: "mail.example.com\nPIPELINING\n8BITMIME"},
		{in: "250\r\n", wantCode: 250, wantText: ""},
		{in: "354 go on\n", wantCode: 354, wantText: "go on"},
		{in: "250-one\r\n251 two\r\n", wantErr: "different codes"},
		{in: "2x0 nope\r\n", wantErr: "invalid reply"},
		{in: "250_x\r\n", wantErr: "invalid reply"},
		{in: "25\r\n", wantErr: "invalid reply"},
		{in: "250-cut off", wantErr: "EOF"},
		{in: "250 " + strings.Repeat("x", maxReplyBytes) + "\r\n", wantErr: "longer than"},
		{in: strings.Repeat("250-x\r\n", maxReplyLines) + "250 x\r\n", wantErr: "more than 256 lines"},
		{in: strings.Repeat("250-x\r\n", maxReplyLines-1) + "250 last\r\n", wantCode: 250,
			wantText: strings.Repeat("x\n", maxReplyLines-1) + "last"},
	}
	for _, tt := range tests {
		code, text, err := readReply(bufio.NewReader(strings.NewReader(tt.in)))
		short := tt.in[:min(len(tt.in), 40)]
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("readReply(%q) error = %v, want one saying %q", short, err, tt.wantErr)
			}
			continue
		}
		if err != nil || code != tt.wantCode || text != tt.wantText {
			t.Errorf("readReply(%q) = %d, %q, %v; want %d, %q", short, code, text, err, tt.wantCode, tt.wantText)
		}
	}
}
