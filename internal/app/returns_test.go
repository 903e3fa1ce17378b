package app_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"simplesender/internal/app"
	"simplesender/internal/app/apptest"
)

// TestReturnedMailSavedTogether: returned e-mails that arrive at the same
// time on many connections are each stored (the sender's 250 is not a lie)
// under an id of its own, and all of them are read afterwards.
func TestReturnedMailSavedTogether(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		ctx := context.Background()
		const n = 60
		ids := make([]int64, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				raw := fmt.Sprintf("From: MAILER-DAEMON@mx.example.net\r\nSubject: failure notice\r\n\r\n<gone%d@example.com>:\r\n550 5.1.1 no such user\r\n", i)
				ids[i], errs[i] = env.App.SaveReturned(ctx, app.SourceSMTP, "192.0.2.1", "", []string{"bounces+x@bounce.example.org"}, []byte(raw))
			})
		}
		wg.Wait()
		seen := map[int64]bool{}
		for i := range n {
			if errs[i] != nil || ids[i] == 0 || seen[ids[i]] {
				t.Fatalf("message %d: id %d, %v", i, ids[i], errs[i])
			}
			seen[ids[i]] = true
		}
		done, err := env.App.ProcessReturns(ctx, 100)
		if err != nil || done != n {
			t.Fatalf("processed %d of %d: %v", done, n, err)
		}
		var reports int
		if err := env.DB.Writer().QueryRow("SELECT count(*) FROM delivery_reports WHERE email LIKE 'gone%' AND applied = 'unmatched'").Scan(&reports); err != nil {
			t.Fatal(err)
		}
		if reports != n {
			t.Errorf("%d reports read, want %d", reports, n)
		}
	})
}
