// Package delivery is the sending engine. It starts runs whose time has come,
// claims due deliveries from the database in small batches, renders and
// sends each through a Sender over a fixed number of connections, and
// records every outcome with its attempt row, in batches. The database is
// the truth (docs/lifecycle.md): a delivery is marked sending before its message
// goes out, and one found in sending after a crash becomes unknown, never
// resent on its own. Memory does not grow with a mailing's size: at most a
// few deliveries per connection are held at once.
package delivery

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"simplesender"
	"simplesender/internal/bounce"
	"simplesender/internal/mailer"
	"simplesender/internal/render"
	"simplesender/internal/store"
	"simplesender/internal/unsubscribe"
)

// Config tunes the engine.
type Config struct {
	From mailer.Address
	// VERP, when set, makes each message's envelope sender and Message-ID
	// name its delivery, so that bounces and complaints find it.
	VERP  *bounce.VERP
	Conns int // messages sent at once (SMTP connections); default 10
	// InFlight is how many deliveries may be claimed (in sending) and not
	// yet recorded at once: the most that can turn unknown if the process
	// is killed. Claims and outcomes are written together in batches of
	// about half of it. Default 4 × Conns.
	InFlight int
	// Retry are the waits before the 2nd, 3rd, ... attempt after a temporary
	// failure; after the last one a delivery fails for good. Default
	// 1m, 5m, 15m, 30m, 1h, 2h, 4h (8 attempts over about 8 hours).
	Retry []time.Duration
	// Poll is how often an idle engine looks for work; default 250ms.
	Poll time.Duration
	// Heartbeat is how often the instance says it is alive; an instance
	// silent for 3 heartbeats is dead and its sending deliveries become
	// unknown. Default 5s.
	Heartbeat time.Duration
	// SendTimeout bounds one message; default 2 minutes.
	SendTimeout time.Duration
	Now         func() time.Time
	Logger      *slog.Logger
	// Unsubscribe gives every message its unsubscribe link, List-* headers
	// and, when the body does not place the link, a footer; nil: none.
	Unsubscribe *unsubscribe.Links
	// Words returns the default footer note and the link's label in lang
	// ("en" or "ru"); needed with Unsubscribe.
	Words func(lang string) (note, label string)
	// Metrics counts messages; may be nil.
	Metrics interface {
		EmailSent(kind string)
		EmailFailed(kind string)
	}
	// Signer DKIM-signs each message from its From domain; nil signs nothing.
	Signer Signer
	// SenderUsable reports whether owner may still send mailings from
	// address email (its domain verified or allowed, not forbidden). A
	// start that comes due from an address that may not be used is
	// dropped with a note instead of run; nil: every sender may be used.
	SenderUsable func(ctx context.Context, owner int64, email string) (bool, error)
}

// Signer DKIM-signs messages (a *dkim.Keyring).
type Signer interface {
	// Sign returns the header fields to put before msg, a message from
	// owner's domain, or nil when the domain has no key. An error of
	// KindInternal (the database) is passing; any other is the key's.
	Sign(ctx context.Context, owner int64, domain string, msg []byte) ([]byte, error)
}

// Store is what the engine needs of the database (a *store.DB): the
// engine depends on these operations only, not on the app around it.
type Store interface {
	Now() time.Time
	Heartbeat(ctx context.Context, id, host string, now time.Time) error
	RemoveInstance(ctx context.Context, id string) error
	// Exchange records outcomes and claims deliveries in one transaction.
	Exchange(ctx context.Context, instance string, now time.Time, outs []store.Outcome, limit int, after store.QueuePlace) ([]store.Claimed, error)
	SweepOrphans(ctx context.Context, self string, staleBefore, now time.Time) (int, error)
	CancelledRuns(ctx context.Context) (map[int64]bool, error)
	DueStarts(ctx context.Context, now time.Time, limit int) ([]int64, error)
	StartDue(ctx context.Context, id int64, now time.Time) (*simplesender.Run, error)
	RunByID(ctx context.Context, id int64) (*simplesender.Run, error)
	DueSender(ctx context.Context, id int64) (owner int64, email string, err error)
	RefuseStart(ctx context.Context, id int64, now time.Time, note string) (bool, error)
	SenderOf(ctx context.Context, id int64) (*store.Sender, error)
}

var _ Store = (*store.DB)(nil)

// DefaultRetry is the default retry schedule.
var DefaultRetry = []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 4 * time.Hour}

// Engine sends mailings.
type Engine struct {
	db     Store
	sender Sender
	cfg    Config
	id     string
	host   string
	log    *slog.Logger
	wake   chan struct{}

	paused atomic.Int64 // claim nothing before this time (Unix ns): every SMTP server rests

	mu        sync.Mutex
	runs      map[int64]*runInfo // parsed message of each run in progress
	cancelled map[int64]bool
}

type runInfo struct {
	run     *simplesender.Run
	msg     *render.Message
	from    mailer.Address  // the run's sender identity, or the service's address
	replyTo *mailer.Address // nil: none
	err     error
	// Of the unsubscribe link (with Config.Unsubscribe):
	lang   string // the recipient's language, as the message shows it
	listID string // the List-Id header
}

// New returns an engine; Run starts it.
func New(db Store, sender Sender, cfg Config) *Engine {
	if cfg.Conns <= 0 {
		cfg.Conns = 10
	}
	if cfg.InFlight < cfg.Conns {
		cfg.InFlight = 4 * cfg.Conns
	}
	if cfg.Retry == nil {
		cfg.Retry = DefaultRetry
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 250 * time.Millisecond
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 5 * time.Second
	}
	if cfg.SendTimeout <= 0 {
		cfg.SendTimeout = 2 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = db.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	b := make([]byte, 8)
	rand.Read(b)
	host, _ := os.Hostname()
	return &Engine{db: db, sender: sender, cfg: cfg, id: hex.EncodeToString(b), host: host,
		log: cfg.Logger.With("component", "delivery"), wake: make(chan struct{}, 1),
		runs: map[int64]*runInfo{}, cancelled: map[int64]bool{}}
}

// ID is this engine instance's id (claims carry it).
func (e *Engine) ID() string { return e.id }

// Wake makes an idle engine look for work at once (after "send now").
func (e *Engine) Wake() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Run works until ctx ends. Then it stops claiming, lets the messages in
// flight finish (each bounded by SendTimeout), records them, and returns.
func (e *Engine) Run(ctx context.Context) error {
	bg := context.WithoutCancel(ctx)
	if err := e.db.Heartbeat(bg, e.id, e.host, e.cfg.Now()); err != nil {
		return err
	}
	work := make(chan store.Claimed, e.cfg.InFlight)
	results := make(chan store.Outcome, e.cfg.InFlight)
	var senders sync.WaitGroup
	for range e.cfg.Conns {
		senders.Add(1)
		go func() {
			defer senders.Done()
			var buf buffers // reused: messages are built into it one after another
			for c := range work {
				results <- e.deliver(bg, c, &buf)
			}
		}()
	}
	beating := make(chan struct{})
	go func() {
		defer close(beating)
		e.beat(ctx)
	}()
	e.loop(ctx, work, results)
	senders.Wait()
	<-beating
	e.sender.Close()
	if err := e.db.RemoveInstance(bg, e.id); err != nil {
		e.log.Warn("remove instance", "err", err)
	}
	return nil
}

// placeAfter reports whether claimed delivery c lies after place p in the
// queue's order (due time, then id).
func placeAfter(c store.Claimed, p store.QueuePlace) bool {
	return c.Due.After(p.Due) || c.Due.Equal(p.Due) && c.ID > p.ID
}

// beat says the instance is alive every Heartbeat until ctx ends, on its
// own: a long piece of bookkeeping (starting a run of a million) must not
// make other instances take this one for dead and its deliveries for lost.
func (e *Engine) beat(ctx context.Context) {
	t := time.NewTicker(e.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := e.db.Heartbeat(ctx, e.id, e.host, e.cfg.Now()); err != nil && ctx.Err() == nil {
				e.log.Error("heartbeat", "err", err)
			}
		}
	}
}

// exchange records batch and claims up to claim deliveries in one
// transaction. Outcomes are written even when ctx has ended: the messages
// went out.
func (e *Engine) exchange(ctx context.Context, batch []store.Outcome, now time.Time, claim int, after store.QueuePlace) ([]store.Claimed, error) {
	if len(batch) > 0 {
		ctx = context.WithoutCancel(ctx)
	}
	return e.db.Exchange(ctx, e.id, now, batch, claim, after)
}

func (e *Engine) sweep(ctx context.Context, now time.Time) {
	n, err := e.db.SweepOrphans(ctx, e.id, now.Add(-3*e.cfg.Heartbeat), now)
	switch {
	case err != nil && ctx.Err() == nil:
		e.log.Error("sweep orphaned deliveries", "err", err)
	case n > 0:
		e.log.Warn("deliveries left by a stopped instance marked unknown", "count", n)
	}
}

// startDue starts the runs whose time has come.
func (e *Engine) startDue(ctx context.Context, now time.Time) {
	ids, err := e.db.DueStarts(ctx, now, 20)
	if err != nil {
		if ctx.Err() == nil {
			e.log.Error("find due mailings", "err", err)
		}
		return
	}
	for _, id := range ids {
		if ok, err := e.senderUsable(ctx, id); err != nil {
			if ctx.Err() == nil {
				e.log.Error("check the sender of a due mailing", "mailing", id, "err", err)
			}
			continue
		} else if !ok {
			refused, err := e.db.RefuseStart(ctx, id, now, simplesender.StartRefusedSender)
			switch {
			case err != nil:
				if ctx.Err() == nil {
					e.log.Error("refuse start", "mailing", id, "err", err)
				}
			case refused:
				e.log.Warn("start refused: the sender address may not be used", "mailing", id)
			}
			continue
		}
		run, err := e.db.StartDue(ctx, id, now)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				e.log.Error("start run", "mailing", id, "err", err)
			}
		case run != nil:
			e.log.Info("run started", "mailing", id, "run", run.ID, "number", run.Number, "deliveries", run.Counts.Pending,
				"kind", run.Kind, "trigger", run.Trigger)
		}
	}
}

// senderUsable reports whether due mailing id's sender may still be used
// (domains are verified, allowed and forbidden after a start was asked).
func (e *Engine) senderUsable(ctx context.Context, id int64) (bool, error) {
	if e.cfg.SenderUsable == nil {
		return true, nil
	}
	owner, email, err := e.db.DueSender(ctx, id)
	if simplesender.IsKind(err, simplesender.KindNotFound) {
		return true, nil // deleted meanwhile: StartDue finds nothing to start
	}
	if err != nil || email == "" {
		return err == nil, err
	}
	return e.cfg.SenderUsable(ctx, owner, email)
}

// refreshCancelled reads which runs are cancelled, for deliver to check
// before each message. On an error the last set stays and the error is
// returned: the caller logs it and tries again at its next turn, so that a
// cancel made meanwhile is still seen once the database answers.
func (e *Engine) refreshCancelled(ctx context.Context) error {
	c, err := e.db.CancelledRuns(ctx)
	if err != nil {
		return err
	}
	e.mu.Lock()
	e.cancelled = c
	e.mu.Unlock()
	return nil
}

func (e *Engine) isCancelled(run int64) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.cancelled[run]
}

// runFor returns the run's fixed message, parsed once.
func (e *Engine) runFor(ctx context.Context, id int64) *runInfo {
	e.mu.Lock()
	ri := e.runs[id]
	e.mu.Unlock()
	if ri != nil {
		return ri
	}
	ri = &runInfo{}
	ri.run, ri.err = e.db.RunByID(ctx, id)
	if ri.err == nil {
		ri.msg, ri.err = render.ParseMessageWith(ri.run.Subject, ri.run.BodyText, ri.run.BodyHTML, render.AnyCustom)
		ri.from = e.cfg.From
		if ri.run.FromEmail != "" {
			ri.from = mailer.Address{Name: ri.run.FromName, Email: ri.run.FromEmail}
		}
		if ri.run.ReplyTo != "" {
			ri.replyTo = &mailer.Address{Email: ri.run.ReplyTo}
		}
	}
	if ri.err == nil && e.cfg.Unsubscribe != nil {
		ri.err = e.unsubscribeInfo(ctx, ri)
	}
	e.mu.Lock()
	if len(e.runs) > 1000 {
		clear(e.runs)
	}
	e.runs[id] = ri
	e.mu.Unlock()
	return ri
}

// deliver renders and sends one message and classifies the outcome.
// buffers are the memory a sender reuses for one message after another.
type buffers struct {
	msg    bytes.Buffer // the message as built
	signed bytes.Buffer // its signature fields, then the message
}

func (e *Engine) deliver(ctx context.Context, c store.Claimed, buf *buffers) store.Outcome {
	ri := e.runFor(ctx, c.RunID)
	o := store.Outcome{DeliveryID: c.ID, RunID: c.RunID, Email: c.Email}
	if ri.run != nil {
		o.MailingID, o.OwnerID = ri.run.MailingID, ri.run.OwnerID
	}
	if ri.err != nil && simplesender.IsKind(ri.err, simplesender.KindInternal) {
		// A database hiccup: leave it for the next claim.
		o.Status, o.Cause, o.At = simplesender.DeliveryPending, simplesender.CauseRelease, e.cfg.Now()
		return o
	}
	// The claim read the suppression list in its own transaction: nothing
	// is built or sent, and the reason is kept as the last response.
	if c.Suppressed != "" {
		o.Status, o.Cause, o.At = simplesender.DeliverySuppressed, simplesender.CauseSuppressed, e.cfg.Now()
		o.Response = simplesender.SuppressedPrefix + string(c.Suppressed)
		return o
	}
	if ri.err != nil {
		o.Status, o.Cause, o.Attempted, o.At = simplesender.DeliveryFailed, simplesender.CausePermanent, true, e.cfg.Now()
		o.Response = "the message cannot be rendered: " + ri.err.Error()
		return o
	}
	// Checked before each message, so a cancel or disable stops at once.
	if e.isCancelled(c.RunID) {
		o.Status, o.Cause, o.At = simplesender.DeliveryCancelled, simplesender.CauseCancel, e.cfg.Now()
		return o
	}
	f := &render.Fields{Email: c.Email, FirstName: c.FirstName, LastName: c.LastName, MiddleName: c.MiddleName, Custom: c.Values}
	var token string
	if e.cfg.Unsubscribe != nil {
		token = e.cfg.Unsubscribe.Keys.Token(unsubscribe.Target{ID: c.ID, Lang: ri.lang})
		f.UnsubscribeURL = e.cfg.Unsubscribe.URL(token)
	}
	m := &mailer.Message{From: ri.from, ReplyTo: ri.replyTo, To: mailer.Address{Name: f.FullName(), Email: c.Email},
		Subject: ri.msg.Subject.String(f, false), Text: ri.msg.Text.String(f, false)}
	if ri.msg.HTML != nil {
		m.HTML = ri.msg.HTML.String(f, true)
	}
	if token != "" {
		m.Headers = e.cfg.Unsubscribe.Headers(token, ri.listID)
	}
	envelope := e.cfg.From.Email
	if v := e.cfg.VERP; v != nil {
		envelope = v.Address(c.ID)
		m.MessageID = v.MessageID(c.ID, "a"+strconv.Itoa(c.Attempts), cmp.Or(simplesender.DomainOf(ri.from.Email), "localhost"))
	}
	buf.msg.Reset()
	msgID, err := mailer.Build(&buf.msg, m, e.cfg.Now())
	if err != nil {
		o.Status, o.Cause, o.Attempted, o.At = simplesender.DeliveryFailed, simplesender.CausePermanent, true, e.cfg.Now()
		o.Response = "the message cannot be built: " + err.Error()
		return o
	}
	data := buf.msg.Bytes()
	if e.cfg.Signer != nil {
		sig, err := e.cfg.Signer.Sign(ctx, ri.run.OwnerID, simplesender.DomainOf(ri.from.Email), data)
		switch {
		case simplesender.IsKind(err, simplesender.KindInternal):
			o.Status, o.Cause, o.At = simplesender.DeliveryPending, simplesender.CauseRelease, e.cfg.Now()
			return o
		case err != nil:
			o.Status, o.Cause, o.Attempted, o.At = simplesender.DeliveryFailed, simplesender.CausePermanent, true, e.cfg.Now()
			o.Response = "the message cannot be signed: " + err.Error()
			return o
		case sig != nil:
			buf.signed.Reset()
			buf.signed.Write(sig)
			buf.signed.Write(data)
			data = buf.signed.Bytes()
		}
	}
	sctx, cancel := context.WithTimeout(ctx, e.cfg.SendTimeout)
	reply, err := e.sender.Send(sctx, envelope, c.Email, data)
	cancel()
	if re := (*RestingError)(nil); errors.As(err, &re) {
		// Nothing was tried: every server rests. Give the delivery back,
		// due when the first server is back, and claim no more till then
		// (a large mailing would otherwise burn an attempt per recipient).
		e.pauseUntil(re.Until)
		o.Status, o.Cause, o.At, o.NextAt = simplesender.DeliveryPending, simplesender.CauseRelease, e.cfg.Now(), re.Until
		return o
	}
	o.At, o.Attempted, o.MessageID = e.cfg.Now(), true, msgID
	e.classify(&o, c.Attempts, reply, err)
	return o
}

// classify sets the outcome's state from the server's answer, by the
// domain's rules (simplesender.Classify).
func (e *Engine) classify(o *store.Outcome, attempts int, reply mailer.Reply, err error) {
	e.count(err == nil)
	if err == nil {
		o.Code, o.Enhanced, o.Response = reply.Code, reply.Enhanced, reply.Text
	}
	f := sendFailure(err)
	if f != nil {
		var se *mailer.SMTPError
		if errors.As(err, &se) {
			o.Code, o.Enhanced, o.Response = se.Code, se.Enhanced, se.Message
			err = se // described by itself when the server said nothing
		}
		if o.Response == "" {
			o.Response = err.Error()
		}
	}
	v := simplesender.Classify(f, attempts, e.cfg.Retry, o.At)
	o.Status, o.Cause, o.NextAt = v.Status, v.Cause, v.NextAt
	if v.GaveUp {
		o.Response = "gave up after " + strconv.Itoa(attempts) + " attempts: " + o.Response
	}
}

// sendFailure describes a failed send for the domain's classification: an
// SMTP failure as the mailer reports it, anything else as a temporary
// failure of the connection. nil for no error.
func sendFailure(err error) *simplesender.SendFailure {
	if err == nil {
		return nil
	}
	var se *mailer.SMTPError
	if !errors.As(err, &se) {
		return &simplesender.SendFailure{Temporary: true}
	}
	return &simplesender.SendFailure{Stage: simplesender.SMTPStage(se.Stage), Code: se.Code, Temporary: se.Temporary,
		AfterData: se.AfterData}
}

// pauseUntil stops claiming until t (or a later pause's end).
func (e *Engine) pauseUntil(t time.Time) {
	for {
		old := e.paused.Load()
		if t.UnixNano() <= old || e.paused.CompareAndSwap(old, t.UnixNano()) {
			return
		}
	}
}

func (e *Engine) count(ok bool) {
	if e.cfg.Metrics == nil {
		return
	}
	if ok {
		e.cfg.Metrics.EmailSent("mailing")
	} else {
		e.cfg.Metrics.EmailFailed("mailing")
	}
}

// unsubscribeInfo reads what a run's messages need for their unsubscribe
// link: the owner's list name and footer, in the message's language.
func (e *Engine) unsubscribeInfo(ctx context.Context, ri *runInfo) error {
	sd, err := e.db.SenderOf(ctx, ri.run.OwnerID)
	if err != nil {
		return err
	}
	ri.lang = unsubscribe.Lang(ri.run.Subject, ri.run.BodyText)
	name := sd.Name
	if name == "" {
		name = sd.Email
	}
	ri.listID = e.cfg.Unsubscribe.ListIDHeader(ri.run.OwnerID, name)
	note, label := e.cfg.Words(ri.lang)
	if sd.Settings.FooterText != "" {
		note = sd.Settings.FooterText
	}
	ri.msg = (&unsubscribe.Footer{Note: note, Label: label, Postal: sd.Settings.PostalAddress}).Apply(ri.msg)
	return nil
}
