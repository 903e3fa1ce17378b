package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/app/apptest"
	"simplesender/internal/nettest"
	"simplesender/internal/store"
	"simplesender/internal/store/storetest"
)

// TestTwoInstancesShareASend runs two serve processes on one PostgreSQL
// database and sends one mailing: every recipient gets exactly one message,
// and both instances take part.
func TestTwoInstancesShareASend(t *testing.T) {
	if testing.Short() || os.Getenv(storetest.EnvPostgres) == "" {
		t.Skip("needs PostgreSQL (" + storetest.EnvPostgres + ") and builds the binary")
	}
	t.Parallel()
	bin := binary(t)
	ctx := context.Background()
	dbURL := storetest.NewURL(t, "postgres")
	env := apptest.New(t, dbURL)
	sink := apptest.NewSMTPServer(t)
	sink.Delay = 2 * time.Millisecond // a server that is not instant, so both get work
	owner := &app.Actor{User: env.User(t, "two@example.com", simplesender.RoleUser, simplesender.StatusActive)}
	const n = 5000
	if err := env.DB.InTx(ctx, func(s *store.Store) error {
		return s.BulkRecipients(ctx, owner.User.ID, n, func(i int) simplesender.Recipient {
			return simplesender.Recipient{Email: fmt.Sprintf("t%05d@example.com", i)}
		})
	}); err != nil {
		t.Fatal(err)
	}
	msg := &simplesender.Message{Subject: "Two", BodyText: "Hi {{email}}"}
	if err := env.App.CreateMessage(ctx, owner, msg); err != nil {
		t.Fatal(err)
	}
	m, err := env.App.CreateMailing(ctx, owner, app.MailingInput{MessageID: msg.ID, RecipientIDs: []int64{1}})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.DB.InTx(ctx, func(s *store.Store) error { return s.AddAllRecipients(ctx, m.ID, owner.User.ID) }); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		cmd := exec.Command(bin, "serve", "--addr", nettest.FreeAddr(t))
		cmd.Env = append(os.Environ(), "SIMPLESENDER_DATA_DIR="+t.TempDir(), "SIMPLESENDER_DATABASE_URL="+dbURL,
			"SIMPLESENDER_SMTP_URL="+sink.URL(), "SIMPLESENDER_LOG_LEVEL=warn", "SIMPLESENDER_SMTP_CONNS=5")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	}
	time.Sleep(time.Second) // both started and heart-beating
	if err := env.App.SendNow(ctx, owner, m.ID, "now"); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		rows, err := env.DB.Writer().Query("SELECT DISTINCT claimed_by FROM deliveries WHERE status = 'sending' AND claimed_by IS NOT NULL")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id string
			rows.Scan(&id)
			seen[id] = true
		}
		rows.Close()
		got, err := env.App.GetMailing(ctx, owner, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status == simplesender.MailingFinished {
			if got.Counts.Sent != n {
				t.Fatalf("counts %+v", got.Counts)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not finished: %+v", got.Counts)
		}
		time.Sleep(20 * time.Millisecond)
	}
	dup := 0
	for i := range n {
		if c := len(sink.Messages(fmt.Sprintf("t%05d@example.com", i))); c != 1 {
			dup++
		}
	}
	t.Logf("%d recipients, %d accepted by the server, %d not exactly once, instances seen sending: %d", n, sink.Accepted(), dup, len(seen))
	if dup != 0 || sink.Accepted() != n {
		t.Fatalf("%d recipients did not get exactly one message", dup)
	}
	if len(seen) < 2 {
		t.Fatalf("only %d instance(s) did work", len(seen))
	}
}
