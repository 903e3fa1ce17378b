package smtpsink_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"simplesender/internal/smtpsink"
)

func start(t *testing.T, cfg smtpsink.Config) *smtpsink.Sink {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	s, err := smtpsink.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// send delivers one message over a connection of its own, without TLS.
func send(addr string, to []string, body string) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SendMail("from@example.com", to, strings.NewReader(body)); err != nil {
		return err
	}
	return c.Quit()
}

// message returns a message with a body of about size bytes in short lines.
func message(size int) string {
	return "Subject: test\r\n\r\n" + strings.Repeat(strings.Repeat("x", 62)+"\r\n", size/64+1)
}

func TestCountsMessagesRecipientsAndDuplicates(t *testing.T) {
	t.Parallel()
	var log bytes.Buffer
	s := start(t, smtpsink.Config{RcptLog: &log, Duplicates: true})
	sends := []struct {
		to   []string
		body string
	}{
		{[]string{"a@example.com"}, message(100)},
		{[]string{"b@example.com", "c@example.com"}, message(2000)},
		{[]string{"a@example.com"}, message(10)}, // a second message to a
	}
	var bytesSent int64
	for _, m := range sends {
		if err := send(s.Addr(), m.to, m.body); err != nil {
			t.Fatal(err)
		}
		bytesSent += int64(len(m.body))
	}
	st := s.Stats()
	if st.Messages != 3 || st.Recipients != 4 || st.Bytes != bytesSent || st.Sessions != 3 {
		t.Errorf("stats %+v; want 3 messages, 4 recipients, %d bytes, 3 sessions", st, bytesSent)
	}
	if st.Distinct != 3 || st.Duplicates != 1 {
		t.Errorf("distinct %d, duplicates %d; want 3 and 1 (a@ got two)", st.Distinct, st.Duplicates)
	}
	if st.First.IsZero() || st.Last.Before(st.First) {
		t.Errorf("first %v, last %v", st.First, st.Last)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Fields(log.String())
	sort.Strings(lines)
	if got := strings.Join(lines, " "); got != "a@example.com a@example.com b@example.com c@example.com" {
		t.Errorf("recipient log after Close: %q", got)
	}
}

func TestTooLargeIsRefusedAndNotCounted(t *testing.T) {
	t.Parallel()
	s := start(t, smtpsink.Config{MaxBytes: 1024})
	err := send(s.Addr(), []string{"big@example.com"}, message(4096))
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 552 {
		t.Fatalf("a message past MaxBytes: %v, want 552", err)
	}
	if err := send(s.Addr(), []string{"small@example.com"}, message(10)); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Messages != 1 || st.Recipients != 1 {
		t.Fatalf("stats %+v; want only the small message counted", st)
	}
}

// TestIdleConnectionGets421 checks what senders that reuse connections must
// cope with: an idle connection is closed by the server with 421.
func TestIdleConnectionGets421(t *testing.T) {
	t.Parallel()
	s := start(t, smtpsink.Config{IdleTimeout: 200 * time.Millisecond})
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	greeting, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(greeting, "220 ") {
		t.Fatalf("greeting %q, %v", greeting, err)
	}
	bye, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(bye, "421 4.4.2 ") {
		t.Fatalf("after idling: %q, %v; want 421 4.4.2", bye, err)
	}
	if _, err := r.ReadByte(); err != io.EOF {
		t.Fatalf("connection still open after 421: %v", err)
	}
}
