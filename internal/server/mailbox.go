package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"time"

	"simplesender/internal/mailbox"
)

// mailboxLease names the lease of the instance that polls the bounce
// mailbox: two instances polling at once would fetch the same messages.
const mailboxLease = "bounce-mailbox"

// mailboxPollTimeout bounds one poll; the lease outlives it.
const mailboxPollTimeout = 2 * time.Minute

// runMailbox polls the bounce mailbox every interval until ctx ends, when
// this instance holds the lease (one instance at a time polls; another
// takes over when the holder has stopped renewing it). Each fetched message
// is stored, through the path of the inbound listener, before it is deleted
// or moved on the server.
func (s *Server) runMailbox(ctx context.Context, mc mailbox.Config, interval time.Duration) {
	holder := instanceName()
	lease := interval + mailboxPollTimeout + 30*time.Second
	defer func() {
		// Let another instance take over at once after a clean stop.
		bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		s.App.DropLease(bg, mailboxLease, holder) //nolint:errcheck
	}()
	s.Log.Info("polling the bounce mailbox", "mailbox", mc.String(), "every", interval)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if n, err := s.pollMailbox(ctx, mc, holder, lease); err != nil && ctx.Err() == nil {
			s.Log.Warn("polling the bounce mailbox", "err", err, "kept", n)
		} else if n > 0 {
			s.Log.Info("fetched from the bounce mailbox", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// pollMailbox polls the mailbox once when this instance has the lease, and
// returns how many messages it kept.
func (s *Server) pollMailbox(ctx context.Context, mc mailbox.Config, holder string, lease time.Duration) (int, error) {
	ok, err := s.App.TakeLease(ctx, mailboxLease, holder, lease)
	if err != nil || !ok {
		return 0, err
	}
	pctx, cancel := context.WithTimeout(ctx, mailboxPollTimeout)
	defer cancel()
	source := mc.String()
	n, err := mailbox.Poll(pctx, mc, func(ctx context.Context, raw []byte) error {
		_, err := s.App.SaveFromMailbox(ctx, source, raw)
		return err
	})
	if n > 0 {
		s.kickReturns()
	}
	return n, err
}

// instanceName names this process in leases: its host and a random part.
func instanceName() string {
	host, _ := os.Hostname()
	b := make([]byte, 6)
	rand.Read(b)
	return host + "-" + hex.EncodeToString(b)
}
