package delivery

import (
	"context"
	"time"

	"simplesender/internal/store"
)

// recordDelay is the longest an outcome waits to be written with others.
const recordDelay = 5 * time.Millisecond

// maxExchanges is how many bookkeeping transactions may run at once: while
// one waits for the disk to confirm its commit, the next can be under way
// (PostgreSQL; SQLite's single writer takes them in turn).
const maxExchanges = 2

// housekeepEvery is how often the bookkeeper starts due runs and reads the
// cancelled ones while it is busy (at once when woken).
const housekeepEvery = 100 * time.Millisecond

// exchanged is the end of one bookkeeping transaction.
type exchanged struct {
	batch []store.Outcome
	claim int              // deliveries asked for (reserved in the in-flight count)
	after store.QueuePlace // where the claim looked from
	cs    []store.Claimed
	err   error
}

// bookkeeper is the engine's one writer of deliveries (docs/lifecycle.md,
// invariant 6). It starts due runs, and in one transaction per batch
// records the outcomes the senders report and claims new deliveries for
// the room they leave. A batch is written when half of InFlight is free,
// or when its oldest outcome has waited recordDelay.
type bookkeeper struct {
	e       *Engine
	ctx     context.Context
	work    chan<- store.Claimed
	results <-chan store.Outcome
	done    chan exchanged // ends of the exchanges under way
	timer   *time.Timer

	batch    []store.Outcome // outcomes not yet written
	oldest   time.Time       // when the batch's first outcome came
	inflight int             // claimed (or being claimed) and not yet recorded, batch included
	running  int             // exchanges under way
	place    store.QueuePlace

	woken                bool      // Wake was called: look for work at once
	nextPoll             time.Time // an idle engine looks for due deliveries again then
	retryAt              time.Time // after a failed write
	lastSweep, lastStart time.Time // of the housekeeping steps
	cancelErr            bool      // the last read of the cancelled runs failed
}

// loop runs the bookkeeper until ctx ends; then it stops claiming, closes
// work, records what is still in flight, and returns.
func (e *Engine) loop(ctx context.Context, work chan<- store.Claimed, results <-chan store.Outcome) {
	b := &bookkeeper{e: e, ctx: ctx, work: work, results: results, done: make(chan exchanged, maxExchanges),
		timer: time.NewTimer(e.cfg.Poll), woken: true}
	defer b.timer.Stop()
	for ctx.Err() == nil {
		b.drain()
		now := e.cfg.Now()
		b.housekeep(now)
		if b.exchange(now) {
			continue
		}
		b.wait(now)
	}
	b.stop()
}

// add puts an outcome into the batch.
func (b *bookkeeper) add(o store.Outcome) {
	if len(b.batch) == 0 {
		b.oldest = time.Now()
	}
	b.batch = append(b.batch, o)
}

// drain takes in, without waiting, the outcomes and the ends of exchanges
// that are ready.
func (b *bookkeeper) drain() {
	for {
		select {
		case o := <-b.results:
			b.add(o)
		case x := <-b.done:
			b.finish(x)
		default:
			return
		}
	}
}

// finish takes in the end of an exchange: its claims go to the senders,
// and it tells where the next claim looks and when. A failed exchange
// gives its outcomes back to the batch, to be written again a second later.
func (b *bookkeeper) finish(x exchanged) {
	b.running--
	if x.err != nil {
		if b.ctx.Err() == nil || len(x.batch) > 0 {
			b.e.log.Error("record outcomes and claim deliveries; retrying", "err", x.err, "outcomes", len(x.batch))
		}
		b.inflight -= x.claim
		for _, o := range x.batch {
			b.add(o)
		}
		b.retryAt = time.Now().Add(time.Second)
		return
	}
	b.inflight -= x.claim - len(x.cs) + len(x.batch)
	for _, c := range x.cs {
		b.work <- c // never blocks: work holds capacity
	}
	switch {
	case x.claim == 0:
	case len(x.cs) < x.claim:
		b.nextPoll = time.Now().Add(b.e.cfg.Poll) // nothing more due now
		b.place = store.QueuePlace{}              // the next claim looks from the start
	default:
		b.nextPoll = time.Time{} // more may be waiting
		if last := x.cs[len(x.cs)-1]; placeAfter(last, b.place) {
			b.place = store.QueuePlace{Due: last.Due, ID: last.ID}
		}
	}
}

// housekeep sweeps the deliveries of stopped instances every heartbeat,
// and starts due runs and reads the cancelled ones every housekeepEvery
// (at once when woken).
func (b *bookkeeper) housekeep(now time.Time) {
	if now.Sub(b.lastSweep) >= b.e.cfg.Heartbeat {
		b.e.sweep(b.ctx, now)
		b.lastSweep = now
	}
	if !b.woken && now.Sub(b.lastStart) < housekeepEvery {
		return
	}
	b.e.startDue(b.ctx, now)
	b.lastStart = now
	err := b.e.refreshCancelled(b.ctx)
	switch {
	case err != nil && b.ctx.Err() == nil && !b.cancelErr:
		// Logged once per outage; tried again at every turn until it works.
		b.e.log.Error("read cancelled runs; retrying", "err", err)
		b.cancelErr = true
	case err == nil && b.cancelErr:
		b.e.log.Info("read cancelled runs again")
		b.cancelErr = false
	}
}

// free is the room for claims once the batch is recorded.
func (b *bookkeeper) free() int { return b.e.cfg.InFlight - b.inflight + len(b.batch) }

// exchange starts one bookkeeping transaction when there is something to
// record or room to claim, and reports whether it did.
func (b *bookkeeper) exchange(now time.Time) bool {
	capacity := b.e.cfg.InFlight
	real := time.Now()
	free := b.free()
	paused := now.UnixNano() < b.e.paused.Load()
	claim := 0
	if free >= capacity/2 && (b.woken || !real.Before(b.nextPoll)) && !paused {
		claim = free
	}
	b.woken = false
	record := len(b.batch) > 0 && (claim > 0 || free >= capacity/2 || real.Sub(b.oldest) >= recordDelay)
	if claim == 0 && !record || real.Before(b.retryAt) || b.running >= maxExchanges {
		return false
	}
	x := exchanged{batch: b.batch, claim: claim, after: b.place}
	b.batch = nil
	b.inflight += claim
	b.running++
	go func() {
		x.cs, x.err = b.e.exchange(b.ctx, x.batch, now, x.claim, x.after)
		b.done <- x
	}()
	if claim > 0 {
		b.nextPoll = real.Add(b.e.cfg.Poll) // until this claim tells whether more wait
	}
	return true
}

// wait sleeps until an outcome or the end of an exchange comes, the batch
// is due to be written, a claim is due, a pause ends, the engine is woken
// or ctx ends; a failed write makes it wait for its retry.
func (b *bookkeeper) wait(now time.Time) {
	real := time.Now()
	wait := b.e.cfg.Poll
	if len(b.batch) > 0 {
		wait = min(wait, max(recordDelay-real.Sub(b.oldest), time.Millisecond))
	}
	if d := b.nextPoll.Sub(real); d > 0 && b.free() >= b.e.cfg.InFlight/2 {
		wait = min(wait, d)
	}
	if d := time.Duration(b.e.paused.Load() - now.UnixNano()); d > 0 {
		wait = min(wait, d)
	}
	if d := b.retryAt.Sub(real); d > 0 {
		wait = max(wait, d)
	}
	b.timer.Reset(wait)
	select {
	case <-b.ctx.Done():
	case <-b.e.wake:
		b.woken = true
	case o := <-b.results:
		b.add(o)
	case x := <-b.done:
		b.finish(x)
	case <-b.timer.C:
	}
}

// stop ends the loop: claims under way are sent (what they committed is in
// sending), then the senders finish what they hold, and every outcome is
// recorded, retried until the database answers: the messages went out, and
// their outcome must not be lost (if the process dies first, the
// deliveries become unknown).
func (b *bookkeeper) stop() {
	for b.running > 0 {
		b.finish(<-b.done)
	}
	close(b.work)
	for b.inflight > len(b.batch) {
		b.add(<-b.results)
	}
	bg := context.WithoutCancel(b.ctx)
	for len(b.batch) > 0 {
		if _, err := b.e.exchange(bg, b.batch, b.e.cfg.Now(), 0, store.QueuePlace{}); err != nil {
			b.e.log.Error("record outcomes; retrying", "err", err, "count", len(b.batch))
			time.Sleep(time.Second)
			continue
		}
		b.batch = b.batch[:0]
	}
}
