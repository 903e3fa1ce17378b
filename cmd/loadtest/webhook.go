package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"simplesender/internal/store"
)

// withWebhook is the -webhook flag.
var withWebhook bool

// hookReceiver is the owner's webhook endpoint: it counts the distinct
// events it receives and notes when the last one came.
type hookReceiver struct {
	srv *httptest.Server

	mu       sync.Mutex
	seen     map[string]bool
	requests int
	last     time.Time
}

// startHookReceiver serves an endpoint and gives owner a webhook to it.
func startHookReceiver(ctx context.Context, db *store.DB, owner int64) (*hookReceiver, error) {
	h := &hookReceiver{seen: map[string]bool{}}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			Events []struct {
				ID string `json:"id"`
			} `json:"events"`
		}
		if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		h.requests++
		for _, e := range b.Events {
			h.seen[e.ID] = true
		}
		h.last = time.Now()
		h.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	err := db.Store().CreateWebhook(ctx, &store.Webhook{OwnerID: owner, URL: h.srv.URL, Events: []string{"delivery.sent", "delivery.failed"},
		Secret: "whsec_load", Enabled: true})
	return h, err
}

func (h *hookReceiver) close() { h.srv.Close() }

// report waits (up to two minutes) for want events and prints how long
// after the send finished the last one arrived.
func (h *hookReceiver) report(want int, finished time.Time) {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		h.mu.Lock()
		n, reqs, last := len(h.seen), h.requests, h.last
		h.mu.Unlock()
		if n >= want || time.Now().After(deadline) {
			fmt.Printf("webhook:         %d of %d events in %d requests, the last %s after the send finished\n",
				n, want, reqs, last.Sub(finished).Round(time.Millisecond))
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}
