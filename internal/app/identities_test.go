package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/app/apptest"
	"simplesender/internal/delivery"
	"simplesender/internal/mailer"
)

// fakeDNS serves TXT records the test publishes.
type fakeDNS struct {
	mu   sync.Mutex
	recs map[string][]string
}

func (f *fakeDNS) publish(name string, values ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.recs == nil {
		f.recs = map[string][]string{}
	}
	f.recs[name] = values
}

func (f *fakeDNS) LookupTXT(_ context.Context, name string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if v, ok := f.recs[strings.TrimSuffix(name, ".")]; ok {
		return v, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

// dkimRecords returns the DKIM records of the fake DNS, for the verifier.
func (f *fakeDNS) dkimRecords() map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]string{}
	for k, v := range f.recs {
		if strings.Contains(k, "._domainkey.") {
			out[k] = strings.Join(v, "")
		}
	}
	return out
}

// dkimVerifier returns the python3 that has Debian's python3-dkim, skipping
// the test when there is none (failing it under CI).
func dkimVerifier(t *testing.T) string {
	t.Helper()
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(py, "-c", "import dkim, nacl").Run() == nil {
			return py
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("python3-dkim (with python3-nacl) is missing: the DKIM signatures cannot be verified independently")
	}
	t.Skip("python3-dkim is not installed")
	return ""
}

// verifyDKIM runs the independent verifier on raw and returns its lines
// ("selector algorithm pass|fail") and whether every signature passed.
func verifyDKIM(t *testing.T, py string, raw []byte, records map[string]string) (string, bool) {
	t.Helper()
	js, _ := json.Marshal(records)
	cmd := exec.Command(py, "testdata/dkimverify.py", string(js))
	cmd.Stdin = bytes.NewReader(raw)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if _, exit := err.(*exec.ExitError); err != nil && !exit {
		t.Fatal(err)
	}
	if errb.Len() > 0 {
		t.Logf("verifier stderr: %s", errb.String())
	}
	return out.String(), err == nil
}

// identityEnv is an app with a fake DNS, an SMTP server in the test for
// test sends and mailings, and a running engine that signs as serve wires it.
func identityEnv(t *testing.T, dbURL string) (*apptest.Env, *fakeDNS, *apptest.SMTPServer) {
	t.Helper()
	dns := &fakeDNS{}
	srv := apptest.NewSMTPServer(t)
	smtp, err := mailer.NewSMTP(srv.URL(), mailer.SMTPOptions{CommandTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	env := apptest.New(t, dbURL, apptest.Options{Transport: smtp, Deps: func(d *app.Deps) { d.DNS, d.RepeatWindow = dns, -1 }})
	e := delivery.New(env.DB, delivery.NewPool(smtp, 2), delivery.Config{From: env.App.MailFrom,
		Conns: 2, Poll: 20 * time.Millisecond, Heartbeat: 200 * time.Millisecond, Signer: env.App.Keys,
		SenderUsable: env.App.IdentityUsable})
	env.App.Waker = e
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { e.Run(rctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return env, dns, srv
}

func identityActor(t *testing.T, env *apptest.Env, email string, role simplesender.Role) *app.Actor {
	t.Helper()
	return &app.Actor{User: env.User(t, email, role, simplesender.StatusActive)}
}

// verifiedDomain adds and verifies domain for ac, publishing the
// verification record and the DKIM records of its keys in dns.
func verifiedDomain(t *testing.T, env *apptest.Env, dns *fakeDNS, ac *app.Actor, domain string) *simplesender.SenderDomain {
	t.Helper()
	d, err := env.App.AddDomain(ctx, ac, domain)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.App.VerifyDomain(ctx, ac, d.ID); !simplesender.IsKind(err, simplesender.KindConflict) {
		t.Fatalf("verify without the record: %v", err)
	}
	name, value := env.App.DomainVerification(d)
	dns.publish(name, value)
	if d, err = env.App.VerifyDomain(ctx, ac, d.ID); err != nil {
		t.Fatal(err)
	}
	publishKeys(env, dns, d)
	return d
}

func publishKeys(env *apptest.Env, dns *fakeDNS, d *simplesender.SenderDomain) {
	for _, k := range env.App.DomainRecords(d).Keys {
		dns.publish(k.Name, k.Record)
	}
}

// waitMailing waits until ac's mailing id is as ok wants it, and returns it.
func waitMailing(t *testing.T, env *apptest.Env, ac *app.Actor, id int64, ok func(*simplesender.Mailing) bool) *simplesender.Mailing {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		m, err := env.App.GetMailing(ctx, ac, id)
		if err != nil {
			t.Fatal(err)
		}
		if ok(m) {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailing %d never came to the state waited for: %+v", id, m)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitRaw(t *testing.T, srv *apptest.SMTPServer, to string, n int) [][]byte {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if raw := srv.Raw(to); len(raw) >= n {
			return raw
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages to %s did not arrive", n, to)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSignedMailingVerifiesWithAnIndependentVerifier: a mailing from a
// verified domain goes through a real SMTP server signed with both keys
// (RSA 2048 and Ed25519), from the identity chosen, with its Reply-To;
// Debian's python3-dkim verifies both signatures against the records the
// page shows, and fails them once the message is altered. The test send
// is signed too; after a key rotation and switch the next mailing is
// signed with the new selectors and still verifies.
func TestSignedMailingVerifiesWithAnIndependentVerifier(t *testing.T) {
	py := dkimVerifier(t)
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		env, dns, srv := identityEnv(t, env.URL)
		ac := identityActor(t, env, "owner@shop.example", simplesender.RoleUser)
		d := verifiedDomain(t, env, dns, ac, "shop.example")
		if len(d.Keys) != 2 || d.Keys[0].State != simplesender.KeyActive {
			t.Fatalf("keys after verification: %+v", d.Keys)
		}
		id, err := env.App.CreateIdentity(ctx, ac, app.IdentityInput{Name: "Магазин Shop", Email: "news@shop.example",
			ReplyTo: "help@shop.example"})
		if err != nil {
			t.Fatal(err)
		}
		m := env.MailingOf(t, ac, "Signed", &simplesender.Message{Subject: "Скидки недели", BodyText: "Hello {{email}},\nour news.\n"},
			"anna@inbox.example")
		if _, err := env.App.UpdateMailing(ctx, ac, m.ID, app.MailingInput{Name: "Signed", MessageID: m.MessageID,
			RecipientIDs: mustIDs(t, env, ac, m.ID), IdentityID: id.ID}); err != nil {
			t.Fatal(err)
		}
		if err := env.App.SendNow(ctx, ac, m.ID, simplesender.TriggerNow); err != nil {
			t.Fatal(err)
		}
		raw := waitRaw(t, srv, "anna@inbox.example", 1)[0]
		msg, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		from, err := mail.ParseAddress(msg.Header.Get("From"))
		if err != nil || from.Address != "news@shop.example" || from.Name != "Магазин Shop" {
			t.Errorf("From: %q (%v)", msg.Header.Get("From"), err)
		}
		if rt := msg.Header.Get("Reply-To"); !strings.Contains(rt, "help@shop.example") {
			t.Errorf("Reply-To: %q", rt)
		}
		sigs := msg.Header["Dkim-Signature"]
		if len(sigs) != 2 || !strings.Contains(strings.Join(sigs, " "), "c=relaxed/relaxed") {
			t.Fatalf("DKIM-Signature headers: %q", sigs)
		}
		h := strings.Join(strings.Fields(strings.Join(sigs, " ")), "")
		if !strings.Contains(strings.ToLower(h), "h=from:to:subject:date:message-id:mime-version:content-type:from") {
			t.Errorf("signed headers (From over-signed): %s", h)
		}
		out, ok := verifyDKIM(t, py, raw, dns.dkimRecords())
		t.Logf("headers as sent:\n%s", raw[:bytes.Index(raw, []byte("\r\n\r\n"))])
		t.Logf("verifier (%s):\n%s", env.DB.Engine(), out)
		if !ok || !strings.Contains(out, "ss1r rsa-sha256 pass") || !strings.Contains(out, "ss1e ed25519-sha256 pass") {
			t.Errorf("independent verification failed:\n%s", out)
		}
		tampered := bytes.Replace(raw, []byte("our news."), []byte("our NEWS."), 1)
		if out, ok := verifyDKIM(t, py, tampered, dns.dkimRecords()); ok || strings.Contains(out, "pass") {
			t.Errorf("an altered body still verifies:\n%s", out)
		}

		// The test send is signed as well.
		if _, err := env.App.SendTest(ctx, ac, m.ID, app.TestSendInput{ToMe: true}, "en"); err != nil {
			t.Fatal(err)
		}
		testRaw := waitRaw(t, srv, "owner@shop.example", 1)[0]
		if out, ok := verifyDKIM(t, py, testRaw, dns.dkimRecords()); !ok || strings.Count(out, "pass") != 2 {
			t.Errorf("test send not verified:\n%s", out)
		}

		// Rotation: new keys are published first, then switched to.
		if err := env.App.RotateKeys(ctx, ac, d.ID); err != nil {
			t.Fatal(err)
		}
		d, _ = env.App.GetDomain(ctx, ac, d.ID)
		publishKeys(env, dns, d)
		if err := env.App.SwitchKeys(ctx, ac, d.ID); err != nil {
			t.Fatal(err)
		}
		rpWaitFinished(t, env, ac, m.ID)
		if err := env.App.SendNow(ctx, ac, m.ID, simplesender.TriggerNow); err != nil {
			t.Fatal(err)
		}
		raw2 := waitRaw(t, srv, "anna@inbox.example", 2)[1]
		out, ok = verifyDKIM(t, py, raw2, dns.dkimRecords())
		if !ok || !strings.Contains(out, "ss2r rsa-sha256 pass") || !strings.Contains(out, "ss2e ed25519-sha256 pass") {
			t.Errorf("after rotation:\n%s", out)
		}
	})
}

func mustIDs(t *testing.T, env *apptest.Env, ac *app.Actor, id int64) []int64 {
	t.Helper()
	ids, err := env.App.MailingRecipientIDs(ctx, ac, id)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestUnverifiedSenderSendsTestsToItsOwnerOnly: a mailing from a domain
// nobody verified is refused with a clear message, and its tests go only
// to the owner; an admin's allow lets it send, a forbid stops even a
// verified domain; another user's identity and domain do not exist for a
// regular user, managers see everyone's and change nothing.
func TestUnverifiedSenderSendsTestsToItsOwnerOnly(t *testing.T) {
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		env, dns, srv := identityEnv(t, env.URL)
		ac := identityActor(t, env, "owner@corp.example", simplesender.RoleUser)
		other := identityActor(t, env, "other@corp.example", simplesender.RoleUser)
		boss := identityActor(t, env, "boss@corp.example", simplesender.RoleManager)
		admin := identityActor(t, env, "root@corp.example", simplesender.RoleAdmin)
		id, err := env.App.CreateIdentity(ctx, ac, app.IdentityInput{Name: "Corp", Email: "news@corp.example"})
		if err != nil || !id.Default {
			t.Fatalf("first identity: %+v %v (must be the default)", id, err)
		}
		m := env.Mailing(t, ac, "Unverified", "x@inbox.example")
		err = env.App.SendNow(ctx, ac, m.ID, simplesender.TriggerNow)
		if !simplesender.IsKind(err, simplesender.KindConflict) || simplesender.AsError(err).Message != "error.identity.unverified" {
			t.Fatalf("send from an unverified domain: %v", err)
		}
		if _, err := env.App.SendTest(ctx, ac, m.ID, app.TestSendInput{ToMe: true, To: []string{"x@inbox.example"}}, "en"); simplesender.AsError(err).Fields["to"] != "error.identity.test_only_me" {
			t.Errorf("test to others from an unverified domain: %v", err)
		}
		if _, err := env.App.SendTest(ctx, ac, m.ID, app.TestSendInput{ToMe: true}, "en"); err != nil {
			t.Errorf("test to myself: %v", err)
		}
		if got := waitRaw(t, srv, "owner@corp.example", 1); !bytes.Contains(got[0], []byte("From: Corp <news@corp.example>")) {
			t.Errorf("test not from the identity:\n%s", got[0])
		}

		// Another user's objects are not found; managers look only.
		if _, err := env.App.GetIdentity(ctx, other, id.ID); !simplesender.IsKind(err, simplesender.KindNotFound) {
			t.Errorf("other user reads the identity: %v", err)
		}
		if err := env.App.DeleteIdentity(ctx, other, id.ID); !simplesender.IsKind(err, simplesender.KindNotFound) {
			t.Errorf("other user deletes the identity: %v", err)
		}
		d, err := env.App.AddDomain(ctx, ac, "Corp.Example.")
		if err != nil || d.Domain != "corp.example" {
			t.Fatalf("add domain: %+v %v", d, err)
		}
		if _, err := env.App.GetDomain(ctx, other, d.ID); !simplesender.IsKind(err, simplesender.KindNotFound) {
			t.Errorf("other user reads the domain: %v", err)
		}
		if _, err := env.App.VerifyDomain(ctx, other, d.ID); !simplesender.IsKind(err, simplesender.KindNotFound) {
			t.Errorf("other user verifies the domain: %v", err)
		}
		if _, err := env.App.AddDomain(ctx, ac, "not a domain"); simplesender.AsError(err).Fields["domain"] != "error.domain.invalid" {
			t.Errorf("bad domain: %v", err)
		}
		if list, err := env.App.ListIdentities(ctx, boss); err != nil || len(list) != 1 || list[0].OwnerEmail != "owner@corp.example" {
			t.Errorf("manager's list: %+v %v", list, err)
		}
		if err := env.App.DeleteIdentity(ctx, boss, id.ID); !simplesender.IsKind(err, simplesender.KindForbidden) {
			t.Errorf("manager deletes an identity: %v", err)
		}
		if err := env.App.SetDomainRule(ctx, boss, "corp.example", true); !simplesender.IsKind(err, simplesender.KindForbidden) {
			t.Errorf("manager allows a domain: %v", err)
		}
		if err := env.App.SetDomainRule(ctx, ac, "corp.example", true); !simplesender.IsKind(err, simplesender.KindForbidden) {
			t.Errorf("user allows a domain: %v", err)
		}

		// An admin's allow opens it to everyone; a forbid closes even a verified one.
		if err := env.App.SetDomainRule(ctx, admin, "corp.example", true); err != nil {
			t.Fatal(err)
		}
		if err := env.App.SendNow(ctx, ac, m.ID, simplesender.TriggerNow); err != nil {
			t.Fatalf("send from an allowed domain: %v", err)
		}
		waitRaw(t, srv, "x@inbox.example", 1)
		rpWaitFinished(t, env, ac, m.ID)
		name, value := env.App.DomainVerification(d)
		dns.publish(name, value)
		if _, err := env.App.VerifyDomain(ctx, ac, d.ID); err != nil {
			t.Fatal(err)
		}
		if err := env.App.SetDomainRule(ctx, admin, "corp.example", false); err != nil {
			t.Fatal(err)
		}
		if err := env.App.SendNow(ctx, ac, m.ID, simplesender.TriggerNow); !simplesender.IsKind(err, simplesender.KindConflict) {
			t.Errorf("send from a forbidden (verified) domain: %v", err)
		}
		// A start scheduled while the domain was allowed does not happen
		// once it is forbidden: it is dropped, and the mailing says why.
		if err := env.App.SetDomainRule(ctx, admin, "corp.example", true); err != nil {
			t.Fatal(err)
		}
		if err := env.App.Schedule(ctx, ac, m.ID, env.App.Now().Add(1500*time.Millisecond)); err != nil {
			t.Fatalf("schedule from an allowed domain: %v", err)
		}
		if err := env.App.SetDomainRule(ctx, admin, "corp.example", false); err != nil {
			t.Fatal(err)
		}
		refused := waitMailing(t, env, ac, m.ID, func(m *simplesender.Mailing) bool { return m.StartNote != "" })
		if refused.StartNote != simplesender.StartRefusedSender || refused.ScheduledAt != nil || refused.Status != simplesender.MailingFinished {
			t.Errorf("due start from a forbidden domain: note %q, scheduled %v, status %s", refused.StartNote, refused.ScheduledAt, refused.Status)
		}
		if runs, err := env.App.Runs(ctx, ac, m.ID); err != nil || len(runs) != 1 {
			t.Errorf("runs after the refused start: %d %v, want the one before", len(runs), err)
		}
		if got := len(srv.Raw("x@inbox.example")); got != 1 {
			t.Errorf("messages to the recipient: %d, want 1 (the refused start sent nothing)", got)
		}
		// A domain check reports what is missing.
		h, err := env.App.CheckDomain(ctx, ac, d.ID)
		if err != nil || h.DKIM || h.SPF != "" || h.DMARC != "" || len(h.Advice) < 3 {
			t.Errorf("health with nothing published: %+v %v", h, err)
		}
		publishKeys(env, dns, d)
		d, _ = env.App.GetDomain(ctx, ac, d.ID)
		publishKeys(env, dns, d)
		dns.publish("corp.example", value, "v=spf1 include:_spf.example ~all")
		dns.publish("_dmarc.corp.example", "v=DMARC1; p=none")
		if h, err = env.App.CheckDomain(ctx, ac, d.ID); err != nil || !h.DKIM || h.SPF == "" || !h.DMARCAligned || h.Advice[0] != "domain.advice.ok" {
			t.Errorf("health with everything published: %+v %v", h, err)
		}
	})
}
