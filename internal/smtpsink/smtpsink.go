// Package smtpsink is a counting SMTP server for measurements (cmd/smtpsink,
// cmd/loadtest): it accepts every message, keeps no body, and counts
// messages, recipients, bytes and sessions. It offers no AUTH and no TLS: it
// is a measuring instrument for loopback, never a relay.
package smtpsink

import (
	"bufio"
	"io"
	"log"
	"net"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// Config tells Start how to behave.
type Config struct {
	// Addr is the listen address; "127.0.0.1:0" picks a free port.
	Addr string
	// IdleTimeout: a connection that sends nothing for this long gets
	// "421 4.4.2 Idle timeout" and is closed, as real servers do. Zero: 60 s.
	IdleTimeout time.Duration
	// Delay is added before each message is answered (a slower server).
	Delay time.Duration
	// MaxBytes is the largest message accepted (552 above it). Zero: 32 MiB.
	MaxBytes int64
	// RcptLog, when not nil, gets one line per recipient of each accepted
	// message, for duplicate and gap checks (sort | uniq -d).
	RcptLog io.Writer
	// Duplicates keeps every recipient address in memory, so that Stats
	// can tell how many got more than one message.
	Duplicates bool
}

// Stats are the figures of a Sink.
type Stats struct {
	Messages   int64 // accepted
	Recipients int64 // of accepted messages
	Bytes      int64 // of accepted messages' data
	Sessions   int64 // connections accepted
	// Distinct and Duplicates are counted with Config.Duplicates only: the
	// number of different recipients, and of recipients that got more
	// than one message.
	Distinct, Duplicates int64
	First, Last          time.Time // when the first and the last message were accepted
}

// Rate returns messages per second from the first message to the last, or
// zero with fewer than two messages.
func (s Stats) Rate() float64 {
	d := s.Last.Sub(s.First)
	if s.Messages < 2 || d <= 0 {
		return 0
	}
	return float64(s.Messages-1) / d.Seconds()
}

// Sink is a running counting SMTP server. It is safe for concurrent use.
type Sink struct {
	cfg  Config
	srv  *smtp.Server
	ln   net.Listener
	done chan struct{} // closed when Serve returns

	mu    sync.Mutex
	stats Stats
	seen  map[string]int // recipient -> messages, with Config.Duplicates
	log   *bufio.Writer  // over cfg.RcptLog
}

// Start listens on cfg.Addr and serves until Close.
func Start(cfg Config) (*Sink, error) {
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = time.Minute
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = 32 << 20
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, err
	}
	s := &Sink{cfg: cfg, ln: ln, done: make(chan struct{})}
	if cfg.Duplicates {
		s.seen = map[string]int{}
	}
	if cfg.RcptLog != nil {
		s.log = bufio.NewWriterSize(cfg.RcptLog, 64<<10)
	}
	s.srv = smtp.NewServer(smtp.BackendFunc(s.newSession))
	s.srv.Domain = "smtpsink.localhost"
	s.srv.ReadTimeout = cfg.IdleTimeout // go-smtp answers 421 4.4.2 and closes
	s.srv.WriteTimeout = 30 * time.Second
	s.srv.MaxMessageBytes = cfg.MaxBytes
	s.srv.MaxRecipients = 1000
	s.srv.EnableSMTPUTF8 = true
	s.srv.ErrorLog = log.New(io.Discard, "", 0)
	go func() {
		defer close(s.done)
		s.srv.Serve(ln) //nolint:errcheck // ends with Close
	}()
	return s, nil
}

// Addr returns the address the sink listens on.
func (s *Sink) Addr() string { return s.ln.Addr().String() }

// Stats returns the figures so far.
func (s *Sink) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	if s.seen != nil {
		st.Distinct = int64(len(s.seen))
	}
	return st
}

// Close stops listening, closes every connection and flushes the recipient
// log. It returns the log's first write error, if any.
func (s *Sink) Close() error {
	// Nothing counted is lost by cutting a transaction short: a message
	// counts once its data is in.
	s.srv.Close()
	s.ln.Close() // in case Close came before Serve took the listener
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.log != nil {
		return s.log.Flush()
	}
	return nil
}

func (s *Sink) newSession(*smtp.Conn) (smtp.Session, error) {
	s.mu.Lock()
	s.stats.Sessions++
	s.mu.Unlock()
	return &session{s: s}, nil
}

// accept counts one message of n bytes to rcpts. A failed write to the
// recipient log is kept by the buffer and reported by Close.
func (s *Sink) accept(rcpts []string, n int64) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &s.stats
	if st.Messages == 0 {
		st.First = now
	}
	st.Last = now
	st.Messages++
	st.Recipients += int64(len(rcpts))
	st.Bytes += n
	for _, r := range rcpts {
		if s.seen != nil {
			s.seen[r]++
			if s.seen[r] == 2 {
				st.Duplicates++
			}
		}
		if s.log != nil {
			s.log.WriteString(r)
			s.log.WriteByte('\n')
		}
	}
}

// session is one SMTP connection's transaction state.
type session struct {
	s     *Sink
	rcpts []string
}

func (x *session) Reset()        { x.rcpts = x.rcpts[:0] }
func (x *session) Logout() error { return nil }

func (x *session) Mail(string, *smtp.MailOptions) error {
	x.rcpts = x.rcpts[:0]
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.rcpts = append(x.rcpts, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	n, err := io.Copy(io.Discard, r)
	if err != nil {
		return err // too large (552) or a broken connection: not counted
	}
	if x.s.cfg.Delay > 0 {
		time.Sleep(x.s.cfg.Delay)
	}
	x.s.accept(x.rcpts, n)
	return nil
}
