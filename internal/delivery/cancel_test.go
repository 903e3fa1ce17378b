package delivery_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/delivery"
	"simplesender/internal/store"
	"simplesender/internal/store/storetest"
)

// flakyCancels is the real database whose reads of the cancelled runs fail
// while failing is set: a database that stops answering for a moment.
type flakyCancels struct {
	*store.DB
	failing atomic.Bool
	failed  atomic.Int32
}

func (f *flakyCancels) CancelledRuns(ctx context.Context) (map[int64]bool, error) {
	if f.failing.Load() {
		f.failed.Add(1)
		return nil, errors.New("read tcp: connection reset by peer")
	}
	return f.DB.CancelledRuns(ctx)
}

// syncBuffer is a log sink that tests read while the engine writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestCancelSeenAfterAStoreError: the engine holds every delivery of a
// run when its owner cancels it, and its reads of the cancelled runs fail
// for a moment. The failure is logged, and once the database answers again
// the engine sees the cancel and stops the messages it still holds.
func TestCancelSeenAfterAStoreError(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		var flaky *flakyCancels
		var logs syncBuffer
		r := newRigOn(t, dbURL, func(db *store.DB) delivery.Store { flaky = &flakyCancels{DB: db}; return flaky },
			func(c *delivery.Config) {
				c.Conns, c.InFlight = 2, 200 // every delivery claimed at once: only the engine's check stops them
				c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			}, func(d *app.Deps) { d.RepeatWindow = -1 })
		r.smtp.Delay = 40 * time.Millisecond
		var emails []string
		for i := range 100 {
			emails = append(emails, fmt.Sprintf("f%03d@example.com", i))
		}
		m := r.mailing(t, "Flaky", emails...)
		if err := r.env.App.SendNow(ctx, r.owner, m.ID, "now"); err != nil {
			t.Fatal(err)
		}
		r.wait(t, m.ID, "a few sends", func(m *simplesender.Mailing) bool { return m.Counts.Sent >= 3 })
		flaky.failing.Store(true)
		if err := r.env.App.CancelMailing(ctx, r.owner, m.ID); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for flaky.failed.Load() < 3 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		flaky.failing.Store(false)
		m = r.wait(t, m.ID, "the cancelled run to finish", finished)
		if m.Counts.Cancelled < 30 || m.Counts.Sent+m.Counts.Cancelled != 100 {
			t.Errorf("after the cancel: %+v; want most cancelled, the rest sent", m.Counts)
		}
		if got := r.smtp.Accepted(); got != m.Counts.Sent {
			t.Errorf("server accepted %d, recorded sent %d", got, m.Counts.Sent)
		}
		if !strings.Contains(logs.String(), "read cancelled runs; retrying") {
			t.Errorf("the failed reads were not logged:\n%s", logs.String())
		}
	})
}
