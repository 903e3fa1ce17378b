// Command inboundbench measures what comes back through the inbound SMTP
// listener: it starts a real `simplesender serve` with a bounce domain and
// the listener, has it send a mailing to R recipients (to a counting SMTP
// sink it starts itself), then sends N returned messages of the mixed corpus
// of internal/bounce/testdata/corpus (bounces of many servers, delays,
// auto-replies, feedback-loop complaints) to the VERP addresses of those
// deliveries over C SMTP connections, waits until the service has read and
// applied every one (watching the database), and prints messages per second
// accepted (250) and applied, and the service's resident memory: sampled
// every second while it works, and its peak.
//
//	go run ./cmd/inboundbench -n 20000 -c 8
//	go run ./cmd/inboundbench -db 'postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable'
//
// With -db pointing at a PostgreSQL server it creates (and afterwards drops)
// a fresh database there; without it, a SQLite file in a temporary folder.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/smtp"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"simplesender"
	"simplesender/internal/auth"
	"simplesender/internal/benchrig"
	"simplesender/internal/bounce"
	"simplesender/internal/smtpsink"
	"simplesender/internal/store"
)

func main() {
	n := flag.Int("n", 20000, "returned messages to send")
	recipients := flag.Int("r", 2000, "recipients of the mailing whose VERP addresses they are sent to")
	conns := flag.Int("c", 8, "SMTP connections sending them")
	corpus := flag.String("corpus", "internal/bounce/testdata/corpus", "folder of .eml returned messages")
	dbURL := flag.String("db", "", "PostgreSQL admin URL; empty: SQLite in a temporary folder")
	bin := flag.String("bin", "", "simplesender binary; empty: build ./cmd/simplesender")
	keep := flag.Bool("keep", false, "keep the temporary folder and database")
	flag.StringVar(&cpuProfile, "cpuprofile", "", "write the service's CPU profile to this file")
	flag.Parse()
	if err := run(*n, *recipients, *conns, *corpus, *dbURL, *bin, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "inboundbench:", err)
		os.Exit(1)
	}
}

// cpuProfile is the -cpuprofile flag.
var cpuProfile string

const (
	benchSecret = "inboundbench-secret-key-0123456789abcdef"
	benchDomain = "bounce.example.org"
)

func run(n, recipients, conns int, corpusDir, admin, bin string, keep bool) error {
	ctx := context.Background()
	msgs, err := readCorpus(corpusDir)
	if err != nil {
		return err
	}
	dir, bin, remove, err := benchrig.Workdir("ssinbound-", bin, keep)
	if err != nil {
		return err
	}
	defer remove()
	sink, err := smtpsink.Start(smtpsink.Config{Addr: "127.0.0.1:0"})
	if err != nil {
		return fmt.Errorf("SMTP sink: %w", err)
	}
	defer sink.Close()
	dbURL, engine, drop, err := benchrig.Database(admin, "ssinbound", dir, "inbound.db", keep)
	if err != nil {
		return err
	}
	defer drop()
	inboundAddr, err := freeAddr()
	if err != nil {
		return err
	}
	env := append(os.Environ(), "SIMPLESENDER_SECRET_KEY="+benchSecret, "SIMPLESENDER_DATA_DIR="+filepath.Join(dir, "data"),
		"SIMPLESENDER_DATABASE_URL="+dbURL, "SIMPLESENDER_SMTP_URL=smtp://"+sink.Addr(), "SIMPLESENDER_LOG_LEVEL=warn",
		"SIMPLESENDER_BOUNCE_DOMAIN="+benchDomain, "SIMPLESENDER_INBOUND_ADDR="+inboundAddr, "SIMPLESENDER_INBOUND_RATE=0")
	if cpuProfile != "" {
		p, err := filepath.Abs(cpuProfile)
		if err != nil {
			return err
		}
		env = append(env, "SIMPLESENDER_CPUPROFILE="+p)
	}
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
	mailingID, ownerID, err := seed(ctx, db, recipients)
	if err != nil {
		return err
	}
	addr, cmd, stop, err := benchrig.Serve(bin, env)
	if err != nil {
		return err
	}
	defer stop()
	pid := cmd.Process.Pid
	if err := healthy(addr); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "sending the mailing to %d recipients on %s ...\n", recipients, engine)
	if err := db.InTx(ctx, func(s *store.Store) error {
		return s.RequestStart(ctx, ownerID, mailingID, db.Now(), simplesender.RunSend, "now", 0)
	}); err != nil {
		return err
	}
	if err := waitFor(time.Hour, func() (bool, error) {
		var status string
		err := db.Writer().QueryRowContext(ctx, db.Rebind("SELECT status FROM mailings WHERE id = ?"), mailingID).Scan(&status)
		return status == string(simplesender.MailingFinished), err
	}); err != nil {
		return fmt.Errorf("the mailing: %w", err)
	}
	verp := bounce.NewVERP([]byte(benchSecret), "bounces", benchDomain)
	var to []string
	rows, err := db.Writer().QueryContext(ctx, "SELECT id FROM deliveries WHERE status = 'sent' ORDER BY id")
	if err != nil {
		return err
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		to = append(to, verp.Address(id))
	}
	rows.Close()
	if len(to) == 0 {
		return errors.New("the mailing sent nothing")
	}
	rssBefore := benchrig.ProcStatus(pid, "VmRSS:")
	fmt.Fprintf(os.Stderr, "sending %d returned messages (%d kinds) over %d connections ...\n", n, len(msgs), conns)

	samples := sampleRSS(pid)
	cpu0 := benchrig.ProcCPU(pid)
	start := time.Now()
	var accepted atomic.Int64
	var lastAccept atomic.Int64
	next := atomic.Int64{}
	errs := make(chan error, conns)
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- sendAll(inboundAddr, n, &next, func(i int) (string, []byte) {
				return to[i%len(to)], msgs[i%len(msgs)]
			}, func() {
				accepted.Add(1)
				lastAccept.Store(time.Now().UnixNano())
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	acceptSpan := time.Unix(0, lastAccept.Load()).Sub(start)
	if err := waitFor(time.Hour, func() (bool, error) {
		var todo, all int
		err := db.Writer().QueryRowContext(ctx, "SELECT count(CASE WHEN processed_at IS NULL THEN 1 END), count(*) FROM inbound_messages").Scan(&todo, &all)
		return todo == 0 && all >= n, err
	}); err != nil {
		return fmt.Errorf("applying: %w", err)
	}
	applySpan := time.Since(start)
	cpu := benchrig.ProcCPU(pid) - cpu0
	rssSeen := samples.stop()
	kinds, err := appliedKinds(ctx, db)
	if err != nil {
		return err
	}
	fmt.Printf("engine %s, %d returned messages of %d kinds to %d deliveries, %d connections\n", engine, n, len(msgs), len(to), conns)
	fmt.Printf("accepted (250):  %8.0f msg/s (%d in %s)\n", float64(accepted.Load())/acceptSpan.Seconds(), accepted.Load(), acceptSpan.Round(time.Millisecond))
	fmt.Printf("applied:         %8.0f msg/s (all read and applied %s after the first was sent)\n", float64(n)/applySpan.Seconds(), applySpan.Round(time.Millisecond))
	fmt.Printf("service CPU:     %.2f s, %.3f ms per message (load average %s)\n", cpu.Seconds(), cpu.Seconds()*1000/float64(n), loadAverage())
	fmt.Printf("reports:         %s\n", kinds)
	fmt.Printf("service RSS:     %.1f MB before, %s while working, peak %.1f MB\n", float64(rssBefore)/1024, rssSeen, float64(benchrig.ProcStatus(pid, "VmHWM:"))/1024)
	if accepted.Load() != int64(n) {
		return fmt.Errorf("only %d of %d accepted", accepted.Load(), n)
	}
	return nil
}

// sendAll sends messages over one SMTP connection until next passes n:
// message i goes to the address and with the text msg(i); ok is called on
// each 250.
func sendAll(addr string, n int, next *atomic.Int64, msg func(i int) (string, []byte), ok func()) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("mx.example.net"); err != nil {
		return err
	}
	for {
		i := int(next.Add(1) - 1)
		if i >= n {
			return c.Quit()
		}
		rcpt, raw := msg(i)
		if err := c.Mail(""); err != nil {
			return fmt.Errorf("MAIL: %w", err)
		}
		if err := c.Rcpt(rcpt); err != nil {
			return fmt.Errorf("RCPT %s: %w", rcpt, err)
		}
		w, err := c.Data()
		if err != nil {
			return fmt.Errorf("DATA: %w", err)
		}
		if _, err := w.Write(raw); err != nil {
			return err
		}
		if err := w.Close(); err != nil {
			return fmt.Errorf("message %d: %w", i, err)
		}
		ok()
	}
}

// readCorpus reads every .eml of dir.
func readCorpus(dir string) ([][]byte, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no .eml files in %s (run from the repository's root or give -corpus)", dir)
	}
	var out [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// seed creates a user, n recipients, a small message and a mailing to all
// of them.
func seed(ctx context.Context, db *store.DB, n int) (mailingID, ownerID int64, err error) {
	err = db.InTx(ctx, func(s *store.Store) error {
		now := db.Now()
		hash, err := auth.HashPassword("inboundbench-password-1")
		if err != nil {
			return err
		}
		u := &simplesender.User{Email: "inbound@example.com", Name: "Inbound", PasswordHash: hash, Role: simplesender.RoleUser, ConfirmedAt: &now}
		if err := s.CreateUser(ctx, u); err != nil {
			return err
		}
		ownerID = u.ID
		if err := s.BulkRecipients(ctx, u.ID, n, func(i int) simplesender.Recipient {
			return simplesender.Recipient{Email: fmt.Sprintf("user%07d@example.com", i), FirstName: "Ann"}
		}); err != nil {
			return err
		}
		msg := &simplesender.Message{OwnerID: u.ID, Subject: "News for {{first_name}}", BodyText: "Hello {{first_name}}"}
		if err := s.CreateMessage(ctx, msg); err != nil {
			return err
		}
		m := &simplesender.Mailing{OwnerID: u.ID, Name: "inbound bench", MessageID: msg.ID}
		if err := s.CreateMailing(ctx, m, nil); err != nil {
			return err
		}
		mailingID = m.ID
		return s.AddAllRecipients(ctx, m.ID, u.ID)
	})
	return mailingID, ownerID, err
}

// appliedKinds summarises the reports by what they did.
func appliedKinds(ctx context.Context, db *store.DB) (string, error) {
	rows, err := db.Writer().QueryContext(ctx, "SELECT applied, count(*) FROM delivery_reports GROUP BY applied ORDER BY applied")
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var parts []string
	for rows.Next() {
		var k string
		var c int
		if err := rows.Scan(&k, &c); err != nil {
			return "", err
		}
		parts = append(parts, fmt.Sprintf("%s %d", k, c))
	}
	return strings.Join(parts, ", "), rows.Err()
}

func healthy(addr string) error {
	return waitFor(20*time.Second, func() (bool, error) {
		res, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			return false, nil
		}
		res.Body.Close()
		return res.StatusCode == 200, nil
	})
}

func waitFor(limit time.Duration, done func() (bool, error)) error {
	for giveUp := time.Now().Add(limit); ; time.Sleep(50 * time.Millisecond) {
		ok, err := done()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(giveUp) {
			return fmt.Errorf("not done after %s", limit)
		}
	}
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// rssSamples reads the service's RSS every second.
type rssSamples struct {
	done chan struct{}
	wg   sync.WaitGroup
	kib  []int64
}

func sampleRSS(pid int) *rssSamples {
	s := &rssSamples{done: make(chan struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-s.done:
				return
			case <-tick.C:
				s.kib = append(s.kib, benchrig.ProcStatus(pid, "VmRSS:"))
			}
		}
	}()
	return s
}

// stop ends the sampling and describes it: each second's figure in MB.
func (s *rssSamples) stop() string {
	close(s.done)
	s.wg.Wait()
	if len(s.kib) == 0 {
		return "(no sample)"
	}
	parts := make([]string, len(s.kib))
	lo, hi := s.kib[0], s.kib[0]
	for i, k := range s.kib {
		parts[i] = fmt.Sprintf("%.0f", float64(k)/1024)
		lo, hi = min(lo, k), max(hi, k)
	}
	if len(parts) > 30 {
		parts = append(parts[:15], append([]string{"..."}, parts[len(parts)-15:]...)...)
	}
	return fmt.Sprintf("%.1f-%.1f MB [%s]", float64(lo)/1024, float64(hi)/1024, strings.Join(parts, " "))
}

// loadAverage is the machine's one-minute load average: the figures mean
// little on a machine busy with other work.
func loadAverage() string {
	b, _ := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "?"
}
