package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
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

// TestCrashDuringSend kills a real serve process with SIGKILL at ten random
// moments of a send to 10,000 recipients, restarting it each time, and
// checks the invariants of docs/lifecycle.md: no recipient skipped, no recipient
// sent twice, and exactly the deliveries in flight at each kill marked
// unknown (each time no more than the engine holds in flight).
// SIMPLESENDER_CRASH_KILLS and SIMPLESENDER_CRASH_RECIPIENTS change the
// numbers. Its databases commit as durably as production's
// (storetest.EachDurable).
func TestCrashDuringSend(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	bin := binary(t)
	kills := 10
	if v, err := strconv.Atoi(os.Getenv("SIMPLESENDER_CRASH_KILLS")); err == nil && v > 0 {
		kills = v
	}
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("SIMPLESENDER_CRASH_RECIPIENTS")); err == nil && v > 0 {
		n = v
	}
	storetest.EachDurable(t, func(t *testing.T, dbURL string) {
		crashRun(t, bin, dbURL, n, kills, syscall.SIGKILL)
	})
}

// TestStopDuringSend sends SIGTERM in the middle of a send: the messages in
// flight finish and are recorded (no unknowns), and the rest is sent after
// a restart.
func TestStopDuringSend(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	bin := binary(t)
	storetest.EachDurable(t, func(t *testing.T, dbURL string) {
		crashRun(t, bin, dbURL, 3000, 1, syscall.SIGTERM)
	})
}

func crashRun(t *testing.T, bin, dbURL string, n, kills int, sig syscall.Signal) {
	ctx := context.Background()
	env := apptest.New(t, dbURL)
	sink := apptest.NewSMTPServer(t)
	owner := &app.Actor{User: env.User(t, "crash@example.com", simplesender.RoleUser, simplesender.StatusActive)}
	if err := env.DB.InTx(ctx, func(s *store.Store) error {
		return s.BulkRecipients(ctx, owner.User.ID, n, func(i int) simplesender.Recipient {
			return simplesender.Recipient{Email: fmt.Sprintf("r%06d@example.com", i), FirstName: "R"}
		})
	}); err != nil {
		t.Fatal(err)
	}
	var first int64
	if err := env.DB.Writer().QueryRow(env.DB.Rebind("SELECT min(id) FROM recipients WHERE owner_id = ?"), owner.User.ID).Scan(&first); err != nil {
		t.Fatal(err)
	}
	msg := &simplesender.Message{Subject: "Crash test {{first_name}}", BodyText: "Hello {{email}}"}
	if err := env.App.CreateMessage(ctx, owner, msg); err != nil {
		t.Fatal(err)
	}
	m, err := env.App.CreateMailing(ctx, owner, app.MailingInput{MessageID: msg.ID, RecipientIDs: []int64{first}})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.DB.InTx(ctx, func(s *store.Store) error { return s.AddAllRecipients(ctx, m.ID, owner.User.ID) }); err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	const conns = 10
	// On PostgreSQL each serve process names its connections, so that the
	// test can wait until the server has finished what a killed process
	// sent it (a COMMIT already on its way is still carried out).
	pg := env.DB.Engine() == "postgres"
	starts := 0
	appName := ""
	start := func() *exec.Cmd {
		starts++
		url := dbURL
		if pg {
			appName = fmt.Sprintf("sscrash%d", starts)
			url = withParam(t, dbURL, "application_name", appName)
		}
		cmd := exec.Command(bin, "serve", "--addr", nettest.FreeAddr(t))
		cmd.Env = append(os.Environ(), "SIMPLESENDER_DATA_DIR="+dataDir, "SIMPLESENDER_DATABASE_URL="+url,
			"SIMPLESENDER_SMTP_URL="+sink.URL(), "SIMPLESENDER_LOG_LEVEL="+logLevel(), "SIMPLESENDER_SMTP_CONNS="+strconv.Itoa(conns),
			"SIMPLESENDER_RETRY_SCHEDULE=1s")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd
	}
	const maxInFlight = 4 * conns // the engine's default InFlight
	counted := map[string]bool{}  // instances whose leftovers are counted
	inflight := 0
	cmd := start()
	if err := env.App.SendNow(ctx, owner, m.ID, "now"); err != nil {
		t.Fatal(err)
	}
	for k := range kills {
		// Kill at a random moment of the part that is left to send (not
		// counting earlier kills' leftovers, which will never be sent):
		// after 5 to 30% of it, so that ten kills fit in one send. The
		// server's count is read first: what is sent meanwhile is then in
		// neither figure, and the target stays within reach.
		accepted := sink.Accepted()
		var todo, all int
		if err := env.DB.Writer().QueryRow(`SELECT count(CASE WHEN status IN ('pending', 'deferred') THEN 1 END), count(*)
			FROM deliveries`).Scan(&todo, &all); err != nil {
			t.Fatal(err)
		}
		if all == 0 {
			todo = n // the run has not started yet
		}
		if todo == 0 && all > 0 {
			t.Logf("the send ended before kill %d", k+1)
			break
		}
		target := accepted + max(1, todo*(5+rand.IntN(26))/100)
		deadline := time.Now().Add(2 * time.Minute)
		for sink.Accepted() < target {
			if time.Now().After(deadline) {
				t.Fatalf("kill %d: only %d of %d accepted", k+1, sink.Accepted(), target)
			}
			time.Sleep(time.Millisecond)
		}
		if pg && connections(t, env.DB, appName) == 0 {
			t.Fatalf("no connection named %s: the wait after the kill would not wait", appName)
		}
		cmd.Process.Signal(sig) // SIGKILL: no chance to clean up; SIGTERM: finish what is in flight
		err := cmd.Wait()
		if sig == syscall.SIGTERM && err != nil {
			t.Fatalf("serve did not stop cleanly on SIGTERM: %v", err)
		}
		if pg {
			waitConnectionsGone(t, env.DB, appName)
		}
		// What the stopped process left in sending is what was in flight.
		left := sendingByInstance(t, env.DB, counted)
		inflight += left
		t.Logf("%s %d after %d messages accepted: %d in flight", sig, k+1, sink.Accepted(), left)
		if left > maxInFlight {
			t.Errorf("kill %d left %d deliveries in sending; the engine holds at most %d", k+1, left, maxInFlight)
		}
		cmd = start()
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		got, err := env.App.GetMailing(ctx, owner, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status == simplesender.MailingFinished {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the run did not finish after the restarts: %+v", got.Counts)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Compare the sink with the delivery rows, read in one query: paging
	// through ten thousand rows costs minutes under the race detector.
	p, err := env.App.Deliveries(ctx, owner, m.ID, 0, store.DeliveryFilter{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	states := deliveryStates(t, env.DB, p.Run.ID)
	if len(states) != n {
		t.Fatalf("%d deliveries for %d recipients", len(states), n)
	}
	var dup, missing, unknown, unknownDelivered int
	for i := range n {
		e := fmt.Sprintf("r%06d@example.com", i)
		got := len(sink.Messages(e))
		switch {
		case got > 1:
			dup++
		case states[e] == simplesender.DeliverySent && got == 0:
			missing++
		case states[e] == simplesender.DeliveryUnknown:
			unknown++
			unknownDelivered += got
		case states[e] != simplesender.DeliverySent:
			t.Errorf("%s ended %s", e, states[e])
		}
	}
	t.Logf("%d recipients, %d kills: %d accepted by the server, %d duplicates, %d recorded sent but not received, %d unknown (%d of them did arrive)",
		n, kills, sink.Accepted(), dup, missing, unknown, unknownDelivered)
	if dup != 0 || missing != 0 {
		t.Fatalf("%d duplicates, %d silent gaps", dup, missing)
	}
	if sig == syscall.SIGTERM && unknown != 0 {
		t.Fatalf("%d unknown after SIGTERM: in-flight messages must finish and be recorded", unknown)
	}
	if unknown != inflight {
		t.Fatalf("%d unknown after %d kills, but %d deliveries were in flight at the kills", unknown, kills, inflight)
	}
	if sink.Accepted() != n-unknown+unknownDelivered {
		t.Fatalf("server accepted %d, expected %d", sink.Accepted(), n-unknown+unknownDelivered)
	}
}

// withParam returns the URL u with the query parameter k=v added.
func withParam(t *testing.T, u, k, v string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	q := p.Query()
	q.Set(k, v)
	p.RawQuery = q.Encode()
	return p.String()
}

// waitConnectionsGone waits until PostgreSQL has no connection left named
// appName: each has then finished the last statement its dead client sent.
func waitConnectionsGone(t *testing.T, db *store.DB, appName string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		n := connections(t, db, appName)
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d connections of the stopped %s still open after 30s", n, appName)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// connections counts PostgreSQL's connections named appName.
func connections(t *testing.T, db *store.DB, appName string) int {
	t.Helper()
	var n int
	if err := db.Writer().QueryRow("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", appName).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// deliveryStates returns the status of each delivery of run id by address.
func deliveryStates(t *testing.T, db *store.DB, runID int64) map[string]simplesender.DeliveryStatus {
	t.Helper()
	rows, err := db.Writer().Query(db.Rebind("SELECT email, status FROM deliveries WHERE run_id = ?"), runID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	states := map[string]simplesender.DeliveryStatus{}
	for rows.Next() {
		var email, status string
		if err := rows.Scan(&email, &status); err != nil {
			t.Fatal(err)
		}
		states[email] = simplesender.DeliveryStatus(status)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return states
}

// sendingByInstance counts the deliveries in sending claimed by instances
// not in counted, and adds those instances to counted.
func sendingByInstance(t *testing.T, db *store.DB, counted map[string]bool) int {
	t.Helper()
	rows, err := db.Writer().Query("SELECT claimed_by, count(*) FROM deliveries WHERE status = 'sending' GROUP BY claimed_by")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id string
		var c int
		if err := rows.Scan(&id, &c); err != nil {
			t.Fatal(err)
		}
		if !counted[id] {
			counted[id] = true
			n += c
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

func logLevel() string {
	if v := os.Getenv("SIMPLESENDER_CRASH_LOG"); v != "" {
		return v
	}
	return "warn"
}

// TestMain removes the binary the tests build.
func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// binDir holds the binary built by buildOnce.
var binDir string

var buildOnce = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "simplesender-test-")
	if err != nil {
		return "", err
	}
	binDir = dir
	bin := filepath.Join(dir, "simplesender")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		return "", fmt.Errorf("%v\n%s", err, out)
	}
	return bin, nil
})

// binary returns the simplesender binary, built once for all the tests of
// the package.
func binary(t *testing.T) string {
	t.Helper()
	bin, err := buildOnce()
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	return bin
}
