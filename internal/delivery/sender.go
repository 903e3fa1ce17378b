package delivery

import (
	"context"
	"errors"

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
type Pool struct {
	smtp *mailer.SMTP
	idle chan *mailer.Conn
	sem  chan struct{}
}

// NewPool returns a pool of at most max connections to the server.
func NewPool(s *mailer.SMTP, max int) *Pool {
	return &Pool{smtp: s, idle: make(chan *mailer.Conn, max), sem: make(chan struct{}, max)}
}

// Send implements Sender: it takes an idle connection (or dials one),
// sends, and puts the connection back unless it broke.
func (p *Pool) Send(ctx context.Context, from, to string, data []byte) (mailer.Reply, error) {
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return mailer.Reply{}, ctx.Err()
	}
	defer func() { <-p.sem }()
	var c *mailer.Conn
	select {
	case c = <-p.idle:
	default:
	}
	reused := c != nil && !c.Broken()
	if !reused {
		if c != nil {
			c.Close()
		}
		var err error
		if c, err = p.smtp.Dial(ctx); err != nil {
			return mailer.Reply{}, err
		}
	}
	reply, err := c.Send(ctx, from, []string{to}, data)
	if reused && stale(err) && ctx.Err() == nil {
		// The server closed the idle connection meanwhile (servers drop
		// quiet connections): nothing was handed over, so try once on a
		// new one. Not the server's failure, nor the recipient's.
		c.Close()
		if c, err = p.smtp.Dial(ctx); err != nil {
			return mailer.Reply{}, err
		}
		reply, err = c.Send(ctx, from, []string{to}, data)
	}
	if c.Broken() {
		c.Close()
	} else {
		p.idle <- c
	}
	return reply, err
}

// stale reports whether err is what a reused connection that the server
// has closed gives: no reply at all to the first command of the envelope.
func stale(err error) bool {
	var se *mailer.SMTPError
	return errors.As(err, &se) && se.Code == 0 && !se.AfterData && se.Stage == mailer.StageMail
}

// InUse is how many connections are carrying a message now.
func (p *Pool) InUse() int { return len(p.sem) }

// Close closes the idle connections (QUIT).
func (p *Pool) Close() error {
	for {
		select {
		case c := <-p.idle:
			c.Close()
		default:
			return nil
		}
	}
}

// Outbox writes each message into the outbox folder: the sender when no
// SMTP server is configured.
type Outbox struct {
	o *mailer.Outbox
}

// NewOutbox returns a Sender that writes .eml files into dir.
func NewOutbox(dir string) *Outbox { return &Outbox{o: mailer.NewOutbox(dir)} }

// Send implements Sender.
func (o *Outbox) Send(ctx context.Context, _, _ string, data []byte) (mailer.Reply, error) {
	path, err := o.o.WriteRaw(ctx, data)
	if err != nil {
		return mailer.Reply{}, err
	}
	return mailer.Reply{Code: 250, Enhanced: "2.0.0", Text: "written to the outbox: " + path}, nil
}

// Close implements Sender.
func (o *Outbox) Close() error { return nil }
