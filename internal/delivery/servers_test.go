package delivery_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/app/apptest"
	"simplesender/internal/clocktest"
	"simplesender/internal/delivery"
	"simplesender/internal/mailer"
	"simplesender/internal/nettest"
	"simplesender/internal/store"
)

// smtpGate stands in front of a test SMTP server. While down, it drops
// every connection before the greeting, as a failing server does. It
// records the lines the client sends.
type smtpGate struct {
	addr     string
	accepted atomic.Int64 // connections that reached the gate

	mu    sync.Mutex
	down  bool
	conns []net.Conn // open connections, closed when the gate goes down
	lines []string   // what clients sent, one line each, with "#N " before it (N: the connection, from 1)
}

// Lines returns the lines clients sent that start with prefix (after the
// connection's number).
func (g *smtpGate) Lines(prefix string) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []string
	for _, l := range g.lines {
		if _, cmd, _ := strings.Cut(l, " "); strings.HasPrefix(cmd, prefix) {
			out = append(out, l)
		}
	}
	return out
}

// forward copies what the client of connection n sends to the backend,
// recording each line.
func (g *smtpGate) forward(n int64, c, b net.Conn) {
	defer b.Close()
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if line != "" {
			g.mu.Lock()
			g.lines = append(g.lines, fmt.Sprintf("#%d %s", n, strings.TrimRight(line, "\r\n")))
			g.mu.Unlock()
			if _, werr := b.Write([]byte(line)); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func newSMTPGate(t *testing.T, backend string) *smtpGate {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &smtpGate{addr: ln.Addr().String()}
	t.Cleanup(func() { ln.Close(); g.setDown(true) })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n := g.accepted.Add(1)
			g.mu.Lock()
			down := g.down
			if !down {
				g.conns = append(g.conns, c)
			}
			g.mu.Unlock()
			if down {
				c.Close()
				continue
			}
			b, err := net.Dial("tcp", backend)
			if err != nil {
				c.Close()
				continue
			}
			go g.forward(n, c, b)
			go func() { io.Copy(c, b); c.Close() }()
		}
	}()
	return g
}

// setDown takes the gate down (dropping the open connections) or up.
func (g *smtpGate) setDown(down bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.down = down
	if down {
		for _, c := range g.conns {
			c.Close()
		}
		g.conns = nil
	}
}

func (g *smtpGate) URL() string { return "smtp://" + g.addr }

func testSMTP(t *testing.T, url string) *mailer.SMTP {
	t.Helper()
	s, err := mailer.NewSMTP(url, mailer.SMTPOptions{HeloName: "localhost", DialTimeout: 3 * time.Second, CommandTimeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newServers(t *testing.T, clock *clocktest.Clock, opt delivery.ServersOptions, list ...delivery.ServerConfig) *delivery.Servers {
	t.Helper()
	opt.Now, opt.Sleep = clock.Now, clock.Sleep
	s, err := delivery.NewServers(list, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// sendTo sends one small message to each address in turn and returns the
// error of each send.
func sendTo(t *testing.T, s delivery.Sender, to ...string) []error {
	t.Helper()
	errs := make([]error, len(to))
	for i, rcpt := range to {
		var buf bytes.Buffer
		m := &mailer.Message{From: mailer.Address{Email: "news@example.com"}, To: mailer.Address{Email: rcpt},
			Subject: "News", Text: "Hello"}
		if _, err := mailer.Build(&buf, m, time.Now()); err != nil {
			t.Fatal(err)
		}
		_, errs[i] = s.Send(t.Context(), "news@example.com", rcpt, buf.Bytes())
	}
	return errs
}

func addrs(prefix string, from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprintf("%s%d@example.com", prefix, i))
	}
	return out
}

func received(srv *apptest.SMTPServer, to []string) []string {
	var out []string
	for _, rcpt := range to {
		if len(srv.Messages(rcpt)) > 0 {
			out = append(out, rcpt)
		}
	}
	return out
}

func failed(errs []error) int {
	n := 0
	for _, err := range errs {
		if err != nil {
			n++
		}
	}
	return n
}

func TestServersTakeTurns(t *testing.T) {
	t.Parallel()
	a, b := apptest.NewSMTPServer(t), apptest.NewSMTPServer(t)
	s := newServers(t, clocktest.New(), delivery.ServersOptions{},
		delivery.ServerConfig{SMTP: testSMTP(t, a.URL()), Conns: 2}, delivery.ServerConfig{SMTP: testSMTP(t, b.URL()), Conns: 3})
	if s.Conns() != 5 {
		t.Errorf("Conns() = %d, want 2+3", s.Conns())
	}
	to := addrs("r", 1, 6)
	if errs := sendTo(t, s, to...); failed(errs) != 0 {
		t.Fatalf("send errors: %v", errs)
	}
	if got, want := received(a, to), []string{to[0], to[2], to[4]}; !slices.Equal(got, want) {
		t.Errorf("first server got %v, want %v", got, want)
	}
	if got, want := received(b, to), []string{to[1], to[3], to[5]}; !slices.Equal(got, want) {
		t.Errorf("second server got %v, want %v", got, want)
	}
	for i, st := range s.Status() {
		if st.Sent != 3 || st.Failed != 0 || st.State != simplesender.SMTPServerOK {
			t.Errorf("server %d: %+v, want 3 sent and ok", i+1, st)
		}
	}
	if a.Connections() != 1 || b.Connections() != 1 {
		t.Errorf("connections %d and %d, want 1 each (reused)", a.Connections(), b.Connections())
	}
}

func TestUnreachableServerRestsAndTheOtherGetsTheMail(t *testing.T) {
	t.Parallel()
	good := apptest.NewSMTPServer(t)
	clock := clocktest.New()
	s := newServers(t, clock, delivery.ServersOptions{},
		delivery.ServerConfig{SMTP: testSMTP(t, "smtp://"+nettest.FreeAddr(t)), Conns: 2}, delivery.ServerConfig{SMTP: testSMTP(t, good.URL()), Conns: 2})

	// In turn: the 1st, 3rd, ... 9th message go to the refusing server and
	// fail; its 5th failure rests it, and from then on the other one gets
	// every message.
	to := addrs("r", 1, 20)
	errs := sendTo(t, s, to...)
	for i, err := range errs {
		if wantErr := i < 9 && i%2 == 0; (err != nil) != wantErr {
			t.Errorf("message %d: error %v, want an error: %v", i+1, err, wantErr)
		}
	}
	if got := len(received(good, to[9:])); got != 11 {
		t.Errorf("the working server got %d of the last 11 messages", got)
	}
	st := s.Status()[0]
	if st.State != simplesender.SMTPServerResting || !st.RestingUntil.Equal(clock.Now().Add(time.Minute)) ||
		st.Failures != 5 || st.Failed != 5 || !strings.Contains(st.LastError, "connect") {
		t.Errorf("refusing server: %+v; want resting for a minute after 5 failures", st)
	}

	// After the rest it is tried again: one more failure rests it for
	// twice as long, and the message goes nowhere else (the engine defers it).
	clock.Advance(time.Minute)
	if errs := sendTo(t, s, "again@example.com", "next@example.com"); errs[0] == nil || errs[1] != nil {
		t.Fatalf("after the rest: %v; want the first to try the refusing server again, the second the working one", errs)
	}
	st = s.Status()[0]
	if st.State != simplesender.SMTPServerResting || !st.RestingUntil.Equal(clock.Now().Add(2*time.Minute)) || st.Failed != 6 {
		t.Errorf("after a failed trial: %+v; want resting for 2 minutes", st)
	}
	if len(good.Messages("next@example.com")) != 1 {
		t.Error("the working server did not get the message sent during the second rest")
	}
}

func TestRestsDoubleUpToTenMinutesAndASuccessEndsThem(t *testing.T) {
	t.Parallel()
	backend := apptest.NewSMTPServer(t)
	gate := newSMTPGate(t, backend.Addr)
	gate.setDown(true)
	clock := clocktest.New()
	s := newServers(t, clock, delivery.ServersOptions{}, delivery.ServerConfig{SMTP: testSMTP(t, gate.URL()), Conns: 1})

	errs := sendTo(t, s, addrs("r", 1, 6)...)
	if failed(errs) != 6 {
		t.Fatalf("errors %v; want every send to fail", errs)
	}
	// The sixth found the only server resting: refused at once, without a
	// connection, as a temporary failure before any data.
	if gate.accepted.Load() != 5 {
		t.Errorf("%d connections; the resting server was dialled", gate.accepted.Load())
	}
	last := errs[5]
	if !errors.Is(last, delivery.ErrAllResting) || !mailer.IsTemporary(last) || mailer.IsUnknownOutcome(last) {
		t.Errorf("with every server resting: %v; want a temporary error saying so", last)
	}
	for _, rest := range []time.Duration{2, 4, 8, 10, 10} {
		clock.Advance(s.Status()[0].RestingUntil.Sub(clock.Now()))
		if errs := sendTo(t, s, "trial@example.com"); errs[0] == nil || errors.Is(errs[0], delivery.ErrAllResting) {
			t.Fatalf("after the rest: %v; want the server tried and failing", errs[0])
		}
		if got := s.Status()[0].RestingUntil.Sub(clock.Now()); got != rest*time.Minute {
			t.Errorf("rest %s, want %d minutes", got, rest)
		}
	}

	// The server comes back: after the rest a message goes through and the
	// count starts again, so the next failure does not rest it at once.
	gate.setDown(false)
	clock.Advance(10 * time.Minute)
	if errs := sendTo(t, s, "back@example.com"); errs[0] != nil {
		t.Fatalf("server back: %v", errs[0])
	}
	if st := s.Status()[0]; st.State != simplesender.SMTPServerOK || st.Failures != 0 || st.Sent != 1 {
		t.Errorf("after a success: %+v; want ok with no failures", st)
	}
	gate.setDown(true)
	sendTo(t, s, addrs("down", 1, 4)...)
	if st := s.Status()[0]; st.State != simplesender.SMTPServerOK || st.Failures != 4 {
		t.Errorf("after 4 failures: %+v; want still in use", st)
	}
	sendTo(t, s, "fifth@example.com")
	if st := s.Status()[0]; st.State != simplesender.SMTPServerResting || !st.RestingUntil.Equal(clock.Now().Add(time.Minute)) {
		t.Errorf("after 5 failures: %+v; want a rest of one minute again", st)
	}
}

func TestRecipientRefusalsDoNotRestAServer(t *testing.T) {
	t.Parallel()
	srv := apptest.NewSMTPServer(t)
	srv.Script = func(rcpt string, _ int) apptest.Action {
		if strings.HasPrefix(rcpt, "temp") {
			return apptest.Temp
		}
		return apptest.Perm
	}
	s := newServers(t, clocktest.New(), delivery.ServersOptions{}, delivery.ServerConfig{SMTP: testSMTP(t, srv.URL()), Conns: 1})
	errs := sendTo(t, s, append(addrs("perm", 1, 8), addrs("temp", 1, 4)...)...)
	var se *mailer.SMTPError
	if !errors.As(errs[0], &se) || se.Code != 550 || !errors.As(errs[11], &se) || se.Code != 451 {
		t.Fatalf("errors %v; want 550 and 451 from the server", errs)
	}
	st := s.Status()[0]
	if st.State != simplesender.SMTPServerOK || st.Failures != 0 || st.Failed != 12 || !strings.Contains(st.LastError, "451") {
		t.Errorf("%+v; want the server in use, with 12 failed messages but no failure of its own", st)
	}
	if srv.Connections() != 1 {
		t.Errorf("%d connections; refusals should not cost the connection", srv.Connections())
	}
}

func TestRateLimitSpacesMessages(t *testing.T) {
	t.Parallel()
	srv := apptest.NewSMTPServer(t)
	clock := clocktest.New()
	s := newServers(t, clock, delivery.ServersOptions{},
		delivery.ServerConfig{SMTP: testSMTP(t, srv.URL()), Conns: 2, Rate: 2},
		delivery.ServerConfig{SMTP: testSMTP(t, srv.URL()), Conns: 2, Rate: 0.5})
	if st := s.Status(); st[0].Burst != 2 || st[1].Burst != 1 {
		t.Errorf("bursts %d and %d, want 2 and 1", st[0].Burst, st[1].Burst)
	}
	// Rate 2 in bursts of 2, and rate 0.5 in bursts of 1: three messages go
	// at once, then each waits for the server whose token comes first (the
	// faster one, every 500ms), never for the slower one's 2 s.
	to := addrs("r", 1, 7)
	if errs := sendTo(t, s, to...); failed(errs) != 0 {
		t.Fatalf("send errors: %v", errs)
	}
	if got := srv.Accepted(); got != 7 {
		t.Errorf("%d messages arrived, want 7", got)
	}
	want := []time.Duration{500 * time.Millisecond, 500 * time.Millisecond, 500 * time.Millisecond, 500 * time.Millisecond}
	if got := clock.Slept(); !slices.Equal(got, want) {
		t.Errorf("waits %v, want %v", got, want)
	}

	// After a quiet minute the bursts are back, and no larger.
	clock.Advance(time.Minute)
	sendTo(t, s, addrs("later", 1, 3)...)
	if got := clock.Slept(); len(got) != 0 {
		t.Errorf("waits %v after a quiet minute; want 3 messages at once (bursts of 2 and 1)", got)
	}
	sendTo(t, s, "fourth@example.com")
	if got := clock.Slept(); len(got) != 1 || got[0] != 500*time.Millisecond {
		t.Errorf("the fourth message waited %v; want 500ms for the faster server's next token", got)
	}
}

func TestRateLimitAllowsABurstThenOneMessagePerInterval(t *testing.T) {
	t.Parallel()
	srv := apptest.NewSMTPServer(t)
	clock := clocktest.New()
	s := newServers(t, clock, delivery.ServersOptions{}, delivery.ServerConfig{SMTP: testSMTP(t, srv.URL()), Conns: 5, Rate: 4})
	errs := sendTo(t, s, addrs("r", 1, 8)...)
	if failed(errs) != 0 {
		t.Fatalf("send errors: %v", errs)
	}
	// A burst of 4, then one every 250ms.
	want := []time.Duration{250 * time.Millisecond, 250 * time.Millisecond, 250 * time.Millisecond, 250 * time.Millisecond}
	if got := clock.Slept(); !slices.Equal(got, want) {
		t.Errorf("waits %v, want %v", got, want)
	}
}

func TestRateLimitLongerThanTheSendTimeoutFailsAtOnce(t *testing.T) {
	t.Parallel()
	srv := apptest.NewSMTPServer(t)
	clock := clocktest.New()
	s := newServers(t, clock, delivery.ServersOptions{}, delivery.ServerConfig{SMTP: testSMTP(t, srv.URL()), Conns: 1, Rate: 0.1})
	sendTo(t, s, "first@example.com")
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := s.Send(ctx, "news@example.com", "second@example.com", []byte("Subject: x\r\n\r\nx\r\n")); err == nil ||
		!strings.Contains(err.Error(), "rate limit") {
		t.Errorf("a 10 s wait under a shorter deadline: %v; want a rate limit error", err)
	}
	if got := clock.Slept(); len(got) != 0 {
		t.Errorf("slept %v before failing", got)
	}
	// The token was given back: the next message waits one interval, not two.
	sendTo(t, s, "third@example.com")
	if got := clock.Slept(); len(got) != 1 || got[0] != 10*time.Second {
		t.Errorf("next wait %v, want 10s", got)
	}
	if st := s.Status()[0]; st.Failures != 0 || st.Sent != 2 {
		t.Errorf("%+v; the rate limit is not the server's failure", st)
	}
}

func TestStatusShowsTheUserButNeverThePassword(t *testing.T) {
	t.Parallel()
	srv := apptest.NewSMTPServer(t) // offers no AUTH: the send fails at AUTH
	u := strings.Replace(srv.URL(), "smtp://", "smtp://ann:s3cret-pw@", 1)
	s := newServers(t, clocktest.New(), delivery.ServersOptions{},
		delivery.ServerConfig{SMTP: testSMTP(t, u), Conns: 3, Rate: 1.5},
		delivery.ServerConfig{SMTP: testSMTP(t, strings.Replace(u, "smtp://", "smtps://", 1)), Conns: 1})
	if errs := sendTo(t, s, "r@example.com"); errs[0] == nil {
		t.Fatal("AUTH against a server without AUTH succeeded")
	}
	st := s.Status()
	if st[0].Addr != srv.Addr || st[0].User != "ann" || st[0].TLS != simplesender.SMTPStartTLSOptional || st[0].Conns != 3 || st[0].Rate != 1.5 ||
		st[0].Failures != 1 || !strings.Contains(st[0].LastError, "AUTH") || st[1].TLS != "tls" {
		t.Errorf("status %+v", st)
	}
	if all := fmt.Sprintf("%+v", st); strings.Contains(all, "s3cret") {
		t.Errorf("status shows the password: %s", all)
	}
}

func TestStatusCountsConnectionsInUseAndOurCancelIsNoFailure(t *testing.T) {
	t.Parallel()
	// A server that accepts and never greets: the send waits until cancelled.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // silent, and open until the test ends
		}
	}()
	s := newServers(t, clocktest.New(), delivery.ServersOptions{}, delivery.ServerConfig{SMTP: testSMTP(t, "smtp://"+ln.Addr().String()), Conns: 3})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() {
		_, err := s.Send(ctx, "news@example.com", "r@example.com", []byte("Subject: x\r\n\r\nx\r\n"))
		done <- err
	}()
	giveUp := time.After(10 * time.Second)
	for s.Status()[0].InUse != 1 {
		select {
		case err := <-done:
			t.Fatalf("send ended early: %v", err)
		case <-giveUp:
			t.Fatal("the waiting send never showed as a connection in use")
		case <-time.After(time.Millisecond):
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled send: %v", err)
	}
	if st := s.Status()[0]; st.InUse != 0 || st.Failures != 0 || st.Failed != 1 || st.State != simplesender.SMTPServerOK {
		t.Errorf("%+v; want no connection in use, and our own cancellation not counted against the server", st)
	}
}

// TestAMailingSurvivesAServerThatFails runs the engine over two servers, one
// of which refuses every connection: its messages are deferred and tried
// again, it rests, and every recipient gets exactly one message through the
// other, with no delivery left failed or unknown.
func TestAMailingSurvivesAServerThatFails(t *testing.T) {
	t.Parallel()
	env := apptest.NewSQLite(t)
	good := apptest.NewSMTPServer(t)
	servers, err := delivery.NewServers([]delivery.ServerConfig{
		{SMTP: testSMTP(t, good.URL()), Conns: 2}, {SMTP: testSMTP(t, "smtp://"+nettest.FreeAddr(t)), Conns: 2}}, delivery.ServersOptions{})
	if err != nil {
		t.Fatal(err)
	}
	runServers(t, env, servers)
	to := addrs("r", 1, 30)
	m, _ := runMailing(t, env, newOwner(t, env), to)
	if m.Counts.Sent != 30 || m.Counts.Failed != 0 || m.Counts.Unknown != 0 {
		t.Errorf("counts %+v; want all 30 sent", m.Counts)
	}
	for _, rcpt := range to {
		if n := len(good.Messages(rcpt)); n != 1 {
			t.Errorf("%s got %d messages, want 1", rcpt, n)
		}
	}
	st := servers.Status()
	if st[1].State != simplesender.SMTPServerResting || st[1].Failed < 5 || st[0].Sent != 30 {
		t.Errorf("status %+v; want the refusing server resting after 5 or more failures and the other with 30 sent", st)
	}
}

// TestAConnectionClosedWhileIdleIsNotAFailure: servers drop quiet
// connections; the next message goes out on a new one, and the server is
// not charged a failure for it.
func TestAConnectionClosedWhileIdleIsNotAFailure(t *testing.T) {
	t.Parallel()
	backend := apptest.NewSMTPServer(t)
	gate := newSMTPGate(t, backend.Addr)
	s := newServers(t, clocktest.New(), delivery.ServersOptions{FailAfter: 1},
		delivery.ServerConfig{SMTP: testSMTP(t, gate.URL()), Conns: 1})
	if errs := sendTo(t, s, "first@example.com"); failed(errs) != 0 {
		t.Fatalf("send errors: %v", errs)
	}
	gate.setDown(true) // closes the idle connection, as a server's idle timeout does
	gate.setDown(false)
	to := addrs("r", 1, 3)
	if errs := sendTo(t, s, to...); failed(errs) != 0 {
		t.Fatalf("send errors after the idle connection was closed: %v", errs)
	}
	if got := received(backend, to); !slices.Equal(got, to) {
		t.Errorf("server got %v, want %v", got, to)
	}
	if st := s.Status()[0]; st.Failed != 0 || st.State != simplesender.SMTPServerOK {
		t.Errorf("status %+v; want no failure and ok", st)
	}
}

// TestAccountEmailsPassARestingServerOver: e-mails outside mailings go
// through the servers in turn too, so once a failing server rests they
// reach the one that works.
func TestAccountEmailsPassARestingServerOver(t *testing.T) {
	t.Parallel()
	good := apptest.NewSMTPServer(t)
	s := newServers(t, clocktest.New(), delivery.ServersOptions{FailAfter: 1},
		delivery.ServerConfig{SMTP: testSMTP(t, "smtp://"+nettest.FreeAddr(t)), Conns: 1}, delivery.ServerConfig{SMTP: testSMTP(t, good.URL()), Conns: 1})
	tr := delivery.ServersTransport{Servers: s}
	var sent []string
	for _, to := range addrs("acct", 1, 3) {
		res, err := tr.Send(t.Context(), &mailer.Message{From: mailer.Address{Email: "noreply@example.com"},
			To: mailer.Address{Email: to}, Subject: "Confirm", Text: "Hello"})
		if res.MessageID == "" {
			t.Errorf("%s: no Message-ID in the result", to)
		}
		if err == nil {
			sent = append(sent, to)
		}
	}
	// The first try meets the refusing server (and rests it); the rest go to the good one.
	if got := received(good, addrs("acct", 1, 3)); len(got) < 2 || !slices.Equal(got, sent) {
		t.Errorf("the working server got %v; sent without error %v; want at least the last two", got, sent)
	}
	if st := s.Status()[0]; st.State != simplesender.SMTPServerResting {
		t.Errorf("the refusing server: %+v, want resting", st)
	}
}

// runMailing sends a new mailing of owner to each address through the
// running engine of env, and returns it finished, with its deliveries'
// attempts.
func runMailing(t *testing.T, env *apptest.Env, owner *app.Actor, to []string) (*simplesender.Mailing, *app.DeliveryPage) {
	t.Helper()
	m := sendMailing(t, env, owner, to)
	var err error
	giveUp := time.Now().Add(30 * time.Second)
	for m.Status != simplesender.MailingFinished {
		if time.Now().After(giveUp) {
			t.Fatalf("mailing not finished: %+v", m)
		}
		time.Sleep(20 * time.Millisecond)
		if m, err = env.App.GetMailing(t.Context(), owner, m.ID); err != nil {
			t.Fatal(err)
		}
	}
	p, err := env.App.Deliveries(t.Context(), owner, m.ID, 0, store.DeliveryFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	return m, p
}

// sendMailing makes a mailing of owner called News to each address and
// sends it now.
func sendMailing(t *testing.T, env *apptest.Env, owner *app.Actor, to []string) *simplesender.Mailing {
	t.Helper()
	m := env.Mailing(t, owner, "News", to...)
	if err := env.App.SendNow(t.Context(), owner, m.ID, "now"); err != nil {
		t.Fatal(err)
	}
	return m
}

// runServers runs, until the test ends, a delivery engine of env that
// sends through servers and retries every 50 ms.
func runServers(t *testing.T, env *apptest.Env, servers *delivery.Servers) {
	t.Helper()
	runEngine(t, env, env.DB, servers, delivery.Config{From: mailer.Address{Email: "news@example.com"}, Conns: servers.Conns(),
		Retry: slices.Repeat([]time.Duration{50 * time.Millisecond}, 8), Poll: 20 * time.Millisecond,
		Heartbeat: 200 * time.Millisecond, SendTimeout: 5 * time.Second})
}

// TestMailingsAfterTheServerDroppedIdleConnections: the server closes
// connections idle for 300 ms with "421 4.4.2 Idle timeout" (as Postfix does
// after 300 s). The next mailing's first messages used to go out on those
// dead connections and be recorded as failed attempts, deferred a minute,
// and charged to the server (five rested it). Two mailings further apart
// than the server's timeout now both go out with one successful attempt per
// recipient, and the server is never charged: one failure would rest it.
func TestMailingsAfterTheServerDroppedIdleConnections(t *testing.T) {
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		srv := apptest.NewSMTPServer(t, apptest.SMTPServerOptions{IdleTimeout: 300 * time.Millisecond})
		servers, err := delivery.NewServers([]delivery.ServerConfig{{SMTP: testSMTP(t, srv.URL()), Conns: 4}},
			delivery.ServersOptions{FailAfter: 1})
		if err != nil {
			t.Fatal(err)
		}
		runServers(t, env, servers)
		owner := newOwner(t, env)

		for i, to := range [][]string{addrs("first", 1, 12), addrs("second", 1, 12)} {
			conns := srv.Connections()
			if i > 0 {
				time.Sleep(time.Second) // the server drops every idle connection
			}
			m, p := runMailing(t, env, owner, to)
			if m.Counts.Sent != len(to) || m.Counts.Failed != 0 || m.Counts.Unknown != 0 {
				t.Errorf("mailing %d: counts %+v; want all %d sent", i+1, m.Counts, len(to))
			}
			for _, d := range p.Deliveries {
				if a := p.Attempts[d.ID]; len(a) != 1 || !a[0].Success {
					t.Errorf("mailing %d: %s has attempts %+v; want one, successful", i+1, d.Email, a)
				}
			}
			if i > 0 && srv.Connections() == conns {
				t.Errorf("mailing %d went out on the old connections: the server did not drop them, the test tests nothing", i+1)
			}
		}
		if st := servers.Status()[0]; st.State != simplesender.SMTPServerOK || st.Failures != 0 || st.Failed != 0 || st.Sent != 24 {
			t.Errorf("status %+v; want 24 sent, no failure, never resting", st)
		}
	})
}

// idleSMTP is a transport to url whose pooled connections may stay idle
// for idle.
func idleSMTP(t *testing.T, url string, idle time.Duration) *mailer.SMTP {
	t.Helper()
	s, err := mailer.NewSMTP(url, mailer.SMTPOptions{HeloName: "localhost", DialTimeout: 3 * time.Second,
		CommandTimeout: 3 * time.Second, IdleTimeout: idle})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// waitFor polls cond for up to 10 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for giveUp := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(giveUp) {
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}

// TestPoolClosesIdleConnectionsItself: a connection idle for the idle
// timeout is closed by us, with QUIT, before a server would drop it; the
// next message goes out on a new one.
func TestPoolClosesIdleConnectionsItself(t *testing.T) {
	t.Parallel()
	backend := apptest.NewSMTPServer(t) // it never drops a connection: only we may close it
	gate := newSMTPGate(t, backend.Addr)
	s := newServers(t, clocktest.New(), delivery.ServersOptions{FailAfter: 1},
		delivery.ServerConfig{SMTP: idleSMTP(t, gate.URL(), 200*time.Millisecond), Conns: 2})
	if errs := sendTo(t, s, "first@example.com"); failed(errs) != 0 {
		t.Fatalf("send errors: %v", errs)
	}
	waitFor(t, "QUIT on the idle connection", func() bool { return len(gate.Lines("QUIT")) == 1 })
	if errs := sendTo(t, s, "second@example.com"); failed(errs) != 0 {
		t.Fatalf("send errors: %v", errs)
	}
	if got, want := gate.Lines("MAIL FROM"), []string{"#1 MAIL FROM:<news@example.com> BODY=8BITMIME",
		"#2 MAIL FROM:<news@example.com> BODY=8BITMIME"}; !slices.Equal(got, want) {
		t.Errorf("MAIL commands %q, want %q: the second message on a new connection", got, want)
	}
	if st := s.Status()[0]; st.Sent != 2 || st.Failed != 0 || st.State != simplesender.SMTPServerOK {
		t.Errorf("status %+v; want 2 sent, no failure", st)
	}
}

// TestPoolChecksAConnectionThatWasIdle: a connection idle for a third of
// the idle timeout gets a NOOP before it carries the next message; one the
// server has closed meanwhile is replaced by a new one, and no failure is
// reported.
func TestPoolChecksAConnectionThatWasIdle(t *testing.T) {
	t.Parallel()
	t.Run("a live connection answers NOOP and carries the message", func(t *testing.T) {
		t.Parallel()
		backend := apptest.NewSMTPServer(t)
		gate := newSMTPGate(t, backend.Addr)
		s := newServers(t, clocktest.New(), delivery.ServersOptions{FailAfter: 1},
			delivery.ServerConfig{SMTP: idleSMTP(t, gate.URL(), 3*time.Second), Conns: 1})
		sendTo(t, s, "first@example.com", "second@example.com") // one after the other: no check
		time.Sleep(1200 * time.Millisecond)                     // more than a third of 3 s
		if errs := sendTo(t, s, "third@example.com"); failed(errs) != 0 {
			t.Fatalf("send errors: %v", errs)
		}
		if got := gate.Lines("NOOP"); !slices.Equal(got, []string{"#1 NOOP"}) {
			t.Errorf("NOOP commands %q; want one, before the third message", got)
		}
		if n := len(gate.Lines("#1 MAIL")); gate.accepted.Load() != 1 || backend.Accepted() != 3 {
			t.Errorf("%d connections, %d MAIL on the first, %d messages; want 3 messages on one connection", gate.accepted.Load(), n, backend.Accepted())
		}
	})
	t.Run("a connection the server closed is replaced", func(t *testing.T) {
		t.Parallel()
		backend := apptest.NewSMTPServer(t, apptest.SMTPServerOptions{IdleTimeout: 300 * time.Millisecond})
		s := newServers(t, clocktest.New(), delivery.ServersOptions{FailAfter: 1},
			delivery.ServerConfig{SMTP: idleSMTP(t, backend.URL(), 3*time.Second), Conns: 1})
		sendTo(t, s, "first@example.com")
		time.Sleep(1200 * time.Millisecond) // the server has said 421 and closed
		if errs := sendTo(t, s, "second@example.com"); failed(errs) != 0 {
			t.Fatalf("send errors: %v", errs)
		}
		if st := s.Status()[0]; st.Sent != 2 || st.Failed != 0 || st.State != simplesender.SMTPServerOK || backend.Connections() != 2 {
			t.Errorf("status %+v, %d connections; want 2 sent on 2 connections, no failure", st, backend.Connections())
		}
	})
}

// TestOutboxRepliesNameTheFileOnly: with no SMTP server, each message is
// written to the outbox folder; the reply that users see with the delivery
// names the .eml file, never the server's path to it.
func TestOutboxRepliesNameTheFileOnly(t *testing.T) {
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		dir := filepath.Join(t.TempDir(), "srv", "data", "outbox")
		runEngine(t, env, env.DB, delivery.NewOutbox(dir), delivery.Config{From: mailer.Address{Email: "news@example.com"}, Conns: 2,
			Poll: 20 * time.Millisecond, Heartbeat: 200 * time.Millisecond})
		_, p := runMailing(t, env, newOwner(t, env), addrs("r", 1, 3))
		for _, d := range p.Deliveries {
			a := p.Attempts[d.ID]
			if d.Status != simplesender.DeliverySent || len(a) != 1 {
				t.Fatalf("%s: %s with %d attempts; want sent once", d.Email, d.Status, len(a))
			}
			name, ok := strings.CutPrefix(d.LastResponse, "written to the outbox: ")
			if !ok || a[0].Response != d.LastResponse || strings.ContainsAny(name, `/\`) || !strings.HasSuffix(name, ".eml") {
				t.Errorf("%s: reply %q, attempt's %q; want the file's name only", d.Email, d.LastResponse, a[0].Response)
				continue
			}
			if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
				t.Errorf("%s: the reply names %q, not a file in the outbox: %v", d.Email, name, err)
			}
		}
	})
}
