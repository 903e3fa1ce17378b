package main

import (
	"context"
	"fmt"
	"net/smtp"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/app/apptest"
	"simplesender/internal/nettest"
	"simplesender/internal/store"
	"simplesender/internal/store/storetest"
)

// TestCrashDuringInbound kills a real serve process with SIGKILL while
// clients send it bounces through the inbound listener: every bounce that
// was answered 250 before the kill is there after the restart and applied
// exactly once (its delivery bounced, one report, one stored message), and
// the bounces that got no answer, sent again after the restart as a mail
// server would, bounce their deliveries too, once.
func TestCrashDuringInbound(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	bin := binary(t)
	storetest.EachDurable(t, func(t *testing.T, dbURL string) {
		inboundCrashRun(t, bin, dbURL, 400)
	})
}

func inboundCrashRun(t *testing.T, bin, dbURL string, n int) {
	ctx := context.Background()
	env := apptest.New(t, dbURL)
	sink := apptest.NewSMTPServer(t)
	owner := &app.Actor{User: env.User(t, "inbound-crash@example.com", simplesender.RoleUser, simplesender.StatusActive)}
	emails := make([]string, n)
	for i := range emails {
		emails[i] = fmt.Sprintf("b%04d@example.com", i)
	}
	m := env.Mailing(t, owner, "Bounced", emails...)
	dataDir := t.TempDir()
	inboundAddr := nettest.FreeAddr(t)
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "serve", "--addr", nettest.FreeAddr(t))
		cmd.Env = append(os.Environ(), "SIMPLESENDER_DATA_DIR="+dataDir, "SIMPLESENDER_DATABASE_URL="+dbURL,
			"SIMPLESENDER_SMTP_URL="+sink.URL(), "SIMPLESENDER_LOG_LEVEL="+logLevel(),
			"SIMPLESENDER_BOUNCE_DOMAIN=bounce.example.org", "SIMPLESENDER_INBOUND_ADDR="+inboundAddr,
			"SIMPLESENDER_INBOUND_RATE=0")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd
	}
	cmd := start()
	if err := env.App.SendNow(ctx, owner, m.ID, "now"); err != nil {
		t.Fatal(err)
	}
	waitFinished(t, env, owner, m.ID)
	verp := make([]string, n) // the envelope sender each recipient's message came with
	for i, e := range emails {
		s := sink.EnvelopeSenders(e)
		if len(s) != 1 {
			t.Fatalf("%s received %d messages", e, len(s))
		}
		verp[i] = s[0]
	}

	// Clients send one bounce per delivery over several connections; the
	// process is killed when half of them have been answered 250.
	const clients = 4
	acked := make([]atomic.Bool, n)
	var answered atomic.Int64
	var killed atomic.Bool
	next := atomic.Int64{}
	var wg sync.WaitGroup
	killAt := int64(n / 2)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !killed.Load() {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if smtp.SendMail(inboundAddr, nil, "", []string{verp[i]}, dsn(emails[i])) == nil {
					acked[i].Store(true)
					answered.Add(1)
				}
			}
		}()
	}
	for deadline := time.Now().Add(2 * time.Minute); answered.Load() < killAt; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d bounces answered", answered.Load(), killAt)
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	killed.Store(true)
	cmd.Wait()
	wg.Wait()
	before := int(answered.Load())
	t.Logf("SIGKILL after %d bounces answered 250", before)

	// After the restart the unanswered bounces come again, as their
	// senders retry.
	start()
	retried := 0
	for i := range n {
		if acked[i].Load() {
			continue
		}
		retried++
		deadline := time.Now().Add(30 * time.Second)
		for smtp.SendMail(inboundAddr, nil, "", []string{verp[i]}, dsn(emails[i])) != nil {
			if time.Now().After(deadline) {
				t.Fatalf("the restarted listener does not take the bounce to %s", emails[i])
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		var pending int
		if err := env.DB.Writer().QueryRow("SELECT count(*) FROM inbound_messages WHERE processed_at IS NULL").Scan(&pending); err != nil {
			t.Fatal(err)
		}
		if pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d inbound messages still unread after the restart", pending)
		}
	}

	stored := countBy(t, env.DB, "SELECT envelope_to, count(*) FROM inbound_messages GROUP BY envelope_to")
	reports := countBy(t, env.DB, "SELECT email, count(*) FROM delivery_reports GROUP BY email")
	bounced := countBy(t, env.DB, "SELECT email, count(*) FROM delivery_reports WHERE applied = 'bounced' GROUP BY email")
	states := deliveryStates(t, env.DB, runOf(t, env, owner, m.ID))
	lostAcked, twice := 0, 0
	for i, e := range emails {
		if bounced[e] != 1 || states[e] != simplesender.DeliveryBounced {
			t.Errorf("%s: delivery %s, applied as bounced %d times (answered 250 before the kill: %v)", e, states[e], bounced[e], acked[i].Load())
		}
		if acked[i].Load() {
			if stored[verp[i]] != 1 || reports[e] != 1 {
				lostAcked++
				t.Errorf("%s was answered 250 before the kill: stored %d times, %d reports", e, stored[verp[i]], reports[e])
			}
		} else if stored[verp[i]] > 1 {
			twice++ // stored, then killed before the 250: the retry is a second copy, read as already applied
		}
	}
	t.Logf("%d bounces: %d answered before the kill, %d sent again after it (%d of them had been stored before the kill)", n, before, retried, twice)
	for e, c := range suppressedBy(t, env.DB) {
		if c != 1 {
			t.Errorf("%s suppressed %d times", e, c)
		}
	}
}

// dsn is a delivery status notification (RFC 3464) saying that the
// message to rcpt could not be delivered.
func dsn(rcpt string) []byte {
	return []byte("From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\n" +
		"To: <>\r\nSubject: Undelivered Mail Returned to Sender\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\r\n\r\n" +
		"--b1\r\nContent-Type: text/plain\r\n\r\nI'm sorry to have to inform you that your message could not be delivered.\r\n" +
		"--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n" +
		"Final-Recipient: rfc822; " + rcpt + "\r\nAction: failed\r\nStatus: 5.1.1\r\n" +
		"Diagnostic-Code: smtp; 550 5.1.1 <" + rcpt + ">: Recipient address rejected: User unknown\r\n" +
		"--b1--\r\n")
}

// waitFinished waits until mailing id has been sent to everyone.
func waitFinished(t *testing.T, env *apptest.Env, owner *app.Actor, id int64) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
		got, err := env.App.GetMailing(context.Background(), owner, id)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status == simplesender.MailingFinished {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the mailing did not finish: %+v", got.Counts)
		}
	}
}

// runOf returns the id of the run of mailing id.
func runOf(t *testing.T, env *apptest.Env, owner *app.Actor, id int64) int64 {
	t.Helper()
	p, err := env.App.Deliveries(context.Background(), owner, id, 0, store.DeliveryFilter{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	return p.Run.ID
}

// countBy runs a query of (key, count) rows and returns them as a map.
func countBy(t *testing.T, db *store.DB, query string) map[string]int {
	t.Helper()
	rows, err := db.Writer().Query(query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var k string
		var c int
		if err := rows.Scan(&k, &c); err != nil {
			t.Fatal(err)
		}
		out[k] = c
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// suppressedBy counts the suppressions of each address.
func suppressedBy(t *testing.T, db *store.DB) map[string]int {
	t.Helper()
	return countBy(t, db, "SELECT email, count(*) FROM suppressions GROUP BY email")
}
