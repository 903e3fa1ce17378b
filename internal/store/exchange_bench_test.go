package store_test

import (
	"fmt"
	"strconv"
	"testing"

	"simplesender"
	"simplesender/internal/store"
	"simplesender/internal/store/storetest"
)

// BenchmarkExchange measures the engine's bookkeeping alone: each
// operation records one batch of outcomes (sent, with an attempt row) and
// claims as many new deliveries, in one transaction, the way the engine
// does at full speed. ns/op divided by the batch size is the database's
// share of the cost of one message.
//
//	go test -run '^$' -bench Exchange -benchtime 2000x ./internal/store
func BenchmarkExchange(b *testing.B) {
	for _, engine := range storetest.Engines() {
		for _, batch := range []int{10, 20, 40} {
			b.Run(engine+"/batch="+strconv.Itoa(batch), func(b *testing.B) {
				db := storetest.Open(b, storetest.NewURL(b, engine))
				u := newUser("bench@example.com")
				if err := db.Store().CreateUser(ctx, u); err != nil {
					b.Fatal(err)
				}
				rig := &reportRig{db: db, owner: u, msg: &simplesender.Message{OwnerID: u.ID, Subject: "S", BodyText: "B"}}
				if err := db.Store().CreateMessage(ctx, rig.msg); err != nil {
					b.Fatal(err)
				}
				n := (b.N + 2) * batch
				if err := db.Store().BulkRecipients(ctx, u.ID, n, func(i int) simplesender.Recipient {
					return simplesender.Recipient{Email: fmt.Sprintf("r%d@example.com", i), FirstName: "Имя"}
				}); err != nil {
					b.Fatal(err)
				}
				startAll(b, rig)
				now := db.Now().Add(1)
				cs, err := db.Exchange(ctx, "bench", now, nil, batch, store.QueuePlace{})
				if err != nil {
					b.Fatal(err)
				}
				outs := make([]store.Outcome, 0, batch)
				b.ResetTimer()
				for range b.N {
					outs = outs[:0]
					for _, c := range cs {
						outs = append(outs, store.Outcome{DeliveryID: c.ID, RunID: c.RunID, MailingID: 1, OwnerID: u.ID,
							Email: c.Email, Status: simplesender.DeliverySent, Attempted: true, At: now, Code: 250,
							Enhanced: "2.0.0", Response: "2.0.0 Ok: queued as 4ABCDEF0123", MessageID: "<" + strconv.FormatInt(c.ID, 10) + ".x@example.com>"})
					}
					last := cs[len(cs)-1]
					if cs, err = db.Exchange(ctx, "bench", now, outs, batch, store.QueuePlace{Due: last.Due, ID: last.ID}); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch)/1000, "µs/msg")
			})
		}
	}
}

// startAll starts a run of a mailing to all of the rig owner's recipients.
func startAll(b *testing.B, r *reportRig) {
	s := r.db.Store()
	var ids []int64
	for off := 0; ; off += 500 {
		page, _, err := s.ListRecipients(ctx, r.owner.ID, store.ListFilter{Limit: 500, Offset: off})
		if err != nil {
			b.Fatal(err)
		}
		for _, rc := range page {
			ids = append(ids, rc.ID)
		}
		if len(page) < 500 {
			break
		}
	}
	m := &simplesender.Mailing{OwnerID: r.owner.ID, MessageID: r.msg.ID}
	if err := s.CreateMailing(ctx, m, ids); err != nil {
		b.Fatal(err)
	}
	now := r.db.Now()
	err := r.db.InTx(ctx, func(s *store.Store) error {
		if err := s.RequestStart(ctx, r.owner.ID, m.ID, now, simplesender.RunSend, "now", 0); err != nil {
			return err
		}
		_, err := s.StartDue(ctx, m.ID, now)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
}
