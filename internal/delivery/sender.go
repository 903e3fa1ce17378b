package delivery

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"simplesender/internal/mailer"
)

// Sender hands one built message for one recipient to a mail server. It is
// safe for concurrent use. Errors are *mailer.SMTPError (classified) or any
// other error (treated as a failure before the message was handed over).
type Sender interface {
	Send(ctx context.Context, from, to string, data []byte) (mailer.Reply, error)
	Close() error
}

// Pool sends through at most Max reused connections to one SMTP server.
//
// Servers close connections that stay idle (Postfix after 300 s, many
// relays after 30 to 60 s, with a 421 and then EOF), so the pool closes a
// connection idle for the server's IdleTimeout itself, and checks one idle
// for a third of it with NOOP before it carries a message. A reused
// connection that fails before the server took the envelope (421, EOF or a
// reset in reply to NOOP or MAIL) was closed by the server meanwhile: the
// message is sent once more on a new connection, and nothing is reported of
// the failure.
type Pool struct {
	smtp *mailer.SMTP
	sem  chan struct{}

	mu     sync.Mutex
	idle   []idleConn  // oldest first
	reaper *time.Timer // closes connections idle too long; nil while none is idle
}

type idleConn struct {
	c     *mailer.Conn
	since time.Time
}

// NewPool returns a pool of at most max connections to the server.
func NewPool(s *mailer.SMTP, max int) *Pool {
	return &Pool{smtp: s, sem: make(chan struct{}, max)}
}

// Send implements Sender: it takes an idle connection (or dials one),
// sends, and keeps the connection for the next message unless it broke.
func (p *Pool) Send(ctx context.Context, from, to string, data []byte) (mailer.Reply, error) {
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return mailer.Reply{}, ctx.Err()
	}
	defer func() { <-p.sem }()
	c, reused, err := p.conn(ctx)
	if err != nil {
		return mailer.Reply{}, err
	}
	reply, err := c.Send(ctx, from, []string{to}, data)
	if reused && stale(err) && ctx.Err() == nil {
		// The server closed the idle connection meanwhile: nothing was
		// handed over, so try once on a new one. Not the server's failure,
		// nor the recipient's.
		c.Close()
		if c, err = p.smtp.Dial(ctx); err != nil {
			return mailer.Reply{}, err
		}
		reply, err = c.Send(ctx, from, []string{to}, data)
	}
	p.put(c)
	return reply, err
}

// conn returns the most recently used idle connection that still works, or
// a new one; reused tells which.
func (p *Pool) conn(ctx context.Context) (c *mailer.Conn, reused bool, err error) {
	idleTimeout := p.smtp.IdleTimeout()
	for {
		ic, ok := p.take()
		if !ok {
			break
		}
		idle := time.Since(ic.since)
		if ic.c.Broken() {
			ic.c.Close()
			continue
		}
		if idle >= idleTimeout { // the reaper is late
			go ic.c.Close() // QUIT may take a while, and changes nothing for this message
			continue
		}
		if idle >= idleTimeout/3 {
			if err := ic.c.Noop(ctx); err != nil {
				ic.c.Close()
				if ctx.Err() != nil {
					return nil, false, err
				}
				// Closed by the server, no failure of anyone's; the
				// connections idle longer are gone too.
				p.dropIdleSince(ic.since)
				break
			}
		}
		return ic.c, true, nil
	}
	c, err = p.smtp.Dial(ctx)
	return c, false, err
}

// take removes the most recently used idle connection from the pool.
func (p *Pool) take() (idleConn, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.idle)
	if n == 0 {
		return idleConn{}, false
	}
	ic := p.idle[n-1]
	p.idle = p.idle[:n-1]
	return ic, true
}

// dropIdleSince closes the connections idle since t or longer.
func (p *Pool) dropIdleSince(t time.Time) {
	p.mu.Lock()
	n := 0
	for n < len(p.idle) && !p.idle[n].since.After(t) {
		n++
	}
	old := slices.Clone(p.idle[:n])
	p.idle = slices.Delete(p.idle, 0, n)
	p.mu.Unlock()
	for _, ic := range old {
		go ic.c.Close() // QUIT, if the server still listens; nothing waits for it
	}
}

// put keeps c for the next message, unless it broke.
func (p *Pool) put(c *mailer.Conn) {
	if c.Broken() {
		c.Close()
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.idle = append(p.idle, idleConn{c: c, since: time.Now()})
	if p.reaper == nil {
		p.reaper = time.AfterFunc(p.smtp.IdleTimeout(), p.reap)
	}
}

// reap closes the connections idle for the idle timeout, and sets the timer
// for the next one.
func (p *Pool) reap() {
	idleTimeout := p.smtp.IdleTimeout()
	p.mu.Lock()
	now := time.Now()
	n := 0
	for n < len(p.idle) && now.Sub(p.idle[n].since) >= idleTimeout {
		n++
	}
	old := slices.Clone(p.idle[:n])
	p.idle = slices.Delete(p.idle, 0, n)
	if len(p.idle) > 0 {
		p.reaper.Reset(p.idle[0].since.Add(idleTimeout).Sub(now))
	} else {
		p.reaper = nil
	}
	p.mu.Unlock()
	for _, ic := range old {
		ic.c.Close() // QUIT, before the server would close it
	}
}

// stale reports whether err is what a reused connection that the server
// has closed gives: no reply, or 421 (closing), to the first command on it
// (NOOP, RSET or MAIL), before the server took anything of the message.
func stale(err error) bool {
	var se *mailer.SMTPError
	if !errors.As(err, &se) || se.AfterData || se.Code != 0 && se.Code != 421 {
		return false
	}
	switch se.Stage {
	case mailer.StageMail, mailer.StageReset, mailer.StageNoop:
		return true
	}
	return false
}

// InUse is how many connections are carrying a message now.
func (p *Pool) InUse() int { return len(p.sem) }

// Close closes the idle connections (QUIT). The pool may still send; it
// keeps the connections of later messages as before.
func (p *Pool) Close() error {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	if p.reaper != nil {
		p.reaper.Stop()
		p.reaper = nil
	}
	p.mu.Unlock()
	for _, ic := range idle {
		ic.c.Close()
	}
	return nil
}

// Outbox writes each message into the outbox folder: the sender when no
// SMTP server is configured.
type Outbox struct {
	o *mailer.Outbox
}

// NewOutbox returns a Sender that writes .eml files into dir.
func NewOutbox(dir string) *Outbox { return &Outbox{o: mailer.NewOutbox(dir)} }

// Send implements Sender. The reply names the file, without the folder:
// users see it, and the server's paths are not theirs to see.
func (o *Outbox) Send(ctx context.Context, _, _ string, data []byte) (mailer.Reply, error) {
	path, err := o.o.WriteRaw(ctx, data)
	if err != nil {
		return mailer.Reply{}, err
	}
	return mailer.Reply{Code: 250, Enhanced: "2.0.0", Text: "written to the outbox: " + filepath.Base(path)}, nil
}

// Close implements Sender.
func (o *Outbox) Close() error { return nil }
