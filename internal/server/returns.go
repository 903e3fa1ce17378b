package server

import (
	"context"
	"strings"
	"time"

	"simplesender/internal/app"
	"simplesender/internal/inbound"
	"simplesender/internal/ratelimit"
)

// returnsPoll is how often stored inbound messages are looked for, besides
// right after one arrives; retention is enforced hourly.
const returnsPoll = 5 * time.Second

// startReturns starts the inbound SMTP listener when one is configured,
// and the loop that reads what came back (on every instance: each message
// is applied once, by whichever instance finishes it first). done is closed
// when the loop has stopped (with ctx).
func (s *Server) startReturns(ctx context.Context, done chan<- struct{}) (*inbound.Server, error) {
	kick := s.returnsKick
	var srv *inbound.Server
	rc := s.Cfg.Returns
	if rc.InboundAddr != "" {
		verp := s.App.Returns.VERP
		var limiter ratelimit.Limiter
		if rc.InboundRate > 0 {
			limiter = ratelimit.NewMemory(nil)
		}
		var err error
		srv, err = inbound.Start(inbound.Config{
			Addr: rc.InboundAddr, Hostname: rc.BounceDomain, Log: s.Log,
			Limiter: limiter, Rate: ratelimit.Rule{Name: "inbound", Limit: rc.InboundRate, Window: time.Minute},
			Accept: func(_ context.Context, rcpt string) (inbound.Recipient, bool) {
				if _, ok := verp.FromAddress(rcpt); ok {
					return inbound.Recipient{Address: rcpt, Purpose: inbound.Bounce}, true
				}
				if rc.AbuseAddress != "" && strings.EqualFold(strings.TrimSpace(rcpt), rc.AbuseAddress) {
					return inbound.Recipient{Address: rcpt, Purpose: inbound.Abuse}, true
				}
				if m := s.Cfg.UnsubscribeMailto; m != "" && strings.EqualFold(strings.TrimSpace(rcpt), m) {
					return inbound.Recipient{Address: rcpt, Purpose: inbound.Unsubscribe}, true
				}
				return inbound.Recipient{}, false
			},
			Deliver: func(ctx context.Context, env inbound.Envelope) error {
				to := make([]string, len(env.To))
				for i, r := range env.To {
					to[i] = r.Address
				}
				source := app.SourceSMTP
				if env.To[0].Purpose == inbound.Unsubscribe {
					source = app.SourceUnsubscribeMail
				}
				if _, err := s.App.SaveReturned(ctx, source, env.RemoteIP, env.From, to, env.Data); err != nil {
					return err
				}
				s.kickReturns()
				return nil
			},
		})
		if err != nil {
			close(done)
			return nil, err
		}
		s.Log.Info("inbound SMTP listener for bounces and complaints", "addr", srv.Addr(), "domain", rc.BounceDomain)
	}
	mailboxDone := make(chan struct{})
	if mc := rc.Mailbox; mc != nil {
		go func() { defer close(mailboxDone); s.runMailbox(ctx, *mc, rc.MailboxInterval) }()
	} else {
		close(mailboxDone)
	}
	go func() {
		defer close(done)
		defer func() { <-mailboxDone }()
		tick := time.NewTicker(returnsPoll)
		defer tick.Stop()
		lastPurge := time.Time{}
		for {
			for {
				n, err := s.App.ProcessReturns(ctx, 100)
				if err != nil && ctx.Err() == nil {
					s.Log.Warn("reading what came back", "err", err)
				}
				if n < 100 || err != nil {
					break
				}
			}
			if time.Since(lastPurge) > time.Hour {
				lastPurge = time.Now()
				if n, err := s.DB.Store().ForgetInboundRaw(ctx, time.Now().Add(-rc.Retention)); err != nil && ctx.Err() == nil {
					s.Log.Warn("forgetting old inbound messages", "err", err)
				} else if n > 0 {
					s.Log.Info("forgot the text of old inbound messages", "count", n)
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			case <-kick:
			}
		}
	}()
	return srv, nil
}

// kickReturns makes the loop read what came back now.
func (s *Server) kickReturns() {
	select {
	case s.returnsKick <- struct{}{}:
	default:
	}
}
