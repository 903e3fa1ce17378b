package delivery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"simplesender"
	"simplesender/internal/mailer"
)

// ErrAllResting is the cause of the error Servers.Send returns when every
// server is resting: the message was not handed over and may be sent later.
var ErrAllResting = errors.New("every SMTP server is resting after repeated failures")

// RestingError says every server rests until Until; it matches
// ErrAllResting with errors.Is.
type RestingError struct{ Until time.Time }

func (e *RestingError) Error() string {
	return ErrAllResting.Error() + "; the next is tried again at " + e.Until.UTC().Format(time.RFC3339)
}

// Is reports whether target is ErrAllResting.
func (e *RestingError) Is(target error) bool { return target == ErrAllResting }

// ServerStatus is what Servers.Status tells about one server.
type ServerStatus = simplesender.SMTPServerStatus

// ServerConfig is one SMTP server of a Servers sender.
type ServerConfig struct {
	SMTP  *mailer.SMTP
	Conns int     // most connections open at once; at least 1
	Rate  float64 // most messages per second; 0: no limit
}

// ServersOptions tune Servers; the zero value is the production setting.
type ServersOptions struct {
	// FailAfter is how many server failures in a row rest a server;
	// default 5.
	FailAfter int
	// Rest is how long a server first rests; each rest that follows a
	// failure right after the previous rest doubles it, up to MaxRest.
	// Defaults: 1 minute, 10 minutes.
	Rest    time.Duration
	MaxRest time.Duration
	// Now is the clock of rests and rate limits; default time.Now.
	Now func() time.Time
	// Sleep waits d, or until ctx ends with its error; default a timer.
	// Tests replace it (with Now) to need no real waiting.
	Sleep  func(ctx context.Context, d time.Duration) error
	Logger *slog.Logger
}

// Servers is a Sender over several SMTP servers, used in turn. Each server
// has its own pool of connections and its own rate limit (a token bucket:
// Rate messages per second, in bursts of up to Rate rounded up). A server
// that fails FailAfter times in a row for reasons of its own (it cannot be
// reached, TLS, greeting, EHLO or AUTH fails, it times out, drops the
// connection, answers 421, or refuses MAIL) rests: it is skipped until the
// rest ends. A refused recipient or message is not the server's failure.
// It is safe for concurrent use.
type Servers struct {
	opt ServersOptions
	log *slog.Logger

	mu   sync.Mutex
	list []*server
	next int // the server whose turn it is
}

type server struct {
	url   mailer.SMTPURL
	pool  *Pool
	conns int
	rate  float64

	// Guarded by Servers.mu.
	bucket    bucket
	inUse     int // sends that hold or wait for a connection or a token
	failures  int // server failures in a row
	rests     int // rests in a row, without a success in between
	restUntil time.Time
	sent      int64
	failed    int64
	lastErr   string
	lastErrAt time.Time
}

// NewServers returns a sender over list, in that order. Errors: an empty
// list, or a server without SMTP.
func NewServers(list []ServerConfig, opt ServersOptions) (*Servers, error) {
	if len(list) == 0 {
		return nil, errors.New("delivery: no SMTP server")
	}
	if opt.FailAfter <= 0 {
		opt.FailAfter = 5
	}
	if opt.Rest <= 0 {
		opt.Rest = time.Minute
	}
	if opt.MaxRest <= 0 {
		opt.MaxRest = 10 * time.Minute
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Sleep == nil {
		opt.Sleep = sleep
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Servers{opt: opt, log: opt.Logger.With("component", "smtp")}
	now := opt.Now()
	for i, c := range list {
		if c.SMTP == nil {
			return nil, fmt.Errorf("delivery: SMTP server %d missing", i+1)
		}
		conns := max(c.Conns, 1)
		s.list = append(s.list, &server{url: c.SMTP.URL(), pool: NewPool(c.SMTP, conns), conns: conns,
			rate: c.Rate, bucket: newBucket(c.Rate, now)})
	}
	return s, nil
}

// Conns is the sum of the servers' connections: how many messages may be
// on their way at once.
func (s *Servers) Conns() int {
	n := 0
	for _, sv := range s.list {
		n += sv.conns
	}
	return n
}

// Send implements Sender: it takes the next server that is not resting
// (preferring one with a free connection and a token at hand), waits for a
// token of its rate limit, and sends through its pool. When every server
// rests it returns at once a temporary *mailer.SMTPError wrapping
// ErrAllResting: nothing was handed over.
func (s *Servers) Send(ctx context.Context, from, to string, data []byte) (mailer.Reply, error) {
	sv, wait, err := s.pick()
	if err != nil {
		return mailer.Reply{}, err
	}
	if wait > 0 {
		if err := s.waitToken(ctx, sv, wait); err != nil {
			s.unpick(sv)
			return mailer.Reply{}, err
		}
	}
	reply, err := sv.pool.Send(ctx, from, to, data)
	s.done(sv, err)
	return reply, err
}

// pick chooses the server for one message and takes a token from it; wait
// is how long until that token is due.
func (s *Servers) pick() (sv *server, wait time.Duration, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opt.Now()
	best, bestWait, bestFree := -1, time.Duration(0), false
	var soonest time.Time
	for i := range s.list {
		idx := (s.next + i) % len(s.list)
		c := s.list[idx]
		if now.Before(c.restUntil) {
			if soonest.IsZero() || c.restUntil.Before(soonest) {
				soonest = c.restUntil
			}
			continue
		}
		// In turn, unless a later server can send sooner: a free
		// connection first, then the earliest token.
		w, free := c.bucket.wait(now), c.inUse < c.conns
		if best < 0 || free && !bestFree || free == bestFree && w < bestWait {
			best, bestWait, bestFree = idx, w, free
		}
		if free && w == 0 {
			break
		}
	}
	if best < 0 {
		return nil, 0, &mailer.SMTPError{Stage: mailer.StageConnect, Temporary: true,
			Err: &RestingError{Until: soonest}}
	}
	s.next = (best + 1) % len(s.list)
	sv = s.list[best]
	sv.inUse++
	return sv, sv.bucket.take(now), nil
}

// waitToken waits for the token pick took, failing at once when it would
// come after ctx's deadline.
func (s *Servers) waitToken(ctx context.Context, sv *server, wait time.Duration) error {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
		return fmt.Errorf("the rate limit of %s (%g messages per second) allows the next message in %s, later than the send may take",
			sv.url.Addr(), sv.rate, wait.Round(time.Millisecond))
	}
	return s.opt.Sleep(ctx, wait)
}

// unpick gives back what pick took, for a message that was not sent.
func (s *Servers) unpick(sv *server) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sv.inUse--
	sv.bucket.giveBack()
}

// done records the outcome of a send through sv, and rests sv when it has
// failed too often.
func (s *Servers) done(sv *server, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sv.inUse--
	now := s.opt.Now()
	resting := now.Before(sv.restUntil) // a send begun before the rest
	if err == nil {
		sv.sent++
		if !resting {
			sv.failures, sv.rests = 0, 0
		}
		return
	}
	sv.failed++
	sv.lastErr, sv.lastErrAt = err.Error(), now
	if !serverFault(err) || resting {
		return
	}
	sv.failures++
	// After a rest the server is on trial: one failure rests it again.
	if sv.failures < s.opt.FailAfter && sv.rests == 0 {
		return
	}
	d := s.opt.Rest // doubled for each rest before, up to MaxRest (never past it: no overflow)
	for i := 0; i < sv.rests && d < s.opt.MaxRest; i++ {
		d *= 2
	}
	d = min(d, s.opt.MaxRest)
	sv.restUntil = now.Add(d)
	sv.rests++
	s.log.Warn("SMTP server rested after repeated failures", "server", sv.url.String(), "failures", sv.failures,
		"until", sv.restUntil, "err", err)
}

// serverFault reports whether err is the server's failure rather than the
// recipient's or the message's: no answer at all (it cannot be reached,
// TLS, a timeout, a dropped connection), a 421 (closing), or a refusal
// before RCPT (greeting, EHLO, STARTTLS, AUTH, MAIL). Our own cancellation,
// an invalid address, or waiting for a free connection are nobody's fault.
func serverFault(err error) bool {
	var se *mailer.SMTPError
	if !errors.As(err, &se) || errors.Is(err, context.Canceled) {
		return false
	}
	if se.Code == 0 || se.Code == 421 {
		return true
	}
	switch se.Stage {
	case mailer.StageRcpt, mailer.StageData, mailer.StageDataEnd:
		return false
	}
	return true
}

// Status returns each server's settings and state, in configuration order.
// It never holds a password.
func (s *Servers) Status() []ServerStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opt.Now()
	out := make([]ServerStatus, 0, len(s.list))
	for _, sv := range s.list {
		st := ServerStatus{Addr: sv.url.Addr(), TLS: sv.url.TLSMode(), User: sv.url.Username, Conns: sv.conns,
			IdleTimeout: sv.pool.smtp.IdleTimeout(), InUse: sv.pool.InUse(),
			Rate: sv.rate, Burst: int(sv.bucket.burst), State: simplesender.SMTPServerOK, Failures: sv.failures, Sent: sv.sent, Failed: sv.failed,
			LastError: sv.lastErr, LastErrorAt: sv.lastErrAt}
		if now.Before(sv.restUntil) {
			st.State, st.RestingUntil = simplesender.SMTPServerResting, sv.restUntil
		}
		out = append(out, st)
	}
	return out
}

// Close closes every server's idle connections.
func (s *Servers) Close() error {
	var errs []error
	for _, sv := range s.list {
		errs = append(errs, sv.pool.Close())
	}
	return errors.Join(errs...)
}

// bucket is a token bucket: rate tokens a second, at most burst kept. A
// token taken when none is left is owed (tokens goes below zero), and its
// taker waits until it is due, so that waiting senders are served in the
// order they came.
type bucket struct {
	rate   float64 // 0: no limit
	burst  float64
	tokens float64
	at     time.Time // when tokens was last brought up to date
}

func newBucket(rate float64, now time.Time) bucket {
	burst := max(1, math.Ceil(rate))
	return bucket{rate: rate, burst: burst, tokens: burst, at: now}
}

// refill brings tokens up to now.
func (b *bucket) refill(now time.Time) {
	if now.After(b.at) {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.at).Seconds()*b.rate)
		b.at = now
	}
}

// wait is how long until a token is due, without taking it.
func (b *bucket) wait(now time.Time) time.Duration {
	if b.rate <= 0 {
		return 0
	}
	b.refill(now)
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration(math.Ceil((1 - b.tokens) / b.rate * float64(time.Second)))
}

// take takes a token and returns how long until it is due.
func (b *bucket) take(now time.Time) time.Duration {
	w := b.wait(now)
	if b.rate > 0 {
		b.tokens--
	}
	return w
}

// giveBack returns a token taken for a message that was not sent.
func (b *bucket) giveBack() {
	if b.rate > 0 {
		b.tokens = min(b.burst, b.tokens+1)
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Send implements mailer.Transport for e-mails outside mailings (account
// e-mails): it builds m and sends it through the servers in turn, like a
// mailing's message, so a resting or failing server is passed over for
// them too.
func (t ServersTransport) Send(ctx context.Context, m *mailer.Message) (mailer.Result, error) {
	var buf bytes.Buffer
	id, err := mailer.Build(&buf, m, time.Now())
	if err != nil {
		return mailer.Result{}, err
	}
	reply, err := t.Servers.Send(ctx, m.From.Email, m.To.Email, buf.Bytes())
	return mailer.Result{MessageID: id, Reply: reply}, err
}

// ServersTransport is Servers as a mailer.Transport.
type ServersTransport struct{ *Servers }
