package server

import (
	"context"
	"time"

	"simplesender/internal/app"
)

// userhooksPoll is how often the webhook dispatcher looks for events and
// due batches, unless the last round sent as many as a round may: the
// events of the deliveries finished meanwhile go in full batches, and
// sending shares the database writer with a round every few seconds only.
const userhooksPoll = 2 * time.Second

// runUserhooks runs users' webhook dispatcher until ctx ends (on every
// instance: each batch is leased by one), and cleans its old batches and
// log hourly. done is closed when it has stopped.
func (s *Server) runUserhooks(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	tick := time.NewTicker(userhooksPoll)
	defer tick.Stop()
	lastClean := time.Time{}
	for {
		n, err := s.App.DispatchWebhooks(ctx)
		if err != nil && ctx.Err() == nil {
			s.Log.Warn("users' webhooks", "err", err)
		}
		if time.Since(lastClean) > time.Hour {
			if err := s.App.CleanWebhooks(ctx); err != nil && ctx.Err() == nil {
				s.Log.Warn("cleaning users' webhooks", "err", err)
			}
			lastClean = time.Now()
		}
		if n >= app.WebhookSendMax && err == nil {
			continue // a full round: more are due
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
