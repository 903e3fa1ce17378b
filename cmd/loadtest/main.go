// Command loadtest measures a whole send: it seeds N recipients and a mailing
// with a message of a chosen size (personalised with placeholders), starts a
// real `simplesender serve` process, sends the mailing over C connections to
// a counting SMTP sink that it starts itself (internal/smtpsink, the server
// of cmd/smtpsink), or to the server named by -smtp, and prints messages per
// second (end to end, and first to last message), the service's CPU time per
// message, the database server's CPU (PostgreSQL, when it runs on this
// machine), the service's peak RSS and what the sink received (duplicates
// make it fail).
//
//	go run ./cmd/loadtest -n 100000 -c 10
//	go run ./cmd/loadtest -db 'postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable'
//	go run ./cmd/loadtest -smtp 127.0.0.1:2525    # another server, e.g. go run ./cmd/smtpsink
//	go run ./cmd/loadtest -n 50000 -watchers 10 -watch-every 100ms -page-watchers 2
//
// With -api, -watchers or -page-watchers the send starts as a user starts it,
// through POST /api/v1/mailings/{id}/send with a token made by `simplesender
// token create`, and is watched while it runs: API clients poll
// GET /api/v1/mailings/{id} and signed-in browsers the page's progress.json.
// Compare the rate with 0 and with N watchers; -bin measures another build.
//
// With -db pointing at a PostgreSQL server it creates (and afterwards drops)
// a fresh database there; without it, a SQLite file in a temporary folder.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"simplesender"
	"simplesender/internal/auth"
	"simplesender/internal/benchrig"
	"simplesender/internal/dkim"
	"simplesender/internal/smtpsink"
	"simplesender/internal/store"
)

func main() {
	n := flag.Int("n", 100000, "recipients")
	conns := flag.Int("c", 10, "SMTP connections (SIMPLESENDER_SMTP_CONNS)")
	size := flag.Int("size", 4300, "approximate size of each message in bytes")
	smtpAddr := flag.String("smtp", "", "SMTP server to send to (HOST:PORT); empty: a counting sink started by loadtest")
	dbURL := flag.String("db", "", "PostgreSQL admin URL; empty: SQLite in a temporary folder")
	bin := flag.String("bin", "", "simplesender binary; empty: build ./cmd/simplesender")
	keep := flag.Bool("keep", false, "keep the temporary folder and database")
	profile := flag.String("cpuprofile", "", "write the service's CPU profile to this file")
	schedule := flag.Int("schedule", 0, "instead: schedule this many small mailings a few hundred ms apart and report how late each started")
	viaAPI := flag.Bool("api", false, "start the send through the HTTP API with a token made by `simplesender token create`, as a user does (implied by -watchers)")
	watchers := flag.Int("watchers", 0, "API clients that watch the send, each polling GET /api/v1/mailings/{id} every -watch-every")
	pageWatchers := flag.Int("page-watchers", 0, "browsers that watch the send, each signed in and polling the page's /mailings/{id}/progress.json every -watch-every")
	flag.StringVar(&signWith, "sign", "", "send from a verified domain and DKIM-sign every message with this key: rsa, ed25519 or both; empty: no signing")
	watchEvery := flag.Duration("watch-every", 100*time.Millisecond, "how often each watcher polls")
	flag.BoolVar(&withWebhook, "webhook", false, "give the owner a webhook endpoint (served by loadtest) that wants delivery.sent and delivery.failed, and report when its events arrived")
	flag.Parse()
	scheduleRuns = *schedule
	watch = watchConfig{api: *viaAPI || *watchers > 0 || *pageWatchers > 0, watchers: *watchers, pages: *pageWatchers, every: *watchEvery}
	if *profile != "" {
		abs, _ := filepath.Abs(*profile)
		os.Setenv("SIMPLESENDER_CPUPROFILE", abs)
	}
	if err := run(*n, *conns, *size, *smtpAddr, *dbURL, *bin, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

func run(n, conns, size int, smtpAddr, admin, bin string, keep bool) error {
	ctx := context.Background()
	dir, bin, remove, err := benchrig.Workdir("ssload-", bin, keep)
	if err != nil {
		return err
	}
	defer remove()
	var sink *smtpsink.Sink
	if smtpAddr == "" {
		// In this process, not the service's: its CPU is not counted as
		// the service's.
		if sink, err = smtpsink.Start(smtpsink.Config{Addr: "127.0.0.1:0", Duplicates: true}); err != nil {
			return fmt.Errorf("SMTP sink: %w", err)
		}
		defer sink.Close()
		smtpAddr = sink.Addr()
	}
	dbURL, engine, drop, err := benchrig.Database(admin, "ssload", dir, "load.db", keep)
	if err != nil {
		return err
	}
	defer drop()
	env := append(os.Environ(), "SIMPLESENDER_SECRET_KEY="+loadSecret, "SIMPLESENDER_DATA_DIR="+filepath.Join(dir, "data"), "SIMPLESENDER_DATABASE_URL="+dbURL,
		"SIMPLESENDER_SMTP_URL=smtp://"+smtpAddr, "SIMPLESENDER_SMTP_CONNS="+strconv.Itoa(conns), "SIMPLESENDER_LOG_LEVEL=warn")
	mig := exec.Command(bin, "migrate")
	mig.Env = env
	if out, err := mig.CombinedOutput(); err != nil {
		return fmt.Errorf("migrate: %v\n%s", err, out)
	}
	db, err := store.Open(ctx, dbURL)
	if err != nil {
		return err
	}
	defer db.Close()
	if scheduleRuns > 0 {
		return measureSchedule(ctx, db, bin, env, scheduleRuns)
	}
	fmt.Fprintf(os.Stderr, "seeding %d recipients on %s ...\n", n, engine)
	t0 := time.Now()
	mailingID, ownerID, err := seed(ctx, db, n, size)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "seeded in %s\n", time.Since(t0).Round(time.Millisecond))
	var hook *hookReceiver
	if withWebhook {
		if hook, err = startHookReceiver(ctx, db, ownerID); err != nil {
			return err
		}
		defer hook.close()
		env = append(env, "SIMPLESENDER_WEBHOOK_ALLOW_PRIVATE=true")
	}

	addr, cmd, stop, err := benchrig.Serve(bin, env)
	if err != nil {
		return err
	}
	defer stop()
	pid := cmd.Process.Pid
	for i := 0; ; i++ {
		if res, err := http.Get("http://" + addr + "/healthz"); err == nil && res.StatusCode == 200 {
			res.Body.Close()
			break
		}
		if i > 200 {
			return fmt.Errorf("serve did not become healthy")
		}
		time.Sleep(50 * time.Millisecond)
	}
	cpu0 := benchrig.ProcCPU(pid)
	pg0 := postgresCPU()
	start := time.Now()
	var watched *watchers
	if watch.api {
		token, err := apiToken(bin, env, loadUser)
		if err != nil {
			return err
		}
		var cookies []*http.Cookie
		if watch.pages > 0 {
			if cookies, err = login(addr); err != nil {
				return err
			}
		}
		start = time.Now()
		if err := apiSend(addr, token, mailingID); err != nil {
			return err
		}
		watched = startWatchers(addr, token, cookies, mailingID, watch.watchers, watch.pages, watch.every)
		defer watched.stop()
	} else if err := db.InTx(ctx, func(s *store.Store) error {
		return s.RequestStart(ctx, ownerID, mailingID, db.Now(), simplesender.RunSend, "now", 0)
	}); err != nil {
		return err
	}
	// Poll with a query that costs nothing next to the send (the mailing's
	// counts would read every delivery of the run each time).
	for {
		time.Sleep(100 * time.Millisecond)
		var status string
		if err := db.Writer().QueryRowContext(ctx, db.Rebind("SELECT status FROM mailings WHERE id = ?"), mailingID).Scan(&status); err != nil {
			return err
		}
		if status == string(simplesender.MailingFinished) {
			break
		}
		if time.Since(start) > time.Hour {
			return fmt.Errorf("not finished after an hour")
		}
	}
	elapsed := time.Since(start)
	watched.stop()
	cpu := benchrig.ProcCPU(pid) - cpu0
	pgCPU := postgresCPU() - pg0
	rss := benchrig.ProcStatus(pid, "VmHWM:")
	first, last, err := attemptSpan(ctx, db, mailingID)
	if err != nil {
		return err
	}
	c, err := finalCounts(ctx, db, mailingID)
	if err != nil {
		return err
	}
	fmt.Printf("engine %s, %d recipients, %d connections, message about %d bytes, DKIM signing: %s\n", engine, n, conns, size, orNone(signWith))
	if watch.api {
		fmt.Printf("started through the API; %s\n", watched.report())
	}
	fmt.Printf("sent %d, failed %d, unknown %d\n", c.Sent, c.Failed, c.Unknown)
	fmt.Printf("end to end:      %8.0f msg/s (%s from send-now to finished)\n", float64(c.Sent)/elapsed.Seconds(), elapsed.Round(time.Millisecond))
	if span := last.Sub(first); span > 0 {
		fmt.Printf("first to last:   %8.0f msg/s (%s)\n", float64(c.Sent-1)/span.Seconds(), span.Round(time.Millisecond))
	}
	fmt.Printf("service CPU:     %.2f s, %.3f ms per message\n", cpu.Seconds(), cpu.Seconds()*1000/float64(max(c.Sent, 1)))
	if engine == "postgres" && pgCPU > 0 {
		fmt.Printf("PostgreSQL CPU:  %.2f s, %.3f ms per message (all postgres processes on this machine)\n", pgCPU.Seconds(), pgCPU.Seconds()*1000/float64(max(c.Sent, 1)))
	}
	fmt.Printf("peak RSS:        %.1f MB\n", float64(rss)/1024)
	if hook != nil {
		hook.report(c.Sent+c.Failed, start.Add(elapsed))
	}
	if sink != nil {
		return reportSink(sink.Stats(), c.Sent)
	}
	return nil
}

// reportSink prints what the sink received; a recipient that got two
// messages is an error.
func reportSink(st smtpsink.Stats, sent int) error {
	fmt.Printf("SMTP sink:       %d messages, %d recipients (%d distinct), %.1f MB, %d connections, %.0f msg/s first to last\n",
		st.Messages, st.Recipients, st.Distinct, float64(st.Bytes)/(1<<20), st.Sessions, st.Rate())
	if st.Duplicates > 0 {
		return fmt.Errorf("%d recipients got more than one message", st.Duplicates)
	}
	if st.Messages != int64(sent) {
		return fmt.Errorf("the sink received %d messages, the service recorded %d sent", st.Messages, sent)
	}
	return nil
}

// seed creates a user, n recipients, a message of about size bytes and a
// mailing to all of them, with multi-row inserts.
func seed(ctx context.Context, db *store.DB, n, size int) (mailingID, ownerID int64, err error) {
	err = db.InTx(ctx, func(s *store.Store) error {
		now := db.Now()
		hash, err := auth.HashPassword(loadPassword)
		if err != nil {
			return err
		}
		u := &simplesender.User{Email: loadUser, Name: "Load", PasswordHash: hash, Role: simplesender.RoleUser, ConfirmedAt: &now}
		if err := s.CreateUser(ctx, u); err != nil {
			return err
		}
		ownerID = u.ID
		if err := s.BulkRecipients(ctx, u.ID, n, func(i int) simplesender.Recipient {
			return simplesender.Recipient{Email: fmt.Sprintf("user%07d@example.com", i), FirstName: "Иван", LastName: "Петров"}
		}); err != nil {
			return err
		}
		para := "Здравствуйте, {{first_name}}! Это письмо для {{email}}. Lorem ipsum dolor sit amet, consectetur adipiscing elit.\n"
		text := strings.Repeat(para, max(1, size/2/len(para)))
		html := "<html><body>" + strings.Repeat("<p>Hello {{full_name}}, lorem ipsum dolor sit amet, consectetur adipiscing elit.</p>\n", max(1, size/2/90)) + "</body></html>"
		msg := &simplesender.Message{OwnerID: u.ID, Subject: "Новости для {{first_name}}", BodyText: text, BodyHTML: html}
		if err := s.CreateMessage(ctx, msg); err != nil {
			return err
		}
		m := &simplesender.Mailing{OwnerID: u.ID, Name: "load test", MessageID: msg.ID}
		if err := s.CreateMailing(ctx, m, nil); err != nil {
			return err
		}
		mailingID = m.ID
		if err := signingSender(ctx, s, u.ID); err != nil {
			return err
		}
		return s.AddAllRecipients(ctx, m.ID, u.ID)
	})
	return mailingID, ownerID, err
}

// signWith is the -sign flag.
var signWith string

// loadSecret is the service's secret key in the load test, so that the
// DKIM keys seeded here are sealed as the service opens them.
const loadSecret = "loadtest-secret-key-0123456789abcdef"

// signingSender gives owner, when -sign asks for it, a default sender of a
// verified domain with active DKIM keys of the kind asked.
func signingSender(ctx context.Context, s *store.Store, owner int64) error {
	var algs []string
	switch signWith {
	case "":
		return nil
	case "both":
		algs = []string{simplesender.KeyRSA, simplesender.KeyEd25519}
	case simplesender.KeyRSA, simplesender.KeyEd25519:
		algs = []string{signWith}
	default:
		return fmt.Errorf("-sign: %q is not rsa, ed25519 or both", signWith)
	}
	if err := s.CreateIdentity(ctx, &simplesender.Identity{OwnerID: owner, Name: "Load", Email: "news@load.example", Default: true}); err != nil {
		return err
	}
	d := &simplesender.SenderDomain{OwnerID: owner, Domain: "load.example"}
	if err := s.CreateDomain(ctx, d); err != nil {
		return err
	}
	if err := s.MarkDomainVerified(ctx, owner, d.ID, time.Now()); err != nil {
		return err
	}
	sealer := dkim.NewSealer([]byte(loadSecret))
	for _, alg := range algs {
		priv, pub, err := dkim.Generate(alg)
		if err != nil {
			return err
		}
		if err := s.AddDKIMKeys(ctx, owner, &simplesender.DKIMKey{DomainID: d.ID, Selector: "load" + alg[:1], Algorithm: alg,
			PrivateKey: sealer.Seal(priv), PublicKey: pub, State: simplesender.KeyActive}); err != nil {
			return err
		}
	}
	return nil
}

// loadUser is the e-mail address of the user whose mailing is sent.
const loadUser = "load@example.com"

func attemptSpan(ctx context.Context, db *store.DB, mailingID int64) (first, last time.Time, err error) {
	return db.Store().AttemptSpan(ctx, mailingID)
}

// postgresCPU sums the CPU time of every process named postgres.
func postgresCPU() time.Duration {
	entries, _ := os.ReadDir("/proc")
	var total time.Duration
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); strings.TrimSpace(string(comm)) == "postgres" {
			total += benchrig.ProcCPU(pid)
		}
	}
	return total
}

// scheduleRuns is the -schedule flag.
var scheduleRuns int

// measureSchedule schedules k mailings of 5 recipients, 400 ms apart, with a
// running serve, and prints how late their runs started.
func measureSchedule(ctx context.Context, db *store.DB, bin string, env []string, k int) error {
	var ids []int64
	var owner int64
	err := db.InTx(ctx, func(s *store.Store) error {
		now := db.Now()
		u := &simplesender.User{Email: "sched@example.com", Name: "Sched", PasswordHash: "x", Role: simplesender.RoleUser, ConfirmedAt: &now}
		if err := s.CreateUser(ctx, u); err != nil {
			return err
		}
		owner = u.ID
		if err := s.BulkRecipients(ctx, u.ID, 5, func(i int) simplesender.Recipient {
			return simplesender.Recipient{Email: fmt.Sprintf("s%d@example.com", i)}
		}); err != nil {
			return err
		}
		msg := &simplesender.Message{OwnerID: u.ID, Subject: "Scheduled", BodyText: "Hello {{email}}"}
		if err := s.CreateMessage(ctx, msg); err != nil {
			return err
		}
		for range k {
			m := &simplesender.Mailing{OwnerID: u.ID, MessageID: msg.ID}
			if err := s.CreateMailing(ctx, m, nil); err != nil {
				return err
			}
			if err := s.AddAllRecipients(ctx, m.ID, u.ID); err != nil {
				return err
			}
			ids = append(ids, m.ID)
		}
		return nil
	})
	if err != nil {
		return err
	}
	_, _, stop, err := benchrig.Serve(bin, env)
	if err != nil {
		return err
	}
	defer stop()
	t0 := db.Now().Add(3 * time.Second)
	for i, id := range ids {
		at := t0.Add(time.Duration(i) * 400 * time.Millisecond)
		if err := db.InTx(ctx, func(s *store.Store) error {
			return s.RequestStart(ctx, owner, id, at, simplesender.RunSend, "schedule", 0)
		}); err != nil {
			return err
		}
	}
	var late []time.Duration
	deadline := time.Now().Add(time.Minute + time.Duration(k)*400*time.Millisecond)
	for len(late) < k {
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d scheduled runs started", len(late), k)
		}
		time.Sleep(200 * time.Millisecond)
		late = late[:0]
		for _, id := range ids {
			runs, err := db.Store().ListRuns(ctx, id)
			if err != nil {
				return err
			}
			if len(runs) > 0 && runs[0].ScheduledAt != nil {
				late = append(late, runs[0].StartedAt.Sub(*runs[0].ScheduledAt))
			}
		}
	}
	slices.Sort(late)
	p := func(q float64) time.Duration { return late[min(len(late)-1, int(q*float64(len(late))))] }
	fmt.Printf("%d scheduled runs: started late by p50 %s, p95 %s, max %s\n", k, p(0.5).Round(time.Millisecond),
		p(0.95).Round(time.Millisecond), late[len(late)-1].Round(time.Millisecond))
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
