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
	"simplesender/internal/mailer"
	"simplesender/internal/render"
	"simplesender/internal/store"
)

// Config tunes the engine.
type Config struct {
	From  mailer.Address
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
	// Changed, when set, is told whose figures changed (after each batch of
	// outcomes and each run start), for cache invalidation.
	Changed func(ctx context.Context, owners []int64)
	// Metrics counts messages; may be nil.
	Metrics interface {
		EmailSent(kind string)
		EmailFailed(kind string)
	}
}

// DefaultRetry is the default retry schedule.
var DefaultRetry = []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 4 * time.Hour}

// Engine sends mailings.
type Engine struct {
	db     *store.DB
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
	run *simplesender.Run
	msg *render.Message
	err error
}

// New returns an engine; Run starts it.
func New(db *store.DB, sender Sender, cfg Config) *Engine {
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
			var buf bytes.Buffer // reused: messages are built into it one after another
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

// recordDelay is the longest an outcome waits to be written with others.
const recordDelay = 5 * time.Millisecond

// maxExchanges is how many bookkeeping transactions may run at once: while
// one waits for the disk to confirm its commit, the next can be under way
// (PostgreSQL; SQLite's single writer takes them in turn).
const maxExchanges = 2

// exchanged is the end of one bookkeeping transaction.
type exchanged struct {
	batch []store.Outcome
	claim int              // deliveries asked for (reserved in the in-flight count)
	after store.QueuePlace // where the claim looked from
	cs    []store.Claimed
	err   error
}

// loop is the engine's bookkeeper, the only one that writes deliveries: it
// starts due runs, and in one transaction per batch records the outcomes
// the senders report and claims new deliveries for the room they leave
// (docs/lifecycle.md, invariant 6). A batch is written when half of InFlight is
// free, or when its oldest outcome has waited recordDelay. When ctx ends it
// stops claiming, closes work, records what is still in flight, and
// returns.
func (e *Engine) loop(ctx context.Context, work chan<- store.Claimed, results <-chan store.Outcome) {
	bg := context.WithoutCancel(ctx)
	capacity := e.cfg.InFlight
	var batch []store.Outcome
	inflight := 0 // claimed (or being claimed) and not yet recorded, batch included
	var oldest time.Time
	add := func(o store.Outcome) {
		if len(batch) == 0 {
			oldest = time.Now()
		}
		batch = append(batch, o)
	}
	var lastSweep, lastStart time.Time
	var nextPoll time.Time // an idle engine looks for due deliveries again then
	var retryAt time.Time  // after a failed write
	woken := true
	var place store.QueuePlace // claims look for due deliveries after it
	running := 0
	done := make(chan exchanged, maxExchanges)
	finish := func(x exchanged) {
		running--
		if x.err != nil {
			if ctx.Err() == nil || len(x.batch) > 0 {
				e.log.Error("record outcomes and claim deliveries; retrying", "err", x.err, "outcomes", len(x.batch))
			}
			inflight -= x.claim
			for _, o := range x.batch { // to be written again
				add(o)
			}
			retryAt = time.Now().Add(time.Second)
			return
		}
		inflight -= x.claim - len(x.cs) + len(x.batch)
		for _, c := range x.cs {
			work <- c // never blocks: work holds capacity
		}
		switch {
		case x.claim == 0:
		case len(x.cs) < x.claim:
			nextPoll = time.Now().Add(e.cfg.Poll) // nothing more due now
			place = store.QueuePlace{}            // the next claim looks from the start
		default:
			nextPoll = time.Time{} // more may be waiting
			if last := x.cs[len(x.cs)-1]; placeAfter(last, place) {
				place = store.QueuePlace{Due: last.Due, ID: last.ID}
			}
		}
	}
	timer := time.NewTimer(e.cfg.Poll)
	defer timer.Stop()
	for ctx.Err() == nil {
		for drained := false; !drained; {
			select {
			case o := <-results:
				add(o)
			case x := <-done:
				finish(x)
			default:
				drained = true
			}
		}
		now := e.cfg.Now()
		if now.Sub(lastSweep) >= e.cfg.Heartbeat {
			e.sweep(ctx, now)
			lastSweep = now
		}
		if woken || now.Sub(lastStart) >= 100*time.Millisecond {
			e.startDue(ctx, now)
			e.refreshCancelled(ctx)
			lastStart = now
		}

		real := time.Now()
		free := capacity - inflight + len(batch) // room once the batch is recorded
		paused := now.UnixNano() < e.paused.Load()
		claim := 0
		if free >= capacity/2 && (woken || !real.Before(nextPoll)) && !paused {
			claim = free
		}
		woken = false
		record := len(batch) > 0 && (claim > 0 || free >= capacity/2 || real.Sub(oldest) >= recordDelay)
		if (claim > 0 || record) && !real.Before(retryAt) && running < maxExchanges {
			x := exchanged{batch: batch, claim: claim, after: place}
			batch = nil
			inflight += claim
			running++
			go func() {
				x.cs, x.err = e.exchange(ctx, x.batch, now, x.claim, x.after)
				done <- x
			}()
			if claim > 0 {
				nextPoll = real.Add(e.cfg.Poll) // until this claim tells whether more wait
			}
			continue
		}

		wait := e.cfg.Poll
		if len(batch) > 0 {
			wait = min(wait, max(recordDelay-real.Sub(oldest), time.Millisecond))
		}
		if d := nextPoll.Sub(real); d > 0 && free >= capacity/2 {
			wait = min(wait, d)
		}
		if d := time.Duration(e.paused.Load() - now.UnixNano()); d > 0 {
			wait = min(wait, d)
		}
		if d := retryAt.Sub(real); d > 0 {
			wait = max(wait, d)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
		case <-e.wake:
			woken = true
		case o := <-results:
			add(o)
		case x := <-done:
			finish(x)
		case <-timer.C:
		}
	}
	// Stopping: claims under way are sent (what they committed is in
	// sending), then the senders finish what they hold; every outcome is
	// recorded.
	for running > 0 {
		finish(<-done)
	}
	close(work)
	for inflight > len(batch) {
		add(<-results)
	}
	for len(batch) > 0 {
		if _, err := e.exchange(bg, batch, e.cfg.Now(), 0, store.QueuePlace{}); err != nil {
			// The messages went out; their outcome must not be lost. Retry
			// until the database answers (or the process dies, and the
			// deliveries become unknown).
			e.log.Error("record outcomes; retrying", "err", err, "count", len(batch))
			time.Sleep(time.Second)
			continue
		}
		batch = batch[:0]
	}
}

// exchange records batch and claims up to claim deliveries in one
// transaction, and tells whose figures changed. Outcomes are written even
// when ctx has ended: the messages went out.
func (e *Engine) exchange(ctx context.Context, batch []store.Outcome, now time.Time, claim int, after store.QueuePlace) ([]store.Claimed, error) {
	if len(batch) > 0 {
		ctx = context.WithoutCancel(ctx)
	}
	cs, err := e.db.Exchange(ctx, e.id, now, batch, claim, after)
	if err != nil {
		return nil, err
	}
	owners := map[int64]bool{}
	for _, o := range batch {
		owners[o.OwnerID] = true
	}
	e.changed(ctx, owners)
	return cs, nil
}

func (e *Engine) sweep(ctx context.Context, now time.Time) {
	n, owners, err := e.db.SweepOrphans(ctx, e.id, now.Add(-3*e.cfg.Heartbeat), now)
	switch {
	case err != nil && ctx.Err() == nil:
		e.log.Error("sweep orphaned deliveries", "err", err)
	case n > 0:
		ids := map[int64]bool{}
		for _, o := range owners {
			ids[o] = true
		}
		e.changed(ctx, ids)
		e.log.Warn("deliveries left by a stopped instance marked unknown", "count", n)
	}
}

// startDue starts the runs whose time has come.
func (e *Engine) startDue(ctx context.Context, now time.Time) {
	ids, err := e.db.Store().DueStarts(ctx, now, 20)
	if err != nil {
		if ctx.Err() == nil {
			e.log.Error("find due mailings", "err", err)
		}
		return
	}
	for _, id := range ids {
		var run *simplesender.Run
		err := e.db.InTx(ctx, func(s *store.Store) error {
			var err error
			run, err = s.StartDue(ctx, id, now)
			return err
		})
		switch {
		case err != nil:
			if ctx.Err() == nil {
				e.log.Error("start run", "mailing", id, "err", err)
			}
		case run != nil:
			e.changed(ctx, map[int64]bool{run.OwnerID: true})
			e.log.Info("run started", "mailing", id, "run", run.ID, "number", run.Number, "deliveries", run.Counts.Pending,
				"kind", run.Kind, "trigger", run.Trigger)
		}
	}
}

func (e *Engine) refreshCancelled(ctx context.Context) {
	c, err := e.db.CancelledRuns(ctx)
	if err != nil {
		return
	}
	e.mu.Lock()
	e.cancelled = c
	e.mu.Unlock()
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
	ri.run, ri.err = e.db.Store().RunByID(ctx, id)
	if ri.err == nil {
		ri.msg, ri.err = render.ParseMessage(ri.run.Subject, ri.run.BodyText, ri.run.BodyHTML)
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
func (e *Engine) deliver(ctx context.Context, c store.Claimed, buf *bytes.Buffer) store.Outcome {
	ri := e.runFor(ctx, c.RunID)
	o := store.Outcome{DeliveryID: c.ID, RunID: c.RunID, Email: c.Email}
	if ri.run != nil {
		o.MailingID, o.OwnerID = ri.run.MailingID, ri.run.OwnerID
	}
	if ri.err != nil {
		if simplesender.IsKind(ri.err, simplesender.KindInternal) {
			// A database hiccup: leave it for the next claim.
			o.Status, o.At = simplesender.DeliveryPending, e.cfg.Now()
			return o
		}
		o.Status, o.Attempted, o.At, o.Response = simplesender.DeliveryFailed, true, e.cfg.Now(), "the message cannot be rendered: "+ri.err.Error()
		return o
	}
	// Checked before each message, so a cancel or disable stops at once.
	if e.isCancelled(c.RunID) {
		o.Status, o.At = simplesender.DeliveryCancelled, e.cfg.Now()
		return o
	}
	f := &render.Fields{Email: c.Email, FirstName: c.FirstName, LastName: c.LastName, MiddleName: c.MiddleName}
	m := &mailer.Message{From: e.cfg.From, To: mailer.Address{Name: f.FullName(), Email: c.Email},
		Subject: ri.msg.Subject.String(f, false), Text: ri.msg.Text.String(f, false)}
	if ri.msg.HTML != nil {
		m.HTML = ri.msg.HTML.String(f, true)
	}
	buf.Reset()
	msgID, err := mailer.Build(buf, m, e.cfg.Now())
	if err != nil {
		o.Status, o.Attempted, o.At = simplesender.DeliveryFailed, true, e.cfg.Now()
		o.Response = "the message cannot be built: " + err.Error()
		return o
	}
	sctx, cancel := context.WithTimeout(ctx, e.cfg.SendTimeout)
	reply, err := e.sender.Send(sctx, e.cfg.From.Email, c.Email, buf.Bytes())
	cancel()
	if re := (*RestingError)(nil); errors.As(err, &re) {
		// Nothing was tried: every server rests. Give the delivery back,
		// due when the first server is back, and claim no more till then
		// (a large mailing would otherwise burn an attempt per recipient).
		e.pauseUntil(re.Until)
		o.Status, o.At, o.NextAt = simplesender.DeliveryPending, e.cfg.Now(), re.Until
		return o
	}
	o.At, o.Attempted, o.MessageID = e.cfg.Now(), true, msgID
	e.classify(&o, c.Attempts, reply, err)
	return o
}

// classify sets the outcome's state from the server's answer.
func (e *Engine) classify(o *store.Outcome, attempts int, reply mailer.Reply, err error) {
	if err == nil {
		o.Status, o.Code, o.Enhanced, o.Response = simplesender.DeliverySent, reply.Code, reply.Enhanced, reply.Text
		e.count(true)
		return
	}
	e.count(false)
	var se *mailer.SMTPError
	if errors.As(err, &se) {
		o.Code, o.Enhanced, o.Response = se.Code, se.Enhanced, se.Message
		if o.Response == "" {
			o.Response = se.Error()
		}
	} else {
		o.Response = err.Error()
	}
	permanent := se != nil && !se.Temporary && !se.AfterData &&
		(se.Stage == mailer.StageRcpt || se.Stage == mailer.StageData || se.Stage == mailer.StageDataEnd)
	switch {
	case mailer.IsUnknownOutcome(err):
		o.Status = simplesender.DeliveryUnknown
	case permanent:
		o.Status = simplesender.DeliveryFailed
	case attempts > len(e.cfg.Retry):
		o.Status = simplesender.DeliveryFailed
		o.Response = "gave up after " + strconv.Itoa(attempts) + " attempts: " + o.Response
	default:
		// Temporary, or a server or account problem rather than this
		// recipient's (5xx before RCPT): try again later.
		o.Status = simplesender.DeliveryDeferred
		o.NextAt = o.At.Add(e.cfg.Retry[attempts-1])
	}
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

func (e *Engine) changed(ctx context.Context, owners map[int64]bool) {
	if e.cfg.Changed == nil || len(owners) == 0 {
		return
	}
	ids := make([]int64, 0, len(owners))
	for id := range owners {
		if id != 0 {
			ids = append(ids, id)
		}
	}
	e.cfg.Changed(ctx, ids)
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
