package store_test

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"simplesender"
	"simplesender/internal/store"
	"simplesender/internal/store/storetest"
)

// BenchmarkRecipientsByList measures the recipients page filtered by a
// list for a user with SIMPLESENDER_BENCH_RECIPIENTS recipients (default
// 1,000,000) on 20 lists (each on one, a tenth also on a second): one
// operation reads the first page of 50 and the total, as the page does; it
// reports the 95th percentile. It also reports how long the audience "list
// A minus a tag" takes to count, as the mailing page does, and how long the
// start of a run to it takes (the audience resolved into deliveries).
//
//	go test -run '^$' -bench RecipientsByList -benchtime 50x -timeout 30m ./internal/store
func BenchmarkRecipientsByList(b *testing.B) {
	n := benchRecipients()
	for _, engine := range storetest.Engines() {
		b.Run(engine, func(b *testing.B) {
			db, u, lists := seedBench(b, engine, n)
			s := db.Store()

			m := &simplesender.Mailing{OwnerID: u.ID, MessageID: 0}
			msg := &simplesender.Message{OwnerID: u.ID, Subject: "S", BodyText: "B"}
			if err := s.CreateMessage(ctx, msg); err != nil {
				b.Fatal(err)
			}
			m.MessageID = msg.ID
			if err := s.CreateMailing(ctx, m, nil); err != nil {
				b.Fatal(err)
			}
			if err := s.SetMailingAudience(ctx, m.ID, []simplesender.AudienceRule{{Kind: simplesender.AudienceList, ListID: lists[0]},
				{Kind: simplesender.AudienceTag, Tag: "vip", Exclude: true}}); err != nil {
				b.Fatal(err)
			}
			t0 := time.Now()
			count, err := s.CountAudience(ctx, u.ID, m.ID)
			if err != nil {
				b.Fatal(err)
			}
			countTook := time.Since(t0)
			b.Logf("audience of list 0 minus vip: %d, counted in %s", count, countTook.Round(time.Millisecond))

			var times []time.Duration
			i := 0
			for b.Loop() {
				list := lists[i%len(lists)]
				i++
				t0 := time.Now()
				page, total, err := s.ListRecipients(ctx, u.ID, store.ListFilter{ListID: list, Limit: 50})
				if err != nil || len(page) != 50 || total < n/20 {
					b.Fatalf("page of list %d: %d of %d, %v", list, len(page), total, err)
				}
				times = append(times, time.Since(t0))
			}
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)*95/100].Microseconds())/1000, "ms-p95")
			b.ReportMetric(float64(countTook.Microseconds())/1000, "ms-audience-count")

			// Starting the run resolves the audience into its deliveries.
			t0 = time.Now()
			var run *simplesender.Run
			err = db.InTx(ctx, func(s *store.Store) error {
				if err := s.RequestStart(ctx, u.ID, m.ID, db.Now(), simplesender.RunSend, "now", 0); err != nil {
					return err
				}
				run, err = s.StartDue(ctx, m.ID, db.Now())
				return err
			})
			if err != nil || run == nil || run.Counts.Pending != count {
				b.Fatalf("start: %v, %+v, want %d deliveries", err, run, count)
			}
			b.ReportMetric(float64(time.Since(t0).Microseconds())/1000, "ms-run-start")
		})
	}
}

// seedBench gives a user n recipients on 20 lists (each on one, a tenth
// also on the first), a seventh of them tagged vip, in a new database of
// engine.
func seedBench(b *testing.B, engine string, n int) (*store.DB, *simplesender.User, []int64) {
	db := storetest.Open(b, storetest.NewURL(b, engine))
	s := db.Store()
	u := createUser(b, s, "bench@example.com")
	started := time.Now()
	if err := s.BulkRecipients(ctx, u.ID, n, func(i int) simplesender.Recipient {
		return simplesender.Recipient{Email: fmt.Sprintf("r%07d@example.com", i), FirstName: "Имя", LastName: "Фамилия"}
	}); err != nil {
		b.Fatal(err)
	}
	var lists []int64
	for i := range 20 {
		l := &simplesender.List{OwnerID: u.ID, Name: fmt.Sprintf("List %d", i)}
		if err := s.CreateList(ctx, l); err != nil {
			b.Fatal(err)
		}
		lists = append(lists, l.ID)
	}
	w := db.Writer()
	for i, id := range lists {
		if _, err := w.ExecContext(ctx, db.Rebind(`INSERT INTO list_members (list_id, recipient_id)
			SELECT ?, id FROM recipients WHERE owner_id = ? AND id % 20 = ?`), id, u.ID, i); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := w.ExecContext(ctx, db.Rebind(`INSERT INTO list_members (list_id, recipient_id)
		SELECT ?, id FROM recipients WHERE owner_id = ? AND id % 10 = 1 ON CONFLICT DO NOTHING`), lists[0], u.ID); err != nil {
		b.Fatal(err)
	}
	if _, err := w.ExecContext(ctx, db.Rebind(`INSERT INTO recipient_tags (recipient_id, owner_id, tag)
		SELECT id, owner_id, 'vip' FROM recipients WHERE owner_id = ? AND id % 7 = 0`), u.ID); err != nil {
		b.Fatal(err)
	}
	if _, err := w.ExecContext(ctx, "ANALYZE"); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d recipients on 20 lists in %s", n, time.Since(started).Round(time.Second))
	return db, u, lists
}

// benchRecipients is SIMPLESENDER_BENCH_RECIPIENTS, 1,000,000 by default.
func benchRecipients() int {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("SIMPLESENDER_BENCH_RECIPIENTS")); err == nil && v > 0 {
		n = v
	}
	return n
}
