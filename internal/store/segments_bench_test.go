package store_test

import (
	"slices"
	"testing"
	"time"

	"simplesender"
	"simplesender/internal/store"
	"simplesender/internal/store/storetest"
)

// BenchmarkSegmentCount measures the live count of segments, as the editor
// asks for it, for a user with SIMPLESENDER_BENCH_RECIPIENTS recipients
// (default 1,000,000) on 20 lists, as BenchmarkRecipientsByList: one
// operation counts one of a few definitions in turn (on a list minus a
// tag; an address contains a text; on either of two lists; everyone); it
// reports the 95th percentile and the slowest. Then it starts a run to the
// segment of everyone (every recipient a delivery) and reports how long
// that took.
//
//	go test -run '^$' -bench SegmentCount -benchtime 20x -timeout 30m ./internal/store
func BenchmarkSegmentCount(b *testing.B) {
	n := benchRecipients()
	for _, engine := range storetest.Engines() {
		b.Run(engine, func(b *testing.B) {
			db, u, lists := seedBench(b, engine, n)
			s := db.Store()
			c := func(field, op string, v any) simplesender.Condition {
				return simplesender.Condition{Field: field, Op: op, Value: v}
			}
			defs := []simplesender.SegmentDefinition{
				{Match: "all", Conditions: []simplesender.Condition{c("list", "in", lists[0]), c("tag", "has_not", "vip")}},
				{Match: "all", Conditions: []simplesender.Condition{c("email", "contains", "r00012")}},
				{Match: "any", Conditions: []simplesender.Condition{c("list", "in", lists[1]), c("list", "in", lists[2])}},
				{Match: "all", Conditions: []simplesender.Condition{c("email", "contains", "@")}},
			}
			for i := range defs {
				if err := defs[i].Check(); err != nil {
					b.Fatal(err)
				}
			}
			var times []time.Duration
			i := 0
			for b.Loop() {
				d := defs[i%len(defs)]
				i++
				t0 := time.Now()
				if _, err := s.CountSegment(ctx, u.ID, d); err != nil {
					b.Fatal(err)
				}
				times = append(times, time.Since(t0))
			}
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)*95/100].Microseconds())/1000, "ms-p95")
			b.ReportMetric(float64(times[len(times)-1].Microseconds())/1000, "ms-max")

			everyone := &simplesender.Segment{OwnerID: u.ID, Name: "Everyone", Definition: defs[3]}
			if err := s.CreateSegment(ctx, everyone); err != nil {
				b.Fatal(err)
			}
			msg := &simplesender.Message{OwnerID: u.ID, Subject: "S", BodyText: "B"}
			if err := s.CreateMessage(ctx, msg); err != nil {
				b.Fatal(err)
			}
			m := &simplesender.Mailing{OwnerID: u.ID, MessageID: msg.ID}
			if err := s.CreateMailing(ctx, m, nil); err != nil {
				b.Fatal(err)
			}
			if err := s.SetMailingAudience(ctx, m.ID, []simplesender.AudienceRule{{Kind: simplesender.AudienceSegment, SegmentID: everyone.ID}}); err != nil {
				b.Fatal(err)
			}
			t0 := time.Now()
			var run *simplesender.Run
			err := db.InTx(ctx, func(s *store.Store) error {
				if err := s.RequestStart(ctx, u.ID, m.ID, db.Now(), simplesender.RunSend, "now", 0); err != nil {
					return err
				}
				var err error
				run, err = s.StartDue(ctx, m.ID, db.Now())
				return err
			})
			if err != nil || run == nil || run.Counts.Pending != n {
				b.Fatalf("start: %v, %+v, want %d deliveries", err, run, n)
			}
			b.ReportMetric(float64(time.Since(t0).Microseconds())/1000, "ms-run-start")
		})
	}
}
